// Fuzz target for audit/sealed_stream.cc (libFuzzer). Run: scripts/fuzz sealed_stream
// (seeds: corpus/sealed_stream, sealed under the fixed key below).
//
// Three properties per input:
//  1. unseal_with on the input as a file never reads out of bounds, and what it returns is
//     self-consistent: a Complete stream has no detail, any other state says where.
//  2. Read as a script of writes, the input sealed by SealedWriter (both versions of the format)
//     reads back exactly, Complete.
//  3. That sealed file cut at any point the input chooses reads back as a prefix of what was
//     written, never as Altered; one byte of it flipped never reads back as Complete.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/byte_cursor.h"
#include "audit/sealed_stream.h"

namespace {

using namespace bastion::audit;

void check(bool ok) {
  if (!ok) std::abort();
}

const SecretKey& fixed_key() {
  static const SecretKey key = [] {
    auto k = SecretKey::from_bytes(std::string(SecretKey::kBytes, '\x42'));
    check(k.ok());
    return std::move(*k);
  }();
  return key;
}

void parsed_file_is_consistent(std::string_view input) {
  auto out = unseal_with(input, fixed_key());
  if (!out) return;
  check((out->state == SealedState::Complete) == out->detail.empty());
}

void written_script_round_trips(std::string_view input, std::uint8_t version) {
  const std::string salt(kSealedSaltBytes, 's');
  std::string file;
  auto writer = SealedWriter::start(fixed_key(), "dk-fuzz", salt, file, version);
  std::string expected;
  ByteCursor script(input);
  std::uint8_t length = 0;
  std::string_view data;
  while (script.get_u8(length) && script.get_bytes(length, data)) {
    writer.seal(data, file);
    expected.append(data);
  }
  writer.finish(file);
  auto back = unseal_with(file, fixed_key());
  check(back.ok() && back->state == SealedState::Complete && back->plain == expected);

  const std::size_t cut = input.empty() ? 0 : static_cast<std::uint8_t>(input[0]) * file.size() / 256;
  auto prefix = unseal_with(std::string_view(file).substr(0, cut), fixed_key());
  if (prefix) {
    check(prefix->state == SealedState::CutShort);
    check(expected.compare(0, prefix->plain.size(), prefix->plain) == 0);
  }

  std::string flipped = file;
  flipped[cut % flipped.size()] ^= 0x20;
  auto altered = unseal_with(flipped, fixed_key());
  check(!altered.ok() || altered->state != SealedState::Complete);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parsed_file_is_consistent(input);
  written_script_round_trips(input, kSealedVersion);
  written_script_round_trips(input, kSealedVersionXChaCha);
  return 0;
}
