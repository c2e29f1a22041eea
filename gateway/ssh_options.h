#pragma once
// Checked libssh options. libssh reports a rejected option (an algorithm list with nothing it
// supports, a bad value) only through its return code, and a rejected algorithm list leaves
// libssh's own defaults in force, wider than the crypto policy (etc/CRYPTO.md). So no option is
// set without looking at the answer: every call here returns an Error naming the option.
#include <string>

#include "authz/result.h"
#include "gateway/ssh_ptr.h"

namespace bastion::gateway {

// AlgorithmPolicy: what both legs offer (etc/CRYPTO.md); the defaults are kCiphers, kKex, kMacs.
struct AlgorithmPolicy {
  std::string ciphers;
  std::string kex;
  std::string macs;
  static AlgorithmPolicy standard();
};

// set_bind_algorithms applies the policy and the host key algorithms to an ssh_bind; any list
// libssh rejects is an error ("cipher list 'x' rejected by libssh: …"), never a silent default.
Status set_bind_algorithms(ssh_bind bind, const AlgorithmPolicy& policy, const std::string& host_key_algorithms);
// set_session_algorithms does the same for a client session (the upstream leg).
Status set_session_algorithms(ssh_session session, const AlgorithmPolicy& policy,
                              const std::string& host_key_algorithms);
// set_option sets one client session option and names it (`what`) if libssh refuses it.
Status set_option(ssh_session session, ssh_options_e option, const void* value, const char* what);

}  // namespace bastion::gateway
