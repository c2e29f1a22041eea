// Fuzzes the monitor protocol's parser: a compromised network process controls every byte the
// monitor reads (gateway/monitor_protocol.h). Whatever parses must encode back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/monitor_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view wire(reinterpret_cast<const char*>(data), size);
  auto m = bastion::gateway::monitor::parse(wire);
  if (m && bastion::gateway::monitor::encode(*m) != wire) std::abort();
  return 0;
}
