#pragma once
// OpenSSH user certificates (PROTOCOL.certkeys, "ssh-ed25519-cert-v01@openssh.com"), written and
// signed by the bastion for its own upstream logins, and the decision of what one may say.
//
// egress_certificate_fields is the whole policy, a pure function: the principal is the granted
// login and nothing else; the key id names the operator, the session and the grant; the serial is
// the session id; it is valid from 30 s before `now` to 2 minutes after (long enough to log in, not
// to be reused); `source-address` pins it to the bastion's egress addresses when configured; and
// it carries only the extensions the grant's operations need (permit-pty for a shell,
// permit-port-forwarding for a forward) — never agent or X11 forwarding, never permit-user-rc.
#include <cstdint>
#include <string>
#include <vector>

#include "authz/clock.h"
#include "authz/model.h"
#include "gateway/openssh_key.h"

namespace bastion::gateway {

inline constexpr std::string_view kCertificateType = "ssh-ed25519-cert-v01@openssh.com";
inline constexpr std::uint32_t kUserCertificate = 1;
// How long before and after its issue a certificate is valid: clocks of servers may lag a little;
// the login itself takes well under a second.
inline constexpr std::chrono::seconds kCertificateBackdate{30};
inline constexpr std::chrono::seconds kCertificateLifetime{120};

// CertificateFields: every field of a certificate but the CA's signature.
struct CertificateFields {
  std::array<unsigned char, 32> subject_key{};  // the ephemeral key's public half
  std::uint64_t serial = 0;
  std::string key_id;
  std::vector<std::string> principals;
  Seconds valid_after{};
  Seconds valid_before{};
  std::vector<std::string> source_addresses;  // critical option source-address; empty: none
  std::vector<std::string> extensions;        // names; written sorted, each with empty data
};

// EgressLogin: what the monitor established for one upstream login.
struct EgressLogin {
  std::string operator_name;
  std::int64_t session_id = 0;
  std::int64_t grant_id = 0;
  std::string login;                                // the grant's login
  std::vector<authz::OpType> granted_types;  // types of the grant's catalogue entries
  std::vector<std::string> source_addresses;        // the bastion's egress addresses, if configured
};

// egress_certificate_fields: the certificate for `login` at `now` (see the file comment).
CertificateFields egress_certificate_fields(const EgressLogin& login, const std::array<unsigned char, 32>& subject,
                                            Seconds now);

// key_id: "bastion:OPERATOR:session=ID:grant=ID", what the server's log shows.
std::string certificate_key_id(const std::string& operator_name, std::int64_t session_id, std::int64_t grant_id);

// sign_certificate: the certificate blob (nonce random), signed by `ca`.
std::string sign_certificate(const CertificateFields& fields, const Ed25519Key& ca);

// certificate_line: "ssh-ed25519-cert-v01@openssh.com AAAA… comment", as in a *-cert.pub file.
std::string certificate_line(std::string_view blob, std::string_view comment = "");

}  // namespace bastion::gateway
