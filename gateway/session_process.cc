#include "gateway/session_process.h"

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

constexpr int kRefusedExit = 1;
constexpr int kMaxChannels = 64;

// Set by the signal handlers installed once the operator has authenticated (serve_connection).
volatile sig_atomic_t g_stop_notice = 0;     // SIGUSR1: the bastion is stopping
volatile sig_atomic_t g_stop_requested = 0;  // SIGTERM: end the connection now, cleanly
void on_stop_notice(int) { g_stop_notice = 1; }
void on_stop_request(int) { g_stop_requested = 1; }

using Steady = std::chrono::steady_clock;

// silence_ms: how long ago the operator's side last sent us anything, as the kernel saw it
// (TCP_INFO), whatever libssh made of it; -1 if unknown.
long long silence_ms(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_last_data_recv;
}

// Route: where a channel goes and what it runs there.
struct Route {
  Target target;
  RequestKind kind = RequestKind::None;
  std::string command;
};

std::string ops_list(const std::vector<std::string>& ops) {
  std::string s;
  for (const auto& o : ops) s += (s.empty() ? "" : ",") + o;
  return s;
}

// Services: what a session process reads and writes, all over the one database connection.
struct Services {
  db::DatabasePtr db;
  authz::StorePtr store;
  audit::SessionStorePtr sessions;
  audit::EventLogPtr events;
};

class SessionProcess {
 public:
  SessionProcess(ssh_session client, const Peer& peer, const DaemonSettings& settings, Authenticated who,
                 Services& services, const Clock& clock)
      : client_(client), peer_(peer), settings_(settings), who_(std::move(who)), services_(services),
        store_(*services.store), sessions_(*services.sessions), clock_(clock) {}
  SessionProcess(const SessionProcess&) = delete;
  SessionProcess& operator=(const SessionProcess&) = delete;
  ~SessionProcess() { tear_down(); }

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

int SessionProcess::on_message(ssh_session, ssh_message msg, void* self) {
  return static_cast<SessionProcess*>(self)->handle_message(msg);
}

// handle_message runs inside libssh's packet processing: it only records what was asked and
// answers it; all upstream work happens in run()'s loop.
int SessionProcess::handle_message(ssh_message msg) {
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

int SessionProcess::handle_channel_open(ssh_message msg) {
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
int SessionProcess::handle_forward_open(ssh_message msg) {
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

Result<authz::Allow> SessionProcess::authorize(const Target& target, const authz::Operation& op) {
  auto server = store_.find_server(target.server);
  if (!server) return Error{"unknown server '" + target.server + "'"};
  auto grants = store_.grants_for(who_.who.id, server->id, target.login);
  auto catalogue = store_.catalogue_of(server->id);
  authz::Decision d = authz::decide({who_.who, *server, target.login, &op, grants, catalogue, clock_.now()});
  if (auto* deny = std::get_if<authz::Deny>(&d)) return Error{deny->reason};
  return std::get<authz::Allow>(std::move(d));
}

int SessionProcess::run_admin(const std::vector<std::string>& args, std::string& out, std::string& err) {
  std::ostringstream o;
  std::ostringstream e;
  admin::CommandContext ctx{.store = store_,
                            .clock = clock_,
                            .out = o,
                            .err = e,
                            .events = *services_.events,
                            .sessions = sessions_,
                            .actor = who_.who.name,
                            .actor_role = who_.who.role,
                            .actor_client = who_.who.client,
                            .source = peer_.to_string(),
                            .remote = true,
                            .keys = KeyPaths{settings_.host_key_path, settings_.egress_key_path},
                            .program = "bastion",
                            .db = services_.db,
                            .recordings_dir = settings_.state_dir + "/recordings",
                            .out_is_terminal = false};
  int rc = admin::run_command(args, ctx);
  out += o.str();
  err += e.str();
  spdlog::info("{} from {}: admin command `{}` exited {}", who_.who.name, peer_.to_string(),
               args.empty() ? "" : args[0] + (args.size() > 1 ? " " + args[1] : ""), rc);
  return rc;
}

// start_admin: officers and client reviewers get the admin command set, never a proxied session
// and never a shell (DESIGN.md rule 8).
void SessionProcess::start_admin(ChannelBridge& b) {
  const ChannelRequest& req = b.request();
  if (req.kind == RequestKind::Exec) {
    auto words = authz::split_command_line(req.command);
    if (!words) return refuse(b, words.error().message);
    std::string out;
    std::string err;
    int rc = run_admin(*words, out, err);
    return b.respond(out, err, rc);
  }
  if (req.kind == RequestKind::Shell) {
    auto runner = [this](const std::vector<std::string>& args, std::string& out) {
      std::string err;
      int rc = run_admin(args, out, err);
      out += err;
      return rc;
    };
    return b.attach_console(std::make_unique<AdminConsole>(who_.who.name, req.pty.has_value(), runner));
  }
  refuse(b, std::string("a ") + authz::to_string(who_.who.role) +
                " account gets the admin command set only (try: ssh -t " + who_.who.name + "@bastion)");
}

Result<Route> SessionProcess::route(ChannelBridge& b) {
  const ChannelRequest& req = b.request();
  if (req.kind == RequestKind::Forward)  // only accepted with a target (handle_forward_open)
    return Route{*who_.spec.target, req.kind, req.forward_host + ":" + std::to_string(req.forward_port)};
  if (who_.spec.target) return Route{*who_.spec.target, req.kind, req.command};
  if (req.kind == RequestKind::Exec) {
    auto ct = parse_command_target(req.command);
    if (!ct) {
      auto words = authz::split_command_line(req.command);
      if (words && !words->empty() && admin::is_admin_command(words->front())) {
        std::string out, err;
        run_admin(*words, out, err);  // refused by the role rule, with its message
        return Error{err.rfind("bastion: ", 0) == 0 ? err.substr(9, err.find_last_not_of('\n') - 8) : err};
      }
      return Error{ct.error().message + "; usage: ssh -t " + who_.who.name + "@bastion LOGIN@SERVER [COMMAND]"};
    }
    if (ct->command.empty()) return Route{ct->target, RequestKind::Shell, ""};
    return Route{ct->target, RequestKind::Exec, ct->command};
  }
  if (req.kind == RequestKind::Subsystem)
    return Error{"name the target in the user name for " + req.command + ": " + who_.who.name +
                 "+LOGIN+SERVER@bastion"};
  return Route{Target{}, RequestKind::Shell, ""};  // a shell with no target: the grant listing
}

Result<authz::Operation> SessionProcess::classify(const Route& r, const ChannelRequest& req) {
  switch (r.kind) {
    case RequestKind::Shell: return authz::Operation::shell();
    case RequestKind::Exec: return authz::classify_exec(r.command);
    case RequestKind::Subsystem:
      if (r.command == "sftp") return authz::Operation::sftp();
      return Error{"subsystem '" + r.command + "' is not available through the bastion"};
    case RequestKind::Forward:
      return authz::Operation::forward(req.forward_host, req.forward_port);
    case RequestKind::None: break;
  }
  return Error{"nothing to run"};
}

Status SessionProcess::record(std::string kind, const std::string& server, std::optional<std::int64_t> session,
                              nlohmann::json details) {
  audit::Event ev{clock_.now(), std::move(kind), who_.who.name, peer_.to_string(), server, session,
                  std::move(details)};
  auto st = services_.events->append(ev);
  if (!st) spdlog::error("audit event {} could not be written: {}", ev.kind, st.error().message);
  return st;
}

void SessionProcess::refuse(ChannelBridge& b, const std::string& reason) {
  spdlog::warn("{} from {}: channel {} refused: {}", who_.who.name, peer_.to_string(), b.number(), reason);
  const ChannelRequest& req = b.request();
  (void)record("channel.refused", who_.spec.target ? who_.spec.target->server : "",
               b.session_id ? std::optional<std::int64_t>(b.session_id) : std::nullopt,
               {{"reason", reason}, {"request", req.kind == RequestKind::Shell ? "shell" : req.command},
                {"pty", req.pty.has_value()}});
  b.respond("bastion: " + reason + "\r\n", true, kRefusedExit);
  if (b.session_id != 0) close_session_row(b, "refused");
}

void SessionProcess::list_grants(ChannelBridge& b) {
  std::ostringstream out;
  out << "Bastion: you are " << who_.who.name << " (" << authz::to_string(who_.who.role) << ").\r\n"
      << "Name a target: ssh " << who_.who.name << "+LOGIN+SERVER@bastion, or ssh -t " << who_.who.name
      << "@bastion LOGIN@SERVER [COMMAND]\r\n\r\n";
  int shown = 0;
  auto now = clock_.now();
  for (const auto& g : store_.grants_of(who_.who.id)) {
    if (g.revoked_at || g.not_after <= now) continue;
    if (shown++ == 0) out << "Your grants:\r\n";
    out << "  grant " << g.id << ": " << g.login << "@" << g.server_name << "  operations " << ops_list(g.ops)
        << "  from " << authz::format_utc(g.not_before) << " until " << authz::format_utc(g.not_after) << "\r\n";
  }
  if (shown == 0) out << "You have no current grants; ask a security officer for access.\r\n";
  b.respond(out.str(), false, 0);
}

Result<ssh_session> SessionProcess::upstream_for(const authz::Server& server, const std::string& login) {
  std::string key = login + "@" + server.name;
  if (auto it = upstreams_.find(key); it != upstreams_.end()) {
    if (ssh_is_connected(it->second.get())) return it->second.get();
    // Bridges may still hold channels of the dead session: it is freed only after them.
    ssh_event_remove_session(event_.get(), it->second.get());
    retired_upstreams_.push_back(std::move(it->second));
    upstreams_.erase(it);
  }
  if (!egress_key_) {
    auto k = load_private_key(settings_.egress_key_path);
    if (!k) return Error{"the bastion's egress key is unusable: " + k.error().message};
    egress_key_ = std::move(*k);
  }
  auto s = connect_upstream(server, login, egress_key_.get(), settings_.upstream);
  if (!s) return s.error();
  ssh_session raw = s->get();
  ssh_set_blocking(raw, 0);
  ssh_event_add_session(event_.get(), raw);
  upstreams_.emplace(key, std::move(*s));
  return raw;
}

Result<ChannelPtr> SessionProcess::open_upstream_channel(ssh_session up, const ChannelBridge& b, const Route& r,
                                                         const std::vector<authz::EnvRequest>& env) {
  // Blocking for the few round trips of opening; the operator's side keeps buffering meanwhile.
  struct Blocking {
    ssh_session s;
    explicit Blocking(ssh_session s) : s(s) { ssh_set_blocking(s, 1); }
    ~Blocking() { ssh_set_blocking(s, 0); }
  } blocking(up);
  ChannelPtr ch(ssh_channel_new(up));
  if (!ch) return Error{"out of memory opening a channel"};
  const ChannelRequest& req = b.request();
  if (r.kind == RequestKind::Forward) {
    if (ssh_channel_open_forward(ch.get(), req.forward_host.c_str(), req.forward_port, req.originator.c_str(),
                                 req.originator_port) != SSH_OK)
      return Error{"the server could not connect to " + r.command + ": " + ssh_get_error(up)};
    return ch;
  }
  if (ssh_channel_open_session(ch.get()) != SSH_OK)
    return Error{std::string("the server refused a session channel: ") + ssh_get_error(up)};
  if (req.pty && ssh_channel_request_pty_size(ch.get(), req.pty->term.c_str(), req.pty->cols, req.pty->rows) != SSH_OK)
    return Error{"the server refused a terminal"};
  for (const auto& [name, value] : env) ssh_channel_request_env(ch.get(), name.c_str(), value.c_str());
  int rc = SSH_ERROR;
  switch (r.kind) {
    case RequestKind::Shell: rc = ssh_channel_request_shell(ch.get()); break;
    case RequestKind::Exec: rc = ssh_channel_request_exec(ch.get(), r.command.c_str()); break;
    case RequestKind::Subsystem: rc = ssh_channel_request_subsystem(ch.get(), r.command.c_str()); break;
    case RequestKind::Forward:
    case RequestKind::None: break;
  }
  if (rc != SSH_OK) return Error{"the server refused to start the " + std::string(r.kind == RequestKind::Subsystem ? "subsystem" : "command")};
  return ch;
}

// record_dropped_env writes one session.env_dropped event listing what did not reach the target
// (names and values escaped, values cut short); nothing dropped, no event. False if unrecorded.
bool SessionProcess::record_dropped_env(const ChannelBridge& b, const authz::EnvDecision& env, const std::string& server,
                                        std::int64_t sid) {
  nlohmann::json dropped = nlohmann::json::array();
  for (const auto& d : env.dropped) dropped.push_back({{"name", d.name}, {"value", d.value}, {"why", d.why}});
  if (!b.request().refused_term.empty())
    dropped.push_back({{"name", "TERM"}, {"value", escape_unprintable(b.request().refused_term.substr(0, authz::kEnvShownValueBytes))},
                       {"why", "not a terminal name; sent as " + std::string(authz::kFallbackTerminal)}});
  if (dropped.empty()) return true;
  return record("session.env_dropped", server, sid, {{"channel", b.number()}, {"dropped", dropped}}).ok();
}

// asks_operator_command: an exec with no target in the user name whose first word is one of the
// few admin commands operators have (`ssh alice@bastion request add web1 …`, issue 17).
static bool asks_operator_command(const ChannelRequest& req, bool has_target) {
  if (has_target || req.kind != RequestKind::Exec) return false;
  auto words = authz::split_command_line(req.command);
  return words && !words->empty() && admin::is_operator_command(words->front());
}

void SessionProcess::start(ChannelBridge& b) {
  if (who_.who.role != authz::Role::Operator || asks_operator_command(b.request(), who_.spec.target.has_value()))
    return start_admin(b);
  auto r = route(b);
  if (!r) return refuse(b, r.error().message);
  if (r->kind == RequestKind::Shell && r->target.server.empty()) return list_grants(b);
  auto op = classify(*r, b.request());
  if (!op) return refuse(b, op.error().message);
  auto allow = authorize(r->target, *op);
  if (!allow) return refuse(b, allow.error().message);
  b.grant_id = allow->grant.id;
  // The target runs, and the evidence shows, exactly the words that were matched: their
  // serialisation, never the operator's line — except under the "any command" entry, which allowed
  // the line as typed (a pipeline, a glob) and says so in session.start.
  const bool as_typed = r->kind == RequestKind::Exec && allow->any_command;
  if (r->kind == RequestKind::Exec && !as_typed) r->command = op->upstream_command;
  auto server = store_.find_server(r->target.server);
  if (!server) return refuse(b, "unknown server '" + r->target.server + "'");

  audit::SessionStart row{who_.who.name, server->name, r->target.login, allow->grant.id, server->client,
                          peer_.to_string(), clock_.now(), static_cast<int>(getpid()),
                          settings_.max_sessions_per_operator};
  row.pid_start = process_start_ticks(row.pid);
  row.alive = session_process_alive;
  // Refused either by the per-operator cap or because the journal cannot be written (fail closed);
  // the store's message says which.
  auto id = sessions_.start(row);
  if (!id) return refuse(b, id.error().message);
  b.session_id = *id;
  b.started_at = clock_.now();
  nlohmann::json start = {{"login", r->target.login},
                          {"grant", allow->grant.id},
                          {"operation", allow->op_name},
                          {"client", server->client},
                          {"started_at", to_unix(row.start)},
                          {"request", r->kind == RequestKind::Shell ? "shell" : r->command},
                          {"pty", b.request().pty.has_value()}};
  if (as_typed) {
    start["any_command"] = true;
    start["request_as_typed"] = r->command;
  }
  if (!record("session.start", server->name, *id, std::move(start)))
    return refuse(b, "the audit log cannot be written; access refused");

  // The environment reaches the target's shell before the command: only what authz lets pass is
  // sent, and what is dropped is on record (THREATS.md "Environment injection").
  const auto env = authz::decide_env(b.request().env, server->allowed_env);
  if (!record_dropped_env(b, env, server->name, *id)) return refuse(b, "the audit log cannot be written; access refused");

  std::string what = r->kind == RequestKind::Shell ? "shell"
                     : r->kind == RequestKind::Forward ? "forward " + r->command
                                                       : r->command;
  auto rec = b.request().pty ? recorders_->open_pty(*id, b.number(), *b.request().pty, what)
                             : recorders_->open_exec(*id, b.number(), what);
  if (!rec) return refuse(b, "the session cannot be recorded (" + rec.error().message + "); access refused");
  if (op->type == authz::OpType::Sftp) {
    // Each SFTP operation parsed in transit is an audit event; one that cannot be written ends
    // the session (the recorder then reports failure).
    rec = audit::sftp_recorder(std::move(*rec), [this, sid = *id, srv = server->name](const std::string& kind,
                                                                                    nlohmann::json details) {
      return record(kind, srv, sid, std::move(details));
    });
  }

  // An SFTP channel under entries that limit direction or paths is gated request by request
  // (audit/sftp_gate.h); each refusal is an audit event, and one that cannot be written ends it.
  std::unique_ptr<audit::SftpGate> gate;
  if (op->type == authz::OpType::Sftp && authz::sftp_gate_needed(allow->transfer_entries)) {
    gate = std::make_unique<audit::SftpGate>(
        allow->transfer_entries, [this, sid = *id, srv = server->name](const std::string& kind, nlohmann::json details) {
          return record(kind, srv, sid, std::move(details));
        });
  }

  auto up = upstream_for(*server, r->target.login);
  if (!up) return refuse(b, up.error().message);
  auto ch = open_upstream_channel(*up, b, *r, env.pass);
  if (!ch) return refuse(b, ch.error().message);
  spdlog::info("session {}: {} from {} → {}@{} ({}) under grant {}", *id, who_.who.name, peer_.to_string(),
               r->target.login, server->name, what, allow->grant.id);
  b.attach(std::move(*ch), std::move(*rec), std::move(gate));
}

void SessionProcess::close_session_row(ChannelBridge& b, std::string_view status) {
  Closing c{{b.session_id, b.number(), b.started_at, clock_.now(), b.exit_status(), std::string(status),
             b.end_reason(), std::nullopt, "", who_.who.name, peer_.to_string(),
             who_.spec.target ? who_.spec.target->server : ""},
            {}};
  b.session_id = 0;
  auto recorder = b.take_recorder();
  if (!recorder) {
    finish_row(c, std::nullopt);
    return;
  }
  // The recorder is the thread's alone from here: nothing else touches its file.
  c.sealed = std::async(std::launch::async, [r = std::move(recorder)]() { return r->close(); });
  closing_.push_back(std::move(c));
}

void SessionProcess::finish_row(Closing& c, std::optional<Result<audit::RecordingSummary>> rec) {
  audit::ClosingWrites& w = c.writes;
  if (rec && *rec) w.recording = std::move(**rec);
  if (rec && !*rec) {
    w.recording_error = rec->error().message;
    spdlog::error("session {}: closing the recording failed: {}", w.session_id, w.recording_error);
  }
  unwritten_.push_back(Unwritten{std::move(w), false});
  // Runs in the loop that moves the other channels' bytes: a locked database stalls them at most
  // this long; then the writes are spooled and tried again each second.
  (void)write_closing(std::chrono::milliseconds(500));
}

bool SessionProcess::write_closing(std::chrono::milliseconds busy_wait) {
  const std::string dir = settings_.state_dir + "/recordings";
  services_.db->set_busy_timeout(busy_wait);
  std::erase_if(unwritten_, [&](Unwritten& u) {
    const std::int64_t id = u.writes.session_id;
    auto done = audit::apply_closing(services_.db, u.writes, settings_.sinks, clock_.now());
    if (done) {
      if (u.spooled) ::unlink(audit::spool_path(dir, id).c_str());
      return true;
    }
    spdlog::error("session {}: {}", id, done.error().message);
    if (!u.spooled) {
      auto st = audit::append_spool(audit::spool_path(dir, id), u.writes);
      if (!st) spdlog::error("session {}: {}", id, st.error().message);
      u.spooled = static_cast<bool>(st);
    }
    // A sink error comes after the commit: the row is closed then, and the writes are not retried.
    try {
      auto row = sessions_.find(id);
      if (row && row->status != "live") {
        ::unlink(audit::spool_path(dir, id).c_str());
        return true;
      }
    } catch (const db::DbError&) {
    }
    return false;
  });
  services_.db->set_busy_timeout(db::Database::kBusyTimeout);
  return unwritten_.empty();
}

void SessionProcess::drain_closing() {
  constexpr auto kClosingPatience = std::chrono::seconds(120);
  const auto give_up = Steady::now() + kClosingPatience;
  while (!write_closing(db::Database::kBusyTimeout)) {
    const bool all_spooled = std::all_of(unwritten_.begin(), unwritten_.end(), [](const auto& u) { return u.spooled; });
    if (all_spooled && Steady::now() >= give_up) {
      spdlog::error("{} closing write(s) left to bastiond's recovery sweep in their spool", unwritten_.size());
      return;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void SessionProcess::reap_closing(bool wait) {
  std::erase_if(closing_, [&](Closing& c) {
    if (!wait && c.sealed.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    finish_row(c, c.sealed.get());
    return true;
  });
}

// enforce_grants ends running channels whose grant was revoked or expired, whose account was
// disabled or the key it authenticated with removed, or that an officer killed (DESIGN.md rule 4). A database that cannot be read ends
// them too: fail closed.
void SessionProcess::enforce_grants() {
  auto now = clock_.now();
  for (auto& b : bridges_) {
    if (b->state() != ChannelBridge::State::Running || !b->grant_id) continue;
    std::string why;
    try {
      why = end_reason(*b, now);
    } catch (const db::DbError& e) {
      why = std::string("the bastion database cannot be read (") + e.what() + ")";
    }
    if (why.empty()) continue;
    b->cut(why + "; session ended");
    (void)record("session.cut", who_.spec.target ? who_.spec.target->server : "", b->session_id,
                 {{"reason", why}, {"grant", *b->grant_id}});
  }
}

// end_reason says why a running channel must end now, or "" if it may go on.
std::string SessionProcess::end_reason(const ChannelBridge& b, Seconds now) {
  if (auto kill = sessions_.kill_request(b.session_id))
    return "session " + std::to_string(b.session_id) + " was ended by " + kill->by + " at " +
           authz::format_utc(kill->at);
  auto g = store_.find_grant(*b.grant_id);
  if (!g) return "grant " + std::to_string(*b.grant_id) + " no longer exists";
  if (g->revoked_at) return "grant " + std::to_string(g->id) + " was revoked at " + authz::format_utc(*g->revoked_at);
  if (now >= g->not_after) return "grant " + std::to_string(g->id) + " expired at " + authz::format_utc(g->not_after);
  auto op = store_.find_operator(who_.who.name);
  if (!op || op->disabled) return "account " + who_.who.name + " was disabled";
  // The key this connection proved is the first factor: once the officer removes it, what it
  // opened ends too.
  const auto keys = store_.keys_of(op->id);
  if (std::none_of(keys.begin(), keys.end(), [&](const auto& k) { return k.fingerprint == who_.key_fingerprint; }))
    return "key " + who_.key_fingerprint + " of " + who_.who.name + " was removed";
  return "";
}

void SessionProcess::notify_all(const std::string& text) {
  std::string line = "\r\nbastion: " + text + "\r\n";
  for (auto& b : bridges_) {
    if (b->state() == ChannelBridge::State::Done || b->client_gone()) continue;
    ssh_channel_write_stderr(b->client(), line.data(), static_cast<uint32_t>(line.size()));
  }
}

void SessionProcess::tear_down() {
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

void SessionProcess::end_connection(const std::string& reason, const char* event_kind) {
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

std::string SessionProcess::watch_connection(Steady::time_point now) {
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

int SessionProcess::run() {
  recorders_ = audit::file_recorder_factory(settings_.state_dir + "/recordings", clock_, settings_.recording_cap_bytes);
  event_.reset(ssh_event_new());
  // libssh consults channel callbacks (ChannelBridge) only when server callbacks are registered;
  // none of ours are needed beyond that, so the struct stays empty and everything else arrives
  // through on_message.
  ssh_callbacks_init(&server_cb_);
  ssh_set_server_callbacks(client_, &server_cb_);
  ssh_set_message_callback(client_, &SessionProcess::on_message, this);
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

}  // namespace

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
    SessionProcess process(client.get(), peer, settings, std::move(*who), services, clock);
    rc = process.run();
  }
  ssh_disconnect(client.get());
  return rc;
}

}  // namespace bastion::gateway
