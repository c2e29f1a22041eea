// Tests for audit/file_recorder.cc: where recordings go, with which modes, and what close() returns.
#include "audit/file_recorder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "audit/asciicast.h"
#include "audit/exec_recording.h"
#include "audit/fd_io.h"
#include "audit/sha256.h"
#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// UmaskGuard sets a permissive umask for one test, proving the modes come from the code and not
// from a cautious environment, and restores the previous one.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

class FileRecorderTest : public ::testing::Test {
 protected:
  std::string rec_dir() const { return tmp_ / "recordings"; }
  TempDir tmp_;
  FixedClock wall_{from_unix(1700000000)};
  ManualMonotonicClock elapsed_;
  RecorderFactoryPtr factory_ = file_recorder_factory(rec_dir(), wall_, elapsed_);
};

TEST_F(FileRecorderTest, CreatesPrivateDirectoriesAndFilesNamedByChannelAndKind) {
  UmaskGuard permissive(0);
  auto pty = factory_->open_pty(42, 0, PtyInfo{"xterm", 80, 24}, "");
  ASSERT_TRUE(pty.ok()) << pty.error().message;
  auto exec = factory_->open_exec(42, 3, "uptime");
  ASSERT_TRUE(exec.ok()) << exec.error().message;

  EXPECT_EQ(mode_of(rec_dir()), 0700);
  EXPECT_EQ(mode_of(rec_dir() + "/42"), 0700);
  EXPECT_EQ(mode_of(rec_dir() + "/42/0-pty.cast"), 0600);
  EXPECT_EQ(mode_of(rec_dir() + "/42/3-exec.rec"), 0600);
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::symlink_status(rec_dir() + "/42")));
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(rec_dir() + "/42/0-pty.cast")));
}

TEST_F(FileRecorderTest, PtyRecordingHasTheHeaderAndEventsAndItsDigestMatchesSha256sum) {
  auto opened = factory_->open_pty(7, 1, PtyInfo{"screen-256color", 132, 43}, "top");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ChannelRecorder& rec = *opened.value();
  ASSERT_TRUE(rec.record(Stream::Output, "$ "));
  elapsed_.advance(1s);
  ASSERT_TRUE(rec.record(Stream::Input, "exit\r"));
  ASSERT_TRUE(rec.resize(100, 30));
  ASSERT_TRUE(rec.record(Stream::Error, "bye \xE2\x82"));  // ends inside a character
  auto summary = rec.close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;

  const std::string path = rec_dir() + "/7/1-pty.cast";
  EXPECT_EQ(summary->path, path);
  EXPECT_EQ(summary->kind, "asciicast");
  EXPECT_EQ(summary->bytes_in, 5u);
  EXPECT_EQ(summary->bytes_out, 2u + 6u);
  const auto sha256sum = testing::run_command("sha256sum '" + path + "'");
  ASSERT_TRUE(sha256sum.has_value());
  EXPECT_EQ(summary->sha256, sha256sum->substr(0, 64));
  EXPECT_EQ(summary->sha256.size(), 64u);

  auto cast = parse_asciicast(read_file(path).value());
  ASSERT_TRUE(cast.ok()) << cast.error().message;
  EXPECT_EQ(cast->header.width, 132);
  EXPECT_EQ(cast->header.height, 43);
  EXPECT_EQ(cast->header.timestamp, 1700000000);
  EXPECT_EQ(cast->header.term, "screen-256color");
  EXPECT_EQ(cast->header.title, "top");
  ASSERT_EQ(cast->events.size(), 5u);
  EXPECT_EQ(cast->events[3].data, "bye ");
  EXPECT_EQ(cast->events[4].data, "\xEF\xBF\xBD");  // close() flushed the cut character as U+FFFD
}

TEST_F(FileRecorderTest, ExecRecordingIsByteExactAndCountsEachDirection) {
  auto opened = factory_->open_exec(8, 0, "tar c /etc");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ChannelRecorder& rec = *opened.value();
  const std::string binary("\x00\xFF\xFE\x80tar", 7);
  ASSERT_TRUE(rec.record(Stream::Input, "yes\n"));
  ASSERT_TRUE(rec.record(Stream::Output, binary));
  ASSERT_TRUE(rec.record(Stream::Error, "tar: removing leading /\n"));
  EXPECT_TRUE(rec.resize(80, 24));  // meaningless without a pty; ignored, not fatal
  auto summary = rec.close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->kind, "exec");
  EXPECT_EQ(summary->bytes_in, 4u);
  EXPECT_EQ(summary->bytes_out, binary.size() + 24u);

  const std::string contents = read_file(summary->path).value();
  EXPECT_EQ(summary->sha256, sha256_hex(contents));
  auto parsed = parse_exec_recording(contents);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->stdout_bytes, binary);
  EXPECT_EQ(parsed->stdin_bytes, "yes\n");
}

// Under the cap the file's digest is the one digest of the recorded bytes (issue 21).
TEST_F(FileRecorderTest, ExecRecordingSummaryHasTotalsAndOnlyTheFileDigestUnderTheDefaultCap) {
  auto opened = factory_->open_exec(9, 0, "cat");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ASSERT_TRUE(opened.value()->record(Stream::Input, "in"));
  ASSERT_TRUE(opened.value()->record(Stream::Error, "err"));
  auto summary = opened.value()->close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(summary->bytes_total_in, 2u);
  EXPECT_EQ(summary->bytes_total_out, 3u);
  EXPECT_EQ(summary->stream_sha256.in, "");
  EXPECT_EQ(summary->stream_sha256.out, "");
  EXPECT_EQ(summary->stream_sha256.err, "");
  auto parsed = parse_exec_recording(read_file(summary->path).value());
  ASSERT_TRUE(parsed.ok() && parsed->trailer.has_value());
  EXPECT_EQ(parsed->trailer->max_stored_bytes, kDefaultMaxStoredBytes);
  EXPECT_EQ(summary->sha256, sha256_hex(read_file(summary->path).value()));  // the digest covers the trailer
}

TEST_F(FileRecorderTest, CappedExecRecordingStoresOneMebibyteOfFiveAndSaysSo) {
  auto capped = file_recorder_factory(rec_dir(), wall_, elapsed_, 1 << 20);
  auto opened = capped->open_exec(10, 2, "cat big");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::string payload(5 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131) ^ (i >> 9));
  for (std::size_t i = 0; i < payload.size(); i += 32768) {
    ASSERT_TRUE(opened.value()->record(Stream::Output, std::string_view(payload).substr(i, 32768)));
  }
  ASSERT_TRUE(opened.value()->record(Stream::Input, "q"));  // past the cap: counted, not stored
  auto summary = opened.value()->close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->truncated);
  EXPECT_EQ(summary->bytes_out, 1u << 20);
  EXPECT_EQ(summary->bytes_total_out, 5u << 20);
  EXPECT_EQ(summary->bytes_in, 0u);
  EXPECT_EQ(summary->bytes_total_in, 1u);
  EXPECT_EQ(summary->stream_sha256.out, sha256_hex(payload));
  auto parsed = parse_exec_recording(read_file(summary->path).value());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->stdout_bytes, payload.substr(0, 1 << 20));
  EXPECT_EQ(parsed->trailer->max_stored_bytes, 1u << 20);
  EXPECT_EQ(parsed->trailer->of(Stream::Output).total, 5u << 20);
}

TEST_F(FileRecorderTest, PtyRecordingSummaryTotalsEqualItsCounts) {
  auto opened = factory_->open_pty(11, 0, PtyInfo{}, "");
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(opened.value()->record(Stream::Output, "$ "));
  auto summary = opened.value()->close();
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(summary->truncated);
  EXPECT_EQ(summary->bytes_total_out, 2u);
  EXPECT_TRUE(summary->stream_sha256.out.empty());
}

TEST_F(FileRecorderTest, NeverReusesAnExistingRecordingFile) {
  auto first = factory_->open_exec(9, 0, "id");
  ASSERT_TRUE(first.ok());
  auto second = factory_->open_exec(9, 0, "id");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("File exists"), std::string::npos) << second.error().message;
}

TEST_F(FileRecorderTest, RefusesASymlinkInPlaceOfTheSessionDirectory) {
  ASSERT_TRUE(factory_->open_exec(1, 0, "id").ok());  // creates the recordings directory
  std::filesystem::create_directory(tmp_ / "elsewhere");
  std::filesystem::create_directory_symlink(tmp_ / "elsewhere", rec_dir() + "/2");
  auto rec = factory_->open_exec(2, 0, "id");
  EXPECT_FALSE(rec.ok());
  EXPECT_TRUE(std::filesystem::is_empty(tmp_ / "elsewhere"));
}

TEST_F(FileRecorderTest, RefusesInvalidIdentities) {
  EXPECT_FALSE(factory_->open_exec(0, 0, "id").ok());
  EXPECT_FALSE(factory_->open_exec(5, -1, "id").ok());
  EXPECT_FALSE(factory_->open_pty(-5, 0, PtyInfo{}, "").ok());
}

TEST_F(FileRecorderTest, NonsensePtySizeFromTheClientStillMakesAPlayableHeader) {
  auto opened = factory_->open_pty(3, 0, PtyInfo{"xterm", 0, -4}, "");
  ASSERT_TRUE(opened.ok());
  auto summary = opened.value()->close();
  ASSERT_TRUE(summary.ok());
  auto cast = parse_asciicast(read_file(summary->path).value());
  ASSERT_TRUE(cast.ok()) << cast.error().message;
  EXPECT_EQ(cast->header.width, 80);
  EXPECT_EQ(cast->header.height, 24);
}

TEST_F(FileRecorderTest, CloseTwiceIsAnErrorAndRecordAfterCloseFails) {
  auto opened = factory_->open_exec(4, 0, "id");
  ASSERT_TRUE(opened.ok());
  ChannelRecorder& rec = *opened.value();
  ASSERT_TRUE(rec.close().ok());
  EXPECT_FALSE(rec.record(Stream::Output, "late"));
  auto again = rec.close();
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already closed"), std::string::npos);
}

TEST_F(FileRecorderTest, DigestRefusesAFileReplacedWhileRecording) {
  auto opened = factory_->open_exec(6, 0, "id");
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(opened.value()->record(Stream::Output, "real"));
  const std::string path = rec_dir() + "/6/0-exec.rec";
  std::filesystem::rename(path, path + ".moved");
  { std::ofstream(path) << "forged"; }
  auto summary = opened.value()->close();
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("replaced"), std::string::npos) << summary.error().message;
}

// The seam under the factory: a recorder on a descriptor whose device fills up mid-session.
class FullDeviceTest : public ::testing::Test {
 protected:
  std::string path() const { return tmp_ / "r"; }
  TempDir tmp_;
  ManualMonotonicClock elapsed_;
};

TEST_F(FullDeviceTest, PtyRecordFailsOnceTheDeviceIsFullAndCloseReportsIt) {
  const int fd = testing::open_append(path());
  ASSERT_GE(fd, 0);
  auto rec = pty_recorder_on(UniqueFd(fd), path(), AsciicastHeader{}, elapsed_);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE(rec.value()->record(Stream::Output, "before"));
  ASSERT_TRUE(testing::redirect_to_dev_full(fd));
  EXPECT_FALSE(rec.value()->record(Stream::Output, "after"));
  EXPECT_FALSE(rec.value()->resize(80, 24));
  auto summary = rec.value()->close();
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("No space left on device"), std::string::npos) << summary.error().message;
}

TEST_F(FullDeviceTest, ExecRecordFailsOnceTheDeviceIsFull) {
  const int fd = testing::open_append(path());
  ASSERT_GE(fd, 0);
  auto rec = exec_recorder_on(UniqueFd(fd), path(), elapsed_);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE(rec.value()->record(Stream::Input, "before"));
  ASSERT_TRUE(testing::redirect_to_dev_full(fd));
  EXPECT_FALSE(rec.value()->record(Stream::Input, "after"));
  EXPECT_FALSE(rec.value()->close().ok());
}

TEST_F(FullDeviceTest, RecordingThatCannotWriteItsHeaderNeverStarts) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  auto rec = pty_recorder_on(std::move(full), "/dev/full", AsciicastHeader{}, elapsed_);
  ASSERT_FALSE(rec.ok());
  EXPECT_NE(rec.error().message.find("/dev/full"), std::string::npos);
}

}  // namespace
}  // namespace bastion::audit
