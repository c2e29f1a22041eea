// Channel admission: what a new channel asks (route), what that is (classify), whether this
// operator may (authorize, authz::decide), and starting it — session row, evidence, upstream — or
// refusing it with a reason and an event.
#include <unistd.h>

#include <sstream>

#include <spdlog/spdlog.h>

#include "audit/sftp_gate.h"
#include "audit/sftp_recorder.h"
#include "authz/sftp_policy.h"
#include "authz/text.h"
#include "gateway/admin/commands.h"
#include "gateway/net_session.h"
#include "gateway/session_liveness.h"

namespace bastion::gateway {
namespace {

std::string ops_list(const std::vector<std::string>& ops) {
  std::string s;
  for (const auto& o : ops) s += (s.empty() ? "" : ",") + o;
  return s;
}

// asks_operator_command: an exec with no target in the user name whose first word is one of the
// few admin commands operators have (`ssh alice@bastion request add web1 …`, issue 17).
bool asks_operator_command(const ChannelRequest& req, bool has_target) {
  if (has_target || req.kind != RequestKind::Exec) return false;
  auto words = authz::split_command_line(req.command);
  return words && !words->empty() && admin::is_operator_command(words->front());
}

}  // namespace

Result<authz::Allow> NetSession::authorize(const Target& target, const authz::Operation& op) {
  auto server = store_.find_server(target.server);
  if (!server) return Error{"unknown server '" + target.server + "'"};
  auto grants = store_.grants_for(who_.who.id, server->id, target.login);
  auto catalogue = store_.catalogue_of(server->id);
  authz::Decision d = authz::decide({who_.who, *server, target.login, &op, grants, catalogue, clock_.now()});
  if (auto* deny = std::get_if<authz::Deny>(&d)) return Error{deny->reason};
  return std::get<authz::Allow>(std::move(d));
}

int NetSession::run_admin(const std::vector<std::string>& args, std::string& out, std::string& err) {
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
void NetSession::start_admin(ChannelBridge& b) {
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

Result<Route> NetSession::route(ChannelBridge& b) {
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

Result<authz::Operation> NetSession::classify(const Route& r, const ChannelRequest& req) {
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


void NetSession::refuse(ChannelBridge& b, const std::string& reason) {
  spdlog::warn("{} from {}: channel {} refused: {}", who_.who.name, peer_.to_string(), b.number(), reason);
  const ChannelRequest& req = b.request();
  (void)record("channel.refused", who_.spec.target ? who_.spec.target->server : "",
               b.session_id ? std::optional<std::int64_t>(b.session_id) : std::nullopt,
               {{"reason", reason}, {"request", req.kind == RequestKind::Shell ? "shell" : req.command},
                {"pty", req.pty.has_value()}});
  b.respond("bastion: " + reason + "\r\n", true, kRefusedExit);
  if (b.session_id != 0) close_session_row(b, "refused");
}

void NetSession::list_grants(ChannelBridge& b) {
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


// record_dropped_env writes one session.env_dropped event listing what did not reach the target
// (names and values escaped, values cut short); nothing dropped, no event. False if unrecorded.
bool NetSession::record_dropped_env(const ChannelBridge& b, const authz::EnvDecision& env, const std::string& server,
                                        std::int64_t sid) {
  nlohmann::json dropped = nlohmann::json::array();
  for (const auto& d : env.dropped) dropped.push_back({{"name", d.name}, {"value", d.value}, {"why", d.why}});
  if (!b.request().refused_term.empty())
    dropped.push_back({{"name", "TERM"}, {"value", escape_unprintable(b.request().refused_term.substr(0, authz::kEnvShownValueBytes))},
                       {"why", "not a terminal name; sent as " + std::string(authz::kFallbackTerminal)}});
  if (dropped.empty()) return true;
  return record("session.env_dropped", server, sid, {{"channel", b.number()}, {"dropped", dropped}}).ok();
}


void NetSession::start(ChannelBridge& b) {
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


}  // namespace bastion::gateway
