#include "audit/sha256.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "audit/fd_io.h"

namespace bastion::audit {
namespace {

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

// Sha256 is a streaming digest; each step reports failure rather than aborting, since OpenSSL can
// fail (e.g. a FIPS provider refusing) and a recording without its digest must not look closed.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1; }
  void update(std::string_view bytes) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1;
  }
  Result<std::string> hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) return Error{"SHA-256 computation failed in OpenSSL"};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 0x0F]);
    }
    return out;
  }

 private:
  EvpMdCtxPtr ctx_;
  bool ok_ = false;
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  auto hex = h.hex();
  // Hashing a buffer in memory can only fail if OpenSSL itself is broken: a "cannot happen" after
  // start-up, so fail loudly rather than hand out an empty digest.
  if (!hex) std::abort();
  return std::move(hex.value());
}

Result<std::string> sha256_hex_of_fd(int fd) {
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{errno_text("cannot read recording to digest it")};
    if (n == 0) return h.hex();
    h.update(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

}  // namespace bastion::audit
