#include "gateway/net_session.h"

#include <libssh/callbacks.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "gateway/bans.h"
#include "gateway/channel_bridge.h"
#include "gateway/monitor.h"
#include "gateway/read_ahead.h"
#include "gateway/sandbox.h"

namespace bastion::gateway {
namespace {

// Set by the signal handlers installed once the operator has authenticated (serve_connection).
volatile sig_atomic_t g_stop_notice = 0;     // SIGUSR1: the bastion is stopping
volatile sig_atomic_t g_stop_requested = 0;  // SIGTERM: end the connection now, cleanly
volatile sig_atomic_t g_recheck = 0;         // SIGUSR2: the monitor heard of an access change
void on_stop_notice(int) { g_stop_notice = 1; }
void on_stop_request(int) { g_stop_requested = 1; }
void on_recheck(int) { g_recheck = 1; }

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
  auto allow = decide(*who_.spec.target, "forward", dest, host, port);
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


// record asks the monitor to write an event only this process sees; the monitor fills in the time,
// the account, the source and the server itself, and refuses kinds it writes on its own.
Status NetSession::record(std::string kind, const std::string&, std::optional<std::int64_t> session,
                          nlohmann::json details) {
  auto r = monitor_.ask(monitor::event(static_cast<std::uint64_t>(session.value_or(0)), kind,
                                       details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (!r) {
    monitor_gone_ = true;
    spdlog::error("audit event {} could not be written: the monitor is gone ({})", kind, r.error().message);
    return r.error();
  }
  if (r->message.type != monitor::Type::Verdict || r->message.numbers[0] != monitor::kOk) {
    const std::string why = r->message.type == monitor::Type::Verdict ? r->message.strings[0] : "unexpected answer";
    spdlog::error("audit event {} could not be written: {}", kind, why);
    return Error{why};
  }
  return ok_status();
}


void NetSession::notify_all(const std::string& text) {
  std::string line = "\r\nbastion: " + text + "\r\n";
  for (auto& b : bridges_) {
    if (b->state() == ChannelBridge::State::Done || b->client_gone()) continue;
    ssh_channel_write_stderr(b->client(), line.data(), static_cast<uint32_t>(line.size()));
  }
}

void NetSession::tear_down() {
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
  // The earliest time a tail held back for a full packet must go out (ChannelBridge::release);
  // max() when none is held.
  Steady::time_point hold_until = Steady::time_point::max();
  while (ssh_is_connected(client_)) {
    // While a recording is being sealed, wake often enough to close its row soon after. While a
    // tail is held, wait for the network until it must go out (rounded up to whole ms: poll counts
    // in ms; 0 once the deadline has passed, and release() then sends it).
    int timeout_ms = 200;
    if (progress) {
      timeout_ms = 0;
    } else if (hold_until != Steady::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(hold_until - Steady::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 200));
    }
    int rc = ssh_event_dopoll(event_.get(), timeout_ms);
    if (rc == SSH_ERROR && !ssh_is_connected(client_)) break;
    // libssh marks a fatal protocol error (e.g. a packet over its 256 KiB limit: a megabyte exec
    // request) by the session's state alone, the socket still open: without this the loop would
    // poll the dead session for ever while the operator waits. End it, with the reason logged and
    // sent in the disconnect message.
    if ((ssh_get_status(client_) & SSH_CLOSED_ERROR) != 0) {
      const std::string why = ssh_get_error(client_);
      // libssh reports the operator's own SSH_MSG_DISCONNECT the same way: that is a normal end.
      if (why.rfind("Received SSH_MSG_DISCONNECT", 0) == 0) {
        spdlog::debug("{}: the operator disconnected: {}", peer_.to_string(), why);
        break;
      }
      spdlog::warn("{}: connection ended by a protocol error: {}", peer_.to_string(), why);
      ssh_session_set_disconnect_message(client_, ("bastion: request refused: " + why).c_str());
      break;
    }
    // Quiet: no socket had anything for us while we waited. A poll that did not wait proves
    // nothing (see ChannelBridge::hold_deadline).
    const bool quiet = rc == SSH_AGAIN && timeout_ms > 0;
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
      if (!b.idle()) progress |= b.pump();  // see ChannelBridge::idle
      if (b.state() == ChannelBridge::State::Done && b.session_id != 0)
        close_session_row(b, b.end_reason().empty() ? "closed" : "aborted");
    }
    // Never block while a bridge holds bytes it could forward now (see ChannelBridge::ready).
    if (!progress)
      progress = std::any_of(bridges_.begin(), bridges_.end(), [](const auto& b) { return !b->idle() && b->ready(); });
    // Nor while this pass's reads (pump and ready above both make libssh read every session's
    // pending packets) queued something for a bridge after its turn: the socket holds nothing
    // more, so poll would sleep its full timeout on bytes already here (seen as 200 ms echo
    // stalls with 60 sessions on one connection).
    if (arrivals_ != arrivals_before) progress = true;
    // Tails held back for a full packet: all go out when nothing moved and the network is quiet;
    // otherwise (the rest of a packet still arriving 4 KiB per read, or another channel of the
    // connection busy) each waits at most ChannelBridge::kHoldAtMost.
    hold_until = Steady::time_point::max();
    for (auto& b : bridges_) {
      progress |= b->release(quiet && !progress);
      if (auto d = b->hold_deadline()) hold_until = std::min(hold_until, *d);
    }
    std::erase_if(bridges_, [](const auto& b) {
      return b->state() == ChannelBridge::State::Done && b->client_gone() && b->session_id == 0;
    });
    auto now = Steady::now();
    if (progress) {
      last_activity_ = now;
      idle_warned_ = false;
    }
    // Once a second, and at once when the monitor says an access change was heard (a wake-up
    // only: what the check decides, the monitor reads from the database).
    if (now - last_check >= std::chrono::seconds(1) || g_stop_requested || g_stop_notice || g_recheck) {
      last_check = now;
      g_recheck = 0;
      enforce_grants();
      if (monitor_gone_) {
        end_connection("the bastion's monitor for this connection is gone", "connection.cut");
        break;
      }
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
  return 0;
}


namespace {

// ---- The network process: libssh, the sandbox, the proxy loop -----------------------------------

int run_network(int fd, const Peer& peer, ssh_bind bind, const DaemonSettings& settings, audit::UniqueFd sock,
                pid_t monitor_pid) {
  // Nothing outlives the monitor: it holds the rows and recordings of every session this process
  // carries.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != monitor_pid) return 1;
  ::alarm(static_cast<unsigned>(settings.login_grace_seconds));  // sshd's LoginGraceTime: SIGALRM ends us
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
  // The sandbox (gateway/sandbox.h): the host key is loaded (in `bind`, the one secret this process
  // holds, as in OpenSSH's sshd-auth), the peer's socket and the monitor's are open, and no byte
  // from the peer has been read yet. From here on this process opens nothing: it asks its monitor.
  SandboxOptions sandbox;
  sandbox.preauth_user = settings.preauth_user;
  sandbox.empty_root = empty_root_for(settings.state_dir);
#if defined(BASTION_SANITIZED) || defined(BASTION_PROFILED)
  // The sanitized build, and the profiling build (-DBASTION_PROFILE=ON, bench/callgrind_session.sh),
  // whose runtimes the seccomp filter and the limits would kill; the log line says so.
  sandbox.for_sanitizers = true;
#endif
  auto entered = enter_sandbox(sandbox);
  if (!entered) {
    spdlog::error("{}: the network process cannot be sandboxed, connection closed unread: {}", peer.to_string(),
                  entered.error().message);
    return 1;
  }
  spdlog::debug("{}: network process {}: {}", peer.to_string(), ::getpid(), entered->describe());
  if (ssh_handle_key_exchange(client.get()) != SSH_OK) {
    spdlog::info("{}: key exchange failed: {}", peer.to_string(), ssh_get_error(client.get()));
    return 1;
  }
  MonitorClient monitor(std::move(sock));
  auto who = authenticate(client.get(), monitor, settings.auth);
  if (!who) {
    spdlog::info("{}: authentication ended: {}", peer.to_string(), who.error().message);
    ssh_disconnect(client.get());
    return 1;
  }
  ::alarm(0);
  struct sigaction sa {};
  sa.sa_handler = on_stop_notice;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_stop_request;
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_recheck;
  sigaction(SIGUSR2, &sa, nullptr);
  int rc = 0;
  {
    // The process (its channels and upstream sessions) must be gone before ssh_disconnect(),
    // which frees every channel of the client session.
    NetSession process(client.get(), peer, settings, std::move(*who), monitor);
    rc = process.run();
  }
  ssh_disconnect(client.get());
  return rc;
}

// ---- The monitor: the database, the recordings, the egress key ----------------------------------

volatile sig_atomic_t g_forward_notice = 0;  // SIGUSR1 to pass on to the network process
volatile sig_atomic_t g_forward_stop = 0;    // SIGTERM to pass on
void on_forward_notice(int) { g_forward_notice = 1; }
void on_forward_stop(int) { g_forward_stop = 1; }

// describe_end says how the network process ended, for the sessions it left open.
std::string describe_end(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGSYS) return "the connection's network process was killed by its sandbox (a forbidden system call)";
    return "the connection's network process was killed by signal " + std::to_string(sig);
  }
  return "operator connection lost";
}

// serve_unavailable answers a network process when the database cannot be opened: nobody logs in.
int serve_unavailable(int sock, const std::string& why) {
  for (;;) {
    auto in = monitor::receive_message(sock);
    if (!in) return 1;
    if (!monitor::send_message(sock, monitor::final_refusal(why))) return 1;
  }
}

int run_monitor(audit::UniqueFd sock, pid_t network, const Peer& peer, const DaemonSettings& settings) {
  struct sigaction sa {};
  sa.sa_handler = on_forward_notice;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_forward_stop;
  sigaction(SIGTERM, &sa, nullptr);
  auto forward = [network] {
    if (g_forward_notice) {
      g_forward_notice = 0;
      ::kill(network, SIGUSR1);
    }
    if (g_forward_stop) {
      g_forward_stop = 0;
      ::kill(network, SIGTERM);
    }
  };
  auto wait_network = [network, &peer] {
    int status = 0;
    while (::waitpid(network, &status, 0) < 0 && errno == EINTR) {
    }
    // Said like the listener says it of the monitor, so that one grep finds every death: SIGALRM is
    // the login grace running out, SIGSYS the sandbox, anything else a crash.
    if (WIFSIGNALED(status))
      spdlog::warn("{}: network process {} killed by signal {}", peer.to_string(), network, WTERMSIG(status));
    return status;
  };
  const Clock& clock = process_clock();
  auto db = db::Database::open(settings.db_path, false);
  if (!db) {
    spdlog::error("{}: database unavailable: {}", peer.to_string(), db.error().message);
    // PostgreSQL out of reach is an outage the node rides out (it retries at the next login), not
    // a database to repair: fail closed, saying which.
    serve_unavailable(sock.get(), db::Database::is_postgres_location(settings.db_path)
                                      ? "the bastion's database (PostgreSQL) cannot be reached; nobody can log in until "
                                        "it is back; try again later"
                                      : "the bastion database is unavailable; nobody can log in until it is repaired");
    wait_network();
    return 1;
  }
  try {
    (*db)->keep_cache_small();
  } catch (const db::DbError& e) {  // only memory is at stake: go on with SQLite's default cache
    spdlog::warn("{}: the database cache keeps its default size: {}", peer.to_string(), e.what());
  }
  auto store = authz::open_sqlite_store(*db);
  auto sessions = audit::open_sqlite_session_store(*db);
  auto events = audit::open_event_log(*db, settings.sinks);
  MonitorServices services{*store, *sessions, *events, *db};
  MonitorSettings ms;
  ms.recordings_dir = settings.state_dir + "/recordings";
  ms.egress_key_path = settings.egress_key_path;
  ms.egress_ca_path = settings.egress_ca_path;
  ms.egress_source_addresses = settings.egress_source_addresses;
  ms.host_key_path = settings.host_key_path;
  ms.checkpoint_key_path = settings.checkpoint_key_path;
  ms.master_key_path = settings.master_key_path;
  ms.connect_timeout_seconds = settings.upstream.connect_timeout_seconds;
  ms.max_sessions_per_operator = settings.max_sessions_per_operator;
  ms.max_auth_failures = settings.auth.max_attempts;
  // The daemon's ban guard opens a connection per check; this process has one already (bans.h).
  std::optional<DatabaseBanGuard> guard;
  if (const auto* daemon_guard = dynamic_cast<const DatabaseBanGuard*>(settings.auth.guard))
    guard.emplace(daemon_guard->on(*db));
  ms.guard = guard ? &*guard : settings.auth.guard;
  ms.peer_address = peer.address;
  ms.on_authenticated = settings.auth.on_authenticated;
  ms.sinks = settings.sinks;
  ms.portal_url = settings.portal_url;
  ms.node = settings.node;
  ms.db_grace = std::chrono::seconds(settings.db_grace_seconds);
  ms.access_poll = std::chrono::seconds(settings.access_poll_seconds);
  // Only once the network process has authenticated its operator does the monitor listen, and it
  // set its SIGUSR2 handler before (serve_connection).
  ms.wake_network = [network] { ::kill(network, SIGUSR2); };
  Monitor monitor(services, clock, ms, peer.to_string());
  const int rc = monitor.serve(sock.get(), forward);
  // A violation ends the connection now: the network process is not asked to leave.
  if (rc != 0) ::kill(network, SIGKILL);
  const int status = wait_network();
  // The login grace running out before authentication (SIGALRM) is a stranger being slow, not a
  // death worth an audit event; every other signal is.
  const bool grace_ran_out = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM && monitor.account().empty();
  if (rc == 0 && WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL && !grace_ran_out)
    monitor.network_died(describe_end(status));
  monitor.finish(rc != 0 ? "the connection was cut: its network process broke the monitor protocol"
                         : describe_end(status));
  return rc != 0 ? 1 : (WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

}  // namespace

int serve_connection(int fd, const Peer& peer, ssh_bind bind, const DaemonSettings& settings) {
  // Two processes per connection (gateway/monitor.h): this one becomes the monitor, privileged; its
  // child, the network process, runs libssh in the sandbox and asks the monitor for everything else.
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    spdlog::error("{}: cannot create the monitor socket: {}", peer.to_string(), std::strerror(errno));
    return 1;
  }
  audit::UniqueFd monitor_end(pair[0]);
  audit::UniqueFd network_end(pair[1]);
  const pid_t monitor_pid = ::getpid();
  const pid_t network = ::fork();
  if (network < 0) {
    spdlog::error("{}: cannot fork the network process: {}", peer.to_string(), std::strerror(errno));
    return 1;
  }
  if (network == 0) {
    monitor_end.close();
    release_preauth_pipe();  // the monitor says when the connection is authenticated
    return run_network(fd, peer, bind, settings, std::move(network_end), monitor_pid);
  }
  network_end.close();
  ::close(fd);  // the peer's socket is the network process's alone
  return run_monitor(std::move(monitor_end), network, peer, settings);
}

}  // namespace bastion::gateway
