#include "gateway/monitor.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <spdlog/spdlog.h>

#include "audit/file_recorder.h"
#include "authz/db.h"
#include "authz/liveness.h"
#include "authz/operation.h"
#include "authz/totp.h"
#include "gateway/session_liveness.h"

namespace bastion::gateway {
namespace {

using monitor::Message;
using monitor::Type;

Monitor::Reply answer_with(Message m, audit::UniqueFd fd = {}) { return Monitor::Reply{std::move(m), std::move(fd)}; }
Monitor::Reply refused(std::string reason) { return answer_with(monitor::verdict(false, std::move(reason))); }
Monitor::Reply granted() { return answer_with(monitor::verdict(true, "")); }

// kNetworkEventKinds: the audit events the network process may ask the monitor to write, because
// only it sees what they describe (a refused channel request, an SFTP operation in transit, the
// environment it dropped, a connection cut for idleness). Everything else — authentication, session
// start and end, admin changes — the monitor writes itself from its own state, so a compromised
// network process can neither forge them nor hide them.
bool network_may_record(std::string_view kind) {
  static constexpr std::string_view kExact[] = {"channel.refused", "session.env_dropped", "session.cut"};
  static constexpr std::string_view kPrefixes[] = {"sftp.", "connection."};
  if (std::find(std::begin(kExact), std::end(kExact), kind) != std::end(kExact)) return true;
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&](std::string_view p) { return kind.substr(0, p.size()) == p; });
}

// connect_tcp connects to host:port within timeout_seconds; the descriptor is what the network
// process then runs the upstream SSH session over (it opens no socket itself).
Result<audit::UniqueFd> connect_tcp(const std::string& host, int port, long timeout_seconds) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return Error{"cannot resolve " + host + ": " + ::gai_strerror(rc)};
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    audit::UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() on Linux
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
    last = std::strerror(errno);
  }
  return Error{last};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Monitor::Monitor(MonitorServices& services, const Clock& clock, const MonitorSettings& settings, std::string source)
    : services_(services), clock_(clock), settings_(settings), source_(std::move(source)) {}

Result<Monitor::Reply> Monitor::answer(const Message& request) {
  try {
    switch (request.type) {
      case Type::KeyCheck: return key_check(request);
      case Type::TotpCheck: return totp_check(request);
      case Type::Decide: return decide(request);
      case Type::StartSession: return start_session(request);
      case Type::OpenRecording: return open_recording(request);
      case Type::Event: return event(request);
      case Type::Upstream: return upstream(request);
      case Type::GrantLive: return grant_live(request);
      default: break;
    }
    return violation(request.type, "the network process may not send this message");
  } catch (const db::DbError& e) {
    // The database, not the network process, failed: refuse, the connection may go on.
    return refused(std::string("the bastion database cannot be read (") + e.what() + "); try again");
  }
}

int Monitor::serve(int sock) {
  const int rc = answer_all(sock);
  // The network process learns at once that it is cut off: its next ask() fails.
  if (rc != 0) ::shutdown(sock, SHUT_RDWR);
  return rc;
}

int Monitor::answer_all(int sock) {
  for (;;) {
    auto in = monitor::receive_message(sock);
    if (!in) {
      if (in.error().message == monitor::kPeerGone) return 0;
      (void)violation("unreadable", "unreadable message: " + in.error().message);
      return 1;
    }
    if (in->fd.valid()) {
      (void)violation(in->message.type, "the network process may not pass descriptors");
      return 1;
    }
    auto reply = answer(in->message);
    if (!reply) return 1;
    if (auto st = monitor::send_message(sock, reply->message, reply->fd.get()); !st) {
      spdlog::error("{}: monitor: {}", source_, st.error().message);
      return 1;
    }
  }
}

Result<Monitor::Reply> Monitor::key_check(const Message& m) {
  if (authenticated_) return violation(m.type, "key check after authentication");
  auto spec = parse_user(m.strings[0]);
  if (!spec) return refused(spec.error().message);
  if (spec_ && (spec_->operator_name != spec->operator_name || spec_->target.has_value() != spec->target.has_value() ||
                (spec_->target && (spec_->target->login != spec->target->login ||
                                   spec_->target->server != spec->target->server))))
    return violation(m.type, "key check for a second user name on one connection");
  spec_ = *spec;
  if (!who_) who_ = services_.store.find_operator(spec_->operator_name);
  // An unknown account is not told apart from a wrong key (no account enumeration).
  const std::string not_registered = "key is not registered for " + m.strings[0];
  if (!who_) return refused(not_registered);
  const auto keys = services_.store.keys_of(who_->id);
  auto key = std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.type + " " + k.base64 == m.strings[1]; });
  if (key == keys.end()) return refused(not_registered);
  if (who_->disabled) return refused("account " + who_->name + " is disabled; contact your security officer");
  key_fingerprint_ = key->fingerprint;
  return granted();
}

Result<Monitor::Reply> Monitor::totp_check(const Message& m) {
  if (authenticated_) return violation(m.type, "second TOTP check on an authenticated connection");
  if (key_fingerprint_.empty() || !who_) return violation(m.type, "TOTP check before a registered key was presented");
  if (totp_failures_ >= settings_.max_totp_failures)
    return violation(m.type, "TOTP check after " + std::to_string(totp_failures_) + " wrong codes");
  auto step = authz::totp_match(who_->totp_secret, m.strings[0], clock_.now());
  if (!step) {
    ++totp_failures_;
    return refused("verification code is wrong or expired");
  }
  if (!services_.store.consume_totp_step(who_->id, *step)) {
    ++totp_failures_;
    return refused("this verification code was already used; wait for the next one");
  }
  authenticated_ = true;
  account_ = who_->name;
  return granted();
}

Result<Monitor::Reply> Monitor::decide(const Message& m) {
  if (!authenticated_) return violation(m.type, "decision requested before authentication");
  const std::string& server_name = m.strings[0];
  const std::string& login = m.strings[1];
  const std::string& kind = m.strings[2];
  const std::string& command = m.strings[3];
  if (spec_->target && (spec_->target->server != server_name || spec_->target->login != login))
    return violation(m.type, "decision for " + login + "@" + server_name + ", but this connection was opened for " +
                                 spec_->target->login + "@" + spec_->target->server);
  // The monitor classifies the request itself: the network process names what was asked, never
  // what it is allowed as.
  Result<authz::Operation> op = Error{""};
  if (kind == "shell") op = authz::Operation::shell();
  else if (kind == "sftp") op = authz::Operation::sftp();
  else if (kind == "exec") op = authz::classify_exec(command);
  else if (kind == "forward") {
    if (m.numbers[0] == 0 || m.numbers[0] > 65535) return violation(m.type, "forward port out of range");
    op = authz::Operation::forward(m.strings[4], static_cast<int>(m.numbers[0]));
  } else {
    return violation(m.type, "unknown operation kind '" + kind.substr(0, 32) + "'");
  }
  if (!op) return refused(op.error().message);
  auto server = services_.store.find_server(server_name);
  if (!server) return refused("unknown server '" + server_name + "'");
  const auto grants = services_.store.grants_for(who_->id, server->id, login);
  const auto catalogue = services_.store.catalogue_of(server->id);
  authz::Decision d = authz::decide({*who_, *server, login, &*op, grants, catalogue, clock_.now()});
  if (auto* deny = std::get_if<authz::Deny>(&d)) return refused(deny->reason);
  auto& allow = std::get<authz::Allow>(d);
  const bool as_typed = kind == "exec" && allow.any_command;
  const std::string to_run = kind == "exec" && !as_typed ? op->upstream_command : command;
  const std::int64_t id = next_decision_++;
  Message reply = monitor::decision(static_cast<std::uint64_t>(id), static_cast<std::uint64_t>(allow.grant.id),
                                    allow.any_command, allow.op_name, to_run);
  decisions_.emplace(id, Decided{std::move(allow), *server, login, kind == "shell" ? "shell" : to_run, false});
  return answer_with(std::move(reply));
}

Result<Monitor::Reply> Monitor::start_session(const Message& m) {
  if (!authenticated_) return violation(m.type, "session start before authentication");
  auto it = decisions_.find(static_cast<std::int64_t>(std::min<std::uint64_t>(m.numbers[0], std::numeric_limits<std::int64_t>::max())));
  if (it == decisions_.end())
    return violation(m.type, "start_session names decision " + std::to_string(m.numbers[0]) +
                                 ", which this monitor did not allow");
  Decided& d = it->second;
  if (d.started) return violation(m.type, "decision " + std::to_string(m.numbers[0]) + " was already used");
  if (m.numbers[1] > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
    return violation(m.type, "channel number out of range");
  const Seconds now = clock_.now();
  audit::SessionStart row{who_->name, d.server.name, d.login, d.allow.grant.id, d.server.client, source_, now,
                          static_cast<int>(::getpid()), settings_.max_sessions_per_operator};
  row.pid_start = process_start_ticks(row.pid);
  row.alive = session_process_alive;
  auto id = services_.sessions.start(row);
  if (!id) return refused(id.error().message);
  d.started = true;
  sessions_[*id] = Started{it->first, static_cast<int>(m.numbers[1]), false};
  nlohmann::json details = {{"login", d.login},         {"grant", d.allow.grant.id}, {"operation", d.allow.op_name},
                            {"client", d.server.client}, {"started_at", to_unix(now)}, {"request", d.request}};
  if (!record("session.start", d.server.name, *id, std::move(details)))
    return refused("the audit log cannot be written; access refused");
  return answer_with(monitor::started(static_cast<std::uint64_t>(*id)));
}

Result<Monitor::Started*> Monitor::own_session(std::uint64_t session_id, const char* what) {
  auto it = sessions_.find(static_cast<std::int64_t>(std::min<std::uint64_t>(session_id, std::numeric_limits<std::int64_t>::max())));
  if (it == sessions_.end())
    return Error{std::string(what) + " for session " + std::to_string(session_id) + ", which this connection did not start"};
  return &it->second;
}

Result<Monitor::Reply> Monitor::open_recording(const Message& m) {
  auto s = own_session(m.numbers[0], "recording");
  if (!s) return violation(m.type, s.error().message);
  if (m.numbers[1] != static_cast<std::uint64_t>((*s)->channel))
    return violation(m.type, "recording for channel " + std::to_string(m.numbers[1]) + " of session " +
                                 std::to_string(m.numbers[0]) + ", which runs on channel " + std::to_string((*s)->channel));
  if ((*s)->recording_open) return violation(m.type, "second recording for session " + std::to_string(m.numbers[0]));
  if (m.numbers[2] > 1) return violation(m.type, "pty flag out of range");
  auto file = audit::create_recording_file(settings_.recordings_dir, static_cast<std::int64_t>(m.numbers[0]),
                                           (*s)->channel, m.numbers[2] == 1 ? "pty.cast" : "exec.rec");
  if (!file) return refused("the session cannot be recorded (" + file.error().message + "); access refused");
  (*s)->recording_open = true;
  return answer_with(monitor::verdict(true, file->second), std::move(file->first));
}

Result<Monitor::Reply> Monitor::event(const Message& m) {
  if (!authenticated_) return violation(m.type, "event before authentication");
  const std::string& kind = m.strings[0];
  if (!network_may_record(kind))
    return violation(m.type, "event kind '" + kind.substr(0, 64) + "' may not come from the network process");
  std::optional<std::int64_t> session;
  std::string server = spec_->target ? spec_->target->server : "";
  if (m.numbers[0] != 0) {
    auto s = own_session(m.numbers[0], "event");
    if (!s) return violation(m.type, s.error().message);
    session = static_cast<std::int64_t>(m.numbers[0]);
    server = decisions_.at((*s)->decision_id).server.name;
  }
  auto details = nlohmann::json::parse(m.strings[1], nullptr, false);
  if (details.is_discarded() || !details.is_object()) return violation(m.type, "event details are not a JSON object");
  if (!record(kind, server, session, std::move(details))) return refused("the audit log cannot be written");
  return granted();
}

Result<Monitor::Reply> Monitor::upstream(const Message& m) {
  if (!authenticated_) return violation(m.type, "upstream before authentication");
  auto it = decisions_.find(static_cast<std::int64_t>(std::min<std::uint64_t>(m.numbers[0], std::numeric_limits<std::int64_t>::max())));
  if (it == decisions_.end())
    return violation(m.type, "upstream for decision " + std::to_string(m.numbers[0]) + ", which this monitor did not allow");
  // Nothing reaches a server unrecorded: its session row (and so its recording) comes first.
  if (!it->second.started)
    return violation(m.type, "upstream for decision " + std::to_string(m.numbers[0]) + " before its session was started");
  const authz::Server& server = it->second.server;
  const std::string where = server.name + " (" + server.host + ":" + std::to_string(server.port) + ")";
  auto fd = connect_tcp(server.host, server.port, settings_.connect_timeout_seconds);
  if (!fd) return refused("cannot reach server " + where + ": " + fd.error().message);
  auto key = read_file(settings_.egress_key_path);
  if (!key) return refused("the bastion's egress key is unusable: " + key.error().message);
  return answer_with(monitor::upstream_key(std::move(*key)), std::move(*fd));
}

Result<Monitor::Reply> Monitor::grant_live(const Message& m) {
  auto s = own_session(m.numbers[0], "grant check");
  if (!s) return violation(m.type, s.error().message);
  const auto sid = static_cast<std::int64_t>(m.numbers[0]);
  if (auto kill = services_.sessions.kill_request(sid))
    return refused("session " + std::to_string(sid) + " was ended by " + kill->by + " at " + format_utc(kill->at));
  const Decided& d = decisions_.at((*s)->decision_id);
  const auto grant = services_.store.find_grant(d.allow.grant.id);
  const auto who = services_.store.find_operator(who_->name);
  const auto server = grant ? services_.store.find_server(grant->server_name) : std::nullopt;
  const auto keys = who ? services_.store.keys_of(who->id) : std::vector<authz::OperatorKey>{};
  auto why = authz::why_not_live({d.allow.grant.id, grant ? &*grant : nullptr, who ? &*who : nullptr,
                                  server ? &*server : nullptr, keys, key_fingerprint_, clock_.now()});
  return why ? refused(*why) : granted();
}

std::string Monitor::actor() const {
  if (who_) return who_->name;
  return spec_ ? spec_->operator_name : "(unauthenticated)";
}

Status Monitor::record(std::string kind, const std::string& server, std::optional<std::int64_t> session,
                       nlohmann::json details) {
  audit::Event ev{clock_.now(), std::move(kind), actor(), source_, server, session, std::move(details)};
  auto st = services_.events.append(ev);
  if (!st) spdlog::error("{}: audit event {} could not be written: {}", source_, ev.kind, st.error().message);
  return st;
}

Error Monitor::violation(Type request, const std::string& reason) { return violation(monitor::type_name(request), reason); }

Error Monitor::violation(const std::string& name, const std::string& reason) {
  spdlog::error("{}: {}: network process violation on {}: {}; connection ended", source_, actor(), name, reason);
  (void)record("monitor.violation", spec_ && spec_->target ? spec_->target->server : "", std::nullopt,
               {{"request", name}, {"reason", reason}, {"sessions", [&] {
                  std::vector<std::int64_t> ids;
                  for (const auto& [id, s] : sessions_) ids.push_back(id);
                  return ids;
                }()}});
  return Error{"network process violation (" + name + "): " + reason};
}

}  // namespace bastion::gateway
