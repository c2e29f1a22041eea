#include "gateway/upstream.h"

#include <unistd.h>

#include "gateway/keys.h"
#include "gateway/read_ahead.h"
#include "gateway/ssh_options.h"

namespace bastion::gateway {

const char* const kCiphers =
    "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr";
const char* const kKex =
    "curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512";
const char* const kMacs = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com";

namespace {

// host_key_algorithms restricts negotiation to the registered key's type, so the server must
// present exactly that key.
std::string host_key_algorithms(ssh_key registered) {
  switch (ssh_key_type(registered)) {
    case SSH_KEYTYPE_RSA: return "rsa-sha2-512,rsa-sha2-256";
    default: return ssh_key_type_to_char(ssh_key_type(registered));
  }
}

Status verify_host_key(ssh_session s, const authz::Server& server, ssh_key registered) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(s, &raw) != SSH_OK) return Error{"server " + server.name + " sent no host key"};
  KeyPtr presented(raw);
  if (ssh_key_cmp(presented.get(), registered, SSH_KEY_CMP_PUBLIC) != 0) {
    return Error{"host key of server " + server.name + " does not match the registered one (presented " +
                 fingerprint(presented.get()) + ", registered " + fingerprint(registered) +
                 "); refusing to connect. If the server's key really changed, a security officer must "
                 "register the new one."};
  }
  return ok_status();
}

}  // namespace

Result<SessionPtr> connect_upstream(const authz::Server& server, const std::string& login,
                                    const EgressCredential& credential, const UpstreamSettings& settings,
                                    int connected) {
  auto registered = parse_public_key_line(server.host_key);
  SessionPtr s(registered ? ssh_new() : nullptr);
  // From here the session owns the agent socket; until then it is closed on every way out.
  if (credential.agent_fd >= 0 && (!s || ssh_set_agent_socket(s.get(), credential.agent_fd) != SSH_OK))
    ::close(credential.agent_fd);
  if (!registered) {
    if (connected >= 0) ::close(connected);
    return Error{"server " + server.name + " has an unusable registered host key: " + registered.error().message};
  }
  if (!s) {
    if (connected >= 0) ::close(connected);
    return Error{"out of memory creating the upstream session"};
  }
  if (connected >= 0) {
    socket_t fd = connected;
    if (auto st = set_option(s.get(), SSH_OPTIONS_FD, &fd, "connected socket"); !st) {
      ::close(connected);
      return Error{"server " + server.name + ": " + st.error().message};
    }
  }
  int port = server.port;
  long timeout = settings.connect_timeout_seconds;
  int no = 0;
  std::string algos = host_key_algorithms(registered->get());
  // Every option is checked (gateway/ssh_options.h): a refused one is a refusal with its name, and a
  // refused algorithm list never leaves libssh's defaults in force.
  for (auto st : {set_option(s.get(), SSH_OPTIONS_HOST, server.host.c_str(), "host"),
                  set_option(s.get(), SSH_OPTIONS_PORT, &port, "port"),
                  set_option(s.get(), SSH_OPTIONS_USER, login.c_str(), "login"),
                  set_option(s.get(), SSH_OPTIONS_TIMEOUT, &timeout, "connect timeout"),
                  set_option(s.get(), SSH_OPTIONS_PROCESS_CONFIG, &no, "config processing"),
                  // Named outright, so that libssh never looks up a home directory (getpwuid reads
                  // /etc/passwd) nor a known_hosts file: the host key is checked below against the
                  // registered one, and the network process may open no path.
                  set_option(s.get(), SSH_OPTIONS_SSH_DIR, "/nonexistent/.ssh", "ssh directory"),
                  set_option(s.get(), SSH_OPTIONS_KNOWNHOSTS, "/dev/null", "known hosts"),
                  set_option(s.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null", "global known hosts")}) {
    if (!st) return Error{"server " + server.name + ": " + st.error().message};
  }
  // Keystrokes are tiny packets: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms stalls.
  int yes = 1;
  if (auto st = set_option(s.get(), SSH_OPTIONS_NODELAY, &yes, "TCP_NODELAY"); !st) return st.error();
  if (auto st = set_session_algorithms(s.get(), AlgorithmPolicy::standard(), algos); !st)
    return Error{"server " + server.name + ": " + st.error().message};
  const std::string where = server.name + " (" + server.host + ":" + std::to_string(server.port) + ")";
  if (ssh_connect(s.get()) != SSH_OK)
    return Error{"cannot reach server " + where + ": " + ssh_get_error(s.get())};
  read_ahead::watch(ssh_get_fd(s.get()));  // gateway/read_ahead.h: larger reads for libssh
  if (auto st = verify_host_key(s.get(), server, registered->get()); !st) return st.error();
  if (credential.certified_key != nullptr) {
    if (ssh_userauth_publickey(s.get(), nullptr, credential.certified_key) != SSH_AUTH_SUCCESS)
      return Error{server.name + " refused the bastion's certificate for " + login +
                   ": add the line printed by `bastionctl egress-ca` to its sshd_config (TrustedUserCAKeys) and the "
                   "principal " + login + " to its AuthorizedPrincipalsFile, and check that its clock is right (each "
                   "certificate is valid for 2 minutes)"};
    return s;
  }
  if (ssh_userauth_agent(s.get(), nullptr) != SSH_AUTH_SUCCESS) {
    return Error{"server " + where + " refused the bastion's key for login '" + login +
                 "': the login may not exist, or the bastion's egress key (`bastionctl egress-key`) is not in "
                 "its authorized_keys"};
  }
  return s;
}

}  // namespace bastion::gateway
