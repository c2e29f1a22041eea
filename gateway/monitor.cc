#include "gateway/monitor.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <future>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "audit/closing_spool.h"
#include "audit/data_keys.h"
#include "audit/fd_io.h"
#include "audit/file_recorder.h"
#include "audit/node_store.h"
#include "audit/openpgp.h"
#include "audit/sha256.h"
#include "authz/text.h"
#include "gateway/admin/commands.h"
#include "gateway/egress_agent.h"
#include "gateway/egress_ca.h"
#include "gateway/keys.h"
#include "gateway/ssh_certificate.h"
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

// Agent: one key-mode agent socket (gateway/egress_agent.h), bound to the decision whose upstream
// login it signs.
struct Monitor::Agent {
  audit::UniqueFd fd;
  std::int64_t decision_id = 0;
  Ed25519Key key;
  std::string buffer;  // bytes of a request not yet whole
};

Monitor::Monitor(MonitorServices& services, const Clock& clock, const MonitorSettings& settings, std::string source)
    : services_(services), clock_(clock), settings_(settings), source_(std::move(source)) {}

Result<Monitor::Reply> Monitor::answer(const Message& request) {
  try {
    switch (request.type) {
      case Type::UserBind: return user_bind(request);
      case Type::KeyCheck: return key_check(request);
      case Type::TotpCheck: return totp_check(request);
      case Type::AuthFailure: return auth_failure(request);
      case Type::CloseSession: return close_session(request);
      case Type::Grants: return grants(request);
      case Type::Admin:
      case Type::AdminWithInput: return admin(request);
      case Type::Decide: return decide(request);
      case Type::StartSession: return start_session(request);
      case Type::OpenRecording: return open_recording(request);
      case Type::Event: return event(request);
      case Type::Upstream: return upstream(request);
      case Type::EgressAgent: return egress_agent(request);
      case Type::GrantLive: return grant_live(request);
      default: break;
    }
    return violation(request.type, "the network process may not send this message");
  } catch (const db::DbError& e) {
    // The database, not the network process, failed: refuse. Before authentication the login
    // ends (the person tries again); after it, the connection may go on.
    spdlog::error("{}: {}: {}", source_, monitor::type_name(request.type), e.what());
    if (!authenticated_) return answer_with(monitor::final_refusal(db::refusal_for(e)));
    return refused(db::refusal_for(e));
  }
}

int Monitor::serve(int sock, const std::function<void()>& interrupted) {
  const int rc = answer_all(sock, interrupted);
  // The network process learns at once that it is cut off: its next ask() fails.
  if (rc != 0) ::shutdown(sock, SHUT_RDWR);
  return rc;
}

int Monitor::answer_all(int sock, const std::function<void()>& interrupted) {
  auto last_retry = std::chrono::steady_clock::now();
  for (;;) {
    // While a recording is being digested, wake often enough to write its row soon after.
    std::vector<pollfd> polled{{sock, POLLIN, 0}};
    for (const auto& a : agents_) polled.push_back({a->fd.get(), POLLIN, 0});
    const std::size_t agents_end = polled.size();
    // The database's change notices, taken in as they come (they wait there for the next live
    // check): left unread, they would fill the socket and stall the server's sending of them.
    if (const int notices = services_.db ? services_.db->change_fd() : -1; notices >= 0)
      polled.push_back({notices, POLLIN, 0});
    const int n = ::poll(polled.data(), polled.size(), closing_.empty() ? 200 : 5);
    if (polled.size() > agents_end && polled.back().revents != 0) take_notices();
    if (interrupted) interrupted();
    if (!closing_.empty()) reap_closings(false);
    if (!unwritten_.empty() && std::chrono::steady_clock::now() - last_retry >= std::chrono::seconds(1)) {
      last_retry = std::chrono::steady_clock::now();
      (void)write_closings(std::chrono::milliseconds(50));
    }
    if (n <= 0) continue;
    // Agent sockets first: the network process waits on one while it logs in upstream.
    for (std::size_t i = agents_end; i-- > 1;) {
      if (polled[i].revents == 0) continue;
      auto keep = serve_agent(*agents_[i - 1]);
      if (!keep) return 1;
      if (!*keep) agents_.erase(agents_.begin() + static_cast<std::ptrdiff_t>(i - 1));
    }
    if (polled[0].revents == 0) continue;
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

// login_unrecorded: a login whose auth event could not be written ends (fail closed), saying
// whether to try again (the database is busy) or to have it repaired.
Result<Monitor::Reply> Monitor::login_unrecorded(const Error& e) {
  return answer_with(monitor::final_refusal(db::names_busy(e.message)
                                                ? std::string(db::kBusyRefusal)
                                                : "the audit log cannot be written; nobody can log in until it is repaired"));
}

Result<Monitor::Reply> Monitor::user_bind(const Message& m) {
  if (!user_.empty()) {
    if (m.strings[0] != user_) return violation(m.type, "a second user name on one connection");
  }
  user_ = m.strings[0];
  auto spec = parse_user(user_);
  if (!spec) return refused(spec.error().message);
  spec_ = *spec;
  if (settings_.guard != nullptr) {
    if (auto why = settings_.guard->refusal(ban_source(), spec_->operator_name)) {
      // A ban or a lock refuses before any factor is checked, and the refusal is on record from
      // this address (an officer sees who keeps trying).
      (void)record_auth(false, "none", *why, false);
      return answer_with(monitor::final_refusal(*why));
    }
  }
  if (!who_) who_ = services_.store.find_operator(spec_->operator_name);
  // The network process learns whether the account exists, as it did before the split (it words
  // the failure); the peer is not told (no account enumeration).
  if (!who_) return refused("unknown account '" + spec_->operator_name + "'");
  return granted();
}

Result<Monitor::Reply> Monitor::key_check(const Message& m) {
  if (authenticated_) return violation(m.type, "key check after authentication");
  if (!spec_ || m.strings[0] != user_) return violation(m.type, "key check for a user name the connection did not bind");
  if (m.numbers[0] > 1) return violation(m.type, "signed flag out of range");
  const bool signed_by_peer = m.numbers[0] == 1;
  auto key = parse_public_key_line(m.strings[1]);
  if (!key) return violation(m.type, "the key is not a public key line: " + key.error().message);
  const std::string fp = fingerprint(key->get());
  const std::string not_registered = "key " + fp + " is not registered for " + user_;
  if (!who_) return auth_failed(m.type, "publickey", not_registered, "", true);
  const auto keys = services_.store.keys_of(who_->id);
  auto found = std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.type + " " + k.base64 == m.strings[1]; });
  if (found == keys.end()) return auth_failed(m.type, "publickey", not_registered, "", false);
  if (!signed_by_peer) return granted();  // "would you accept this key?": yes, nothing proved yet
  if (who_->disabled)
    return auth_failed(m.type, "publickey", "account disabled",
                       "account " + who_->name + " is disabled; contact your security officer", false);
  if (auto st = record_auth(true, "publickey", "first factor, key " + fp, false); !st)
    return login_unrecorded(st.error());
  key_fingerprint_ = found->fingerprint;
  return granted();
}

Result<Monitor::Reply> Monitor::totp_check(const Message& m) {
  if (authenticated_) return violation(m.type, "second TOTP check on an authenticated connection");
  if (key_fingerprint_.empty() || !who_) return violation(m.type, "TOTP check before a registered key was presented");
  auto step = authz::totp_match(who_->totp_secret, m.strings[0], clock_.now());
  if (!step) return auth_failed(m.type, "keyboard-interactive", "wrong TOTP code", "verification code is wrong or expired", false);
  if (!services_.store.consume_totp_step(who_->id, *step))
    return auth_failed(m.type, "keyboard-interactive", "replayed TOTP code",
                       "this verification code was already used; wait for the next one", false);
  if (auto st = record_auth(true, "keyboard-interactive", "second factor, TOTP", false); !st)
    return login_unrecorded(st.error());
  authenticated_ = true;
  account_ = who_->name;
  if (settings_.on_authenticated) settings_.on_authenticated();
  return answer_with(monitor::account(static_cast<std::uint64_t>(who_->id), who_->name, authz::to_string(who_->role),
                                      who_->client));
}

Result<Monitor::Reply> Monitor::auth_failure(const Message& m) {
  if (authenticated_) return violation(m.type, "authentication failure reported after authentication");
  if (m.numbers[0] > 1) return violation(m.type, "unknown-user flag out of range");
  if (user_.empty()) user_ = m.strings[0];
  else if (m.strings[0] != user_ && !m.strings[0].empty()) return violation(m.type, "a second user name on one connection");
  const std::string& method = m.strings[1];
  if (method != "none" && method != "publickey" && method != "keyboard-interactive")
    return violation(m.type, "unknown authentication method '" + method.substr(0, 32) + "'");
  return auth_failed(m.type, method, m.strings[2].substr(0, 512), "", m.numbers[0] == 1 || !who_);
}

Result<Monitor::Reply> Monitor::auth_failed(Type request, const std::string& method, const std::string& reason,
                                            std::string shown, bool unknown_user) {
  if (++auth_failures_ > settings_.max_auth_failures)
    return violation(request, "authentication step after " + std::to_string(settings_.max_auth_failures) + " failures");
  auto st = record_auth(false, method, reason, unknown_user);
  // A failure counts against the source always, and against the account only once the peer has
  // proved it holds one of the account's registered keys: a stranger who knows a name must not be
  // able to lock its owner out; the source ban covers that guessing.
  const bool account_owned = !key_fingerprint_.empty() && spec_.has_value();
  if (settings_.guard != nullptr) settings_.guard->failed(ban_source(), account_owned ? spec_->operator_name : "");
  if (!st)
    return login_unrecorded(st.error());
  return refused(std::move(shown));  // empty: nothing to tell the peer (no account enumeration)
}

// record_auth writes auth.success or auth.failure with the user name as sent made safe for the
// trail: a stranger chose those bytes before authenticating, so they are escaped and cut.
Status Monitor::record_auth(bool success, const std::string& method, const std::string& reason, bool unknown_user) {
  constexpr std::size_t kShownUserBytes = 128;
  const bool cut = user_.size() > kShownUserBytes;
  const std::string shown = escape_unprintable(std::string_view(user_).substr(0, kShownUserBytes)) + (cut ? "…" : "");
  // The actor is the account ("alice"), so `audit list --actor alice` finds her failures too.
  const std::string actor_name = spec_ ? spec_->operator_name : shown;
  const std::string server = spec_ && spec_->target ? spec_->target->server : "";
  audit::Event ev{clock_.now(), success ? "auth.success" : "auth.failure", actor_name, source_, server, {}, {}};
  ev.details = {{"method", method}, {"reason", reason}, {"invalid_user", unknown_user}, {"user", shown}};
  auto st = services_.events.append(ev);
  if (!st) spdlog::error("{}: audit event {} could not be written: {}", source_, ev.kind, st.error().message);
  return st;
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
  if (who_->role != authz::Role::Operator)
    return violation(m.type, "decision for a " + std::string(authz::to_string(who_->role)) + " account, which reaches no server");
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
  // The target runs, and the evidence shows, exactly the words that were matched: their
  // serialisation, never the operator's line — except under the "any command" entry, which allowed
  // the line as typed (a pipeline, a glob) and says so in session.start.
  const bool as_typed = kind == "exec" && allow.any_command;
  const std::string to_run = kind == "exec" && !as_typed ? op->upstream_command : command;
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : allow.transfer_entries)
    entries.push_back({{"name", e.name}, {"type", authz::to_string(e.type)}, {"pattern", e.pattern},
                       {"direction", authz::to_string(e.direction)}, {"path", e.path}});
  nlohmann::json context = {{"op_type", authz::to_string(op->type)},
                            {"server", {{"name", server->name}, {"client", server->client}, {"allowed_env", server->allowed_env}}},
                            {"transfer_entries", entries}};
  const std::int64_t id = next_decision_++;
  Message reply = monitor::decision(static_cast<std::uint64_t>(id), static_cast<std::uint64_t>(allow.grant.id),
                                    allow.any_command, allow.op_name, to_run,
                                    context.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  decisions_.emplace(id, Decided{std::move(allow), *server, login, kind == "shell" ? "shell" : to_run, as_typed, false});
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
  if (m.numbers[2] > 1) return violation(m.type, "pty flag out of range");
  const Seconds now = clock_.now();
  audit::SessionStart row{who_->name, d.server.name, d.login, d.allow.grant.id, d.server.client, source_, now,
                          static_cast<int>(::getpid()), settings_.max_sessions_per_operator};
  row.pid_start = process_start_ticks(row.pid);
  row.alive = session_process_alive;
  row.node = settings_.node;
  // Refused either by the per-operator cap or because the journal cannot be written (fail closed);
  // the store's message says which.
  auto id = services_.sessions.start(row);
  if (!id) return refused(id.error().message);
  d.started = true;
  Started started;
  started.decision_id = it->first;
  started.channel = static_cast<int>(m.numbers[1]);
  started.started_at = now;
  sessions_[*id] = std::move(started);
  nlohmann::json details = {{"login", d.login},         {"grant", d.allow.grant.id}, {"operation", d.allow.op_name},
                            {"client", d.server.client}, {"started_at", to_unix(now)}, {"request", d.request},
                            {"pty", m.numbers[2] == 1}};
  if (d.as_typed) {
    details["any_command"] = true;
    details["request_as_typed"] = d.request;
  }
  if (!record("session.start", d.server.name, *id, std::move(details))) {
    audit::ClosingWrites w{*id, static_cast<int>(m.numbers[1]), now, now, std::nullopt, "refused",
                           "the audit log cannot be written; access refused", std::nullopt, "", who_->name, source_,
                           d.server.name};
    close_row(sessions_[*id], std::move(w));
    return refused("the audit log cannot be written; access refused");
  }
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
  if ((*s)->closed) return violation(m.type, "recording for session " + std::to_string(m.numbers[0]) + ", which it closed");
  if (m.numbers[2] > 1) return violation(m.type, "pty flag out of range");
  // The recording is sealed under a key of its own, derived from its client's data key: that key,
  // never the client's or the master key, is what the network process gets (audit/data_keys.h).
  std::optional<audit::SealingKey> sealing;
  if (!settings_.master_key_path.empty()) {
    auto key = sealing_key(decisions_.at((*s)->decision_id).server.client);
    if (!key) return refused("the session cannot be recorded (" + key.error().message + "); access refused");
    sealing = std::move(*key);
  }
  auto file = audit::create_recording_file(settings_.recordings_dir, static_cast<std::int64_t>(m.numbers[0]),
                                           (*s)->channel, m.numbers[2] == 1 ? "pty.cast" : "exec.rec");
  if (!file) return refused("the session cannot be recorded (" + file.error().message + "); access refused");
  // The monitor digests this very inode when the session closes, whatever the path names by then.
  struct stat st {};
  if (::fstat(file->first.get(), &st) != 0) return refused("the session cannot be recorded (cannot stat its file); access refused");
  (*s)->recording_open = true;
  (*s)->recording_path = file->second;
  (*s)->recording_dev = st.st_dev;
  (*s)->recording_ino = st.st_ino;
  const auto start = static_cast<std::uint64_t>(to_unix(clock_.now()));
  if (!sealing) return answer_with(monitor::recording(start, file->second), std::move(file->first));
  return answer_with(monitor::recording(start, file->second, std::string(sealing->stream_key.view()),
                                       sealing->key_id, sealing->salt),
                     std::move(file->first));
}

Result<audit::SealingKey> Monitor::sealing_key(const std::string& client) {
  if (!services_.db) return Error{"no database to hold the client's data key"};
  auto master = audit::load_master_key(settings_.master_key_path);
  if (!master) return master.error();
  try {
    return audit::sealing_key_for(*services_.db, *master, client, clock_.now());
  } catch (const db::DbError& e) {
    return Error{db::refusal_for(e)};
  }
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
  if (auto st = record(kind, server, session, std::move(details)); !st)
    return refused(db::names_busy(st.error().message) ? std::string(db::kBusyRefusal) : "the audit log cannot be written");
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
  if (server.egress == authz::EgressMode::Key) {
    // The egress key stays here: the network process logs in through an agent socket it asks for
    // next (EgressAgent), which signs for this login only.
    it->second.agent_allowed = true;
    return answer_with(monitor::upstream_key("", "", server.host_key, server.name, server.host,
                                             static_cast<std::uint64_t>(server.port)),
                       std::move(*fd));
  }
  auto issued = certificate_for(it->first, server);
  if (!issued) return refused(issued.error().message);
  return answer_with(monitor::upstream_key(std::move(issued->first), std::move(issued->second), server.host_key,
                                           server.name, server.host, static_cast<std::uint64_t>(server.port)),
                     std::move(*fd));
}

std::int64_t Monitor::session_of(std::int64_t decision_id) const {
  for (const auto& [id, s] : sessions_)
    if (s.decision_id == decision_id) return id;
  return 0;
}

Result<std::pair<std::string, std::string>> Monitor::certificate_for(std::int64_t decision_id, const authz::Server& server) {
  const Decided& d = decisions_.at(decision_id);
  auto ca = load_egress_ca(settings_.egress_ca_path);
  if (!ca) {
    spdlog::error("{}: {}", source_, ca.error().message);
    return Error{"the bastion cannot sign its certificate for " + server.name + ": " + ca.error().message};
  }
  EgressLogin login{.operator_name = who_->name,
                    .session_id = session_of(decision_id),
                    .grant_id = d.allow.grant.id,
                    .login = d.login,
                    .granted_types = {},
                    .source_addresses = settings_.egress_source_addresses};
  for (const auto& e : services_.store.catalogue_of(server.id))
    if (std::find(d.allow.grant.ops.begin(), d.allow.grant.ops.end(), e.name) != d.allow.grant.ops.end())
      login.granted_types.push_back(e.type);
  Ed25519Key ephemeral = generate_ed25519("bastion-egress");
  const CertificateFields fields = egress_certificate_fields(login, ephemeral.public_key, clock_.now());
  const std::string blob = sign_certificate(fields, *ca);
  nlohmann::json details{{"serial", fields.serial},
                         {"key_id", fields.key_id},
                         {"principals", fields.principals},
                         {"valid_after", iso8601_utc(fields.valid_after)},
                         {"valid_before", iso8601_utc(fields.valid_before)},
                         {"fingerprint", blob_fingerprint(public_blob(ephemeral.public_key))},
                         {"ca", blob_fingerprint(public_blob(ca->public_key))},
                         {"extensions", fields.extensions},
                         {"source_address", fields.source_addresses},
                         {"grant", d.allow.grant.id}};
  // A certificate nobody could later find in the trail is not issued.
  if (auto st = record("egress.certificate", server.name, login.session_id, std::move(details)); !st)
    return Error{db::names_busy(st.error().message) ? std::string(db::kBusyRefusal) : "the audit log cannot be written"};
  return std::make_pair(openssh_private_key(ephemeral), certificate_line(blob, fields.key_id));
}

// ---- Key mode: the egress agent ------------------------------------------------------------------

Result<Monitor::Reply> Monitor::egress_agent(const Message& m) {
  if (!authenticated_) return violation(m.type, "egress agent before authentication");
  auto it = decisions_.find(static_cast<std::int64_t>(std::min<std::uint64_t>(m.numbers[0], std::numeric_limits<std::int64_t>::max())));
  if (it == decisions_.end() || !it->second.agent_allowed)
    return violation(m.type, "egress agent for decision " + std::to_string(m.numbers[0]) +
                                 ", whose upstream in key mode this monitor did not hand over");
  it->second.agent_allowed = false;  // one agent per upstream login
  auto text = read_file(settings_.egress_key_path);
  if (!text) return refused("the bastion's egress key is unusable: " + text.error().message);
  auto key = parse_openssh_private_key(*text);
  std::fill(text->begin(), text->end(), '\0');
  if (!key) return refused("the bastion's egress key is unusable: " + key.error().message);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return refused(std::string("cannot open the egress agent: ") + std::strerror(errno));
  auto agent = std::make_unique<Agent>();
  agent->fd = audit::UniqueFd(pair[0]);
  agent->decision_id = it->first;
  agent->key = std::move(*key);
  agents_.push_back(std::move(agent));
  return answer_with(monitor::verdict(true, ""), audit::UniqueFd(pair[1]));
}

Result<bool> Monitor::serve_agent(Agent& a) {
  char chunk[4096];
  const ssize_t n = ::recv(a.fd.get(), chunk, sizeof chunk, MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;  // the network process closed it
  a.buffer.append(chunk, static_cast<std::size_t>(n));
  const Decided& d = decisions_.at(a.decision_id);
  std::string payload;
  for (;;) {
    auto whole = take_agent_frame(a.buffer, payload);
    if (!whole) return violation("egress_agent", whole.error().message);
    if (!*whole) return true;
    auto answer = answer_agent_request(payload, a.key, d.login);
    if (!answer) return violation("egress_agent", answer.error().message);
    if (answer->signed_request) {
      // The signature is recorded before it is given: none leaves unrecorded.
      nlohmann::json details{{"login", d.login},
                             {"fingerprint", blob_fingerprint(public_blob(a.key.public_key))},
                             {"grant", d.allow.grant.id}};
      if (auto st = record("egress.signature", d.server.name, session_of(a.decision_id), std::move(details)); !st) {
        spdlog::error("{}: egress signature for {} refused: {}", source_, d.server.name, st.error().message);
        answer->reply = std::string(1, static_cast<char>(kAgentFailure));
        answer->signed_request = false;
      }
    }
    const std::string frame = agent_frame(answer->reply);
    if (!audit::write_all(a.fd.get(), frame)) return false;
    if (answer->signed_request) return false;  // one login, one signature: the socket is done
  }
}

// grant_live answers from the database; while the database cannot be reached (PostgreSQL down or
// out of reach, or locked), running sessions go on for the grace, then end with the reason.
// Logins meanwhile are refused (fail closed): the grace is for the work already under way.
Result<Monitor::Reply> Monitor::grant_live(const Message& m) {
  auto s = own_session(m.numbers[0], "grant check");
  if (!s) return violation(m.type, s.error().message);
  const auto sid = static_cast<std::int64_t>(m.numbers[0]);
  try {
    auto reply = grant_live_now(sid, **s);
    if (db_unreachable_since_) spdlog::warn("{}: the database answers again; live checks resume", source_);
    db_unreachable_since_.reset();
    return reply;
  } catch (const db::DbError& e) {
    if (!e.busy) throw;
    const auto now = std::chrono::steady_clock::now();
    if (!db_unreachable_since_) {
      db_unreachable_since_ = now;
      spdlog::error("{}: live check of session {}: {}; the session goes on for at most {} s meanwhile", source_, sid,
                    e.what(), settings_.db_grace.count());
    }
    if (now - *db_unreachable_since_ < settings_.db_grace) return granted();
    spdlog::error("{}: session {} ends: the database could not be reached for {} s: {}", source_, sid,
                  settings_.db_grace.count(), e.what());
    return refused(db::refusal_for(e) + " (for " + std::to_string(settings_.db_grace.count()) +
                   " s, the grace of running sessions)");
  }
}

// access_version: read from the database when a change notice came (or one may have been missed:
// listening just started, or started again after a reconnect), when there are no notices to go by
// (SQLite, the connection down: every check reads it, as a poll), and at least every access_poll
// (the guarantee, should a notice be lost some way the connection does not show). Otherwise the
// notices were heard all along and none came: the version read last still holds. A notice is
// only ever a reason to read; what the check decides comes from what it reads.
std::optional<std::int64_t> Monitor::access_version() {
  if (!services_.db) return std::nullopt;
  db::Database& db = *services_.db;
  if (!listening_) {
    listening_ = true;  // once: the connection listens again by itself after a reconnect
    db.listen_for_changes();
  }
  const auto now = std::chrono::steady_clock::now();
  const bool changed = db.take_changes() != db::Database::Changes::None;
  const bool noticed = std::exchange(notice_pending_, false);
  if (!changed && !noticed && known_version_ && now - version_read_at_ < settings_.access_poll) return known_version_;
  known_version_.reset();  // a read that fails leaves nothing to trust: the next check reads again
  known_version_ = audit::access_version(db);
  version_read_at_ = now;
  return known_version_;
}

// take_notices reads the change notices waiting on the database's connection between requests.
// One that matters (or a connection found lost, when notices may have been missed) is kept for the
// next access_version and wakes the network process, so that its live check comes now rather than
// at its next once-a-second one: a revocation or a kill on any node ends the session within a
// fraction of a second, the once-a-second check and the access_poll staying the guarantee.
void Monitor::take_notices() {
  if (services_.db->take_changes() == db::Database::Changes::None) return;  // (take_changes reads them in)
  notice_pending_ = true;
  if (settings_.wake_network) settings_.wake_network();
}

Result<Monitor::Reply> Monitor::grant_live_now(std::int64_t sid, Started& s) {
  // Read before the rows: a change committed between the two reads moves the version past what is
  // kept, and the next check reads the rows again.
  // (Without a database handle, in unit tests of the monitor alone, every check reads the rows.)
  const auto version = access_version();
  const Seconds now = clock_.now();
  if (version && s.checked_version == version && s.window_start <= now && now < s.window_end) return granted();
  if (auto kill = services_.sessions.kill_request(sid))
    return refused("session " + std::to_string(sid) + " was ended by " + kill->by + " at " + format_utc(kill->at));
  // Another node may have ended the row: it took this node for dead (its heartbeat stopped).
  if (auto row = services_.sessions.find(sid); row && row->status != "live")
    return refused("session " + std::to_string(sid) + " was marked " + row->status + " elsewhere: " + row->reason);
  const Decided& d = decisions_.at(s.decision_id);
  const auto grant = services_.store.find_grant(d.allow.grant.id);
  const auto who = services_.store.find_operator(who_->name);
  const auto server = grant ? services_.store.find_server(grant->server_name) : std::nullopt;
  const auto keys = who ? services_.store.keys_of(who->id) : std::vector<authz::OperatorKey>{};
  auto why = authz::why_not_live({d.allow.grant.id, grant ? &*grant : nullptr, who ? &*who : nullptr,
                                  server ? &*server : nullptr, keys, key_fingerprint_, now});
  if (why) return refused(*why);
  s.checked_version = version;
  s.window_start = grant->not_before;
  s.window_end = grant->not_after;
  return granted();
}

// ---- Closing sessions ----------------------------------------------------------------------------

// Closing: a session whose recording is being made durable and digested (fsync, then SHA-256 of
// the file as re-read from disk: about 1.5 s for 1 GiB here) on a thread of its own, so that the
// network process's next request does not wait for it.
struct Monitor::Closing {
  audit::ClosingWrites writes;
  std::future<Result<std::string>> digest;
};

// Unwritten: closing writes the database has not taken yet (locked or failing). They stay here
// and, from their first failure on, in the session's closing spool (audit/closing_spool.h), and are
// tried again each second; bastiond's recovery sweep replays the spool if this process ends first.
struct Monitor::Unwritten {
  audit::ClosingWrites writes;
  bool spooled = false;
};

namespace {

// seal_recording makes the recording durable and returns its SHA-256, read back from the very
// inode the monitor created (a file swapped in under the same path is refused, never digested).
// It is the one SHA-256 pass over a recording's bytes (issue 21): the network process states no
// digest of what it stored (audit/exec_recording.h), and none of its words reach the chain's
// digest. Trusting a digest the sandboxed writer kept as it wrote would save this read, not the
// hash, and would let a compromised network process choose what the chain says about a file; the
// monitor hashes the file it created instead, which the network process can only append to
// (O_APPEND, and no ftruncate/fallocate in its seccomp filter, gateway/sandbox.cc).
Result<std::string> seal_recording(const std::string& path, dev_t dev, ino_t ino) {
  audit::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return Error{"cannot re-open " + path + " to digest it: " + std::strerror(errno)};
  struct stat now {};
  if (::fstat(in.get(), &now) != 0) return Error{"cannot stat " + path + ": " + std::strerror(errno)};
  if (!S_ISREG(now.st_mode) || now.st_dev != dev || now.st_ino != ino)
    return Error{path + " was replaced while it was being recorded"};
  if (::fsync(in.get()) != 0) return Error{"cannot fsync " + path + ": " + std::strerror(errno)};
  return audit::sha256_hex_of_fd(in.get());
}

}  // namespace

Result<Monitor::Reply> Monitor::close_session(const Message& m) {
  auto s = own_session(m.numbers[0], "closing");
  if (!s) return violation(m.type, s.error().message);
  if ((*s)->closed) return violation(m.type, "second closing of session " + std::to_string(m.numbers[0]));
  auto said = audit::parse_spool_record(m.strings[0]);
  if (!said) return violation(m.type, "the closing record is malformed");
  if (said->status != "closed" && said->status != "aborted" && said->status != "refused")
    return violation(m.type, "closing status '" + said->status.substr(0, 32) + "'");
  const auto sid = static_cast<std::int64_t>(m.numbers[0]);
  const Decided& d = decisions_.at((*s)->decision_id);
  // Times, names and the digest are the monitor's own; the network says only what it saw: how the
  // channel ended and what its recording holds.
  audit::ClosingWrites w{sid, (*s)->channel, (*s)->started_at, clock_.now(), said->exit_status, said->status,
                         said->reason.substr(0, 1024), std::nullopt, said->recording_error.substr(0, 1024),
                         who_->name, source_, d.server.name};
  if (said->recording) {
    if (!(*s)->recording_open || said->recording->path != (*s)->recording_path)
      return violation(m.type, "closing names a recording this monitor did not open for session " + std::to_string(sid));
    w.recording = std::move(said->recording);
    w.recording->sha256.clear();
  } else if ((*s)->recording_open && w.recording_error.empty()) {
    w.recording_error = "the network process did not close the recording";
  }
  close_row(**s, std::move(w));
  return granted();
}

void Monitor::close_row(Started& s, audit::ClosingWrites w) {
  s.closed = true;
  auto c = std::make_unique<Closing>();
  // The monitor seals the file it opened (fsync, digest), on a thread of its own so that the next
  // request is not kept waiting; also when the network process sent no summary (it failed or was
  // cut), so that what was recorded is durable.
  if (s.recording_open && !s.recording_path.empty()) {
    c->digest = std::async(std::launch::async, [path = s.recording_path, dev = s.recording_dev, ino = s.recording_ino] {
      return seal_recording(path, dev, ino);
    });
  }
  c->writes = std::move(w);
  closing_.push_back(std::move(c));
  reap_closings(false);
}

void Monitor::reap_closings(bool wait) {
  bool finished = false;
  std::erase_if(closing_, [&](std::unique_ptr<Closing>& c) {
    if (c->digest.valid()) {
      if (!wait && c->digest.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
      auto digest = c->digest.get();
      if (c->writes.recording) {
        if (digest) {
          c->writes.recording->sha256 = *digest;
        } else {
          c->writes.recording_error = digest.error().message;
          c->writes.recording.reset();
          spdlog::error("session {}: closing the recording failed: {}", c->writes.session_id, digest.error().message);
        }
      }
    }
    unwritten_.push_back(std::make_unique<Unwritten>(Unwritten{std::move(c->writes), false}));
    finished = true;
    return true;
  });
  // A locked database delays the next request at most this long; then the writes are spooled and
  // tried again each second.
  if (finished) (void)write_closings(std::chrono::milliseconds(500));
}

bool Monitor::write_closings(std::chrono::milliseconds busy_wait) {
  if (!services_.db) {
    unwritten_.clear();  // unit tests without a database: nothing to write to
    return true;
  }
  const std::string& dir = settings_.recordings_dir;
  services_.db->set_busy_timeout(busy_wait);
  std::erase_if(unwritten_, [&](std::unique_ptr<Unwritten>& u) {
    const std::int64_t id = u->writes.session_id;
    auto done = audit::apply_closing(services_.db, u->writes, settings_.sinks, clock_.now());
    if (done) {
      if (u->spooled) ::unlink(audit::spool_path(dir, id).c_str());
      return true;
    }
    spdlog::error("session {}: {}", id, done.error().message);
    if (!u->spooled) {
      auto st = audit::append_spool(audit::spool_path(dir, id), u->writes);
      if (!st) spdlog::error("session {}: {}", id, st.error().message);
      u->spooled = static_cast<bool>(st);
    }
    // A sink error comes after the commit: the row is closed then, and the writes are not retried.
    try {
      auto row = services_.sessions.find(id);
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

void Monitor::finish(const std::string& why) {
  for (auto& [id, s] : sessions_) {
    if (s.closed) continue;
    const Decided& d = decisions_.at(s.decision_id);
    audit::ClosingWrites w{id, s.channel, s.started_at, clock_.now(), std::nullopt, "aborted", why, std::nullopt,
                           s.recording_open ? "the network process ended before closing the recording" : "",
                           who_ ? who_->name : actor(), source_, d.server.name};
    close_row(s, std::move(w));
  }
  reap_closings(true);
  constexpr auto kClosingPatience = std::chrono::seconds(120);
  const auto give_up = std::chrono::steady_clock::now() + kClosingPatience;
  while (!write_closings(db::Database::kBusyTimeout)) {
    const bool all_spooled = std::all_of(unwritten_.begin(), unwritten_.end(), [](const auto& u) { return u->spooled; });
    if (all_spooled && std::chrono::steady_clock::now() >= give_up) {
      spdlog::error("{} closing write(s) left to bastiond's recovery sweep in their spool", unwritten_.size());
      return;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Monitor::~Monitor() {
  // Digest threads must not outlive what they were given.
  for (auto& c : closing_)
    if (c->digest.valid()) c->digest.wait();
}

// ---- What only the database can answer -----------------------------------------------------------

namespace {

std::string ops_list(const std::vector<std::string>& ops) {
  std::string s;
  for (const auto& o : ops) s += (s.empty() ? "" : ",") + o;
  return s;
}

// kInlineOutput: command output up to this size rides in the Text message; larger output goes in a
// sealed memory file whose descriptor rides with it (the message itself is capped).
constexpr std::size_t kInlineOutput = 48 * 1024;

Result<Monitor::Reply> text_reply(int rc, std::string out, std::string err) {
  if (err.size() > kInlineOutput) err = err.substr(0, kInlineOutput) + "\n(cut)\n";
  if (out.size() <= kInlineOutput) return Monitor::Reply{monitor::text(rc, std::move(out), std::move(err)), {}};
  audit::UniqueFd fd(::memfd_create("bastion-output", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return Monitor::Reply{monitor::text(1, "", "bastion: cannot pass the command's output: " + std::string(std::strerror(errno)) + "\n"), {}};
  if (!audit::write_all(fd.get(), out) || ::lseek(fd.get(), 0, SEEK_SET) != 0 ||
      ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return Monitor::Reply{monitor::text(1, "", "bastion: cannot pass the command's output: " + std::string(std::strerror(errno)) + "\n"), {}};
  return Monitor::Reply{monitor::text(rc, "", std::move(err)), std::move(fd)};
}

}  // namespace

Result<Monitor::Reply> Monitor::grants(const Message& m) {
  if (!authenticated_) return violation(m.type, "grant listing before authentication");
  std::ostringstream out;
  out << "Bastion: you are " << who_->name << " (" << authz::to_string(who_->role) << ").\r\n"
      << "Name a target: ssh " << who_->name << "+LOGIN+SERVER@bastion, or ssh -t " << who_->name
      << "@bastion LOGIN@SERVER [COMMAND]\r\n\r\n";
  int shown = 0;
  const auto now = clock_.now();
  for (const auto& g : services_.store.grants_of(who_->id)) {
    if (g.revoked_at || g.not_after <= now) continue;
    if (shown++ == 0) out << "Your grants:\r\n";
    out << "  grant " << g.id << ": " << g.login << "@" << g.server_name << "  operations " << ops_list(g.ops)
        << "  from " << authz::format_utc(g.not_before) << " until " << authz::format_utc(g.not_after) << "\r\n";
  }
  if (shown == 0) out << "You have no current grants; ask a security officer for access.\r\n";
  return text_reply(0, out.str(), "");
}

Result<Monitor::Reply> Monitor::admin(const Message& m) {
  if (!authenticated_) return violation(m.type, "admin command before authentication");
  auto words = monitor::admin_words(m);
  if (!words) return violation(m.type, words.error().message);
  if (!services_.db) return text_reply(1, "", "bastion: the bastion database is unavailable\n");
  std::ostringstream o;
  std::ostringstream e;
  // The account, its role and its client are the monitor's: the command set's own role rules
  // decide what this account may run.
  admin::CommandContext ctx{.store = services_.store,
                            .clock = clock_,
                            .out = o,
                            .err = e,
                            .events = services_.events,
                            .sessions = services_.sessions,
                            .actor = who_->name,
                            .actor_role = who_->role,
                            .actor_client = who_->client,
                            .source = source_,
                            .remote = true,
                            .keys = KeyPaths{settings_.host_key_path, settings_.egress_key_path, settings_.egress_ca_path,
                                             settings_.checkpoint_key_path, settings_.master_key_path},
                            .program = "bastion",
                            .db = services_.db,
                            .recordings_dir = settings_.recordings_dir,
                            .out_is_terminal = false,
                            .portal_url = settings_.portal_url,
                            .sinks = settings_.sinks};
  // The first line of the channel's input, when the network process read one for the command
  // (`export`'s passphrase): the command reads it, then it is wiped with the message.
  if (m.type == Type::AdminWithInput) ctx.input_line = m.strings[1];
  const int rc = admin::run_command(*words, ctx);
  if (ctx.input_line) audit::wipe_string(*ctx.input_line);
  spdlog::info("{} from {}: admin command `{}` exited {}", who_->name, source_,
               (*words)[0] + (words->size() > 1 ? " " + (*words)[1] : ""), rc);
  return text_reply(rc, o.str(), e.str());
}

void Monitor::network_died(const std::string& why) {
  spdlog::error("{}: {}: {}", source_, actor(), why);
  std::vector<std::int64_t> ids;
  for (const auto& [id, s] : sessions_)
    if (!s.closed) ids.push_back(id);
  (void)record("connection.network_died", spec_ && spec_->target ? spec_->target->server : "", std::nullopt,
               {{"reason", why}, {"sessions", ids}});
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
