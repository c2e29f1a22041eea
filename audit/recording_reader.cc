#include "audit/recording_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "audit/fd_io.h"

namespace bastion::audit {

struct RecordingReader::State {
  UniqueFd fd;
  std::string path;
  std::optional<SealedReader> sealed;  // empty for a plain file
  std::array<char, kPlainPiece> buf{};
  std::optional<Error> failure;        // what next returns once it has failed (a read, or an alteration)
  std::string cut;

  // read_some: read(2) of up to n bytes into p, retried on EINTR; -1 on an error.
  ssize_t read_some(char* p, std::size_t n) {
    ssize_t got;
    do {
      got = ::read(fd.get(), p, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) failure = Error{errno_text("cannot read " + path)};
    return got;
  }
};

RecordingReader::RecordingReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
RecordingReader::~RecordingReader() = default;
RecordingReader::RecordingReader(RecordingReader&& other) noexcept = default;
RecordingReader& RecordingReader::operator=(RecordingReader&& other) noexcept = default;

Result<RecordingReader> RecordingReader::open(const std::string& path, const KeyLookup& lookup) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error{errno_text("cannot open " + path)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{errno_text("cannot stat " + path)};
  if (!S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
  return from_fd(std::move(fd), path, lookup);
}

Result<RecordingReader> RecordingReader::from_fd(UniqueFd fd, const std::string& path, const KeyLookup& lookup) {
  auto st = std::make_unique<State>();
  st->fd = std::move(fd);
  st->path = path;
  char head[kSealedMagic.size()] = {};
  const bool is_sealed_file = ::pread(st->fd.get(), head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
                              is_sealed(std::string_view(head, sizeof head));
  if (::lseek(st->fd.get(), 0, SEEK_SET) != 0) return Error{errno_text("cannot read " + path)};
  if (!is_sealed_file) return RecordingReader(std::move(st));
  if (!lookup) return Error{path + " is encrypted, and no key is at hand to open it"};
  State* raw = st.get();  // the source lives in *st: the State outlives the reader it holds
  const SealedSource source = [raw](std::size_t n, std::string& out) {
    const std::size_t at = out.size();
    out.resize(at + n);
    const ssize_t got = raw->read_some(out.data() + at, n);
    out.resize(at + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    return got >= 0;
  };
  auto reader = SealedReader::open(source, lookup);
  if (!reader) return reader.error();
  if (raw->failure) return *raw->failure;
  st->sealed.emplace(std::move(*reader));
  return RecordingReader(std::move(st));
}

Result<std::string_view> RecordingReader::next() {
  State& st = *state_;
  if (st.failure) return *st.failure;
  if (!st.sealed) {
    const ssize_t got = st.read_some(st.buf.data(), st.buf.size());
    if (got < 0) return *st.failure;
    return std::string_view(st.buf.data(), static_cast<std::size_t>(got));
  }
  const std::string_view plain = st.sealed->next();
  if (st.failure) return *st.failure;  // a failed read looks like the file's end to the stream
  if (!plain.empty()) return plain;
  const SealedReport& report = st.sealed->report();
  if (report.state == SealedState::Altered) {
    st.failure = Error{"the encrypted recording " + st.path + " was altered: " + report.detail};
    return *st.failure;
  }
  if (report.state == SealedState::CutShort) st.cut = report.detail;
  return std::string_view{};
}

bool RecordingReader::sealed() const { return state_->sealed.has_value(); }

const std::string& RecordingReader::cut() const { return state_->cut; }

}  // namespace bastion::audit
