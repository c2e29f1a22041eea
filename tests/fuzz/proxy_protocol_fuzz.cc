// The PROXY protocol v2 parser (gateway/proxy_protocol.h) reads the first bytes a trusted proxy,
// or anyone pretending to be one, sends.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/proxy_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace proxy = bastion::gateway::proxy;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto len = proxy::payload_length(bytes);
  if (len && *len > proxy::kMaxPayload) __builtin_trap();  // the cap holds before any buffering
  if (auto h = proxy::parse_header(bytes)) {
    if (!len || size != proxy::kFixedSize + *len) __builtin_trap();  // exactly the announced bytes
    if (!h->local && h->source_address.empty()) __builtin_trap();   // a PROXY header names a client
    if (!proxy::looks_like_header(bytes)) __builtin_trap();
  }
  return 0;
}
