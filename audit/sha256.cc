#include "audit/sha256.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "audit/fd_io.h"

namespace bastion::audit {

void Sha256::CtxFree::operator()(evp_md_ctx_st* c) const { EVP_MD_CTX_free(c); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1; }

void Sha256::update(std::string_view bytes) {
  ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1;
}

Result<std::string> Sha256::raw() const {
  const std::unique_ptr<evp_md_ctx_st, CtxFree> copy(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok_ || !copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1 ||
      EVP_DigestFinal_ex(copy.get(), md, &len) != 1) {
    return Error{"SHA-256 computation failed in OpenSSL"};
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

Result<std::string> Sha256::hex() const {
  auto bytes = raw();
  if (!bytes) return bytes.error();
  return hex_of(*bytes);
}

std::string hex_of(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

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
