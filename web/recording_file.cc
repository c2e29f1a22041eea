#include "web/recording_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "audit/exec_recording.h"

namespace bastion::web {
namespace {

constexpr std::size_t kPiece = 64 * 1024;

std::uint64_t big_endian(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Pieces: the bytes of a recording in order, taken a few at a time (a record header) or handed on
// as they come (a record's data), from a RecordingReader that holds one piece.
class Pieces {
 public:
  explicit Pieces(audit::RecordingReader& r) : r_(r) {}

  // take appends the next n bytes to out; false if the recording ends (or fails) before them.
  bool take(std::size_t n, std::string& out) {
    while (n > 0 && fill()) {
      const std::size_t k = std::min(n, at_.size());
      out.append(at_.substr(0, k));
      at_.remove_prefix(k);
      n -= k;
    }
    return n == 0;
  }

  // pass hands the next n bytes to fn in pieces of at most kPiece; false if the recording ends
  // (or fails) before them.
  template <typename Fn>
  bool pass(std::uint64_t n, Fn&& fn) {
    while (n > 0 && fill()) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>({n, at_.size(), kPiece}));
      fn(at_.substr(0, k));
      at_.remove_prefix(k);
      n -= k;
    }
    return n == 0;
  }

  // at_end: whether the recording has no byte left (false when it failed: see failure()).
  bool at_end() { return !fill() && !failure_; }
  const std::optional<Error>& failure() const { return failure_; }

 private:
  // fill: whether bytes are at hand, reading the next piece if none are.
  bool fill() {
    while (at_.empty() && !ended_) {
      auto next = r_.next();
      if (!next) {
        failure_ = next.error();
        ended_ = true;
      } else if (next->empty()) {
        ended_ = true;
      } else {
        at_ = *next;
      }
    }
    return !at_.empty();
  }

  audit::RecordingReader& r_;
  std::string_view at_;
  bool ended_ = false;
  std::optional<Error> failure_;
};

}  // namespace

Result<audit::RecordingReader> open_recording(const std::string& path, const audit::KeyLookup& lookup) {
  audit::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error{"cannot be read (purged or moved)"};
  return audit::RecordingReader::from_fd(std::move(fd), path, lookup);
}

Status for_each_line(audit::RecordingReader& recording, std::size_t max_line,
                     const std::function<void(std::string_view)>& line) {
  std::string current;
  bool skipping = false;
  for (;;) {
    auto piece = recording.next();
    if (!piece) return piece.error();
    if (piece->empty()) break;
    std::string_view chunk = *piece;
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const std::string_view part = chunk.substr(0, nl);
      if (!skipping && current.size() + part.size() <= max_line) {
        current.append(part);
      } else {
        skipping = true;
        current.clear();
      }
      if (nl == std::string_view::npos) break;
      if (!skipping) line(current);
      current.clear();
      skipping = false;
      chunk.remove_prefix(nl + 1);
    }
  }
  if (!skipping && !current.empty()) line(current);  // a last line without '\n'
  return ok_status();
}

Result<ExecWalk> for_each_exec_piece(audit::RecordingReader& recording, const ExecPieceFn& piece) {
  ExecWalk walk;
  Pieces in(recording);
  // finished: the walk so far, or the reader's Error; a recording that fails is never "incomplete".
  const auto finished = [&in, &walk]() -> Result<ExecWalk> {
    if (in.failure()) return *in.failure();
    return walk;
  };
  std::string head;
  if (!in.take(audit::kExecRecordingMagic.size(), head) || head != audit::kExecRecordingMagic) {
    walk.complete = false;
    return finished();
  }
  for (;;) {
    if (in.at_end()) return finished();  // no trailer yet (a live or cut recording): what is there
    head.clear();
    if (!in.take(audit::kExecRecordHeaderSize, head)) {
      walk.complete = false;
      return finished();
    }
    const auto* h = reinterpret_cast<const unsigned char*>(head.data());
    const std::uint8_t stream = h[0];
    const std::uint64_t length = big_endian(h + 9, 4);
    if (stream == audit::kExecTrailerStream) {
      // The trailer is the last record: read on to the end all the same, so that a sealed file
      // authenticates to its final chunk.
      while (in.pass(kPiece, [](std::string_view) {})) {
      }
      return finished();
    }
    if (stream > 2) {
      walk.complete = false;
      return finished();
    }
    const auto s = static_cast<audit::Stream>(stream);
    const bool whole = in.pass(length, [&](std::string_view d) {
      walk.bytes[stream] += d.size();
      if (!walk.stopped[stream]) walk.stopped[stream] = !piece(s, d);
    });
    if (!whole) {
      walk.complete = false;
      return finished();
    }
  }
}

struct RecordingBody::Sending {
  audit::RecordingReader reader;
  std::string_view first;  // read, not yet sent; valid until the reader is asked for more
};

Result<RecordingBody> start_body(audit::RecordingReader recording) {
  auto sending = std::make_shared<RecordingBody::Sending>(RecordingBody::Sending{std::move(recording), {}});
  auto first = sending->reader.next();
  if (!first) return first.error();
  sending->first = *first;
  return RecordingBody{std::move(sending)};
}

void send_recording(RecordingBody body, const std::string& content_type, const std::string& what,
                    httplib::Response& res) {
  res.set_chunked_content_provider(content_type, [sending = std::move(body.sending), what](std::size_t,
                                                                                           httplib::DataSink& sink) {
    auto piece = sending->first.empty() ? sending->reader.next() : std::exchange(sending->first, {});
    if (!piece) {
      spdlog::error("{} refused mid-transfer: {}", what, piece.error().message);
      return false;  // no last chunk: the transfer fails
    }
    if (piece->empty()) {
      if (!sending->reader.cut().empty())
        spdlog::warn("{} sent up to where it was cut short: {}", what, sending->reader.cut());
      sink.done();
      return true;
    }
    return sink.write(piece->data(), piece->size());
  });
}

}  // namespace bastion::web
