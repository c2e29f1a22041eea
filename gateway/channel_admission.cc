// Channel admission: what a new channel asks (route), what that is (classify), whether this
// operator may (the monitor's decision, authz::decide over there), and starting it — session row,
// evidence, upstream, each a request to the monitor — or refusing it with a reason and an event.
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "audit/fd_io.h"
#include "audit/file_recorder.h"
#include "audit/openpgp.h"
#include "audit/sftp_gate.h"
#include "audit/sftp_recorder.h"
#include "authz/sftp_policy.h"
#include "authz/text.h"
#include "gateway/admin/commands.h"
#include "gateway/net_session.h"

namespace bastion::gateway {
namespace {

// read_output reads a command's output that came as a sealed memory file (too large for a message).
bool read_output(int fd, std::string& out) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// context_of reads what the monitor sent with a decision (the server's name and environment
// policy, the operation's type, the transfer entries an SFTP gate enforces).
Result<Decided> context_of(const monitor::Message& m) {
  Decided d;
  d.id = m.numbers[0];
  d.grant_id = static_cast<std::int64_t>(m.numbers[1]);
  d.any_command = m.numbers[2] == 1;
  d.op_name = m.strings[0];
  d.command = m.strings[1];
  auto j = nlohmann::json::parse(m.strings[2], nullptr, false);
  try {
    auto type = authz::parse_op_type(j.at("op_type").get<std::string>());
    if (!type) return Error{"unknown operation type"};
    d.op_type = *type;
    d.server = j.at("server").at("name").get<std::string>();
    d.allowed_env = j.at("server").at("allowed_env").get<std::vector<std::string>>();
    for (const auto& e : j.at("transfer_entries")) {
      authz::CatalogueEntry entry;
      entry.name = e.at("name").get<std::string>();
      auto et = authz::parse_op_type(e.at("type").get<std::string>());
      auto dir = authz::parse_transfer_limit(e.at("direction").get<std::string>());
      if (!et || !dir) return Error{"unknown transfer entry type or direction"};
      entry.type = *et;
      entry.pattern = e.at("pattern").get<std::string>();
      entry.direction = *dir;
      entry.path = e.at("path").get<std::string>();
      d.transfer_entries.push_back(std::move(entry));
    }
  } catch (const nlohmann::json::exception& e) {
    return Error{std::string("the monitor's decision is malformed: ") + e.what()};
  }
  return d;
}

const char* kind_name(RequestKind k, const std::string& subsystem) {
  switch (k) {
    case RequestKind::Shell: return "shell";
    case RequestKind::Exec: return "exec";
    case RequestKind::Subsystem: return subsystem == "sftp" ? "sftp" : "subsystem";
    case RequestKind::Forward: return "forward";
    case RequestKind::None: break;
  }
  return "none";
}

// asks_operator_command: an exec with no target in the user name whose first word is one of the
// few admin commands operators have (`ssh alice@bastion request add web1 …`, issue 17).
bool asks_operator_command(const ChannelRequest& req, bool has_target) {
  if (has_target || req.kind != RequestKind::Exec) return false;
  auto words = authz::split_command_line(req.command);
  return words && !words->empty() && admin::is_operator_command(words->front());
}

}  // namespace

Result<Decided> NetSession::decide(const Target& target, const std::string& kind, const std::string& command,
                                   const std::string& forward_host, int forward_port) {
  auto r = monitor_.ask(monitor::decide(target.server, target.login, kind, command, forward_host,
                                        static_cast<std::uint64_t>(forward_port < 0 ? 0 : forward_port)));
  if (!r) {
    monitor_gone_ = true;
    return Error{"the bastion cannot decide this request now (its monitor is gone)"};
  }
  if (r->message.type == monitor::Type::Verdict) return Error{r->message.strings[0]};
  if (r->message.type != monitor::Type::Decision) {
    monitor_gone_ = true;
    return Error{"the bastion cannot decide this request now"};
  }
  return context_of(r->message);
}

int NetSession::ask_text(const monitor::Message& request, std::string& out, std::string& err) {
  auto r = monitor_.ask(request);
  if (!r || r->message.type != monitor::Type::Text) {
    if (!r) monitor_gone_ = true;
    err += "bastion: the bastion cannot run this command now; try again\n";
    return 1;
  }
  out += r->message.strings[0];
  if (r->fd.valid() && !read_output(r->fd.get(), out)) err += "bastion: the command's output was cut short\n";
  err += r->message.strings[1];
  return static_cast<int>(static_cast<std::int32_t>(r->message.numbers[0]));
}

int NetSession::run_admin(const std::vector<std::string>& args, std::string& out, std::string& err) {
  // The monitor runs it, as this account with its role: the command set's rules decide.
  return ask_text(monitor::admin(args), out, err);
}

namespace {

// reads_input_line: `export` over SSH takes its passphrase from the first line of standard input
// (never its command line, which the audit trail and process lists would show); its help does not.
bool reads_input_line(const std::vector<std::string>& words) {
  if (words.empty() || words.front() != "export") return false;
  return std::none_of(words.begin(), words.end(), [](const std::string& w) { return w == "--help" || w == "-h"; });
}

}  // namespace

// start_admin: officers and client reviewers get the admin command set, never a proxied session
// and never a shell (DESIGN.md rule 8).
void NetSession::start_admin(ChannelBridge& b) {
  const ChannelRequest& req = b.request();
  if (req.kind == RequestKind::Exec) {
    auto words = authz::split_command_line(req.command);
    if (!words) return refuse(b, words.error().message);
    if (reads_input_line(*words)) {
      return b.read_input_line([this, &b, args = *words](std::string& line) {
        std::string out;
        std::string err;
        auto request = monitor::admin_with_input(args, line);
        const int rc = ask_text(request, out, err);
        audit::wipe_string(request.strings[1]);
        b.respond(out, err, rc);
      });
    }
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
  std::string out, err;
  const int rc = ask_text(monitor::grants(), out, err);
  if (rc != 0) return refuse(b, err.empty() ? "the grants cannot be listed now" : err.substr(0, err.find('\n')));
  b.respond(out, false, 0);
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
  // The monitor decides (and classifies the request again itself: what this process names is what
  // was asked, never what it is allowed as).
  const ChannelRequest& req = b.request();
  auto d = decide(r->target, kind_name(r->kind, r->command), r->command, req.forward_host, req.forward_port);
  if (!d) return refuse(b, d.error().message);
  b.grant_id = d->grant_id;
  // The target runs, and the evidence shows, exactly the words that were matched: their
  // serialisation, never the operator's line — except under the "any command" entry (the monitor
  // says which in its decision and in session.start).
  if (r->kind == RequestKind::Exec) r->command = d->command;

  std::string what = r->kind == RequestKind::Shell ? "shell"
                     : r->kind == RequestKind::Forward ? "forward " + r->command
                                                       : r->command;
  auto started = monitor_.ask(monitor::start_session(d->id, static_cast<std::uint64_t>(b.number()), what,
                                                     req.pty.has_value()));
  if (!started) {
    monitor_gone_ = true;
    return refuse(b, "the bastion cannot start this session now (its monitor is gone)");
  }
  if (started->message.type != monitor::Type::Started)
    return refuse(b, started->message.type == monitor::Type::Verdict ? started->message.strings[0] : "session refused");
  const auto id = static_cast<std::int64_t>(started->message.numbers[0]);
  b.session_id = id;

  // The environment reaches the target's shell before the command: only what authz lets pass is
  // sent, and what is dropped is on record (THREATS.md "Environment injection").
  const auto env = authz::decide_env(req.env, d->allowed_env);
  if (!record_dropped_env(b, env, d->server, id)) return refuse(b, "the audit log cannot be written; access refused");

  // The monitor creates the recording file and passes its descriptor: this process opens no path.
  const audit::PtyInfo* pty = req.pty ? &*req.pty : nullptr;
  auto file = monitor_.ask(monitor::open_recording(static_cast<std::uint64_t>(id), static_cast<std::uint64_t>(b.number()),
                                                   pty != nullptr, pty ? static_cast<std::uint64_t>(std::max(pty->cols, 0)) : 0,
                                                   pty ? static_cast<std::uint64_t>(std::max(pty->rows, 0)) : 0,
                                                   pty ? pty->term : ""));
  if (!file) {
    monitor_gone_ = true;
    return refuse(b, "the session cannot be recorded (the bastion's monitor is gone); access refused");
  }
  if (file->message.type != monitor::Type::Recording || !file->fd.valid())
    return refuse(b, file->message.type == monitor::Type::Verdict ? file->message.strings[0]
                                                                  : "the session cannot be recorded; access refused");
  const std::string path = file->message.strings[0];
  // Sealed under the recording's own key when the monitor sent one (audit/sealed_stream.h); the
  // key's bytes are wiped from the message as soon as they are copied.
  std::optional<audit::SealingKey> sealing;
  if (!file->message.strings[1].empty()) {
    std::string& key_bytes = file->message.strings[1];
    auto key = audit::SecretKey::from_bytes(key_bytes);
    sodium_memzero(key_bytes.data(), key_bytes.size());
    if (!key || file->message.strings[2].empty() || file->message.strings[3].size() != audit::kSealedSaltBytes ||
        file->message.strings[2].size() > audit::kMaxSealedKeyId)
      return refuse(b, "the session cannot be recorded (its monitor sent a malformed recording key); access refused");
    sealing = audit::SealingKey{std::move(*key), file->message.strings[2], file->message.strings[3]};
  }
  const audit::SealingKey* key = sealing ? &*sealing : nullptr;
  Result<audit::ChannelRecorderPtr> rec = Error{""};
  if (pty) {
    auto clamp = [](int v, int fallback) { return v <= 0 ? fallback : std::min(v, 10000); };
    audit::AsciicastHeader header{clamp(pty->cols, 80), clamp(pty->rows, 24),
                                  static_cast<std::int64_t>(file->message.numbers[0]), pty->term, "",
                                  what.empty() ? std::string("shell") : what};
    rec = audit::pty_recorder_on(std::move(file->fd), path, header, elapsed_, audit::Sealing::ByOwner, key);
  } else {
    rec = audit::exec_recorder_on(std::move(file->fd), path, elapsed_, settings_.recording_cap_bytes,
                                  audit::Sealing::ByOwner, key);
  }
  if (!rec) return refuse(b, "the session cannot be recorded (" + rec.error().message + "); access refused");
  if (d->op_type == authz::OpType::Sftp) {
    // Each SFTP operation parsed in transit is an audit event; one that cannot be written ends
    // the session (the recorder then reports failure).
    rec = audit::sftp_recorder(std::move(*rec), [this, sid = id, srv = d->server](const std::string& kind,
                                                                                nlohmann::json details) {
      return record(kind, srv, sid, std::move(details));
    });
  }

  // An SFTP channel under entries that limit direction or paths is gated request by request
  // (audit/sftp_gate.h); each refusal is an audit event, and one that cannot be written ends it.
  std::unique_ptr<audit::SftpGate> gate;
  if (d->op_type == authz::OpType::Sftp && authz::sftp_gate_needed(d->transfer_entries)) {
    gate = std::make_unique<audit::SftpGate>(
        d->transfer_entries, [this, sid = id, srv = d->server](const std::string& kind, nlohmann::json details) {
          return record(kind, srv, sid, std::move(details));
        });
  }

  auto up = upstream_for(*d, r->target.login);
  if (!up) {
    b.hold_recorder(std::move(*rec));
    return refuse(b, up.error().message);
  }
  auto ch = open_upstream_channel(*up, b, *r, env.pass);
  if (!ch) {
    b.hold_recorder(std::move(*rec));
    return refuse(b, ch.error().message);
  }
  spdlog::info("session {}: {} from {} → {}@{} ({}) under grant {}", id, who_.who.name, peer_.to_string(),
               r->target.login, d->server, what, d->grant_id);
  b.attach(std::move(*ch), std::move(*rec), std::move(gate));
}


}  // namespace bastion::gateway
