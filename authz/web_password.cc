#include "authz/web_password.h"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <cstdio>

namespace bastion::authz {
namespace {

// sodium_ready initialises libsodium once; it fails only without a usable random source, and
// then no secret can be made at all: abort loudly rather than issue guessable tokens.
void sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fputs("bastion: libsodium could not be initialised (no random source)\n", stderr);
    std::abort();
  }
}

std::string hex(const unsigned char* bytes, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.pop_back();
  return out;
}

std::size_t utf8_code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::optional<std::string> password_problem(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return "the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes";
  }
  if (utf8_code_points(password) < kMinPasswordChars) {
    return "the password must have at least " + std::to_string(kMinPasswordChars) + " characters";
  }
  return std::nullopt;
}

Result<std::string> hash_password(std::string_view password) {
  sodium_ready();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error{"the password could not be hashed: not enough memory for argon2id"};
  }
  return std::string(out.data());
}

bool password_matches(std::string_view stored, std::string_view password) {
  sodium_ready();
  const std::string s(stored);  // crypto_pwhash_str_verify wants a NUL-terminated string
  if (s.rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(s.c_str(), password.data(), password.size()) == 0;
}

std::string new_web_token() {
  sodium_ready();
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return hex(bytes.data(), bytes.size());
}

std::string token_hash(std::string_view token) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return hex(digest.data(), digest.size());
}

std::string csrf_token(std::string_view session_token) { return token_hash("csrf:" + std::string(session_token)); }

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bastion::authz
