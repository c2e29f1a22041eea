#include "gateway/monitor_protocol.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "audit/byte_cursor.h"

namespace bastion::gateway::monitor {
namespace {

// Shape: how many integers and strings a type carries, and who may send it.
struct Shape {
  Type type;
  const char* name;
  std::size_t numbers;
  std::size_t strings;
  bool request;  // sent by the network process
};

constexpr std::array kShapes = {
    Shape{Type::UserBind, "user_bind", 0, 1, true},
    Shape{Type::KeyCheck, "key_check", 1, 2, true},
    Shape{Type::TotpCheck, "totp_check", 0, 1, true},
    Shape{Type::AuthFailure, "auth_failure", 1, 3, true},
    Shape{Type::Decide, "decide", 1, 5, true},
    Shape{Type::StartSession, "start_session", 3, 1, true},
    Shape{Type::OpenRecording, "open_recording", 5, 1, true},
    Shape{Type::Event, "event", 1, 2, true},
    Shape{Type::Upstream, "upstream", 1, 0, true},
    Shape{Type::GrantLive, "grant_live", 1, 0, true},
    Shape{Type::CloseSession, "close_session", 1, 1, true},
    Shape{Type::Grants, "grants", 0, 0, true},
    Shape{Type::Admin, "admin", 0, 1, true},
    Shape{Type::AdminWithInput, "admin_with_input", 0, 2, true},
    Shape{Type::EgressAgent, "egress_agent", 1, 0, true},
    Shape{Type::Verdict, "verdict", 1, 1, false},
    Shape{Type::Decision, "decision", 3, 3, false},
    Shape{Type::Started, "started", 1, 0, false},
    Shape{Type::UpstreamKey, "upstream_key", 1, 5, false},
    Shape{Type::Text, "text", 1, 2, false},
    Shape{Type::Account, "account", 1, 3, false},
    Shape{Type::Recording, "recording", 1, 4, false},
};

const Shape* shape_of(std::uint8_t raw) {
  for (const Shape& s : kShapes) {
    if (static_cast<std::uint8_t>(s.type) == raw) return &s;
  }
  return nullptr;
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

Message make(Type t, std::vector<std::uint64_t> n, std::vector<std::string> s) {
  return Message{t, std::move(n), std::move(s)};
}

}  // namespace

bool is_request(Type t) {
  const Shape* s = shape_of(static_cast<std::uint8_t>(t));
  return s != nullptr && s->request;
}

const char* type_name(Type t) {
  const Shape* s = shape_of(static_cast<std::uint8_t>(t));
  return s != nullptr ? s->name : "unknown";
}

std::string encode(const Message& m) {
  const Shape* s = shape_of(static_cast<std::uint8_t>(m.type));
  if (s == nullptr || m.numbers.size() != s->numbers || m.strings.size() != s->strings) std::abort();
  std::string out;
  out.push_back(static_cast<char>(m.type));
  for (std::uint64_t n : m.numbers) put_be(out, n, 8);
  for (const std::string& str : m.strings) {
    put_be(out, str.size(), 4);
    out += str;
  }
  return out;
}

Result<Message> parse(std::string_view wire) {
  if (wire.size() > kMaxMessageBytes)
    return Error{"message of " + std::to_string(wire.size()) + " bytes is over the " +
                 std::to_string(kMaxMessageBytes) + "-byte limit"};
  audit::ByteCursor in(wire);
  std::uint8_t raw = 0;
  if (!in.get_u8(raw)) return Error{"empty message"};
  const Shape* shape = shape_of(raw);
  if (shape == nullptr) return Error{"unknown message type " + std::to_string(raw)};
  Message m;
  m.type = shape->type;
  for (std::size_t i = 0; i < shape->numbers; ++i) {
    std::uint64_t n = 0;
    if (!in.get_u64_be(n)) return Error{std::string(shape->name) + ": integer " + std::to_string(i + 1) + " is cut short"};
    m.numbers.push_back(n);
  }
  for (std::size_t i = 0; i < shape->strings; ++i) {
    std::string_view str;
    if (!in.get_string(str)) return Error{std::string(shape->name) + ": string " + std::to_string(i + 1) + " is cut short"};
    m.strings.emplace_back(str);
  }
  if (!in.empty())
    return Error{std::string(shape->name) + ": " + std::to_string(in.remaining()) + " trailing byte(s)"};
  return m;
}

Message user_bind(std::string user) { return make(Type::UserBind, {}, {std::move(user)}); }
Message key_check(std::string user, std::string key_line, bool signed_by_peer) {
  return make(Type::KeyCheck, {signed_by_peer ? 1U : 0U}, {std::move(user), std::move(key_line)});
}
Message totp_check(std::string code) { return make(Type::TotpCheck, {}, {std::move(code)}); }
Message auth_failure(std::string user, std::string method, std::string reason, bool unknown_user) {
  return make(Type::AuthFailure, {unknown_user ? 1U : 0U}, {std::move(user), std::move(method), std::move(reason)});
}
Message decide(std::string server, std::string login, std::string kind, std::string command,
               std::string forward_host, std::uint64_t forward_port) {
  return make(Type::Decide, {forward_port},
              {std::move(server), std::move(login), std::move(kind), std::move(command), std::move(forward_host)});
}
Message start_session(std::uint64_t decision_id, std::uint64_t channel, std::string what, bool pty) {
  return make(Type::StartSession, {decision_id, channel, pty ? 1U : 0U}, {std::move(what)});
}
Message open_recording(std::uint64_t session_id, std::uint64_t channel, bool pty, std::uint64_t cols,
                       std::uint64_t rows, std::string term) {
  return make(Type::OpenRecording, {session_id, channel, pty ? 1U : 0U, cols, rows}, {std::move(term)});
}
Message event(std::uint64_t session_id, std::string kind, std::string details_json) {
  return make(Type::Event, {session_id}, {std::move(kind), std::move(details_json)});
}
Message upstream(std::uint64_t decision_id) { return make(Type::Upstream, {decision_id}, {}); }
Message egress_agent(std::uint64_t decision_id) { return make(Type::EgressAgent, {decision_id}, {}); }
Message grant_live(std::uint64_t session_id) { return make(Type::GrantLive, {session_id}, {}); }
Message close_session(std::uint64_t session_id, std::string closing_record) {
  return make(Type::CloseSession, {session_id}, {std::move(closing_record)});
}
Message grants() { return make(Type::Grants, {}, {}); }
Message admin(const std::vector<std::string>& words) {
  return make(Type::Admin, {}, {nlohmann::json(words).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}
Message admin_with_input(const std::vector<std::string>& words, std::string input_line) {
  return make(Type::AdminWithInput, {},
              {nlohmann::json(words).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), std::move(input_line)});
}
Message verdict(bool ok, std::string reason) { return make(Type::Verdict, {ok ? kOk : kRefused}, {std::move(reason)}); }
Message final_refusal(std::string reason) { return make(Type::Verdict, {kRefusedFinal}, {std::move(reason)}); }
Message decision(std::uint64_t decision_id, std::uint64_t grant_id, bool any_command, std::string op_name,
                 std::string command, std::string context_json) {
  return make(Type::Decision, {decision_id, grant_id, any_command ? 1U : 0U},
              {std::move(op_name), std::move(command), std::move(context_json)});
}
Message started(std::uint64_t session_id) { return make(Type::Started, {session_id}, {}); }
Message upstream_key(std::string private_key, std::string certificate, std::string host_key_line,
                     std::string server_name, std::string host, std::uint64_t port) {
  return make(Type::UpstreamKey, {port},
              {std::move(private_key), std::move(host_key_line), std::move(server_name), std::move(host),
               std::move(certificate)});
}
Message text(int exit_status, std::string out, std::string err) {
  return make(Type::Text, {static_cast<std::uint64_t>(static_cast<std::uint32_t>(exit_status))}, {std::move(out), std::move(err)});
}
Message account(std::uint64_t id, std::string name, std::string role, std::string client) {
  return make(Type::Account, {id}, {std::move(name), std::move(role), std::move(client)});
}
Message recording(std::uint64_t start_unix, std::string path, std::string stream_key, std::string key_id,
                  std::string salt) {
  return make(Type::Recording, {start_unix}, {std::move(path), std::move(stream_key), std::move(key_id), std::move(salt)});
}

Result<std::vector<std::string>> admin_words(const Message& m) {
  const bool shaped = (m.type == Type::Admin && m.strings.size() == 1) ||
                      (m.type == Type::AdminWithInput && m.strings.size() == 2);
  if (!shaped) return Error{"not an admin request"};
  auto j = nlohmann::json::parse(m.strings[0], nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty() || j.size() > 256) return Error{"the command's words are not a JSON array of 1 to 256 strings"};
  std::vector<std::string> words;
  for (const auto& w : j) {
    if (!w.is_string()) return Error{"the command's words are not all strings"};
    words.push_back(w.get<std::string>());
  }
  return words;
}

Status send_message(int sock, const Message& m, int fd) {
  const std::string wire = encode(m);
  if (wire.size() > kMaxMessageBytes) return Error{std::string(type_name(m.type)) + " message too large to send"};
  iovec iov{const_cast<char*>(wire.data()), wire.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n = 0;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error{std::string("cannot send to the other process: ") + std::strerror(errno)};
  if (static_cast<std::size_t>(n) != wire.size()) return Error{"a message to the other process was cut short"};
  return ok_status();
}

Result<Received> receive_message(int sock) {
  // One byte more than the cap: a datagram that fills it is over the limit (MSG_TRUNC says so too).
  // One buffer per thread for its whole life, never cleared: the kernel writes only the bytes a
  // message has, so only the pages the largest message reached become resident. (A zero-filled
  // 64 KiB string per message made all sixteen pages resident in both processes of every connection,
  // and cost a 64 KiB memset per message.) parse() copies what it keeps.
  thread_local const std::unique_ptr<char[]> buf(new char[kMaxMessageBytes + 1]);
  iovec iov{buf.get(), kMaxMessageBytes + 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = 0;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error{std::string("cannot read from the other process: ") + std::strerror(errno)};
  // Take ownership of every descriptor first, so that none leaks whatever is refused below.
  std::vector<audit::UniqueFd> fds;
  bool foreign_control = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
      foreign_control = true;
      continue;
    }
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  if (n == 0) return Error{std::string(kPeerGone)};
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || static_cast<std::size_t>(n) > kMaxMessageBytes)
    return Error{"message over the " + std::to_string(kMaxMessageBytes) + "-byte limit (or too many descriptors)"};
  if (foreign_control || fds.size() > 1) return Error{"unexpected control data with a message"};
  auto m = parse(std::string_view(buf.get(), static_cast<std::size_t>(n)));
  if (!m) return m.error();
  Received r{std::move(*m), {}};
  if (!fds.empty()) r.fd = std::move(fds.front());
  return r;
}

}  // namespace bastion::gateway::monitor
