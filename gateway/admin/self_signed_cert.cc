#include "gateway/admin/self_signed_cert.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace bastion::gateway::admin {
namespace {

// One owner per OpenSSL handle, bound once to its free function.
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free_all(p); } };
struct ExtFree { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const { BN_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX v3{};
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Result<X509Ptr> build_cert(EVP_PKEY* key, const std::string& host, int days) {
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  if (!cert || !serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Error{"OpenSSL could not make a certificate serial number"};
  }
  X509_set_version(cert.get(), 2);  // v3
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);  // a clock a little behind still accepts it
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Bastion"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  const std::string san = "DNS:" + host + ",DNS:localhost,IP:127.0.0.1,IP:::1";
  if (!add_extension(cert.get(), NID_subject_alt_name, san) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return Error{"OpenSSL could not sign the certificate for '" + host + "'"};
  }
  return cert;
}

// write_pem creates path (O_EXCL, with mode) and writes what `write` puts into a BIO on it.
template <typename Write>
Status write_pem(const std::string& path, mode_t mode, Write write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error{"cannot create " + path + ": " + std::strerror(errno)};
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio) {
    ::close(fd);
    return Error{"OpenSSL could not open " + path};
  }
  if (write(bio.get()) != 1 || BIO_flush(bio.get()) != 1) return Error{"cannot write " + path};
  return ok_status();
}

}  // namespace

Status make_self_signed_cert(const SelfSignedFiles& files, const std::string& host, int days) {
  for (const auto* p : {&files.cert_path, &files.key_path}) {
    if (exists(*p)) return Error{*p + " already exists; remove it first to make a new pair"};
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Error{"OpenSSL could not generate a P-256 key"};
  auto cert = build_cert(key.get(), host, days);
  if (!cert) return cert.error();
  if (auto st = write_pem(files.key_path, 0600, [&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      });
      !st) {
    return st;
  }
  return write_pem(files.cert_path, 0644, [&](BIO* b) { return PEM_write_bio_X509(b, cert->get()); });
}

}  // namespace bastion::gateway::admin
