#pragma once
// NetSession: the life of one authenticated operator connection in its sandboxed network process
// (gateway/sandbox.h) — every channel routed, recorded and proxied until the operator leaves. Its
// work is split by job over the files named after it:
//   net_session.cc        the event loop, libssh's callbacks, watching and ending the connection;
//                         serve_connection, which splits the connection into monitor and network
//   channel_admission.cc  what a new channel asks, the monitor's decision, starting it (or refusing)
//   upstream_channels.cc  the bastion's SSH sessions and channels to the client's servers
//   session_rows.cc       closing a channel's recording and handing its session to the monitor
//   grant_enforcement.cc  the live re-check that ends channels whose access ended
// Trust: this process holds the host key and the sockets, nothing else. Every privileged act — a
// decision, a session row, a recording file, an upstream socket and key, an event, an admin
// command — is a request to the connection's monitor (gateway/monitor.h) through monitor_.
// Internal to gateway/; serve_connection (session_process.h) is the entry point.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libssh/callbacks.h>
#include <nlohmann/json.hpp>

#include "audit/monotonic.h"
#include "authz/env_policy.h"
#include "authz/model.h"
#include "authz/operation.h"
#include "gateway/channel_bridge.h"
#include "gateway/monitor_client.h"
#include "gateway/session_process.h"

namespace bastion::gateway {

inline constexpr int kRefusedExit = 1;
inline constexpr int kMaxChannels = 64;

using Steady = std::chrono::steady_clock;

// Route: where a channel goes and what it runs there.
struct Route {
  Target target;
  RequestKind kind = RequestKind::None;
  std::string command;
};

// Decided: the monitor's yes to one channel, and what this process needs to carry it out.
struct Decided {
  std::uint64_t id = 0;  // the monitor's decision id, named again by start and upstream requests
  std::int64_t grant_id = 0;
  bool any_command = false;
  std::string op_name;
  std::string command;  // what the server runs (exec: the matched words' serialisation)
  authz::OpType op_type = authz::OpType::Shell;
  std::string server;
  std::vector<std::string> allowed_env;
  std::vector<authz::CatalogueEntry> transfer_entries;
};

class NetSession {
 public:
  NetSession(ssh_session client, const Peer& peer, const DaemonSettings& settings, Authenticated who,
             MonitorClient& monitor)
      : client_(client), peer_(peer), settings_(settings), who_(std::move(who)), monitor_(monitor) {}
  NetSession(const NetSession&) = delete;
  NetSession& operator=(const NetSession&) = delete;
  ~NetSession() { tear_down(); }

  int run();

 private:
  static int on_message(ssh_session, ssh_message msg, void* self);
  int handle_message(ssh_message msg);
  int handle_channel_open(ssh_message msg);

  int handle_forward_open(ssh_message msg);
  void start(ChannelBridge& b);
  void start_admin(ChannelBridge& b);
  int run_admin(const std::vector<std::string>& args, std::string& out, std::string& err);
  // decide asks the monitor whether this account may run `kind` ("shell", "exec", "sftp",
  // "forward") on the target; the monitor classifies the command itself.
  Result<Decided> decide(const Target& target, const std::string& kind, const std::string& command,
                         const std::string& forward_host = "", int forward_port = 0);
  // ask_text runs a request answered with Text (grants, admin); false if the monitor is gone.
  int ask_text(const monitor::Message& request, std::string& out, std::string& err);
  Result<Route> route(ChannelBridge& b);
  Result<authz::Operation> classify(const Route& r, const ChannelRequest& req);
  void refuse(ChannelBridge& b, const std::string& reason);
  void list_grants(ChannelBridge& b);
  Result<ssh_session> upstream_for(const Decided& d, const std::string& login);
  Result<ChannelPtr> open_upstream_channel(ssh_session up, const ChannelBridge& b, const Route& r,
                                           const std::vector<authz::EnvRequest>& env);
  bool record_dropped_env(const ChannelBridge& b, const authz::EnvDecision& env, const std::string& server, std::int64_t sid);
  // close_session_row ends the bridge's session: its recording is closed here (the format's last
  // words written), and the monitor seals it, digests it and writes the end of the row. status is
  // "closed" (ended normally), "aborted" (ended by the bastion, reason given) or "refused". The
  // bridge's session_id is 0 from here on.
  void close_session_row(ChannelBridge& b, std::string_view status);
  void enforce_grants();
  // watch_connection applies the idle timeout, the keepalive probes and a stop of the bastion;
  // it returns a reason when the whole connection must end now, "" otherwise.
  std::string watch_connection(Steady::time_point now);
  // notify_all writes a line to every channel's operator (stderr, so it never mixes into output).
  void notify_all(const std::string& text);
  // end_connection cuts every channel with `reason`, closes their rows and records why.
  void end_connection(const std::string& reason, const char* event_kind);
  // tear_down frees, in the one order libssh survives, what this process holds: the bridges and
  // their channels; then each upstream session, taken out of the event and disconnected while its
  // socket still has a poll context; then the client session out of the event; then the event.
  void tear_down();
  // record appends an audit event about this connection; an error means it was not recorded.
  Status record(std::string kind, const std::string& server, std::optional<std::int64_t> session,
                nlohmann::json details);

  ssh_session client_;
  Peer peer_;
  const DaemonSettings& settings_;
  Authenticated who_;
  MonitorClient& monitor_;
  audit::SteadyClock elapsed_;  // the time base of recordings' event offsets
  ssh_server_callbacks_struct server_cb_{};

  // tear_down() frees these in order (channels, upstream sessions, event); the declaration order
  // keeps the same order should anything be left.
  std::map<std::string, SessionPtr> upstreams_;
  std::vector<SessionPtr> retired_upstreams_;  // disconnected, kept until their channels are gone
  EventPtr event_;
  std::vector<std::unique_ptr<ChannelBridge>> bridges_;
  std::vector<std::unique_ptr<ChannelBridge>> incoming_;  // opened inside callbacks, adopted after
  int next_channel_ = 0;
  bool monitor_gone_ = false;  // the monitor stopped answering: the connection ends
  std::uint64_t arrivals_ = 0;  // see ChannelBridge: data, EOF or close queued on any bridged channel

  Steady::time_point last_activity_ = Steady::now();  // a byte moved on some channel, or one opened
  bool idle_warned_ = false;
  Steady::time_point last_probe_{};
  int probes_unanswered_ = 0;
};

}  // namespace bastion::gateway
