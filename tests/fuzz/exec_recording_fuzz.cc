// Fuzz target for audit/exec_recording.cc (libFuzzer). Run: scripts/fuzz exec_recording
// (seeds: corpus/exec_recording).
//
// Two properties per input:
//  1. parse_exec_recording on the input as a file never reads out of bounds, and what it returns is
//     self-consistent (every chunk lies inside its stream, the streams are exactly the chunks).
//  2. Read as a script of writes, the input goes through ExecRecordingWriter into a memfd and
//     parse_exec_recording gives back exactly the bytes written, per stream.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/byte_cursor.h"
#include "audit/exec_recording.h"
#include "audit/unique_fd.h"

namespace {

using namespace bastion::audit;

void check(bool ok) {
  if (!ok) std::abort();
}

void parsed_file_is_consistent(std::string_view input) {
  auto rec = parse_exec_recording(input);
  if (!rec) return;
  std::size_t totals[3] = {0, 0, 0};
  for (const ExecChunk& c : rec->chunks) {
    const std::string& bytes = rec->bytes(c.stream);
    check(c.offset <= bytes.size() && c.length <= bytes.size() - c.offset);
    totals[static_cast<int>(c.stream)] += c.length;
  }
  check(totals[0] == rec->stdin_bytes.size() && totals[1] == rec->stdout_bytes.size() &&
        totals[2] == rec->stderr_bytes.size());
}

// Script: each step is [selector byte][length byte][that many data bytes]; the selector picks the
// stream (selector % 3) and how far the clock moves (selector / 3 milliseconds).
void written_script_round_trips(std::string_view input) {
  UniqueFd fd(::memfd_create("exec_recording_fuzz", MFD_CLOEXEC));
  check(fd.valid());
  ManualMonotonicClock clock;
  auto writer = ExecRecordingWriter::create(fd.get(), clock);
  check(writer.ok());
  std::string expected[3];
  ByteCursor script(input);
  std::uint8_t selector = 0, length = 0;
  std::string_view data;
  while (script.get_u8(selector) && script.get_u8(length) && script.get_bytes(length, data)) {
    const Stream s = selector % 3 == 0 ? Stream::Input : selector % 3 == 1 ? Stream::Output : Stream::Error;
    clock.advance(std::chrono::milliseconds(selector / 3));
    check(writer->write(s, data));
    expected[selector % 3].append(data);
  }
  std::string file;
  char buf[4096];
  check(::lseek(fd.get(), 0, SEEK_SET) == 0);
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) file.append(buf, static_cast<std::size_t>(n));
  auto rec = parse_exec_recording(file);
  check(rec.ok() && rec->complete());
  check(rec->stdin_bytes == expected[0] && rec->stdout_bytes == expected[1] && rec->stderr_bytes == expected[2]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parsed_file_is_consistent(input);
  written_script_round_trips(input);
  return 0;
}
