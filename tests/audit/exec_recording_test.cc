// Tests for audit/exec_recording.cc and audit/byte_cursor.h: byte-exact recordings of non-pty channels.
#include "audit/exec_recording.h"

#include <gtest/gtest.h>

#include <random>

#include "audit/byte_cursor.h"
#include "audit/fd_io.h"
#include "audit/sha256.h"
#include "audit/unique_fd.h"
#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// RecFile: an exec recording writer on a fresh file, with a manual clock.
class RecFile {
 public:
  RecFile() : fd_(testing::open_append(dir_ / "t.rec")) {
    auto w = ExecRecordingWriter::create(fd_.get(), clock_);
    if (!w) throw std::runtime_error(w.error().message);
    writer_.emplace(std::move(w.value()));
  }
  ExecRecordingWriter& writer() { return *writer_; }
  ManualMonotonicClock& clock() { return clock_; }
  int fd() const { return fd_.get(); }
  std::string contents() const { return read_file(dir_ / "t.rec").value(); }
  ExecRecording parsed() const {
    auto rec = parse_exec_recording(contents());
    if (!rec) throw std::runtime_error(rec.error().message);
    return std::move(rec.value());
  }

 private:
  TempDir dir_;
  UniqueFd fd_;
  ManualMonotonicClock clock_;
  std::optional<ExecRecordingWriter> writer_;
};

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xFF);
  return out;
}

TEST(ExecRecording, FiveMebibytesOfRandomStdoutRoundTripByteExact) {
  const std::string payload = random_bytes(5 << 20, 42);
  RecFile f;
  // Pieces of varying size, as SSH channel reads deliver them.
  std::mt19937 sizes(7);
  std::size_t pieces = 0;
  for (std::size_t i = 0; i < payload.size(); ++pieces) {
    const std::size_t n = std::min<std::size_t>(1 + sizes() % 65536, payload.size() - i);
    ASSERT_TRUE(f.writer().write(Stream::Output, std::string_view(payload).substr(i, n)));
    i += n;
  }
  const ExecRecording rec = f.parsed();
  EXPECT_TRUE(rec.complete());
  EXPECT_EQ(rec.complete_records(), pieces);
  EXPECT_TRUE(rec.stdout_bytes == payload);  // not EXPECT_EQ: a 5 MiB diff is no help
  EXPECT_TRUE(rec.stdin_bytes.empty());
  EXPECT_TRUE(rec.stderr_bytes.empty());
}

TEST(ExecRecording, InterleavedStreamsKeepOrderTimesAndOffsets) {
  RecFile f;
  ASSERT_TRUE(f.writer().write(Stream::Input, "data\n"));
  f.clock().advance(1500us);
  ASSERT_TRUE(f.writer().write(Stream::Output, "out1 "));
  ASSERT_TRUE(f.writer().write(Stream::Error, "warn\n"));
  f.clock().advance(2s);
  ASSERT_TRUE(f.writer().write(Stream::Output, "out2"));
  ASSERT_TRUE(f.writer().write(Stream::Input, std::string("\0\xFF", 2)));

  const ExecRecording rec = f.parsed();
  EXPECT_EQ(rec.stdin_bytes, std::string("data\n\0\xFF", 7));
  EXPECT_EQ(rec.stdout_bytes, "out1 out2");
  EXPECT_EQ(rec.stderr_bytes, "warn\n");
  ASSERT_EQ(rec.chunks.size(), 5u);
  const std::vector<std::pair<Stream, std::uint64_t>> expected{{Stream::Input, 0},
                                                               {Stream::Output, 1500},
                                                               {Stream::Error, 1500},
                                                               {Stream::Output, 2001500},
                                                               {Stream::Input, 2001500}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(rec.chunks[i].stream, expected[i].first) << i;
    EXPECT_EQ(rec.chunks[i].micros, expected[i].second) << i;
  }
  const ExecChunk& second_stdout = rec.chunks[3];
  EXPECT_EQ(rec.bytes(second_stdout.stream).substr(second_stdout.offset, second_stdout.length), "out2");
}

TEST(ExecRecording, FileLayoutIsTheOneDocumentedInTheHeader) {
  RecFile f;
  f.clock().advance(1500ms);  // 1 500 000 µs = 0x16E360
  ASSERT_TRUE(f.writer().write(Stream::Error, "hi"));
  const std::string expected = std::string("BSTNREC1\n") + std::string("\x02", 1) +
                               std::string("\x00\x00\x00\x00\x00\x16\xE3\x60", 8) +
                               std::string("\x00\x00\x00\x02", 4) + "hi";
  EXPECT_EQ(f.contents(), expected);
}

TEST(ExecRecording, EmptyWriteRecordsNothing) {
  RecFile f;
  ASSERT_TRUE(f.writer().write(Stream::Output, ""));
  EXPECT_EQ(f.contents(), kExecRecordingMagic);
  EXPECT_EQ(f.parsed().complete_records(), 0u);
}

TEST(ExecRecording, EveryTruncationYieldsTheCompletePrefix) {
  RecFile f;
  const std::vector<std::pair<Stream, std::string>> writes{
      {Stream::Input, "ls -l\n"}, {Stream::Output, "total 0\n"}, {Stream::Error, "ls: x: denied\n"}, {Stream::Output, "z"}};
  std::vector<std::size_t> ends;  // file size after each record
  for (const auto& [s, bytes] : writes) {
    ASSERT_TRUE(f.writer().write(s, bytes));
    ends.push_back(f.contents().size());
  }
  const std::string full = f.contents();
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    auto rec = parse_exec_recording(std::string_view(full).substr(0, cut));
    ASSERT_TRUE(rec.ok()) << "cut at " << cut << ": " << rec.error().message;
    const auto complete = static_cast<std::size_t>(std::count_if(ends.begin(), ends.end(),
                                                                 [&](std::size_t e) { return e <= cut; }));
    EXPECT_EQ(rec->complete_records(), complete) << "cut at " << cut;
    const bool at_boundary = cut == kExecRecordingMagic.size() || (complete > 0 && ends[complete - 1] == cut);
    EXPECT_EQ(rec->complete(), at_boundary) << "cut at " << cut;
    std::string in, out, err;
    for (std::size_t i = 0; i < complete; ++i) {
      (writes[i].first == Stream::Input ? in : writes[i].first == Stream::Output ? out : err) += writes[i].second;
    }
    EXPECT_EQ(rec->stdin_bytes, in);
    EXPECT_EQ(rec->stdout_bytes, out);
    EXPECT_EQ(rec->stderr_bytes, err);
    if (!rec->complete() && cut > kExecRecordingMagic.size()) {
      EXPECT_NE(rec->truncation->find("record " + std::to_string(complete + 1)), std::string::npos)
          << *rec->truncation;
    }
  }
}

std::string record_bytes(std::uint8_t stream, std::uint64_t micros, std::string_view data) {
  std::string r(1, static_cast<char>(stream));
  for (int i = 7; i >= 0; --i) r.push_back(static_cast<char>((micros >> (8 * i)) & 0xFF));
  for (int i = 3; i >= 0; --i) r.push_back(static_cast<char>((data.size() >> (8 * i)) & 0xFF));
  return r + std::string(data);
}

TEST(ExecRecording, ParserRejectsWhatIsNotARecording) {
  const std::string magic(kExecRecordingMagic);
  struct Bad {
    std::string file;
    std::string message_part;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"BSTNREC2\n", "bad magic"},
           {"{\"version\": 2}\n", "bad magic"},
           {magic + record_bytes(4, 0, "x"), "unknown stream 4"},
           {magic + record_bytes(3, 0, "x"), "trailer has 1 bytes"},  // 3 is the trailer's number
           {magic + record_bytes(1, 10, "a") + record_bytes(1, 9, "b"), "record 2: time goes backwards"},
       }) {
    auto rec = parse_exec_recording(bad.file);
    ASSERT_FALSE(rec.ok());
    EXPECT_NE(rec.error().message.find(bad.message_part), std::string::npos) << rec.error().message;
  }
}

TEST(ExecRecording, HugeLengthFieldIsTruncationNotAnOverread) {
  // A length far beyond the file must be caught by the cursor, never trusted.
  const std::string file = std::string(kExecRecordingMagic) + record_bytes(1, 0, "").substr(0, 9) +
                           std::string("\xFF\xFF\xFF\xFF", 4) + "abc";
  auto rec = parse_exec_recording(file);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->complete());
  EXPECT_EQ(rec->complete_records(), 0u);
  EXPECT_TRUE(rec->stdout_bytes.empty());
}

TEST(ExecRecording, WriteFailureAfterStartFailsEveryLaterWrite) {
  RecFile f;
  ASSERT_TRUE(f.writer().write(Stream::Output, "kept"));
  ASSERT_TRUE(testing::redirect_to_dev_full(f.fd()));
  EXPECT_FALSE(f.writer().write(Stream::Output, "lost"));
  EXPECT_TRUE(f.writer().failed());
  EXPECT_FALSE(f.writer().write(Stream::Input, "x"));
  EXPECT_EQ(f.parsed().stdout_bytes, "kept");
}

TEST(ExecRecording, MagicThatCannotBeWrittenFailsCreate) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  ManualMonotonicClock clock;
  EXPECT_FALSE(ExecRecordingWriter::create(full.get(), clock).ok());
}

// ---- The size cap and the trailer ----------------------------------------------------------------

// CappedFile: like RecFile, with a cap on the stored bytes.
class CappedFile {
 public:
  explicit CappedFile(std::uint64_t cap) : fd_(testing::open_append(dir_ / "c.rec")) {
    auto w = ExecRecordingWriter::create(fd_.get(), clock_, cap);
    if (!w) throw std::runtime_error(w.error().message);
    writer_.emplace(std::move(w.value()));
  }
  ExecRecordingWriter& writer() { return *writer_; }
  std::string contents() const { return read_file(dir_ / "c.rec").value(); }

 private:
  TempDir dir_;
  UniqueFd fd_;
  ManualMonotonicClock clock_;
  std::optional<ExecRecordingWriter> writer_;
};

TEST(ExecRecordingCap, BytesBeyondTheCapAreCountedAndHashedButNotStored) {
  const std::string payload = random_bytes(5 << 20, 9);
  CappedFile f(1 << 20);
  for (std::size_t i = 0; i < payload.size(); i += 65536) {
    ASSERT_TRUE(f.writer().write(Stream::Output, std::string_view(payload).substr(i, 65536)));
  }
  ASSERT_TRUE(f.writer().finish());
  EXPECT_FALSE(f.writer().write(Stream::Output, "late"));  // nothing after the trailer

  const std::string file = f.contents();
  EXPECT_LT(file.size(), (1u << 20) + 64 * kExecRecordHeaderSize + 200);
  auto rec = parse_exec_recording(file);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  EXPECT_TRUE(rec->complete());
  EXPECT_EQ(rec->stdout_bytes, payload.substr(0, 1 << 20));
  ASSERT_TRUE(rec->trailer.has_value());
  EXPECT_EQ(rec->trailer->max_stored_bytes, 1u << 20);
  EXPECT_TRUE(rec->trailer->truncated());
  EXPECT_EQ(rec->trailer->of(Stream::Output).total, 5u << 20);
  EXPECT_EQ(rec->trailer->of(Stream::Output).stored, 1u << 20);
  EXPECT_EQ(rec->trailer->of(Stream::Output).sha256, sha256_hex(payload));
  EXPECT_EQ(rec->trailer->of(Stream::Input).total, 0u);
  EXPECT_EQ(rec->trailer->of(Stream::Input).sha256, sha256_hex(""));
}

TEST(ExecRecordingCap, CapIsSharedByAllStreamsAndSplitsTheWriteThatCrossesIt) {
  CappedFile f(10);
  ASSERT_TRUE(f.writer().write(Stream::Input, "abcdef"));
  ASSERT_TRUE(f.writer().write(Stream::Output, "ghijkl"));
  ASSERT_TRUE(f.writer().write(Stream::Error, "mn"));
  ASSERT_TRUE(f.writer().finish());
  auto rec = parse_exec_recording(f.contents());
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  EXPECT_EQ(rec->stdin_bytes, "abcdef");
  EXPECT_EQ(rec->stdout_bytes, "ghij");
  EXPECT_EQ(rec->stderr_bytes, "");
  EXPECT_EQ(rec->trailer->of(Stream::Error).total, 2u);
  EXPECT_EQ(rec->trailer->of(Stream::Error).sha256, sha256_hex("mn"));
  EXPECT_EQ(rec->complete_records(), 2u);
}

// The digests of stored bytes are read back from the file when the cap is first reached; every
// stream's digest must still cover its bytes in order, stored and not.
TEST(ExecRecordingCap, InterleavedStreamsCrossingTheCapKeepWholeStreamDigests) {
  std::array<std::string, 3> sent;
  CappedFile f(100'000);
  for (int i = 0; i < 60; ++i) {
    const auto s = static_cast<std::size_t>(i % 3);
    const std::string piece = random_bytes(7'000 + 13 * static_cast<std::size_t>(i), static_cast<std::uint64_t>(i));
    ASSERT_TRUE(f.writer().write(s == 0 ? Stream::Input : s == 1 ? Stream::Output : Stream::Error, piece));
    sent[s] += piece;
  }
  ASSERT_TRUE(f.writer().finish());
  auto rec = parse_exec_recording(f.contents());
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE(rec->trailer.has_value());
  EXPECT_TRUE(rec->trailer->truncated());
  EXPECT_EQ(rec->stdin_bytes.size() + rec->stdout_bytes.size() + rec->stderr_bytes.size(), 100'000u);
  for (Stream s : {Stream::Input, Stream::Output, Stream::Error}) {
    const std::string& all = sent[static_cast<std::size_t>(s)];
    EXPECT_EQ(rec->trailer->of(s).total, all.size());
    EXPECT_EQ(rec->trailer->of(s).sha256, sha256_hex(all));
    EXPECT_EQ(rec->bytes(s), all.substr(0, rec->bytes(s).size()));
  }
}

// When the cap is reached the writer reads its records back for the digests: a descriptor it
// cannot read from fails the write that reaches the cap, rather than carry digests of nothing.
TEST(ExecRecordingCap, AFileThatCannotBeReadBackFailsAtTheCap) {
  TempDir dir;
  UniqueFd fd(::open((dir / "w.rec").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  ManualMonotonicClock clock;
  auto w = ExecRecordingWriter::create(fd.get(), clock, 10);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write(Stream::Output, "recorded"));
  EXPECT_FALSE(w->write(Stream::Output, "beyond the cap"));
  EXPECT_TRUE(w->failed());
  EXPECT_FALSE(w->finish());
  EXPECT_FALSE(w->tally().ok());
}

// Under the cap the writer never reads its file back: every byte is stored, the file's digest
// covers it, and the trailer states no second digest of the same bytes (issue 21).
TEST(ExecRecordingCap, UncappedRecordingHasATrailerThatSaysNothingWasLeftOutAndStatesNoDigest) {
  TempDir dir;
  UniqueFd fd(::open((dir / "w.rec").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  ManualMonotonicClock clock;
  auto w = ExecRecordingWriter::create(fd.get(), clock, 0);  // write-only: a read-back would fail
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write(Stream::Input, "in"));
  ASSERT_TRUE(w->finish());
  auto tally = w->tally();
  ASSERT_TRUE(tally.ok()) << tally.error().message;
  EXPECT_EQ(tally->of(Stream::Input).sha256, "");
  auto rec = parse_exec_recording(read_file(dir / "w.rec").value());
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->trailer.has_value());
  EXPECT_EQ(rec->trailer->max_stored_bytes, 0u);
  EXPECT_FALSE(rec->trailer->truncated());
  EXPECT_EQ(rec->trailer->of(Stream::Input).total, 2u);
  EXPECT_EQ(rec->trailer->of(Stream::Input).sha256, "");
  EXPECT_EQ(rec->stdin_bytes, "in");
}

TEST(ExecRecordingCap, FilesWithoutATrailerStillParse) {
  RecFile f;  // a writer that is never finished writes what older versions wrote
  ASSERT_TRUE(f.writer().write(Stream::Output, "old"));
  const ExecRecording rec = f.parsed();
  EXPECT_FALSE(rec.trailer.has_value());
  EXPECT_TRUE(rec.complete());
  EXPECT_EQ(rec.stdout_bytes, "old");
}

std::string trailer_record(std::uint64_t micros, std::string_view body) {
  std::string r(1, static_cast<char>(kExecTrailerStream));
  for (int i = 7; i >= 0; --i) r.push_back(static_cast<char>((micros >> (8 * i)) & 0xFF));
  for (int i = 3; i >= 0; --i) r.push_back(static_cast<char>((body.size() >> (8 * i)) & 0xFF));
  return r + std::string(body);
}

TEST(ExecRecordingCap, AlteredTrailersAreErrors) {
  CappedFile f(0);
  ASSERT_TRUE(f.writer().write(Stream::Output, "abc"));
  ASSERT_TRUE(f.writer().finish());
  const std::string good = f.contents();
  const std::string trailer = good.substr(good.size() - kExecRecordHeaderSize - kExecTrailerSize);
  const std::string body = trailer.substr(kExecRecordHeaderSize);
  const std::string before = good.substr(0, good.size() - trailer.size());

  EXPECT_FALSE(parse_exec_recording(good + trailer).ok());  // a record after the trailer
  EXPECT_FALSE(parse_exec_recording(before + trailer_record(0, body.substr(1))).ok());  // wrong size
  std::string lying = body;
  lying[8 + 48 + 15] = 9;  // stdout "stored" says 9, the file holds 3
  EXPECT_FALSE(parse_exec_recording(before + trailer_record(0, lying)).ok());
  auto cut = parse_exec_recording(good.substr(0, good.size() - 5));
  ASSERT_TRUE(cut.ok());
  EXPECT_FALSE(cut->complete());
  EXPECT_FALSE(cut->trailer.has_value());
  EXPECT_EQ(cut->stdout_bytes, "abc");
}

TEST(ByteCursor, GetStringReadsLengthPrefixedBytesOrNothing) {
  ByteCursor c(std::string_view("\x00\x00\x00\x02hi\x00\x00\x00\x09x", 11));
  std::string_view s;
  ASSERT_TRUE(c.get_string(s));
  EXPECT_EQ(s, "hi");
  EXPECT_FALSE(c.get_string(s));
  EXPECT_EQ(c.offset(), 6u);  // the failed read consumed nothing
  std::uint32_t peeked = 0;
  ASSERT_TRUE(c.peek_u32_be(peeked));
  EXPECT_EQ(peeked, 9u);
  EXPECT_EQ(c.rest().size(), 5u);
}

TEST(ByteCursor, ReadsBigEndianAndRefusesOverrunWithoutConsuming) {
  ByteCursor c(std::string_view("\x01\x02\x03\x04\x05", 5));
  std::uint32_t v32 = 0;
  ASSERT_TRUE(c.get_u32_be(v32));
  EXPECT_EQ(v32, 0x01020304u);
  std::uint64_t v64 = 7;
  EXPECT_FALSE(c.get_u64_be(v64));
  EXPECT_EQ(v64, 7u);  // untouched on failure
  EXPECT_EQ(c.remaining(), 1u);
  std::string_view bytes;
  EXPECT_FALSE(c.get_bytes(2, bytes));
  std::uint8_t v8 = 0;
  ASSERT_TRUE(c.get_u8(v8));
  EXPECT_EQ(v8, 5);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.offset(), 5u);
}

TEST(ByteCursor, SkipExpectedMatchesWholePrefixOnly) {
  ByteCursor c("BSTN");
  EXPECT_FALSE(c.skip_expected("BSTNREC1"));
  EXPECT_EQ(c.offset(), 0u);
  EXPECT_TRUE(c.skip_expected("BST"));
  EXPECT_EQ(c.remaining(), 1u);
}

}  // namespace
}  // namespace bastion::audit
