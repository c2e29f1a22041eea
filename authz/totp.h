#pragma once
// TOTP (RFC 6238, HMAC-SHA1, 6 digits, 30 s steps) through liboath.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authz/clock.h"

namespace bastion::authz {

constexpr int kTotpStepSeconds = 30;

// totp_match returns the time step whose code equals `code`, looking at the step of `now` and one
// step either side; std::nullopt if none matches or the input is malformed. The caller then
// consumes the step (Store::consume_totp_step) so that a code is accepted once.
std::optional<std::int64_t> totp_match(std::string_view secret_base32, std::string_view code, Seconds now);

// totp_code returns the 6-digit code of `secret_base32` at `now` (for tests and the demo only).
std::string totp_code(std::string_view secret_base32, Seconds now);

// new_totp_secret returns 20 random bytes from the kernel's CSPRNG, base32 without padding.
std::string new_totp_secret();

// otpauth_uri: "otpauth://totp/Bastion:alice?secret=…&issuer=Bastion&algorithm=SHA1&digits=6&period=30".
std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret_base32);

}  // namespace bastion::authz
