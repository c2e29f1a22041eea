#include "audit/closing_spool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

ClosingWrites sample() {
  RecordingSummary r{"/var/lib/bastion/recordings/7/0-pty.cast", "asciicast", std::string(64, 'a'), 12, 345};
  r.truncated = true;
  r.bytes_total_in = 1u << 20;
  r.bytes_total_out = 99;
  r.stream_sha256 = {"in", "out", ""};
  return ClosingWrites{7, 0, from_unix(1795428000), from_unix(1795428060), 0, "aborted",
                       "grant 3 expired at 2026-11-23 10:01 UTC; 100% sure\n\ttab", r, "",
                       "alice", "203.0.113.7:51234", ""};
}

void expect_same(const ClosingWrites& a, const ClosingWrites& b) {
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.ended_at, b.ended_at);
  EXPECT_EQ(a.exit_status, b.exit_status);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.reason, b.reason);
  ASSERT_EQ(a.recording.has_value(), b.recording.has_value());
  if (a.recording) {
    EXPECT_EQ(a.recording->path, b.recording->path);
    EXPECT_EQ(a.recording->kind, b.recording->kind);
    EXPECT_EQ(a.recording->sha256, b.recording->sha256);
    EXPECT_EQ(a.recording->bytes_in, b.recording->bytes_in);
    EXPECT_EQ(a.recording->bytes_out, b.recording->bytes_out);
    EXPECT_EQ(a.recording->truncated, b.recording->truncated);
    EXPECT_EQ(a.recording->bytes_total_in, b.recording->bytes_total_in);
    EXPECT_EQ(a.recording->bytes_total_out, b.recording->bytes_total_out);
    EXPECT_EQ(a.recording->stream_sha256.in, b.recording->stream_sha256.in);
    EXPECT_EQ(a.recording->stream_sha256.err, b.recording->stream_sha256.err);
  }
  EXPECT_EQ(a.recording_error, b.recording_error);
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.server, b.server);
}

TEST(ClosingSpool, RecordIsOneEscapedLineThatParsesBackToTheSameWrites) {
  const std::string line = encode_spool_record(sample());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "a newline inside a field is escaped";
  EXPECT_EQ(line.rfind("BSPOOL1 7 0 1795428000 1795428060 0 aborted grant%203", 0), 0u) << line;
  auto back = parse_spool_record(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.has_value());
  expect_same(*back, sample());
}

TEST(ClosingSpool, WritesWithoutRecordingOrExitStatusRoundTrip) {
  ClosingWrites w = sample();
  w.recording.reset();
  w.exit_status.reset();
  w.recording_error = "recording /x is incomplete: No space left on device";
  const std::string line = encode_spool_record(w);
  auto back = last_spool_record(line);
  ASSERT_TRUE(back.has_value());
  expect_same(*back, w);
}

TEST(ClosingSpool, CutLastLineAndMalformedLinesAreIgnoredAndTheLastGoodRecordWins) {
  ClosingWrites first = sample();
  ClosingWrites second = sample();
  second.status = "closed";
  const std::string good1 = encode_spool_record(first), good2 = encode_spool_record(second);
  std::string content = good1 + "BSPOOL1 garbage\n" + "BSPOOL2" + good2.substr(7) + good2;
  content += good1.substr(0, good1.size() / 2);  // the process died inside this write
  auto last = last_spool_record(content);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, "closed");
  EXPECT_FALSE(last_spool_record(good1.substr(0, good1.size() - 1)).has_value());
}

TEST(ClosingSpool, RefusesFieldsThatAreNotStrictlyEncoded) {
  std::string line = encode_spool_record(sample());
  line.pop_back();
  EXPECT_TRUE(parse_spool_record(line).has_value());
  EXPECT_FALSE(parse_spool_record(line + " extra").has_value());
  EXPECT_FALSE(parse_spool_record(line.substr(0, line.rfind(' '))).has_value());
  std::string bad_escape = line;
  bad_escape.replace(bad_escape.find("%20"), 3, "%2g");
  EXPECT_FALSE(parse_spool_record(bad_escape).has_value());
  std::string raw_byte = line;
  raw_byte.replace(raw_byte.find("%20"), 3, "\x01");
  EXPECT_FALSE(parse_spool_record(raw_byte).has_value());
  std::string bad_status = line;
  bad_status.replace(bad_status.find("aborted"), 7, "live");
  EXPECT_FALSE(parse_spool_record(bad_status).has_value());
  EXPECT_FALSE(parse_spool_record(std::string(kMaxSpoolLine, 'x')).has_value());
}

TEST(ClosingSpool, AppendsPrivatelyAndReadsBackTheLastRecord) {
  testing::TempDir dir;
  const std::string path = spool_path(dir.path(), 7);
  EXPECT_EQ(path, dir.path() + "/7/closing.spool");
  auto none = read_spool(path);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ClosingWrites w = sample();
  ASSERT_TRUE(append_spool(path, w).ok());
  w.reason = "second";
  ASSERT_TRUE(append_spool(path, w).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = read_spool(path);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->reason, "second");
}

}  // namespace
}  // namespace bastion::audit
