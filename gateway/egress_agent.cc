#include "gateway/egress_agent.h"

#include "audit/byte_cursor.h"

namespace bastion::gateway {
namespace {

constexpr unsigned char kUserauthRequest = 50;  // SSH_MSG_USERAUTH_REQUEST

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

std::string failure() { return std::string(1, static_cast<char>(kAgentFailure)); }

// check_userauth: the data of a sign request must be exactly the publickey login libssh builds for
// `login` with `blob` (RFC 4252 §7): anything else is not what this socket was opened for.
Status check_userauth(std::string_view data, std::string_view blob, std::string_view login) {
  audit::ByteCursor in(data);
  std::string_view session_id, user, service, method, algorithm, key;
  std::uint8_t type = 0, has_signature = 0;
  if (!in.get_string(session_id) || session_id.empty() || session_id.size() > 64 || !in.get_u8(type) ||
      type != kUserauthRequest)
    return Error{"a signature of something other than a user authentication request"};
  if (!in.get_string(user) || !in.get_string(service) || !in.get_string(method) || !in.get_u8(has_signature) ||
      !in.get_string(algorithm) || !in.get_string(key) || !in.empty())
    return Error{"a malformed user authentication request to sign"};
  if (user != login)
    return Error{"a signature for login '" + printable(user) + "' on a connection granted '" + std::string(login) + "'"};
  if (service != "ssh-connection" || method != "publickey" || has_signature != 1)
    return Error{"a signature for service '" + printable(service) + "', method '" + printable(method) + "'"};
  if (algorithm != "ssh-ed25519" || key != blob) return Error{"a signature with another key or algorithm"};
  return ok_status();
}

}  // namespace

Result<AgentAnswer> answer_agent_request(std::string_view payload, const Ed25519Key& key, std::string_view login) {
  audit::ByteCursor in(payload);
  std::uint8_t type = 0;
  if (!in.get_u8(type)) return AgentAnswer{failure(), false};
  const std::string blob = public_blob(key.public_key);
  if (type == kAgentRequestIdentities) {
    if (!in.empty()) return AgentAnswer{failure(), false};
    std::string reply(1, static_cast<char>(kAgentIdentitiesAnswer));
    ssh_wire::put_u32(reply, 1);
    ssh_wire::put_string(reply, blob);
    ssh_wire::put_string(reply, "bastion-egress");
    return AgentAnswer{reply, false};
  }
  if (type != kAgentSignRequest) return AgentAnswer{failure(), false};
  std::string_view requested, data;
  std::uint32_t flags = 0;
  if (!in.get_string(requested) || !in.get_string(data) || !in.get_u32_be(flags) || !in.empty())
    return Error{"a malformed signature request"};
  if (requested != blob) return Error{"a signature with a key the monitor did not offer"};
  if (flags != 0) return Error{"a signature with flags " + std::to_string(flags) + " (none apply to ssh-ed25519)"};
  if (auto st = check_userauth(data, blob, login); !st) return st.error();
  std::string reply(1, static_cast<char>(kAgentSignResponse));
  ssh_wire::put_string(reply, sign_ed25519(key, data));
  return AgentAnswer{reply, true};
}

Result<bool> take_agent_frame(std::string& buffer, std::string& payload) {
  audit::ByteCursor in(buffer);
  std::uint32_t length = 0;
  if (!in.get_u32_be(length)) return false;
  if (length == 0 || length > kMaxAgentFrame)
    return Error{"an agent request of " + std::to_string(length) + " bytes (at most " + std::to_string(kMaxAgentFrame) + ")"};
  if (in.remaining() < length) return false;
  payload = buffer.substr(4, length);
  buffer.erase(0, 4 + length);
  return true;
}

std::string agent_frame(std::string_view payload) {
  std::string frame;
  ssh_wire::put_string(frame, payload);
  return frame;
}

}  // namespace bastion::gateway
