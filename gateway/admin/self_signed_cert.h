#pragma once
// make_self_signed_cert: the TLS certificate and key of a demo `bastion-web` (bastionctl web-cert).
// A P-256 key and an X.509 v3 certificate signed by itself, naming `host` (and localhost,
// 127.0.0.1, ::1) as subjectAltName. Production sites use a certificate of their own CA instead.
#include <string>

#include "authz/result.h"

namespace bastion::gateway::admin {

struct SelfSignedFiles {
  std::string cert_path;  // PEM certificate, written 0644
  std::string key_path;   // PEM private key (PKCS#8), written 0600
};

// make_self_signed_cert writes both files, valid `days` from now; refuses (writing nothing) if
// either exists, and says why if OpenSSL or the file system fails.
Status make_self_signed_cert(const SelfSignedFiles& files, const std::string& host, int days);

}  // namespace bastion::gateway::admin
