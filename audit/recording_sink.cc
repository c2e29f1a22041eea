#include "audit/recording_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "audit/fd_io.h"

namespace bastion::audit {
namespace {

// kReadBackPiece: the most read back from the file at once.
constexpr std::size_t kReadBackPiece = std::size_t{1} << 20;

// pread_some appends to `out` up to n bytes of fd from `at` (advanced past them); nothing at the end
// of the file. False, errno set, on a read error.
bool pread_some(int fd, std::uint64_t& at, std::size_t n, std::string& out) {
  const std::size_t had = out.size();
  out.resize(had + n);
  for (;;) {
    const ssize_t got = ::pread(fd, out.data() + had, n, static_cast<off_t>(at));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      out.resize(had);
      return false;
    }
    out.resize(had + static_cast<std::size_t>(got));
    at += static_cast<std::uint64_t>(got);
    return true;
  }
}

// fail_read_back: the file does not hold what was written to it, or the reader refused a piece.
bool fail_read_back() {
  errno = EIO;
  return false;
}

class PlainSink final : public RecordingSink {
 public:
  explicit PlainSink(int fd) : fd_(fd) {}
  bool append(std::string_view head, std::string_view body) override {
    return body.empty() ? write_all(fd_, head) : write_all(fd_, head, body);
  }
  bool finish() override { return true; }
  bool read_back(std::uint64_t plain_bytes, const PlainChunkSink& take) override {
    std::string buf;
    buf.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(kReadBackPiece, plain_bytes)));
    std::uint64_t at = 0;
    while (at < plain_bytes) {
      buf.clear();
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kReadBackPiece, plain_bytes - at));
      if (!pread_some(fd_, at, want, buf)) return false;
      if (buf.empty() || !take(buf)) return fail_read_back();  // shorter than what was written to it
    }
    return true;
  }

 private:
  int fd_;
};

class SealedSink final : public RecordingSink {
 public:
  SealedSink(int fd, SealedWriter writer, SecretKey key) : fd_(fd), writer_(std::move(writer)), key_(std::move(key)) {}
  SealedSink(const SealedSink&) = delete;
  SealedSink& operator=(const SealedSink&) = delete;

  bool append(std::string_view head, std::string_view body) override {
    if (finished_) return after_final();
    if (head.empty() && body.empty()) return true;
    chunk_.clear();
    writer_.seal(head, body, chunk_);
    return write_all(fd_, chunk_);
  }
  bool finish() override {
    if (finished_) return after_final();
    finished_ = true;
    chunk_.clear();
    writer_.finish(chunk_);
    return write_all(fd_, chunk_);
  }
  // read_back unseals the file from its start with the key it is being sealed under: every chunk
  // written so far must authenticate, in order, and the stream must stop where this writer is
  // (CutShort: no FINAL chunk yet), holding exactly `plain_bytes`.
  bool read_back(std::uint64_t plain_bytes, const PlainChunkSink& take) override {
    std::uint64_t at = 0;
    SealedSource source = [this, &at](std::size_t n, std::string& out) {
      return pread_some(fd_, at, std::min(n, kReadBackPiece), out);
    };
    auto reader = SealedReader::open_with(std::move(source), [this](const SealedPreamble&) { return key_.copy(); });
    if (!reader) return fail_read_back();
    std::uint64_t got = 0;
    for (std::string_view plain = reader->next(); !plain.empty(); plain = reader->next()) {
      got += plain.size();
      if (got > plain_bytes || !take(plain)) return fail_read_back();
    }
    if (reader->report().state != SealedState::CutShort || got != plain_bytes) return fail_read_back();
    return true;
  }

 private:
  // after_final: nothing may follow the FINAL chunk (a reader would call the file altered).
  static bool after_final() {
    errno = EINVAL;
    return false;
  }
  int fd_;
  SealedWriter writer_;
  SecretKey key_;  // the file's own stream key, to read back what was sealed (read_back)
  std::string chunk_;  // the next chunk's bytes, reused
  bool finished_ = false;
};

}  // namespace

RecordingSinkPtr plain_sink(int fd) { return std::make_unique<PlainSink>(fd); }

Result<RecordingSinkPtr> sealed_sink(int fd, const SealingKey& key) {
  std::string preamble;
  auto writer = SealedWriter::start(key.stream_key, key.key_id, key.salt, preamble);
  if (!write_all(fd, preamble)) return Error{errno_text("cannot write the sealed recording's preamble")};
  return RecordingSinkPtr(std::make_unique<SealedSink>(fd, std::move(writer), key.stream_key.copy()));
}

}  // namespace bastion::audit
