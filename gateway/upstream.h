#pragma once
// Upstream: the bastion's own SSH client session to a client's server, authenticated with a
// certificate the monitor issued for this login or through the monitor's agent (key mode), refusing
// any host key other than the one the officer registered.
#include <string>

#include "authz/model.h"
#include "authz/result.h"
#include "gateway/ssh_ptr.h"

namespace bastion::gateway {

struct UpstreamSettings {
  long connect_timeout_seconds = 10;
};

// EgressCredential: how the session logs in — one of the two.
struct EgressCredential {
  ssh_key certified_key = nullptr;  // certificate mode: an ephemeral key with its certificate attached
  int agent_fd = -1;                // key mode: the monitor's agent socket; the session owns it once passed
};

// connect_upstream connects, verifies the host key and authenticates as `login`. Every failure is
// a sentence for the operator: unreachable, host key mismatch (both fingerprints), key refused.
// With `connected` >= 0 (a TCP socket the monitor connected and passed, gateway/monitor.h) the
// session runs over it and opens no socket of its own; the session then owns the descriptor. It
// reads no file either way (no configuration, no known_hosts, no home directory): it may run in the
// network process's sandbox.
Result<SessionPtr> connect_upstream(const authz::Server& server, const std::string& login,
                                    const EgressCredential& credential, const UpstreamSettings& settings,
                                    int connected = -1);

// The algorithms both legs offer (modern only; issue 5 widens the policy work).
extern const char* const kCiphers;
extern const char* const kKex;
extern const char* const kMacs;

}  // namespace bastion::gateway
