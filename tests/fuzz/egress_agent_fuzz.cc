// Fuzzes the monitor's egress agent (gateway/egress_agent.h): a compromised network process sends
// it any bytes. Frames are cut whole or refused; a request is answered, refused plainly, or an
// Error — and a signature is only ever given for a publickey login as "root".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/egress_agent.h"

namespace {
const bastion::gateway::Ed25519Key& key() {
  static const bastion::gateway::Ed25519Key k = bastion::gateway::generate_ed25519("fuzz");
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buffer(reinterpret_cast<const char*>(data), size);
  std::string payload;
  for (int i = 0; i < 8; ++i) {
    auto whole = bastion::gateway::take_agent_frame(buffer, payload);
    if (!whole || !*whole) break;
    auto answer = bastion::gateway::answer_agent_request(payload, key(), "root");
    if (answer && answer->signed_request && payload.find("root") == std::string::npos) std::abort();
  }
  // The bytes as one request, unframed.
  (void)bastion::gateway::answer_agent_request(std::string_view(reinterpret_cast<const char*>(data), size), key(), "root");
  return 0;
}
