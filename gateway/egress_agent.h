#pragma once
// The egress agent: in key mode (a server that trusts the bastion's standing egress key), the
// network process logs in through an ssh-agent socket the monitor answers (libssh's
// ssh_set_agent_socket + ssh_userauth_agent), so that the egress key never leaves the monitor.
//
// The monitor answers each socket for one decided login: it lists the one key, and signs only a
// publickey user-authentication request (RFC 4252 §7) for exactly that login, with that key. The
// requests are read through the bounds-checked audit::ByteCursor (fuzz target
// tests/fuzz/egress_agent_fuzz.cc): they come from the unprivileged network process.
#include <cstddef>
#include <string>
#include <string_view>

#include "authz/result.h"
#include "gateway/openssh_key.h"

namespace bastion::gateway {

// kMaxAgentFrame bounds one request: a sign request is a few hundred bytes; more is refused.
inline constexpr std::size_t kMaxAgentFrame = 16 * 1024;

// Agent message numbers (draft-miller-ssh-agent).
inline constexpr unsigned char kAgentFailure = 5;
inline constexpr unsigned char kAgentRequestIdentities = 11;
inline constexpr unsigned char kAgentIdentitiesAnswer = 12;
inline constexpr unsigned char kAgentSignRequest = 13;
inline constexpr unsigned char kAgentSignResponse = 14;

// AgentAnswer: the reply to one request (its payload, without the length) and whether it was a
// signature.
struct AgentAnswer {
  std::string reply;
  bool signed_request = false;
};

// answer_agent_request answers one request's payload for `key`, allowed to sign for `login` only.
// A request for the identities gets the one key; a request of another kind gets SSH_AGENT_FAILURE.
// A sign request for anything but a publickey login as `login` with that key and "ssh-ed25519" is
// an Error naming what was asked: the network process asked for what its login was not granted.
Result<AgentAnswer> answer_agent_request(std::string_view payload, const Ed25519Key& key, std::string_view login);

// take_agent_frame: if `buffer` starts with a whole frame (u32 length, then the payload), moves the
// payload out into `payload` and returns true; false if more bytes are needed. An Error if the
// frame announces more than kMaxAgentFrame or an empty payload.
Result<bool> take_agent_frame(std::string& buffer, std::string& payload);

// agent_frame: the frame (u32 length, then the payload) of a reply.
std::string agent_frame(std::string_view payload);

}  // namespace bastion::gateway
