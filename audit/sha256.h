#pragma once
// SHA-256 through OpenSSL EVP, for the digest stored when a recording closes (DESIGN.md rule 7).
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::audit {

// sha256_hex returns the lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// sha256_hex_of_fd reads fd from its current offset to end of file in 64 KiB pieces (never the
// whole file in memory) and returns the lowercase hex SHA-256 of what it read.
Result<std::string> sha256_hex_of_fd(int fd);

}  // namespace bastion::audit
