#include "web/recording_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "audit/exec_recording.h"
#include "audit/monotonic.h"

namespace bastion::web {
namespace {

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
  std::uint64_t size() const {
    struct stat st{};
    ::fstat(fd, &st);
    return static_cast<std::uint64_t>(st.st_size);
  }
  int fd = -1;
  std::string path;
};

TEST(RecordingFile, LinesComeOneByOneAcrossReadPiecesAndAnOverlongLineIsSkippedWhole) {
  TempFile f;
  const std::string big(200 * 1024, 'x');  // spans several 64 KiB reads
  f.write("first\n" + big + "\nthird\nlast-without-newline");
  std::vector<std::string> lines;
  ASSERT_TRUE(for_each_line(f.fd, 1024, [&](std::string_view l) { lines.emplace_back(l); }));
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "third", "last-without-newline"}));
  lines.clear();
  ASSERT_TRUE(for_each_line(f.fd, 300 * 1024, [&](std::string_view l) { lines.emplace_back(l); }));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], big);
}

TEST(RecordingFile, ExecPiecesOfOneStreamAreWalkedFromARealRecordingAndCountedPastAStop) {
  TempFile f;
  audit::SteadyClock clock;
  auto w = audit::ExecRecordingWriter::create(f.fd, clock);
  ASSERT_TRUE(static_cast<bool>(w));
  ASSERT_TRUE(w->write(audit::Stream::Input, "ls\n"));
  ASSERT_TRUE(w->write(audit::Stream::Output, "a\n"));
  ASSERT_TRUE(w->write(audit::Stream::Error, "oops\n"));
  ASSERT_TRUE(w->write(audit::Stream::Output, "b\n"));
  ASSERT_TRUE(w->finish());
  std::string out;
  auto walk = for_each_exec_piece(f.fd, f.size(), audit::Stream::Output, [&](std::string_view d) {
    out += d;
    return true;
  });
  EXPECT_EQ(out, "a\nb\n");
  EXPECT_TRUE(walk.complete);
  EXPECT_EQ(walk.bytes, 4u);
  out.clear();
  walk = for_each_exec_piece(f.fd, f.size(), audit::Stream::Output, [&](std::string_view d) {
    out += d;
    return false;  // enough after the first piece
  });
  EXPECT_EQ(out, "a\n");
  EXPECT_TRUE(walk.stopped);
  EXPECT_EQ(walk.bytes, 4u);  // still counted
}

TEST(RecordingFile, AnExecRecordingCutInsideARecordOrWithoutTheMagicIsIncomplete) {
  TempFile f;
  audit::SteadyClock clock;
  auto w = audit::ExecRecordingWriter::create(f.fd, clock);
  ASSERT_TRUE(static_cast<bool>(w));
  ASSERT_TRUE(w->write(audit::Stream::Output, "hello\n"));
  std::string out;
  const auto keep = [&](std::string_view d) {
    out += d;
    return true;
  };
  EXPECT_TRUE(for_each_exec_piece(f.fd, f.size(), audit::Stream::Output, keep).complete);  // no trailer yet: fine
  EXPECT_FALSE(for_each_exec_piece(f.fd, f.size() - 2, audit::Stream::Output, keep).complete);
  TempFile other;
  other.write("{\"version\": 2}\n");
  EXPECT_FALSE(for_each_exec_piece(other.fd, other.size(), audit::Stream::Output, keep).complete);
}

}  // namespace
}  // namespace bastion::web
