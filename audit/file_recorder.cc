// File-backed recordings: <dir>/<session_id>/<channel>-pty.cast (asciicast v2) and
// <dir>/<session_id>/<channel>-exec.rec (byte-exact up to a size cap, then a trailer), directories
// 0700, files 0600, each created exclusively so that an existing file (a replayed session id, a
// planted link) is never appended to.
#include "audit/file_recorder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "audit/exec_recording.h"
#include "audit/fd_io.h"
#include "audit/sha256.h"

namespace bastion::audit {
namespace {

// ---- RecordingFile: one open recording and how it is sealed -------------------------------------

class RecordingFile {
 public:
  RecordingFile(UniqueFd fd, std::string path, Sealing sealing)
      : fd_(std::move(fd)), path_(std::move(path)), sealing_(sealing) {}
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // seal makes the file durable (fsync), closes it, and returns the SHA-256 of its contents as
  // re-read from disk — from the same inode that was written, not whatever the path names now.
  Result<std::string> seal() {
    if (sealing_ == Sealing::ByOwner) {
      // The file's owner (the monitor) makes it durable and digests it; this process may not
      // even open a path (gateway/sandbox.h).
      if (fd_.close() != 0) return Error{errno_text("cannot close " + path_)};
      return std::string();
    }
    struct stat written {};
    if (::fstat(fd_.get(), &written) != 0) return Error{errno_text("cannot stat " + path_)};
    if (::fsync(fd_.get()) != 0) return Error{errno_text("cannot fsync " + path_)};
    if (fd_.close() != 0) return Error{errno_text("cannot close " + path_)};
    return digest(written);
  }

 private:
  Result<std::string> digest(const struct stat& written) const {
    UniqueFd in(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in) return Error{errno_text("cannot re-open " + path_ + " to digest it")};
    struct stat now {};
    if (::fstat(in.get(), &now) != 0) return Error{errno_text("cannot stat " + path_)};
    if (!S_ISREG(now.st_mode) || now.st_dev != written.st_dev || now.st_ino != written.st_ino) {
      return Error{path_ + " was replaced while it was being recorded"};
    }
    return sha256_hex_of_fd(in.get());
  }

  UniqueFd fd_;
  std::string path_;
  Sealing sealing_;
};

// ---- FileRecorder: what pty and exec recordings share -------------------------------------------

class FileRecorder : public ChannelRecorder {
 protected:
  FileRecorder(RecordingFile file, std::string kind) : file_(std::move(file)), kind_(std::move(kind)) {}

  // accepted does the bookkeeping after a writer call: byte counts on success, the reason (errno
  // of the failed write) on failure, kept for close() to report.
  bool accepted(bool written, Stream s, std::size_t n) {
    if (!written) {
      if (error_.empty()) error_ = errno_text("cannot write " + file_.path());
      return false;
    }
    (s == Stream::Input ? bytes_in_ : bytes_out_) += n;
    return true;
  }

  // seal ends the recording (once; callers check closed() first): `flushed` says whether the
  // format's last words were written. A recording that lost a write is reported, not digested.
  Result<RecordingSummary> seal(bool flushed) {
    closed_ = true;
    if (!flushed && error_.empty()) error_ = errno_text("cannot write " + file_.path());
    if (!error_.empty()) return Error{"recording " + file_.path() + " is incomplete: " + error_};
    auto digest = file_.seal();
    if (!digest) return digest.error();
    RecordingSummary summary{file_.path(), kind_, std::move(digest.value()), bytes_in_, bytes_out_};
    summary.bytes_total_in = bytes_in_;
    summary.bytes_total_out = bytes_out_;
    return summary;
  }

  bool closed() const { return closed_; }
  Error already_closed() const { return Error{"recording " + file_.path() + " is already closed"}; }

 private:
  RecordingFile file_;
  std::string kind_;
  std::string error_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  bool closed_ = false;
};

class PtyRecorder final : public FileRecorder {
 public:
  PtyRecorder(RecordingFile file, AsciicastWriter writer)
      : FileRecorder(std::move(file), "asciicast"), writer_(std::move(writer)) {}

  bool record(Stream s, std::string_view data) override {
    return !closed() && accepted(writer_.write(s, data), s, data.size());
  }
  bool resize(int cols, int rows) override {
    return !closed() && accepted(writer_.resize(cols, rows), Stream::Output, 0);
  }
  Result<RecordingSummary> close() override {
    if (closed()) return already_closed();
    return seal(writer_.finish());  // pending split UTF-8 sequences become U+FFFD events first
  }

 private:
  AsciicastWriter writer_;
};

class ExecRecorder final : public FileRecorder {
 public:
  ExecRecorder(RecordingFile file, ExecRecordingWriter writer)
      : FileRecorder(std::move(file), "exec"), writer_(std::move(writer)) {}

  bool record(Stream s, std::string_view data) override {
    return !closed() && accepted(writer_.write(s, data), s, data.size());
  }
  // A window change on a channel without a pty changes nothing the server sees; there is nothing
  // to record, and it must not end the session.
  bool resize(int, int) override { return !closed(); }
  Result<RecordingSummary> close() override {
    if (closed()) return already_closed();
    auto summary = seal(writer_.finish());
    if (!summary) return summary;
    auto tally = writer_.tally();
    if (!tally) return Error{"recording " + summary->path + ": " + tally.error().message};
    describe(*tally, *summary);
    return summary;
  }

 private:
  // describe fills the summary from the trailer: bytes_in/out are what the file holds.
  static void describe(const ExecTrailer& t, RecordingSummary& s) {
    const ExecStreamTally &in = t.of(Stream::Input), &out = t.of(Stream::Output), &err = t.of(Stream::Error);
    s.truncated = t.truncated();
    s.bytes_in = in.stored;
    s.bytes_out = out.stored + err.stored;
    s.bytes_total_in = in.total;
    s.bytes_total_out = out.total + err.total;
    s.stream_sha256 = {in.sha256, out.sha256, err.sha256};
  }

  ExecRecordingWriter writer_;
};

// ---- Directories and files ----------------------------------------------------------------------

// open_dir creates `name` under parent_fd (mode 0700) unless it exists, then opens it without
// following a symlink in its place.
Result<UniqueFd> open_dir(int parent_fd, const std::string& name, const std::string& shown) {
  if (::mkdirat(parent_fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{errno_text("cannot create recordings directory " + shown)};
  }
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error{errno_text("cannot open recordings directory " + shown)};
  return fd;
}

int clamp_dimension(int v, int fallback) { return v <= 0 ? fallback : std::min(v, 10000); }

class FileRecorderFactory final : public RecorderFactory {
 public:
  FileRecorderFactory(std::string dir, const Clock& clock, const MonotonicClock& elapsed,
                      std::uint64_t max_stored_bytes)
      : dir_(std::move(dir)), clock_(clock), elapsed_(elapsed), max_stored_bytes_(max_stored_bytes) {}

  Result<ChannelRecorderPtr> open_pty(std::int64_t session_id, int channel, const PtyInfo& pty,
                                      std::string_view command) override {
    auto file = create(session_id, channel, "pty.cast");
    if (!file) return file.error();
    return pty_recorder_on(std::move(file->first), std::move(file->second), header(pty, command), elapsed_,
                           Sealing::InProcess);
  }

  Result<ChannelRecorderPtr> open_exec(std::int64_t session_id, int channel, std::string_view) override {
    auto file = create(session_id, channel, "exec.rec");
    if (!file) return file.error();
    return exec_recorder_on(std::move(file->first), std::move(file->second), elapsed_, max_stored_bytes_,
                            Sealing::InProcess);
  }

 private:
  // header: the pty size comes from the client and may be nonsense; asciicast needs a positive one.
  AsciicastHeader header(const PtyInfo& pty, std::string_view command) const {
    return AsciicastHeader{clamp_dimension(pty.cols, 80), clamp_dimension(pty.rows, 24), to_unix(clock_.now()),
                           pty.term, "", command.empty() ? std::string("shell") : std::string(command)};
  }

  Result<std::pair<UniqueFd, std::string>> create(std::int64_t session_id, int channel, std::string_view suffix) {
    return create_recording_file(dir_, session_id, channel, suffix);
  }

  std::string dir_;
  const Clock& clock_;
  const MonotonicClock& elapsed_;
  std::uint64_t max_stored_bytes_;
};

}  // namespace

Result<std::pair<UniqueFd, std::string>> create_recording_file(const std::string& dir, std::int64_t session_id,
                                                               int channel, std::string_view suffix) {
  if (session_id <= 0 || channel < 0) {
    return Error{"invalid recording identity: session " + std::to_string(session_id) + ", channel " +
                 std::to_string(channel)};
  }
  auto top = open_dir(AT_FDCWD, dir, dir);
  if (!top) return top.error();
  const std::string session_name = std::to_string(session_id);
  const std::string session_path = dir + "/" + session_name;
  auto session_dir = open_dir(top->get(), session_name, session_path);
  if (!session_dir) return session_dir.error();
  const std::string name = std::to_string(channel) + "-" + std::string(suffix);
  const std::string path = session_path + "/" + name;
  UniqueFd fd(::openat(session_dir->get(), name.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error{errno_text("cannot create recording " + path)};
  return std::pair{std::move(fd), path};
}

namespace {

// sink_on: the recording's bytes go to fd as they are, or sealed under `key`.
Result<RecordingSinkPtr> sink_on(int fd, const SealingKey* key) {
  if (key == nullptr) return plain_sink(fd);
  return sealed_sink(fd, *key);
}

}  // namespace

Result<ChannelRecorderPtr> pty_recorder_on(UniqueFd fd, std::string path, const AsciicastHeader& header,
                                           const MonotonicClock& elapsed, Sealing sealing, const SealingKey* key) {
  auto sink = sink_on(fd.get(), key);
  if (!sink) return Error{path + ": " + sink.error().message};
  auto writer = AsciicastWriter::create(std::move(*sink), header, elapsed);
  if (!writer) return Error{path + ": " + writer.error().message};
  return ChannelRecorderPtr(
      std::make_unique<PtyRecorder>(RecordingFile(std::move(fd), std::move(path), sealing), std::move(writer.value())));
}

Result<ChannelRecorderPtr> exec_recorder_on(UniqueFd fd, std::string path, const MonotonicClock& elapsed,
                                            std::uint64_t max_stored_bytes, Sealing sealing, const SealingKey* key) {
  auto sink = sink_on(fd.get(), key);
  if (!sink) return Error{path + ": " + sink.error().message};
  auto writer = ExecRecordingWriter::create(std::move(*sink), elapsed, max_stored_bytes);
  if (!writer) return Error{path + ": " + writer.error().message};
  return ChannelRecorderPtr(
      std::make_unique<ExecRecorder>(RecordingFile(std::move(fd), std::move(path), sealing), std::move(writer.value())));
}

RecorderFactoryPtr file_recorder_factory(std::string dir, const Clock& clock, const MonotonicClock& elapsed,
                                         std::uint64_t max_stored_bytes) {
  return std::make_unique<FileRecorderFactory>(std::move(dir), clock, elapsed, max_stored_bytes);
}

RecorderFactoryPtr file_recorder_factory(std::string dir, const Clock& clock, std::uint64_t max_stored_bytes) {
  static const SteadyClock steady;  // stateless; one instance serves every factory
  return file_recorder_factory(std::move(dir), clock, steady, max_stored_bytes);
}

}  // namespace bastion::audit
