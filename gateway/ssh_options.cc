#include "gateway/ssh_options.h"

#include "gateway/upstream.h"

namespace bastion::gateway {
namespace {

Error rejected(const char* what, const std::string& list, const char* libssh_says) {
  return Error{std::string(what) + " '" + list + "' rejected by libssh" +
               (libssh_says != nullptr && *libssh_says != '\0' ? std::string(": ") + libssh_says : std::string()) +
               "; refusing to fall back to libssh's defaults"};
}

}  // namespace

AlgorithmPolicy AlgorithmPolicy::standard() { return AlgorithmPolicy{kCiphers, kKex, kMacs}; }

Status set_bind_algorithms(ssh_bind bind, const AlgorithmPolicy& p, const std::string& host_key_algorithms) {
  struct Item {
    ssh_bind_options_e option;
    const char* what;
    const std::string& list;
  };
  for (const Item& i : {Item{SSH_BIND_OPTIONS_CIPHERS_C_S, "cipher list", p.ciphers},
                        Item{SSH_BIND_OPTIONS_CIPHERS_S_C, "cipher list", p.ciphers},
                        Item{SSH_BIND_OPTIONS_KEY_EXCHANGE, "key exchange list", p.kex},
                        Item{SSH_BIND_OPTIONS_HMAC_C_S, "MAC list", p.macs},
                        Item{SSH_BIND_OPTIONS_HMAC_S_C, "MAC list", p.macs},
                        Item{SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, "host key algorithm list", host_key_algorithms}}) {
    if (ssh_bind_options_set(bind, i.option, i.list.c_str()) != SSH_OK)
      return rejected(i.what, i.list, ssh_get_error(bind));
  }
  return ok_status();
}

Status set_session_algorithms(ssh_session s, const AlgorithmPolicy& p, const std::string& host_key_algorithms) {
  struct Item {
    ssh_options_e option;
    const char* what;
    const std::string& list;
  };
  for (const Item& i : {Item{SSH_OPTIONS_CIPHERS_C_S, "cipher list", p.ciphers},
                        Item{SSH_OPTIONS_CIPHERS_S_C, "cipher list", p.ciphers},
                        Item{SSH_OPTIONS_KEY_EXCHANGE, "key exchange list", p.kex},
                        Item{SSH_OPTIONS_HMAC_C_S, "MAC list", p.macs}, Item{SSH_OPTIONS_HMAC_S_C, "MAC list", p.macs},
                        Item{SSH_OPTIONS_HOSTKEYS, "host key algorithm list", host_key_algorithms}}) {
    if (ssh_options_set(s, i.option, i.list.c_str()) != SSH_OK) return rejected(i.what, i.list, ssh_get_error(s));
  }
  return ok_status();
}

Status set_option(ssh_session s, ssh_options_e option, const void* value, const char* what) {
  if (ssh_options_set(s, option, value) != SSH_OK)
    return Error{std::string("cannot set the upstream session's ") + what + ": " + ssh_get_error(s)};
  return ok_status();
}

}  // namespace bastion::gateway
