// Fuzz target for audit::parse_checkpoint_line (audit/checkpoint.cc): the lines of a sink file that
// `audit verify --checkpoints` reads, which sat on another host and anyone there could have
// written. Besides not crashing: an accepted checkpoint has the documented ranges, survives the
// line form unchanged (what the bastion writes is what it reads back), and its signature check
// returns rather than faults whatever the signature text holds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/checkpoint.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto parsed = bastion::audit::parse_checkpoint_line(line);
  if (!parsed.ok()) {
    check(!parsed.error().message.empty());
    return 0;
  }
  if (!parsed->has_value()) return 0;
  const bastion::audit::Checkpoint& c = **parsed;
  check(c.seq >= 1 && c.event_id >= 0);
  auto again = bastion::audit::parse_checkpoint_line(bastion::audit::checkpoint_line(c));
  check(again.ok() && again->has_value());
  check(bastion::audit::canonical_checkpoint(**again) == bastion::audit::canonical_checkpoint(c));
  check((*again)->signature == c.signature);
  const std::array<unsigned char, 32> key{};
  (void)bastion::audit::checkpoint_signature_valid(c, key);
  return 0;
}
