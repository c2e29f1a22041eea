#include "gateway/session_process.h"

#include <libssh/callbacks.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/session_store.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/decide.h"
#include "authz/operation.h"
#include "authz/sqlite_store.h"
#include "gateway/channel_bridge.h"
#include "gateway/keys.h"

namespace bastion::gateway {
namespace {

constexpr int kRefusedExit = 1;
constexpr int kMaxChannels = 64;

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

class SessionProcess {
 public:
  SessionProcess(ssh_session client, const Peer& peer, const DaemonSettings& settings, Authenticated who,
                 authz::Store& store, audit::SessionStore& sessions, const Clock& clock)
      : client_(client), peer_(peer), settings_(settings), who_(std::move(who)), store_(store),
        sessions_(sessions), clock_(clock) {}

  int run();

 private:
  static int on_message(ssh_session, ssh_message msg, void* self);
  int handle_message(ssh_message msg);
  int handle_channel_open(ssh_message msg);

  void start(ChannelBridge& b);
  Result<Route> route(ChannelBridge& b);
  Result<authz::Operation> classify(const Route& r);
  void refuse(ChannelBridge& b, const std::string& reason);
  void list_grants(ChannelBridge& b);
  Result<ssh_session> upstream_for(const authz::Server& server, const std::string& login);
  Result<ChannelPtr> open_upstream_channel(ssh_session up, const ChannelBridge& b, const Route& r);
  // close_session_row writes the recording's digest and the end of the session row; status is
  // "closed" (ended normally), "cut" (ended by the bastion, reason given) or "refused".
  void close_session_row(ChannelBridge& b, std::string_view status);
  void enforce_grants();

  ssh_session client_;
  Peer peer_;
  const DaemonSettings& settings_;
  Authenticated who_;
  authz::Store& store_;
  audit::SessionStore& sessions_;
  const Clock& clock_;
  KeyPtr egress_key_;
  audit::RecorderFactoryPtr recorders_;
  ssh_server_callbacks_struct server_cb_{};

  // Declaration order is destruction order in reverse: channels go before the event, the event
  // before the upstream sessions it polls.
  std::map<std::string, SessionPtr> upstreams_;
  EventPtr event_;
  std::vector<std::unique_ptr<ChannelBridge>> bridges_;
  std::vector<std::unique_ptr<ChannelBridge>> incoming_;  // opened inside callbacks, adopted after
  int next_channel_ = 0;
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
  if (ssh_message_subtype(msg) != SSH_CHANNEL_SESSION) {
    spdlog::info("{}: refused channel type {} from {}", who_.who.name, ssh_message_subtype(msg), peer_.to_string());
    return 1;
  }
  if (static_cast<int>(bridges_.size() + incoming_.size()) >= kMaxChannels) return 1;
  ssh_channel ch = ssh_message_channel_request_open_reply_accept(msg);
  if (ch == nullptr) return 0;
  incoming_.push_back(std::make_unique<ChannelBridge>(next_channel_++, ch));
  return 0;
}

Result<Route> SessionProcess::route(ChannelBridge& b) {
  const ChannelRequest& req = b.request();
  if (who_.spec.target) return Route{*who_.spec.target, req.kind, req.command};
  if (req.kind == RequestKind::Exec) {
    auto ct = parse_command_target(req.command);
    if (!ct) return Error{ct.error().message + "; usage: ssh -t " + who_.who.name + "@bastion LOGIN@SERVER [COMMAND]"};
    if (ct->command.empty()) return Route{ct->target, RequestKind::Shell, ""};
    return Route{ct->target, RequestKind::Exec, ct->command};
  }
  if (req.kind == RequestKind::Subsystem)
    return Error{"name the target in the user name for " + req.command + ": " + who_.who.name +
                 "+LOGIN+SERVER@bastion"};
  return Route{Target{}, RequestKind::Shell, ""};  // a shell with no target: the grant listing
}

Result<authz::Operation> SessionProcess::classify(const Route& r) {
  switch (r.kind) {
    case RequestKind::Shell: return authz::Operation::shell();
    case RequestKind::Exec: return authz::classify_exec(r.command);
    case RequestKind::Subsystem:
      if (r.command == "sftp") return authz::Operation::sftp();
      return Error{"subsystem '" + r.command + "' is not available through the bastion"};
    case RequestKind::None: break;
  }
  return Error{"nothing to run"};
}

void SessionProcess::refuse(ChannelBridge& b, const std::string& reason) {
  spdlog::warn("{} from {}: channel {} refused: {}", who_.who.name, peer_.to_string(), b.number(), reason);
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
    ssh_event_remove_session(event_.get(), it->second.get());
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

Result<ChannelPtr> SessionProcess::open_upstream_channel(ssh_session up, const ChannelBridge& b, const Route& r) {
  // Blocking for the few round trips of opening; the operator's side keeps buffering meanwhile.
  struct Blocking {
    ssh_session s;
    explicit Blocking(ssh_session s) : s(s) { ssh_set_blocking(s, 1); }
    ~Blocking() { ssh_set_blocking(s, 0); }
  } blocking(up);
  ChannelPtr ch(ssh_channel_new(up));
  if (!ch || ssh_channel_open_session(ch.get()) != SSH_OK)
    return Error{std::string("the server refused a session channel: ") + ssh_get_error(up)};
  const ChannelRequest& req = b.request();
  if (req.pty && ssh_channel_request_pty_size(ch.get(), req.pty->term.c_str(), req.pty->cols, req.pty->rows) != SSH_OK)
    return Error{"the server refused a terminal"};
  for (const auto& [name, value] : req.env) ssh_channel_request_env(ch.get(), name.c_str(), value.c_str());
  int rc = SSH_ERROR;
  switch (r.kind) {
    case RequestKind::Shell: rc = ssh_channel_request_shell(ch.get()); break;
    case RequestKind::Exec: rc = ssh_channel_request_exec(ch.get(), r.command.c_str()); break;
    case RequestKind::Subsystem: rc = ssh_channel_request_subsystem(ch.get(), r.command.c_str()); break;
    case RequestKind::None: break;
  }
  if (rc != SSH_OK) return Error{"the server refused to start the " + std::string(r.kind == RequestKind::Subsystem ? "subsystem" : "command")};
  return ch;
}

void SessionProcess::start(ChannelBridge& b) {
  auto r = route(b);
  if (!r) return refuse(b, r.error().message);
  if (r->kind == RequestKind::Shell && r->target.server.empty()) return list_grants(b);
  auto op = classify(*r);
  if (!op) return refuse(b, op.error().message);

  auto server = store_.find_server(r->target.server);
  if (!server) return refuse(b, "unknown server '" + r->target.server + "'");
  auto grants = store_.grants_for(who_.who.id, server->id, r->target.login);
  auto catalogue = store_.catalogue_of(server->id);
  authz::Decision d = authz::decide({who_.who, *server, r->target.login, &*op, grants, catalogue, clock_.now()});
  if (auto* deny = std::get_if<authz::Deny>(&d)) return refuse(b, deny->reason);
  const auto& allow = std::get<authz::Allow>(d);
  b.grant_id = allow.grant.id;

  audit::SessionStart row{who_.who.name, server->name, r->target.login, allow.grant.id, server->client,
                          peer_.to_string(), clock_.now(), static_cast<int>(getpid())};
  auto id = sessions_.start(row);
  if (!id) return refuse(b, "the session journal cannot be written (" + id.error().message + "); access refused");
  b.session_id = *id;

  std::string what = r->kind == RequestKind::Shell ? "shell" : r->command;
  auto rec = b.request().pty ? recorders_->open_pty(*id, b.number(), *b.request().pty, what)
                             : recorders_->open_exec(*id, b.number(), what);
  if (!rec) return refuse(b, "the session cannot be recorded (" + rec.error().message + "); access refused");

  auto up = upstream_for(*server, r->target.login);
  if (!up) return refuse(b, up.error().message);
  auto ch = open_upstream_channel(*up, b, *r);
  if (!ch) return refuse(b, ch.error().message);
  spdlog::info("session {}: {} from {} → {}@{} ({}) under grant {}", *id, who_.who.name, peer_.to_string(),
               r->target.login, server->name, what, allow.grant.id);
  b.attach(std::move(*ch), std::move(*rec));
}

void SessionProcess::close_session_row(ChannelBridge& b, std::string_view status) {
  auto now = clock_.now();
  if (auto rec = b.take_recording()) {
    if (*rec) {
      (void)sessions_.add_recording(b.session_id, b.number(), **rec, now, now);
    } else {
      spdlog::error("session {}: closing the recording failed: {}", b.session_id, rec->error().message);
    }
  }
  auto st = sessions_.finish(b.session_id, now, b.exit_status(), status, b.end_reason());
  if (!st) spdlog::error("session {}: cannot close the session row: {}", b.session_id, st.error().message);
  b.session_id = 0;
}

// enforce_grants ends running channels whose grant was revoked or expired (DESIGN.md rule 4).
void SessionProcess::enforce_grants() {
  auto now = clock_.now();
  for (auto& b : bridges_) {
    if (b->state() != ChannelBridge::State::Running || !b->grant_id) continue;
    auto g = store_.find_grant(*b->grant_id);
    if (!g) {
      b->cut("grant " + std::to_string(*b->grant_id) + " no longer exists; session ended");
    } else if (g->revoked_at) {
      b->cut("grant " + std::to_string(g->id) + " was revoked at " + authz::format_utc(*g->revoked_at) +
             "; session ended");
    } else if (now >= g->not_after) {
      b->cut("grant " + std::to_string(g->id) + " expired at " + authz::format_utc(g->not_after) + "; session ended");
    } else if (auto op = store_.find_operator(who_.who.name); !op || op->disabled) {
      b->cut("account " + who_.who.name + " was disabled; session ended");
    }
  }
}

int SessionProcess::run() {
  recorders_ = audit::file_recorder_factory(settings_.state_dir + "/recordings", clock_);
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
  while (ssh_is_connected(client_)) {
    int rc = ssh_event_dopoll(event_.get(), progress ? 0 : 200);
    if (rc == SSH_ERROR && !ssh_is_connected(client_)) break;
    for (auto& b : incoming_) bridges_.push_back(std::move(b));
    incoming_.clear();
    progress = false;
    for (std::size_t i = 0; i < bridges_.size(); ++i) {
      ChannelBridge& b = *bridges_[i];
      if (b.state() == ChannelBridge::State::Starting) start(b);
      progress |= b.pump();
      if (b.state() == ChannelBridge::State::Done && b.session_id != 0)
        close_session_row(b, b.end_reason().empty() ? "closed" : "cut");
    }
    std::erase_if(bridges_, [](const auto& b) {
      return b->state() == ChannelBridge::State::Done && b->client_gone() && b->session_id == 0;
    });
    if (auto now = std::chrono::steady_clock::now(); now - last_check >= std::chrono::seconds(1)) {
      last_check = now;
      enforce_grants();
    }
  }
  for (auto& b : bridges_) {
    if (b->state() == ChannelBridge::State::Running) b->cut("operator connection lost");
    if (b->session_id != 0) close_session_row(*b, "cut");
  }
  return 0;
}

}  // namespace

int serve_connection(int fd, const Peer& peer, ssh_bind bind, const DaemonSettings& settings) {
  alarm(static_cast<unsigned>(settings.login_grace_seconds));  // sshd's LoginGraceTime: SIGALRM ends us
  SessionPtr client(ssh_new());
  if (!client || ssh_bind_accept_fd(bind, client.get(), fd) != SSH_OK) {
    spdlog::error("{}: cannot set up the SSH session", peer.to_string());
    return 1;
  }
  if (ssh_handle_key_exchange(client.get()) != SSH_OK) {
    spdlog::info("{}: key exchange failed: {}", peer.to_string(), ssh_get_error(client.get()));
    return 1;
  }
  SystemClock clock;
  auto db = db::Database::open(settings.db_path, false);
  authz::StorePtr store;
  audit::SessionStorePtr sessions;
  if (db) {
    store = authz::open_sqlite_store(*db);
    sessions = audit::open_sqlite_session_store(*db);
  } else {
    spdlog::error("{}: database unavailable: {}", peer.to_string(), db.error().message);
  }
  auto on_event = [&](const AuthEvent& e) {
    if (e.success)
      spdlog::info("auth ok: user={} method={} from={} ({})", e.user, e.method, peer.to_string(), e.reason);
    else  // one line per failure, in a shape fail2ban's filters can match
      spdlog::warn("auth failure: user={} method={} from={} port={} reason=\"{}\"", e.user, e.method, peer.address,
                   peer.port, e.reason);
  };
  auto who = authenticate(client.get(), store.get(), clock, settings.auth, on_event);
  if (!who) {
    spdlog::info("{}: authentication ended: {}", peer.to_string(), who.error().message);
    ssh_disconnect(client.get());
    return 1;
  }
  alarm(0);
  SessionProcess process(client.get(), peer, settings, std::move(*who), *store, *sessions, clock);
  int rc = process.run();
  ssh_disconnect(client.get());
  return rc;
}

}  // namespace bastion::gateway
