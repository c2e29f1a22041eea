#pragma once
// NetSession: the life of one authenticated operator connection, in its own forked process —
// every channel routed, authorized, recorded and proxied until the operator leaves. Its work is
// split by job over the files named after it:
//   net_session.cc        the event loop, libssh's callbacks, watching and ending the connection
//   channel_admission.cc  what a new channel asks, whether it may, and starting it (or refusing)
//   upstream_channels.cc  the bastion's SSH sessions and channels to the client's servers
//   session_rows.cc       closing a session's row and recording, retrying a locked database
//   grant_enforcement.cc  the live re-check that ends channels whose access ended
// Trust: this process still holds the database and reads the egress key itself; the privileged
// acts it must hand to its monitor (gateway/monitor.h) are exactly the calls on services_ and
// settings_.egress_key_path here. Internal to gateway/; serve_connection (session_process.h) is
// the entry point.
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libssh/callbacks.h>

#include "audit/closing_spool.h"
#include "audit/event_log.h"
#include "audit/session_store.h"
#include "authz/db.h"
#include "authz/decide.h"
#include "authz/env_policy.h"
#include "authz/operation.h"
#include "authz/store.h"
#include "gateway/channel_bridge.h"
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

// Services: what a session process reads and writes, all over the one database connection.
struct Services {
  db::DatabasePtr db;
  authz::StorePtr store;
  audit::SessionStorePtr sessions;
  audit::EventLogPtr events;
};

class NetSession {
 public:
  NetSession(ssh_session client, const Peer& peer, const DaemonSettings& settings, Authenticated who,
                 Services& services, const Clock& clock)
      : client_(client), peer_(peer), settings_(settings), who_(std::move(who)), services_(services),
        store_(*services.store), sessions_(*services.sessions), clock_(clock) {}
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
  Result<authz::Allow> authorize(const Target& target, const authz::Operation& op);
  Result<Route> route(ChannelBridge& b);
  Result<authz::Operation> classify(const Route& r, const ChannelRequest& req);
  void refuse(ChannelBridge& b, const std::string& reason);
  void list_grants(ChannelBridge& b);
  Result<ssh_session> upstream_for(const authz::Server& server, const std::string& login);
  Result<ChannelPtr> open_upstream_channel(ssh_session up, const ChannelBridge& b, const Route& r,
                                           const std::vector<authz::EnvRequest>& env);
  bool record_dropped_env(const ChannelBridge& b, const authz::EnvDecision& env, const std::string& server, std::int64_t sid);
  // Closing: a session row whose recording is being sealed (fsync, then the SHA-256 re-read from
  // disk: about 1.5 s for 1 GiB here) on a thread of its own, so that the connection's other
  // channels, and the next command over the same connection, do not wait for it.
  struct Closing {
    audit::ClosingWrites writes;  // all but the recording's summary, known once sealed
    std::future<Result<audit::RecordingSummary>> sealed;
  };
  // finish_row completes the closing writes with the recording's summary (if any) and tries to
  // commit them (see Unwritten).
  void finish_row(Closing& c, std::optional<Result<audit::RecordingSummary>> rec);
  // reap_closing finishes the rows whose seal is done; with `wait`, all of them.
  void reap_closing(bool wait);
  // Unwritten: closing writes the database has not taken yet (locked or failing). They stay here
  // and, from their first failure on, in the session's closing spool (audit/closing_spool.h), and
  // are tried again each second; bastiond's recovery sweep replays the spool if this process ends
  // first.
  struct Unwritten {
    audit::ClosingWrites writes;
    bool spooled = false;
  };
  // write_closing tries once to commit every unwritten closing (waiting at most `busy_wait` for a
  // locked database) and to spool those not yet spooled; returns true when none is left.
  bool write_closing(std::chrono::milliseconds busy_wait);
  // drain_closing, before the process exits: retries until every closing is committed, or until
  // kClosingPatience has passed with every one spooled. Never returns holding unspooled writes.
  void drain_closing();
  // close_session_row ends the bridge's session: at once if it has no recording, otherwise once
  // its recording is sealed (see Closing), finish_row writes the digest and the end of the row.
  // status is "closed" (ended normally), "aborted" (ended by the bastion, reason given) or "refused".
  // The bridge's session_id is 0 from here on.
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
  std::string end_reason(const ChannelBridge& b, Seconds now);
  // record appends an audit event about this connection; an error means it was not recorded.
  Status record(std::string kind, const std::string& server, std::optional<std::int64_t> session,
                nlohmann::json details);

  ssh_session client_;
  Peer peer_;
  const DaemonSettings& settings_;
  Authenticated who_;
  Services& services_;
  authz::Store& store_;
  audit::SessionStore& sessions_;
  const Clock& clock_;
  KeyPtr egress_key_;
  audit::RecorderFactoryPtr recorders_;
  ssh_server_callbacks_struct server_cb_{};

  // tear_down() frees these in order (channels, upstream sessions, event); the declaration order
  // keeps the same order should anything be left.
  std::map<std::string, SessionPtr> upstreams_;
  std::vector<SessionPtr> retired_upstreams_;  // disconnected, kept until their channels are gone
  EventPtr event_;
  std::vector<std::unique_ptr<ChannelBridge>> bridges_;
  std::vector<std::unique_ptr<ChannelBridge>> incoming_;  // opened inside callbacks, adopted after
  int next_channel_ = 0;
  std::vector<Closing> closing_;  // rows waiting for their recording's seal (see Closing)
  std::vector<Unwritten> unwritten_;  // closing writes not yet committed (see Unwritten)
  std::uint64_t arrivals_ = 0;  // see ChannelBridge: data, EOF or close queued on any bridged channel

  Steady::time_point last_activity_ = Steady::now();  // a byte moved on some channel, or one opened
  bool idle_warned_ = false;
  Steady::time_point last_probe_{};
  int probes_unanswered_ = 0;
};

}  // namespace bastion::gateway
