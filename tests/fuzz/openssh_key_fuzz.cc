// Fuzzes the reader of OpenSSH private key files (gateway/openssh_key.h): whatever it accepts must
// be a consistent ed25519 key, and writing it back must read again to the same key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/openssh_key.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto key = bastion::gateway::parse_openssh_private_key(text);
  if (!key) return 0;
  auto again = bastion::gateway::parse_openssh_private_key(bastion::gateway::openssh_private_key(*key));
  if (!again || again->public_key != key->public_key || again->secret_key != key->secret_key) std::abort();
  return 0;
}
