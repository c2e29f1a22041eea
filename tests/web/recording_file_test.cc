// Tests for web/recording_file.cc (and audit/recording_reader.cc under it): a recording is read in
// order, one piece at a time, plain or sealed, with the same lines and exec pieces either way; a
// sealed one altered anywhere is refused naming where, one cut short gives its authentic prefix
// only; and reading a big sealed recording costs a few pieces of memory, not the file.
#include "web/recording_file.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/exec_recording.h"
#include "audit/fd_io.h"
#include "audit/monotonic.h"
#include "audit/recording_sink.h"

namespace bastion::web {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kKeyId = "dk-recording-file-test";

// TempFile: a new, empty file in $TMPDIR, removed on destruction.
struct TempFile {
  TempFile() {
    std::string pattern = std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/recfileXXXXXX";
    fd = ::mkstemp(pattern.data());
    path = pattern;
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  void write(const std::string& s) const { ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  std::string bytes() const { return audit::read_file(path).value(); }
  void replace(const std::string& s) const {
    ASSERT_EQ(::ftruncate(fd, 0), 0);
    ASSERT_EQ(::pwrite(fd, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
  }
  int fd = -1;
  std::string path;
};

class RecordingFileTest : public ::testing::Test {
 protected:
  audit::KeyLookup lookup() {
    return [this](const std::string& id) -> Result<audit::SecretKey> {
      if (id != kKeyId) return Error{"unknown key " + id};
      return key_.copy();
    };
  }

  // seal_into writes `plain` to f sealed, in chunks of at most `piece` bytes (a chunk boundary falls
  // inside lines and records); returns where each chunk starts in the file.
  std::vector<std::size_t> seal_into(const TempFile& f, std::string_view plain, std::size_t piece, bool finish = true) {
    const std::string salt = audit::random_salt();
    auto sink = audit::sealed_sink(f.fd, {audit::derive_stream_key(key_, salt), std::string(kKeyId), salt});
    EXPECT_TRUE(sink.ok());
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < plain.size(); i += piece) {
      at.push_back(static_cast<std::size_t>(::lseek(f.fd, 0, SEEK_CUR)));
      EXPECT_TRUE((*sink)->append(plain.substr(i, piece)));
    }
    if (finish) {
      EXPECT_TRUE((*sink)->finish());
    }
    return at;
  }

  audit::RecordingReader open(const TempFile& f) {
    auto r = open_recording(f.path, lookup());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*r);
  }

  std::vector<std::string> lines_of(const TempFile& f, std::size_t max_line) {
    auto r = open(f);
    std::vector<std::string> lines;
    auto read = for_each_line(r, max_line, [&](std::string_view l) { lines.emplace_back(l); });
    EXPECT_TRUE(read.ok()) << read.error().message;
    return lines;
  }

  // Streams: what an exec walk gave, per stream.
  struct Streams {
    std::array<std::string, 3> data;
    ExecWalk walk;
  };
  Result<Streams> exec_of(const TempFile& f, std::size_t keep = SIZE_MAX) {
    auto r = open(f);
    Streams out;
    auto walk = for_each_exec_piece(r, [&](audit::Stream s, std::string_view d) {
      EXPECT_LE(d.size(), 64u * 1024) << "pieces are at most 64 KiB";
      auto& kept = out.data[static_cast<std::size_t>(s)];
      kept += d;
      return kept.size() < keep;
    });
    if (!walk) return walk.error();
    out.walk = *walk;
    return out;
  }

  // exec_recording writes a real exec recording to f (plain) and returns its bytes.
  static std::string exec_recording(const TempFile& f, bool finish = true) {
    audit::SteadyClock clock;
    auto w = audit::ExecRecordingWriter::create(f.fd, clock);
    EXPECT_TRUE(static_cast<bool>(w));
    EXPECT_TRUE(w->write(audit::Stream::Input, "ls\n"));
    EXPECT_TRUE(w->write(audit::Stream::Output, "a\n"));
    EXPECT_TRUE(w->write(audit::Stream::Error, "oops\n"));
    EXPECT_TRUE(w->write(audit::Stream::Output, std::string(150 * 1024, 'b')));  // more than one piece
    if (finish) {
      EXPECT_TRUE(w->finish());
    }
    return f.bytes();
  }

  audit::SecretKey key_ = audit::SecretKey::random();
};

const std::string kBig(200 * 1024, 'x');  // spans several 64 KiB pieces and several sealed chunks
const std::string kText = "first\n" + kBig + "\nthird\nlast-without-newline";

TEST_F(RecordingFileTest, LinesComeOneByOneAcrossReadPiecesAndAnOverlongLineIsSkippedWhole) {
  TempFile f;
  f.write(kText);
  EXPECT_EQ(lines_of(f, 1024), (std::vector<std::string>{"first", "third", "last-without-newline"}));
  const auto lines = lines_of(f, 300 * 1024);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], kBig);
}

TEST_F(RecordingFileTest, ASealedRecordingGivesTheSameLinesAsThePlainOne) {
  TempFile plain, sealed;
  plain.write(kText);
  seal_into(sealed, kText, 7001);  // chunk boundaries inside lines
  auto r = open(sealed);
  EXPECT_TRUE(r.sealed());
  EXPECT_EQ(lines_of(sealed, 1024), lines_of(plain, 1024));
  EXPECT_EQ(lines_of(sealed, 300 * 1024), lines_of(plain, 300 * 1024));
}

TEST_F(RecordingFileTest, ExecPiecesOfEveryStreamAreWalkedInOneSequentialPassAndCountedPastAStop) {
  TempFile f;
  exec_recording(f);
  auto all = exec_of(f);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->data[0], "ls\n");
  EXPECT_EQ(all->data[1], "a\n" + std::string(150 * 1024, 'b'));
  EXPECT_EQ(all->data[2], "oops\n");
  EXPECT_TRUE(all->walk.complete);
  EXPECT_EQ(all->walk.bytes[1], 2u + 150 * 1024);
  EXPECT_FALSE(all->walk.stopped[1]);
  auto some = exec_of(f, 1);  // enough after the first piece of each stream
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->data[1], "a\n");
  EXPECT_TRUE(some->walk.stopped[1]);
  EXPECT_EQ(some->walk.bytes[1], 2u + 150 * 1024);  // still counted
  EXPECT_EQ(some->data[2], "oops\n");
}

TEST_F(RecordingFileTest, ASealedExecRecordingGivesTheSamePiecesAsThePlainOne) {
  TempFile plain, sealed;
  const std::string bytes = exec_recording(plain);
  seal_into(sealed, bytes, 5003);  // chunk boundaries inside record headers and data
  auto a = exec_of(plain);
  auto b = exec_of(sealed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->data, b->data);
  EXPECT_EQ(a->walk.bytes, b->walk.bytes);
  EXPECT_TRUE(b->walk.complete);
  auto stopped = exec_of(sealed, 1);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->walk.bytes, a->walk.bytes);
}

TEST_F(RecordingFileTest, AnExecRecordingCutInsideARecordOrWithoutTheMagicIsIncomplete) {
  TempFile f;
  const std::string bytes = exec_recording(f, false);
  auto whole = exec_of(f);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->walk.complete);  // no trailer yet: fine
  f.replace(bytes.substr(0, bytes.size() - 2));
  auto cut = exec_of(f);
  ASSERT_TRUE(cut.ok());
  EXPECT_FALSE(cut->walk.complete);
  TempFile other;
  other.write("{\"version\": 2}\n");
  auto cast = exec_of(other);
  ASSERT_TRUE(cast.ok());
  EXPECT_FALSE(cast->walk.complete);
}

TEST_F(RecordingFileTest, ASealedRecordingAlteredAnywhereIsRefusedNamingTheChunk) {
  TempFile plain, sealed;
  const std::string bytes = exec_recording(plain);
  const auto at = seal_into(sealed, bytes, 5003);
  const std::string original = sealed.bytes();
  std::string file = original;
  file[at[3] + 10] ^= 0x01;  // a byte of chunk 4, after three chunks were handed on
  sealed.replace(file);
  auto walk = exec_of(sealed);
  ASSERT_FALSE(walk.ok());
  EXPECT_THAT(walk.error().message, HasSubstr("the encrypted recording " + sealed.path + " was altered: chunk 4"));
  auto r = open(sealed);
  auto lines = for_each_line(r, 1024, [](std::string_view) {});
  ASSERT_FALSE(lines.ok());
  EXPECT_THAT(lines.error().message, HasSubstr("was altered: chunk 4"));
  // Bytes after its final chunk: altered too, found after every record was walked.
  sealed.replace(original + "trailing");
  auto after = exec_of(sealed);
  ASSERT_FALSE(after.ok());
  EXPECT_THAT(after.error().message, HasSubstr("was altered: 8 bytes follow the final chunk"));
  r = open(sealed);
  auto tail = for_each_line(r, 1024, [](std::string_view) {});
  ASSERT_FALSE(tail.ok());
  EXPECT_THAT(tail.error().message, HasSubstr("was altered"));
}

TEST_F(RecordingFileTest, ASealedRecordingCutShortGivesItsAuthenticPrefixAndSaysWhere) {
  TempFile sealed;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i) + "\n";
  const auto at = seal_into(sealed, text, 100);
  const std::string file = sealed.bytes();
  sealed.replace(file.substr(0, at[5] + 20));  // inside chunk 6: a crash while it was written
  auto r = open(sealed);
  std::string got;
  ASSERT_TRUE(for_each_line(r, 1024, [&](std::string_view l) { got += std::string(l) + "\n"; }).ok());
  EXPECT_THAT(r.cut(), HasSubstr("cut short inside chunk 6"));
  // Five whole chunks of 100 bytes: their lines (the last one cut), nothing of the unauthenticated rest.
  std::string prefix = text.substr(0, 500);
  if (prefix.back() != '\n') prefix += '\n';
  EXPECT_EQ(got, prefix);
}

TEST_F(RecordingFileTest, ASealedRecordingWithoutItsKeyOrAMissingFileIsRefused) {
  TempFile sealed;
  seal_into(sealed, kText, 64 * 1024);
  auto no_key = open_recording(sealed.path, {});
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(no_key.error().message, HasSubstr("is encrypted, and no key is at hand"));
  auto destroyed = open_recording(sealed.path, [](const std::string&) -> Result<audit::SecretKey> {
    return Error{"destroyed on DATE by WHOM"};
  });
  ASSERT_FALSE(destroyed.ok());
  EXPECT_THAT(destroyed.error().message, HasSubstr("destroyed on DATE by WHOM"));
  auto gone = open_recording(sealed.path + ".gone", lookup());
  ASSERT_FALSE(gone.ok());
  EXPECT_THAT(gone.error().message, HasSubstr("purged or moved"));
}

// Served: what a real HTTP client got of a recording sent by send_recording from a real
// cpp-httplib server on loopback.
struct Served {
  bool whole = false;   // the transfer ended properly (its last chunk came)
  std::string body;     // what arrived, whole or not
  int status = 0;
};

Served serve(audit::RecordingReader recording) {
  httplib::Server server;
  auto body = start_body(std::move(recording));
  EXPECT_TRUE(body.ok()) << body.error().message;
  server.Get("/r", [&](const httplib::Request&, httplib::Response& res) {
    send_recording(std::move(*body), "application/octet-stream", "the test's recording", res);
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&server] { server.listen_after_bind(); });  // connections queue from the bind
  Served out;
  httplib::Client client("127.0.0.1", port);
  auto got = client.Get("/r", [&out](const httplib::Response& r) {
    out.status = r.status;
    return true;
  }, [&out](const char* data, std::size_t n) {
    out.body.append(data, n);
    return true;
  });
  out.whole = static_cast<bool>(got);
  server.stop();
  listener.join();
  return out;
}

TEST_F(RecordingFileTest, ASealedRecordingIsSentChunkedAndOneAlteredAfterItsStartEndsTheTransferUnfinished) {
  TempFile plain, sealed;
  const std::string bytes = exec_recording(plain);
  const auto at = seal_into(sealed, bytes, 5003);
  const Served intact = serve(open(sealed));
  EXPECT_TRUE(intact.whole);
  EXPECT_EQ(intact.status, 200);
  EXPECT_EQ(intact.body, bytes);
  std::string file = sealed.bytes();
  file[at[3] + 10] ^= 0x01;  // chunk 4: three chunks are sent before it is found
  sealed.replace(file);
  const Served altered = serve(open(sealed));
  EXPECT_FALSE(altered.whole) << "a transfer cut at the alteration must fail, not end as a short file";
  EXPECT_EQ(altered.status, 200);
  EXPECT_EQ(altered.body, bytes.substr(0, 3 * 5003)) << "what was sent is the authentic chunks before the alteration";
  // Altered in its first chunk: refused before anything is sent (the caller shows a page).
  file = sealed.bytes();
  file[at[0] + 10] ^= 0x01;
  sealed.replace(file);
  auto start = start_body(open(sealed));
  ASSERT_FALSE(start.ok());
  EXPECT_THAT(start.error().message, HasSubstr("was altered: chunk 1"));
}

// memfds_open: how many of this process's descriptors are anonymous memory files (memfd): memory
// that no RSS figure shows when it is written with write(2), not mapped.
int memfds_open() {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    char target[256] = {};
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
    if (len > 0 && std::string_view(target, static_cast<std::size_t>(len)).rfind("/memfd:", 0) == 0) ++n;
  }
  return n;
}

// status_kib: a field of /proc/self/status, in KiB.
long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// The memory bound, without timing anything: a 96 MiB sealed exec recording is walked (every
// chunk decrypted, the three streams counted) and its lines read, in a child process whose peak
// resident memory (VmHWM) is compared with what it had before reading, and no memory file (memfd,
// kernel memory no RSS figure shows) is open while it is read.
TEST_F(RecordingFileTest, ReadingABigSealedRecordingCostsAFewPiecesOfMemoryNotTheFile) {
  constexpr std::size_t kMiB = 1024 * 1024;
  constexpr std::size_t kRecordingMiB = 96;
  TempFile sealed;
  {
    const std::string salt = audit::random_salt();
    auto sink = audit::sealed_sink(sealed.fd, {audit::derive_stream_key(key_, salt), std::string(kKeyId), salt});
    ASSERT_TRUE(sink.ok());
    audit::SteadyClock clock;
    auto w = audit::ExecRecordingWriter::create(std::move(*sink), clock);
    ASSERT_TRUE(static_cast<bool>(w));
    const std::string block(kMiB / 2, 'o');
    for (std::size_t i = 0; i < 2 * kRecordingMiB; ++i) ASSERT_TRUE(w->write(audit::Stream::Output, block));
    ASSERT_TRUE(w->finish());
  }
  struct stat st {};
  ASSERT_EQ(::fstat(sealed.fd, &st), 0);
  ASSERT_GE(static_cast<std::size_t>(st.st_size), kRecordingMiB * kMiB);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    // The peak is measured from here: clear_refs 5 resets VmHWM to the present RSS.
    if (std::ofstream clear("/proc/self/clear_refs"); clear) clear << "5";
    const long before = status_kib("VmRSS");
    std::uint64_t output = 0;
    bool ok = false;
    int memfds = -1;
    if (auto r = open_recording(sealed.path, lookup()); r.ok()) {
      auto walk = for_each_exec_piece(*r, [&memfds](audit::Stream, std::string_view) {
        memfds = memfds_open();  // while the recording is being read
        return false;
      });
      if (walk.ok() && walk->complete) output = walk->bytes[1];
      if (auto again = open_recording(sealed.path, lookup()); again.ok())
        ok = for_each_line(*again, 1024, [](std::string_view) {}).ok();
    }
    const std::string report = std::to_string(before) + " " + std::to_string(status_kib("VmHWM")) + " " +
                               std::to_string(status_kib("RssShmem")) + " " + std::to_string(output) + " " +
                               (ok ? "1" : "0") + " " + std::to_string(memfds);
    (void)!::write(pipe_fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  char buf[256] = {};
  const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf - 1);
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_GT(n, 0);
  long before = 0, hwm = 0, shmem = 0, ok = 0, memfds = 0;
  unsigned long long output = 0;
  ASSERT_EQ(std::sscanf(buf, "%ld %ld %ld %llu %ld %ld", &before, &hwm, &shmem, &output, &ok, &memfds), 6) << buf;
  EXPECT_EQ(output, 2 * kRecordingMiB * (kMiB / 2)) << "every record of the stream was walked";
  EXPECT_EQ(ok, 1) << "its lines were read to the end";
  std::printf("sealed recording of %lld MiB read: VmRSS before %ld KiB, VmHWM after %ld KiB, RssShmem %ld KiB\n",
              static_cast<long long>(st.st_size) / static_cast<long long>(kMiB), before, hwm, shmem);
  EXPECT_LT(hwm - before, 32L * 1024) << "peak memory grew by more than 32 MiB while reading " << st.st_size << " bytes";
  EXPECT_LT(shmem, 8L * 1024) << "the decrypted recording is mapped from shared memory";
  EXPECT_EQ(memfds, 0) << "the decrypted recording is held in a memory file while it is read";
}

}  // namespace
}  // namespace bastion::web
