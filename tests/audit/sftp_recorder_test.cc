// Tests for audit/sftp_recorder.cc: the decorator keeps the recording
// byte-exact, reports each SFTP operation, and fails closed when an operation
// cannot be reported.
#include "audit/sftp_recorder.h"

#include <gtest/gtest.h>

#include "audit/exec_recording.h"
#include "audit/file_recorder.h"
#include "audit/sha256.h"
#include "tests/audit/sftp_test_util.h"

namespace bastion::audit {
namespace {

using namespace testing;

// Reported: what the sink was given, and whether it should refuse from the n-th
// call on.
struct Reported {
  std::vector<SftpOperation> ops;
  std::size_t refuse_from = SIZE_MAX;

  SftpOperationSink sink() {
    return [this](const std::string &kind, nlohmann::json details) -> Status {
      if (ops.size() >= refuse_from) return Error{"audit log unavailable"};
      ops.push_back({kind, std::move(details)});
      return ok_status();
    };
  }
};

// A conversation: open /f for writing, write 5 bytes, close it, remove /g.
Transcript conversation() {
  return {{SftpDirection::ToServer, init_packet()},
          {SftpDirection::ToClient, packet(2, u32(3))},
          {SftpDirection::ToServer, request(3, 1, str("/f") + u32(0x1A) + no_attrs())},
          {SftpDirection::ToClient, packet(102, u32(1) + str("H1"))},
          {SftpDirection::ToServer, request(6, 2, str("H1") + u64(0) + str("hello"))},
          {SftpDirection::ToClient, packet(101, u32(2) + u32(0) + str("") + str(""))},
          {SftpDirection::ToServer, request(4, 3, str("H1"))},
          {SftpDirection::ToClient, packet(101, u32(3) + u32(0) + str("") + str(""))},
          {SftpDirection::ToServer, request(13, 4, str("/g"))},
          {SftpDirection::ToClient, packet(101, u32(4) + u32(0) + str("") + str(""))}};
}

Stream stream_of(SftpDirection d) { return d == SftpDirection::ToServer ? Stream::Input : Stream::Output; }

class SftpRecorderTest : public ::testing::Test {
 protected:
  // open_wrapped wires the recorder exactly as the gateway does.
  ChannelRecorderPtr open_wrapped() {
    auto rec = factory_->open_exec(42, 0, "sftp");
    if (!rec) throw std::runtime_error(rec.error().message);
    return sftp_recorder(std::move(*rec), reported_.sink());
  }

  TempDir dir_;
  FixedClock wall_{from_unix(1700000000)};
  ManualMonotonicClock elapsed_;
  RecorderFactoryPtr factory_ = file_recorder_factory(dir_ / "rec", wall_, elapsed_);
  Reported reported_;
};

TEST_F(SftpRecorderTest, RecordsEveryByteAndReportsEachOperation) {
  ChannelRecorderPtr rec = open_wrapped();
  std::string in, out;
  for (const auto &[d, bytes] : conversation()) {
    // One byte at a time, as the worst fragmentation a channel could deliver.
    for (char c : bytes) ASSERT_TRUE(rec->record(stream_of(d), std::string_view(&c, 1)));
    (d == SftpDirection::ToServer ? in : out) += bytes;
  }
  ASSERT_TRUE(rec->record(Stream::Error,
                          "sftp-server: log line\n"));  // recorded, not parsed
  auto summary = rec->close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;

  ASSERT_EQ(kinds(reported_.ops), (std::vector<std::string>{"sftp.open", "sftp.close", "sftp.remove"}));
  EXPECT_EQ(reported_.ops[1].details["bytes_written"], 5);
  EXPECT_EQ(reported_.ops[2].details["path"], "/g");
  auto file = parse_exec_recording(read_file(summary->path).value());
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->stdin_bytes, in);
  EXPECT_EQ(file->stdout_bytes, out);
  EXPECT_EQ(file->stderr_bytes, "sftp-server: log line\n");
  EXPECT_EQ(summary->sha256, sha256_hex(read_file(summary->path).value()));
}

TEST_F(SftpRecorderTest, RefusedOperationFailsTheRecordCallAndEveryLaterOne) {
  reported_.refuse_from = 1;  // the open is accepted, the close is not
  ChannelRecorderPtr rec = open_wrapped();
  const Transcript t = conversation();
  std::size_t failed_at = SIZE_MAX;
  for (std::size_t i = 0; i < t.size() && failed_at == SIZE_MAX; ++i) {
    if (!rec->record(stream_of(t[i].first), t[i].second)) failed_at = i;
  }
  EXPECT_EQ(failed_at, 7u);  // the STATUS that completes the close
  EXPECT_FALSE(rec->record(Stream::Input, "x"));
  EXPECT_FALSE(rec->resize(80, 24));
  auto summary = rec->close();
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("audit log unavailable"), std::string::npos);
  EXPECT_NE(summary.error().message.find("sha256"),
            std::string::npos);  // the sealed file is named
  EXPECT_EQ(reported_.ops.size(), 1u);
}

TEST_F(SftpRecorderTest, CloseReportsFilesLeftOpen) {
  ChannelRecorderPtr rec = open_wrapped();
  const Transcript t = conversation();
  for (std::size_t i = 0; i < 6; ++i) ASSERT_TRUE(rec->record(stream_of(t[i].first), t[i].second));
  auto summary = rec->close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(kinds(reported_.ops), (std::vector<std::string>{"sftp.open", "sftp.close"}));
  EXPECT_EQ(reported_.ops[1].details["status"], "unclosed");
  EXPECT_EQ(reported_.ops[1].details["bytes_written"], 5);
}

TEST_F(SftpRecorderTest, UnparseableStreamIsReportedOnceAndStillRecorded) {
  ChannelRecorderPtr rec = open_wrapped();
  ASSERT_TRUE(rec->record(Stream::Input, u32(0xFFFFFFFF)));
  ASSERT_TRUE(rec->record(Stream::Input, "more bytes"));
  auto summary = rec->close();
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(kinds(reported_.ops), std::vector<std::string>{"sftp.unparseable"});
  EXPECT_EQ(summary->bytes_in, 14u);
}

TEST_F(SftpRecorderTest, InnerRecorderFailureFailsRecord) {
  const std::string path = dir_ / "direct.rec";
  const int fd = open_append(path);
  ASSERT_GE(fd, 0);
  auto inner = exec_recorder_on(UniqueFd(fd), path, elapsed_);
  ASSERT_TRUE(inner.ok());
  ChannelRecorderPtr rec = sftp_recorder(std::move(*inner), reported_.sink());
  ASSERT_TRUE(rec->record(Stream::Input, init_packet()));
  ASSERT_TRUE(redirect_to_dev_full(fd));
  EXPECT_FALSE(rec->record(Stream::Input, request(13, 1, str("/x"))));
  EXPECT_FALSE(rec->close().ok());
  EXPECT_TRUE(reported_.ops.empty());
}

}  // namespace
}  // namespace bastion::audit
