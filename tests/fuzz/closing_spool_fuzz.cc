// Fuzz target for audit/closing_spool.cc (libFuzzer). Run: scripts/fuzz closing_spool
// (seeds: corpus/closing_spool).
//
// A spool file is read back from disk by the recovery sweep: untrusted bytes. Properties:
//  1. last_spool_record never crashes, whatever the file holds.
//  2. Every record it accepts is canonical: encoding it again gives a line that parses back to a
//     record encoding to the very same line (nothing is lost or reinterpreted in a round trip).
//  3. A first line accepted alone re-encodes to a line that is accepted too.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/closing_spool.h"

namespace {

using namespace bastion::audit;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto record = last_spool_record(input);
  if (record) {
    const std::string line = encode_spool_record(*record);
    check(!line.empty() && line.back() == '\n');
    const auto again = last_spool_record(line);
    check(again.has_value());
    check(encode_spool_record(*again) == line);
  }
  const std::string_view first = input.substr(0, input.find('\n'));
  if (auto one = parse_spool_record(first)) {
    const std::string line = encode_spool_record(*one);
    check(parse_spool_record(std::string_view(line).substr(0, line.size() - 1)).has_value());
  }
  return 0;
}
