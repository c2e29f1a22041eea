#include "gateway/net_session.h"

#include <libssh/callbacks.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/closing_spool.h"
#include "audit/event_log.h"
#include "audit/session_store.h"
#include "audit/sftp_recorder.h"
#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/decide.h"
#include "authz/env_policy.h"
#include "authz/operation.h"
#include "authz/sftp_policy.h"
#include "authz/sqlite_store.h"
#include "authz/text.h"
#include "gateway/admin/commands.h"
#include "gateway/channel_bridge.h"
#include "gateway/keys.h"
#include "gateway/read_ahead.h"
#include "gateway/session_liveness.h"

namespace bastion::gateway {
namespace {

// Set by the signal handlers installed once the operator has authenticated (serve_connection).
volatile sig_atomic_t g_stop_notice = 0;     // SIGUSR1: the bastion is stopping
volatile sig_atomic_t g_stop_requested = 0;  // SIGTERM: end the connection now, cleanly
void on_stop_notice(int) { g_stop_notice = 1; }
void on_stop_request(int) { g_stop_requested = 1; }

// silence_ms: how long ago the operator's side last sent us anything, as the kernel saw it
// (TCP_INFO), whatever libssh made of it; -1 if unknown.
long long silence_ms(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_last_data_recv;
}

}  // namespace

int NetSession::on_message(ssh_session, ssh_message msg, void* self) {
  return static_cast<NetSession*>(self)->handle_message(msg);
}

// handle_message runs inside libssh's packet processing: it only records what was asked and
// answers it; all upstream work happens in run()'s loop.
int NetSession::handle_message(ssh_message msg) {
  switch (ssh_message_type(msg)) {
    case SSH_REQUEST_CHANNEL_OPEN: return handle_channel_open(msg);
    case SSH_REQUEST_CHANNEL:  // x11-req and anything the bridge's callbacks did not take: never
      spdlog::info("{}: refused channel request type {}", who_.who.name, ssh_message_subtype(msg));
      return 1;
    case SSH_REQUEST_GLOBAL:
      spdlog::info("{}: refused global request (remote forwarding is never allowed)", who_.who.name);
      return 1;
    default: return 1;  // libssh sends the default refusal
  }
}

int NetSession::handle_channel_open(ssh_message msg) {
  if (ssh_message_subtype(msg) == SSH_CHANNEL_DIRECT_TCPIP) return handle_forward_open(msg);
  if (ssh_message_subtype(msg) != SSH_CHANNEL_SESSION) {
    spdlog::info("{}: refused channel type {} from {}", who_.who.name, ssh_message_subtype(msg), peer_.to_string());
    return 1;
  }
  if (static_cast<int>(bridges_.size() + incoming_.size()) >= kMaxChannels) return 1;
  ssh_channel ch = ssh_message_channel_request_open_reply_accept(msg);
  if (ch == nullptr) return 0;
  incoming_.push_back(std::make_unique<ChannelBridge>(next_channel_++, ch, arrivals_));
  return 0;
}

// handle_forward_open decides a direct-tcpip request at once: SSH has no way to carry a reason on
// an accepted channel, so a refusal is an open failure, and its reason goes to the log.
int NetSession::handle_forward_open(ssh_message msg) {
  const char* host = ssh_message_channel_request_open_destination(msg);
  int port = ssh_message_channel_request_open_destination_port(msg);
  const char* orig = ssh_message_channel_request_open_originator(msg);
  int orig_port = ssh_message_channel_request_open_originator_port(msg);
  std::string dest = std::string(host ? host : "") + ":" + std::to_string(port);
  if (!who_.spec.target) {
    spdlog::warn("{}: forward to {} refused: name the target in the user name ({}+LOGIN+SERVER)", who_.who.name,
                 dest, who_.who.name);
    return 1;
  }
  if (who_.who.role != authz::Role::Operator || host == nullptr ||
      static_cast<int>(bridges_.size() + incoming_.size()) >= kMaxChannels) {
    spdlog::warn("{}: forward to {} refused", who_.who.name, dest);
    return 1;
  }
  auto allow = authorize(*who_.spec.target, authz::Operation::forward(host, port));
  if (!allow) {
    spdlog::warn("{}: forward to {} refused: {}", who_.who.name, dest, allow.error().message);
    (void)record("channel.refused", who_.spec.target->server, std::nullopt,
                 {{"reason", allow.error().message}, {"request", "forward " + dest}});
    return 1;
  }
  ssh_channel ch = ssh_message_channel_request_open_reply_accept(msg);
  if (ch == nullptr) return 0;
  auto b = std::make_unique<ChannelBridge>(next_channel_++, ch, arrivals_);
  b->mark_forward(host, port, orig ? orig : "127.0.0.1", orig_port);
  incoming_.push_back(std::move(b));
  return 0;
}


Status NetSession::record(std::string kind, const std::string& server, std::optional<std::int64_t> session,
                              nlohmann::json details) {
  audit::Event ev{clock_.now(), std::move(kind), who_.who.name, peer_.to_string(), server, session,
                  std::move(details)};
  auto st = services_.events->append(ev);
  if (!st) spdlog::error("audit event {} could not be written: {}", ev.kind, st.error().message);
  return st;
}


void NetSession::notify_all(const std::string& text) {
  std::string line = "\r\nbastion: " + text + "\r\n";
  for (auto& b : bridges_) {
    if (b->state() == ChannelBridge::State::Done || b->client_gone()) continue;
    ssh_channel_write_stderr(b->client(), line.data(), static_cast<uint32_t>(line.size()));
  }
}

void NetSession::tear_down() {
  reap_closing(true);
  incoming_.clear();
  bridges_.clear();
  for (auto& [key, up] : upstreams_) {
    if (event_) ssh_event_remove_session(event_.get(), up.get());
    ssh_disconnect(up.get());
  }
  for (auto& up : retired_upstreams_) ssh_disconnect(up.get());  // already out of the event
  if (event_) ssh_event_remove_session(event_.get(), client_);
  event_.reset();
  upstreams_.clear();
  retired_upstreams_.clear();
}

void NetSession::end_connection(const std::string& reason, const char* event_kind) {
  spdlog::warn("{} from {}: connection ended: {}", who_.who.name, peer_.to_string(), reason);
  std::vector<std::int64_t> ids;
  for (auto& b : bridges_) {
    if (b->session_id != 0) ids.push_back(b->session_id);
    if (b->state() != ChannelBridge::State::Done) b->cut(reason + "; connection closed");
    if (b->session_id != 0) close_session_row(*b, "aborted");
  }
  (void)record(event_kind, who_.spec.target ? who_.spec.target->server : "", std::nullopt,
               {{"reason", reason}, {"sessions", ids}});
  // What the cut wrote to the operator leaves before the connection closes. The disconnect itself
  // is serve_connection's, once this process and its channels are gone: ssh_disconnect() frees every
  // channel of the session, and the bridges still hold theirs.
  ssh_set_blocking(client_, 1);
  ssh_blocking_flush(client_, 2000);
}

std::string NetSession::watch_connection(Steady::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  if (g_stop_requested) return "the bastion is stopping";
  if (g_stop_notice) {
    g_stop_notice = 0;
    notify_all("the bastion is stopping: this connection will be closed in " +
               std::to_string(settings_.stop_grace_seconds) + " s; please finish your work");
    (void)record("connection.stop_notice", who_.spec.target ? who_.spec.target->server : "", std::nullopt,
                 {{"grace_seconds", settings_.stop_grace_seconds}});
  }
  const auto idle = duration_cast<seconds>(now - last_activity_).count();
  if (const int limit = settings_.idle_timeout_seconds; limit > 0) {
    if (idle >= limit) return "idle for " + std::to_string(idle) + " s (idle timeout " + std::to_string(limit) + " s)";
    if (!idle_warned_ && idle >= limit - settings_.idle_warning_seconds) {
      idle_warned_ = true;
      const auto left = limit - idle;
      notify_all("this connection has been idle for " + std::to_string(idle) + " s and will be closed in " +
                 std::to_string(left) + " s unless something is sent");
      (void)record("connection.idle_warning", who_.spec.target ? who_.spec.target->server : "", std::nullopt,
                   {{"idle_seconds", idle}, {"closes_in_seconds", left}});
    }
  }
  if (const int every = settings_.alive_interval_seconds; every > 0) {
    const long long silent = silence_ms(ssh_get_fd(client_));
    const long long since_probe = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_probe_).count();
    // Anything received since the last probe went out answers it (the reply itself, or any other
    // packet); on loopback the reply comes back within the same millisecond, hence the slack.
    if (silent >= 0 && (silent < every * 1000LL || silent <= since_probe + 5)) probes_unanswered_ = 0;
    if (silent >= every * 1000LL && now - last_probe_ >= seconds(every)) {
      if (probes_unanswered_ >= settings_.alive_count_max &&
          silent >= every * 1000LL * (settings_.alive_count_max + 1))
        return "the operator's side stopped answering (" + std::to_string(probes_unanswered_) +
               " keepalive probes unanswered over " + std::to_string(silent / 1000) + " s)";
      // libssh answers for the pending probe before sending another: the second call sends one
      // when the first only collected the previous reply.
      ssh_send_keepalive(client_);
      ssh_send_keepalive(client_);
      spdlog::debug("{}: keepalive probe {} (silent {} ms)", peer_.to_string(), probes_unanswered_ + 1, silent);
      last_probe_ = now;
      ++probes_unanswered_;
    }
  }
  return "";
}

int NetSession::run() {
  recorders_ = audit::file_recorder_factory(settings_.state_dir + "/recordings", clock_, settings_.recording_cap_bytes);
  event_.reset(ssh_event_new());
  // libssh consults channel callbacks (ChannelBridge) only when server callbacks are registered;
  // none of ours are needed beyond that, so the struct stays empty and everything else arrives
  // through on_message.
  ssh_callbacks_init(&server_cb_);
  ssh_set_server_callbacks(client_, &server_cb_);
  ssh_set_message_callback(client_, &NetSession::on_message, this);
  ssh_set_blocking(client_, 0);
  ssh_event_add_session(event_.get(), client_);
  auto last_check = std::chrono::steady_clock::now();
  bool progress = false;
  bool holding = false;  // a bridge holds back a tail shorter than a packet (ChannelBridge::release)
  while (ssh_is_connected(client_)) {
    // While a recording is being sealed, wake often enough to close its row soon after.
    int rc = ssh_event_dopoll(event_.get(), progress || holding ? 0 : closing_.empty() ? 200 : 5);
    if (rc == SSH_ERROR && !ssh_is_connected(client_)) break;
    // libssh marks a fatal protocol error (e.g. a packet over its 256 KiB limit: a megabyte exec
    // request) by the session's state alone, the socket still open: without this the loop would
    // poll the dead session for ever while the operator waits. End it, with the reason logged and
    // sent in the disconnect message.
    if ((ssh_get_status(client_) & SSH_CLOSED_ERROR) != 0) {
      const std::string why = ssh_get_error(client_);
      spdlog::warn("{}: connection ended by a protocol error: {}", peer_.to_string(), why);
      ssh_session_set_disconnect_message(client_, ("bastion: request refused: " + why).c_str());
      break;
    }
    const bool quiet = rc == SSH_AGAIN;  // no socket had anything for us
    if (!incoming_.empty()) last_activity_ = Steady::now();
    for (auto& b : incoming_) bridges_.push_back(std::move(b));
    incoming_.clear();
    progress = false;
    const std::uint64_t arrivals_before = arrivals_;
    for (std::size_t i = 0; i < bridges_.size(); ++i) {
      ChannelBridge& b = *bridges_[i];
      if (b.state() == ChannelBridge::State::Starting) {
        start(b);
        last_activity_ = Steady::now();  // reaching the server is not idleness
      }
      progress |= b.pump();
      if (b.state() == ChannelBridge::State::Done && b.session_id != 0)
        close_session_row(b, b.end_reason().empty() ? "closed" : "aborted");
    }
    // Never block while a bridge holds bytes it could forward now (see ChannelBridge::ready).
    if (!progress)
      progress = std::any_of(bridges_.begin(), bridges_.end(), [](const auto& b) { return b->ready(); });
    // Nor while this pass's reads (pump and ready above both make libssh read every session's
    // pending packets) queued something for a bridge after its turn: the socket holds nothing
    // more, so poll would sleep its full timeout on bytes already here (seen as 200 ms echo
    // stalls with 60 sessions on one connection).
    if (arrivals_ != arrivals_before) progress = true;
    // Tails held back for a full packet: all go out when nothing moved and the network is quiet;
    // otherwise (the rest of a packet still arriving 4 KiB per read, or another channel of the
    // connection busy) each waits at most ChannelBridge::kHoldAtMost.
    holding = false;
    for (auto& b : bridges_) {
      progress |= b->release(quiet && !progress);
      holding |= b->holding();
    }
    if (!closing_.empty()) reap_closing(false);
    std::erase_if(bridges_, [](const auto& b) {
      return b->state() == ChannelBridge::State::Done && b->client_gone() && b->session_id == 0;
    });
    auto now = Steady::now();
    if (progress) {
      last_activity_ = now;
      idle_warned_ = false;
    }
    if (now - last_check >= std::chrono::seconds(1) || g_stop_requested || g_stop_notice) {
      last_check = now;
      // A retry waits little for a locked database: the other channels' bytes wait meanwhile.
      if (!unwritten_.empty()) (void)write_closing(std::chrono::milliseconds(50));
      enforce_grants();
      if (auto why = watch_connection(now); !why.empty()) {
        end_connection(why, "connection.cut");
        break;
      }
    }
  }
  for (auto& b : bridges_) {
    if (b->state() == ChannelBridge::State::Running) b->cut("operator connection lost");
    if (b->session_id != 0) close_session_row(*b, "aborted");
  }
  reap_closing(true);
  drain_closing();
  return 0;
}


int serve_connection(int fd, const Peer& peer, ssh_bind bind, const DaemonSettings& settings) {
  alarm(static_cast<unsigned>(settings.login_grace_seconds));  // sshd's LoginGraceTime: SIGALRM ends us
  // Keystrokes are tiny packets: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms stalls.
  int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  SessionPtr client(ssh_new());
  if (!client || ssh_bind_accept_fd(bind, client.get(), fd) != SSH_OK) {
    spdlog::error("{}: cannot set up the SSH session", peer.to_string());
    return 1;
  }
  // libssh reads 4 KiB per poll(); let it read what the kernel holds (gateway/read_ahead.h).
  read_ahead::watch(fd);
  // The sandbox's place (gateway/sandbox.h, enter_sandbox()): the host key is loaded (in `bind`,
  // the one secret this process is meant to hold) and no byte from the peer has been read yet.
  // It cannot be entered here until this process stops opening things itself and asks its monitor
  // (gateway/monitor.h) instead: the database below (the monitor answers key, TOTP, decision,
  // session start, event and live-check requests), the egress key and upstream sockets
  // (upstream_channels.cc; the monitor's upstream request), recording files (channel_admission.cc;
  // its open_recording request). Not in the protocol yet: closing writes and spools
  // (session_rows.cc), bans and auth events (auth.cc), the admin command set (officers' channels).
  if (ssh_handle_key_exchange(client.get()) != SSH_OK) {
    spdlog::info("{}: key exchange failed: {}", peer.to_string(), ssh_get_error(client.get()));
    return 1;
  }
  const Clock& clock = process_clock();
  Services services;
  if (auto db = db::Database::open(settings.db_path, false)) {
    services.db = *db;
    services.store = authz::open_sqlite_store(*db);
    services.sessions = audit::open_sqlite_session_store(*db);
    services.events = audit::open_event_log(*db, settings.sinks);
  } else {
    spdlog::error("{}: database unavailable: {}", peer.to_string(), db.error().message);
  }
  auto on_event = [&](const AuthEvent& e) -> Status {
    if (!services.events) return Error{"no audit log"};
    // The actor is the account ("alice"), so `audit list --actor alice` finds her failures too;
    // the user name as sent ("alice+root+web1") stays in the details.
    auto spec = parse_user(e.user);
    std::string actor = spec ? spec->operator_name : e.user;
    std::string server = spec && spec->target ? spec->target->server : "";
    audit::Event ev{clock.now(), e.success ? "auth.success" : "auth.failure", actor, peer.to_string(), server, {}, {}};
    ev.details = {{"method", e.method}, {"reason", e.reason}, {"invalid_user", e.unknown_user}, {"user", e.user}};
    return services.events->append(ev);
  };
  auto who = authenticate(client.get(), services.store.get(), clock, settings.auth, on_event);
  if (!who) {
    spdlog::info("{}: authentication ended: {}", peer.to_string(), who.error().message);
    ssh_disconnect(client.get());
    return 1;
  }
  alarm(0);
  struct sigaction sa {};
  sa.sa_handler = on_stop_notice;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_stop_request;
  sigaction(SIGTERM, &sa, nullptr);
  int rc = 0;
  {
    // The process (its channels and upstream sessions) must be gone before ssh_disconnect(),
    // which frees every channel of the client session.
    NetSession process(client.get(), peer, settings, std::move(*who), services, clock);
    rc = process.run();
  }
  ssh_disconnect(client.get());
  return rc;
}

}  // namespace bastion::gateway
