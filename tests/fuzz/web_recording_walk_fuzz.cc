// Fuzz target for the portal's readers of recording files (web/recording_file.cc: for_each_line and
// for_each_exec_piece over audit::RecordingReader). Run: scripts/fuzz web_recording_walk (seeds:
// corpus/web_recording_walk). The files are written by the network process, which the portal does
// not trust: whatever they hold, the walks stay in bounds and agree with the audit library's parser.
//
// Per input, read as a plain recording file:
//  1. for_each_exec_piece never reads out of bounds; each stream's pieces add up to the bytes it
//     reports; and when parse_exec_recording accepts the file whole (no truncation), the walk is
//     complete and hands over exactly the parsed bytes of every stream.
//  2. for_each_line hands over lines without '\n' and never longer than its limit.
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/exec_recording.h"
#include "audit/fd_io.h"
#include "audit/recording_reader.h"
#include "audit/unique_fd.h"
#include "web/recording_file.h"

namespace {

using namespace bastion;

void check(bool ok) {
  if (!ok) std::abort();
}

audit::RecordingReader reader_of(std::string_view input) {
  audit::UniqueFd fd(::memfd_create("web_recording_walk_fuzz", MFD_CLOEXEC));
  check(fd.valid() && audit::write_all(fd.get(), input));
  auto reader = audit::RecordingReader::from_fd(std::move(fd), "fuzz input", {});
  check(reader.ok());  // a plain file needs no key: only a sealed preamble could be refused here
  return std::move(reader.value());
}

void exec_walk_agrees_with_the_parser(std::string_view input) {
  if (audit::is_sealed(input.substr(0, 8))) return;  // sealed files are sealed_stream_fuzz's
  auto reader = reader_of(input);
  std::array<std::string, 3> got;
  auto walk = web::for_each_exec_piece(reader, [&](audit::Stream s, std::string_view d) {
    check(d.size() <= 64 * 1024);
    got[static_cast<std::size_t>(s)].append(d);
    return true;
  });
  if (walk) {
    for (std::size_t i = 0; i < got.size(); ++i) check(walk->bytes[i] == got[i].size());
  }
  auto parsed = audit::parse_exec_recording(input);
  if (!parsed || !parsed->complete()) return;
  check(walk.ok() && walk->complete);
  check(got[static_cast<std::size_t>(audit::Stream::Input)] == parsed->stdin_bytes);
  check(got[static_cast<std::size_t>(audit::Stream::Output)] == parsed->stdout_bytes);
  check(got[static_cast<std::size_t>(audit::Stream::Error)] == parsed->stderr_bytes);
}

void lines_stay_within_their_limit(std::string_view input) {
  if (audit::is_sealed(input.substr(0, 8))) return;
  auto reader = reader_of(input);
  constexpr std::size_t kMaxLine = 100;
  auto done = web::for_each_line(reader, kMaxLine, [&](std::string_view line) {
    check(line.size() <= kMaxLine && line.find('\n') == std::string_view::npos);
  });
  check(done.ok());  // a plain file in memory always reads to its end
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  exec_walk_agrees_with_the_parser(input);
  lines_stay_within_their_limit(input);
  return 0;
}
