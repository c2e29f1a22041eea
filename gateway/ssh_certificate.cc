#include "gateway/ssh_certificate.h"

#include <sodium.h>

#include <algorithm>

namespace bastion::gateway {
namespace {

using ssh_wire::put_string;
using ssh_wire::put_u32;
using ssh_wire::put_u64;

std::uint64_t unix_u64(Seconds t) {
  const long long v = to_unix(t);
  return v < 0 ? 0 : static_cast<std::uint64_t>(v);
}

}  // namespace

std::string certificate_key_id(const std::string& operator_name, std::int64_t session_id, std::int64_t grant_id) {
  return "bastion:" + operator_name + ":session=" + std::to_string(session_id) + ":grant=" + std::to_string(grant_id);
}

CertificateFields egress_certificate_fields(const EgressLogin& login, const std::array<unsigned char, 32>& subject,
                                            Seconds now) {
  CertificateFields f;
  f.subject_key = subject;
  f.serial = static_cast<std::uint64_t>(login.session_id);
  f.key_id = certificate_key_id(login.operator_name, login.session_id, login.grant_id);
  f.principals = {login.login};
  f.valid_after = now - kCertificateBackdate;
  f.valid_before = now + kCertificateLifetime;
  f.source_addresses = login.source_addresses;
  const auto grants = [&](authz::OpType t) {
    return std::find(login.granted_types.begin(), login.granted_types.end(), t) != login.granted_types.end();
  };
  if (grants(authz::OpType::Forward)) f.extensions.emplace_back("permit-port-forwarding");
  if (grants(authz::OpType::Shell)) f.extensions.emplace_back("permit-pty");
  return f;
}

std::string sign_certificate(const CertificateFields& fields, const Ed25519Key& ca) {
  std::string nonce(32, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::string cert;
  put_string(cert, kCertificateType);
  put_string(cert, nonce);
  put_string(cert, std::string_view(reinterpret_cast<const char*>(fields.subject_key.data()), fields.subject_key.size()));
  put_u64(cert, fields.serial);
  put_u32(cert, kUserCertificate);
  put_string(cert, fields.key_id);
  std::string principals;
  for (const auto& p : fields.principals) put_string(principals, p);
  put_string(cert, principals);
  put_u64(cert, unix_u64(fields.valid_after));
  put_u64(cert, unix_u64(fields.valid_before));
  // Critical options and extensions: name, then data as a string (a string inside for an option's
  // value, empty for a flag), in lexical order of name (PROTOCOL.certkeys).
  std::string critical;
  if (!fields.source_addresses.empty()) {
    std::string joined;
    for (const auto& a : fields.source_addresses) joined += (joined.empty() ? "" : ",") + a;
    std::string value;
    put_string(value, joined);
    put_string(critical, "source-address");
    put_string(critical, value);
  }
  put_string(cert, critical);
  auto names = fields.extensions;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string extensions;
  for (const auto& n : names) {
    put_string(extensions, n);
    put_string(extensions, "");
  }
  put_string(cert, extensions);
  put_string(cert, "");  // reserved
  put_string(cert, public_blob(ca.public_key));
  put_string(cert, sign_ed25519(ca, cert));
  return cert;
}

std::string certificate_line(std::string_view blob, std::string_view comment) {
  std::string line = std::string(kCertificateType) + " " + base64(blob);
  if (!comment.empty()) line += " " + std::string(comment);
  return line;
}

}  // namespace bastion::gateway
