#pragma once
// Web portal secrets: reviewer passwords (argon2id through libsodium's crypto_pwhash_str) and the
// random tokens of enrolment links and portal sessions, which the database keeps only hashed.
#include <optional>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::authz {

// kMinPasswordChars / kMaxPasswordBytes: the length a reviewer's password must have. The upper
// bound keeps a stranger from making the server hash megabytes.
inline constexpr std::size_t kMinPasswordChars = 12;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// password_problem: why `password` may not be set (too short, too long), or nothing if it may.
// Characters are counted as UTF-8 code points, so "12 characters" means what a person counts.
std::optional<std::string> password_problem(std::string_view password);

// hash_password returns the argon2id string ("$argon2id$v=19$m=…") of password, with libsodium's
// interactive limits; an error only if libsodium cannot allocate the memory.
Result<std::string> hash_password(std::string_view password);

// password_matches: whether password hashes to stored (a hash_password string). Constant-time in
// the comparison; a malformed stored string matches nothing.
bool password_matches(std::string_view stored, std::string_view password);

// new_web_token returns 32 random bytes as 64 lowercase hex digits (libsodium randombytes).
std::string new_web_token();

// token_hash returns the hex SHA-256 of token: what the database stores in place of the token.
std::string token_hash(std::string_view token);

// csrf_token returns the anti-forgery token that belongs to a session token: the hex SHA-256 of
// "csrf" and the token. Derived, not stored: whoever cannot read the (HttpOnly) cookie cannot
// compute it, and the server needs no second secret per session.
std::string csrf_token(std::string_view session_token);

// same_secret compares two tokens in constant time (sodium_memcmp); different lengths differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace bastion::authz
