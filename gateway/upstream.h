#pragma once
// Upstream: the bastion's own SSH client session to a client's server, authenticated with the
// egress key, refusing any host key other than the one the officer registered.
#include <string>

#include "authz/model.h"
#include "authz/result.h"
#include "gateway/ssh_ptr.h"

namespace bastion::gateway {

struct UpstreamSettings {
  long connect_timeout_seconds = 10;
};

// connect_upstream connects, verifies the host key and authenticates as `login`. Every failure is
// a sentence for the operator: unreachable, host key mismatch (both fingerprints), key refused.
// With `connected` >= 0 (a TCP socket the monitor connected and passed, gateway/monitor.h) the
// session runs over it and opens no socket of its own; the session then owns the descriptor. It
// reads no file either way (no configuration, no known_hosts, no home directory): it may run in the
// network process's sandbox.
Result<SessionPtr> connect_upstream(const authz::Server& server, const std::string& login, ssh_key egress_key,
                                    const UpstreamSettings& settings, int connected = -1);

// The algorithms both legs offer (modern only; issue 5 widens the policy work).
extern const char* const kCiphers;
extern const char* const kKex;
extern const char* const kMacs;

}  // namespace bastion::gateway
