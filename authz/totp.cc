// TOTP through liboath. The time is always passed in explicitly (never liboath's own time(NULL)) so
// that the clock is injectable and tests are deterministic.
#include "authz/totp.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace bastion::authz {
namespace {

constexpr std::size_t kCodeDigits = 6;
constexpr std::size_t kSecretBytes = 20;  // RFC 4226 recommends 160 bits for HMAC-SHA1

// ensure_oath_initialised calls oath_init exactly once per process (thread-safe static init).
// liboath cannot fail to initialise on a sane system; if it does, nothing can be verified, so
// abort loudly rather than let logins through or silently refuse everyone.
void ensure_oath_initialised() {
  static const bool initialised = [] {
    if (oath_init() != OATH_OK) {
      std::fputs("bastion: liboath failed to initialise\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

// SecretBytes owns a decoded secret (malloc'd by liboath) and wipes it before freeing.
struct SecretDeleter {
  std::size_t len = 0;
  void operator()(char* p) const {
    OPENSSL_cleanse(p, len);
    std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): liboath allocates with malloc
  }
};
using SecretBytes = std::unique_ptr<char, SecretDeleter>;

// decode_secret returns the raw key, or an empty pointer if the base32 is invalid or empty.
SecretBytes decode_secret(std::string_view base32, std::size_t& len) {
  ensure_oath_initialised();
  char* out = nullptr;
  len = 0;
  if (oath_base32_decode(base32.data(), base32.size(), &out, &len) != OATH_OK || out == nullptr) {
    std::free(out);  // NOLINT(cppcoreguidelines-no-malloc)
    return SecretBytes(nullptr, SecretDeleter{});
  }
  SecretBytes key(out, SecretDeleter{len});
  if (len == 0) key.reset();
  return key;
}

// well_formed_code: exactly six ASCII digits, nothing before or after.
bool well_formed_code(std::string_view code) {
  if (code.size() != kCodeDigits) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// time_step is floor(unix / 30), also for times before the epoch.
std::int64_t time_step(Seconds now) {
  const long long t = to_unix(now);
  long long q = t / kTotpStepSeconds;
  if (t % kTotpStepSeconds != 0 && t < 0) --q;
  return q;
}

// code_at_step writes the code of one time step into out (7 bytes: 6 digits and NUL).
bool code_at_step(const char* key, std::size_t len, std::int64_t step, std::array<char, kCodeDigits + 1>& out) {
  const auto at = static_cast<time_t>(step * kTotpStepSeconds);
  return oath_totp_generate2(key, len, at, kTotpStepSeconds, 0, kCodeDigits, 0, out.data()) == OATH_OK;
}

char base32_digit(unsigned v) { return "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[v & 31U]; }

// base32_encode: RFC 4648 alphabet, no '=' padding (authenticator apps accept it either way).
std::string base32_encode(const unsigned char* data, std::size_t len) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    buffer = (buffer << 8U) | data[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(base32_digit(buffer >> static_cast<unsigned>(bits)));
    }
  }
  if (bits > 0) out.push_back(base32_digit(buffer << static_cast<unsigned>(5 - bits)));
  return out;
}

// fill_random reads from getrandom(2), retrying on EINTR and short reads. A failure here means the
// kernel's CSPRNG is unavailable, which is not something to paper over with a weaker source.
void fill_random(unsigned char* buf, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = getrandom(buf + got, len - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fputs("bastion: getrandom failed\n", stderr);
      std::abort();
    }
    got += static_cast<std::size_t>(n);
  }
}

// percent_encode keeps RFC 3986 unreserved characters and escapes every other byte.
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                            u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 15U]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> totp_match(std::string_view secret_base32, std::string_view code, Seconds now) {
  if (!well_formed_code(code)) return std::nullopt;
  std::size_t len = 0;
  SecretBytes key = decode_secret(secret_base32, len);
  if (!key) return std::nullopt;

  const std::int64_t current = time_step(now);
  std::optional<std::int64_t> matched;
  // The current step first, then the neighbours that absorb clock drift and typing time.
  for (std::int64_t step : {current, current - 1, current + 1}) {
    std::array<char, kCodeDigits + 1> expected{};
    if (step < 0 || !code_at_step(key.get(), len, step, expected)) continue;
    // Constant-time comparison: the code is a secret until it has been consumed.
    if (CRYPTO_memcmp(expected.data(), code.data(), kCodeDigits) == 0 && !matched) matched = step;
  }
  return matched;
}

std::string totp_code(std::string_view secret_base32, Seconds now) {
  std::size_t len = 0;
  SecretBytes key = decode_secret(secret_base32, len);
  std::array<char, kCodeDigits + 1> out{};
  if (!key || !code_at_step(key.get(), len, time_step(now), out)) return {};
  return std::string(out.data(), kCodeDigits);
}

std::string new_totp_secret() {
  std::array<unsigned char, kSecretBytes> raw{};
  fill_random(raw.data(), raw.size());
  std::string encoded = base32_encode(raw.data(), raw.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  return encoded;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret_base32) {
  return "otpauth://totp/" + percent_encode(issuer) + ":" + percent_encode(account) +
         "?secret=" + percent_encode(secret_base32) + "&issuer=" + percent_encode(issuer) +
         "&algorithm=SHA1&digits=6&period=30";
}

}  // namespace bastion::authz
