#pragma once
// SHA-256 through OpenSSL EVP, for the digest stored when a recording closes (DESIGN.md rule 7).
#include <memory>
#include <string>
#include <string_view>

#include "authz/result.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace bastion::audit {

// Sha256 is a streaming SHA-256. Each step records failure rather than aborting, since OpenSSL can
// fail (e.g. a FIPS provider refusing) and a digest that was not computed must not look computed.
class Sha256 {
 public:
  Sha256();
  // update adds bytes to the digest.
  void update(std::string_view bytes);
  // hex returns the lowercase hex digest of everything added so far; the hasher stays usable
  // (the digest is taken from a copy of its state).
  Result<std::string> hex() const;
  // raw is hex as 32 binary bytes.
  Result<std::string> raw() const;

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* c) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
  bool ok_ = false;
};

// hex_of returns `bytes` as lowercase hex.
std::string hex_of(std::string_view bytes);

// sha256_hex returns the lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// sha256_hex_of_fd reads fd from its current offset to end of file in 64 KiB pieces (never the
// whole file in memory) and returns the lowercase hex SHA-256 of what it read.
Result<std::string> sha256_hex_of_fd(int fd);

}  // namespace bastion::audit
