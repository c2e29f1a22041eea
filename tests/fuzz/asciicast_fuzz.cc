// Fuzz target for audit/asciicast.cc (libFuzzer). Run: scripts/fuzz asciicast (seeds: corpus/asciicast).
//
// Two properties per input:
//  1. parse_asciicast on the input as a file never crashes.
//  2. Read as a script of writes (arbitrary bytes, cut anywhere), the input goes through
//     AsciicastWriter into a memfd; the file parses, and each stream's text equals what one
//     uncut decoding of that stream gives: where a stream is cut never changes what is recorded.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/asciicast.h"
#include "audit/byte_cursor.h"
#include "audit/unique_fd.h"

namespace {

using namespace bastion::audit;

void check(bool ok) {
  if (!ok) std::abort();
}

std::string decoded_whole(const std::string& bytes) {
  Utf8Carry carry;
  std::string out;
  carry.feed(bytes, out);
  carry.finish(out);
  return out;
}

// Script: each step is [selector byte][length byte][that many bytes]; selector % 4 picks input,
// output, stderr or a resize (to length x selector), selector / 4 how many milliseconds pass.
void written_script_round_trips(std::string_view input) {
  UniqueFd fd(::memfd_create("asciicast_fuzz", MFD_CLOEXEC));
  check(fd.valid());
  ManualMonotonicClock clock;
  // The title is fuzz bytes too: it may be anything, including invalid UTF-8.
  const AsciicastHeader header{80, 24, 0, "xterm", "", std::string(input.substr(0, 16))};
  auto writer = AsciicastWriter::create(fd.get(), header, clock);
  check(writer.ok());
  std::string in, out, err;  // the raw bytes written to each stream
  ByteCursor script(input);
  std::uint8_t selector = 0, length = 0;
  std::string_view data;
  while (script.get_u8(selector) && script.get_u8(length) && script.get_bytes(length, data)) {
    clock.advance(std::chrono::milliseconds(selector / 4));
    switch (selector % 4) {
      case 0: check(writer->write(Stream::Input, data)); in.append(data); break;
      case 1: check(writer->write(Stream::Output, data)); out.append(data); break;
      case 2: check(writer->write(Stream::Error, data)); err.append(data); break;
      default: check(writer->resize(length, selector)); break;
    }
  }
  check(writer->finish());

  std::string file;
  char buf[4096];
  check(::lseek(fd.get(), 0, SEEK_SET) == 0);
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) file.append(buf, static_cast<std::size_t>(n));
  auto cast = parse_asciicast(file);
  check(cast.ok() && !cast->truncated);
  std::string got_in, got_out;
  for (const auto& e : cast->events) {
    if (e.code == "i") got_in += e.data;
    if (e.code == "o") got_out += e.data;
  }
  check(got_in == decoded_whole(in));
  // stdout and stderr interleave in "o" events; when only one was used, its text must match exactly.
  if (err.empty()) check(got_out == decoded_whole(out));
  if (out.empty()) check(got_out == decoded_whole(err));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)parse_asciicast(input);
  written_script_round_trips(input);
  return 0;
}
