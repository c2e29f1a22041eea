#include "audit/recording_sink.h"

#include <sodium.h>

#include <cerrno>

#include "audit/fd_io.h"

namespace bastion::audit {
namespace {

class PlainSink final : public RecordingSink {
 public:
  explicit PlainSink(int fd) : fd_(fd) {}
  bool append(std::string_view head, std::string_view body) override {
    return body.empty() ? write_all(fd_, head) : write_all(fd_, head, body);
  }
  bool finish() override { return true; }
  int readback_fd() const override { return fd_; }

 private:
  int fd_;
};

class SealedSink final : public RecordingSink {
 public:
  SealedSink(int fd, SealedWriter writer) : fd_(fd), writer_(std::move(writer)) {}
  ~SealedSink() override { wipe(); }
  SealedSink(const SealedSink&) = delete;
  SealedSink& operator=(const SealedSink&) = delete;

  bool append(std::string_view head, std::string_view body) override {
    if (finished_) return after_final();
    if (head.empty() && body.empty()) return true;
    chunk_.clear();
    if (body.empty()) {
      writer_.seal(head, chunk_);
    } else {
      plain_.assign(head);
      plain_.append(body);
      writer_.seal(plain_, chunk_);
      sodium_memzero(plain_.data(), plain_.size());
    }
    return write_all(fd_, chunk_);
  }
  bool finish() override {
    if (finished_) return after_final();
    finished_ = true;
    chunk_.clear();
    writer_.finish(chunk_);
    return write_all(fd_, chunk_);
  }
  int readback_fd() const override { return -1; }

 private:
  void wipe() { sodium_memzero(plain_.data(), plain_.size()); }
  // after_final: nothing may follow the FINAL chunk (a reader would call the file altered).
  static bool after_final() {
    errno = EINVAL;
    return false;
  }
  int fd_;
  SealedWriter writer_;
  std::string chunk_;  // the next chunk's bytes, reused
  std::string plain_;  // head and body together, reused, wiped after each chunk
  bool finished_ = false;
};

}  // namespace

RecordingSinkPtr plain_sink(int fd) { return std::make_unique<PlainSink>(fd); }

Result<RecordingSinkPtr> sealed_sink(int fd, const SealingKey& key) {
  std::string preamble;
  auto writer = SealedWriter::start(key.stream_key, key.key_id, key.salt, preamble);
  if (!write_all(fd, preamble)) return Error{errno_text("cannot write the sealed recording's preamble")};
  return RecordingSinkPtr(std::make_unique<SealedSink>(fd, std::move(writer)));
}

}  // namespace bastion::audit
