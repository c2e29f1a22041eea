// Tests for audit/sealed_stream.cc and audit/recording_sink.cc: a sealed recording reads back as
// written; a crash leaves a readable prefix; a changed, moved, removed or shortened chunk is
// reported as altered, naming the chunk.
#include "audit/sealed_stream.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <sys/mman.h>

#include "audit/asciicast.h"
#include "audit/exec_recording.h"
#include "audit/fd_io.h"
#include "audit/file_recorder.h"
#include "audit/recording_sink.h"
#include "audit/sha256.h"
#include "audit/unique_fd.h"
#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kKeyId = "dk-0123456789abcdef";

// Sealed: a file sealed by SealedWriter, chunk by chunk, with where each chunk starts.
struct Sealed {
  std::string file;
  std::vector<std::size_t> chunk_at;  // offset of each chunk's length field
};

Sealed seal(const SecretKey& client_key, const std::vector<std::string>& pieces, bool finish = true,
            std::uint8_t version = kSealedVersion) {
  const std::string salt = random_salt();
  Sealed out;
  auto w = SealedWriter::start(derive_stream_key(client_key, salt), kKeyId, salt, out.file, version);
  for (const auto& p : pieces) {
    out.chunk_at.push_back(out.file.size());
    w.seal(p, out.file);
  }
  if (finish) {
    out.chunk_at.push_back(out.file.size());
    w.finish(out.file);
  }
  return out;
}

KeyLookup only(const SecretKey& key) {
  return [&key](const std::string& id) -> Result<SecretKey> {
    if (id != kKeyId) return Error{"unknown key " + id};
    return key.copy();
  };
}

class SealedStreamTest : public ::testing::Test {
 protected:
  SecretKey key_ = SecretKey::random();
};

TEST_F(SealedStreamTest, ReadsBackEveryChunkAndSaysComplete) {
  const Sealed s = seal(key_, {"hello ", "", "world", std::string(3000, 'x')});
  auto back = unseal(s.file, only(key_));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->state, SealedState::Complete);
  EXPECT_EQ(back->plain, "hello world" + std::string(3000, 'x'));
  EXPECT_EQ(back->chunks, 4u);  // three non-empty pieces and the FINAL chunk
  EXPECT_TRUE(back->detail.empty());
  EXPECT_EQ(s.file.find("hello"), std::string::npos) << "the plaintext is on disk";
}

// Version 1 files (libsodium secretstream), written before version 2, still read, with the same
// verdicts on alteration and cuts.
TEST_F(SealedStreamTest, VersionOneFilesStillReadAndTheirAlterationsAreStillFound) {
  const Sealed s = seal(key_, {"hello ", "world", std::string(3000, 'x')}, true, kSealedVersionXChaCha);
  auto p = parse_sealed_preamble(s.file);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->version, kSealedVersionXChaCha);
  EXPECT_EQ(p->stream_header.size(), 24u);
  auto back = unseal(s.file, only(key_));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->state, SealedState::Complete);
  EXPECT_EQ(back->plain, "hello world" + std::string(3000, 'x'));

  std::string swapped = s.file.substr(0, s.chunk_at[0]) + s.file.substr(s.chunk_at[1], s.chunk_at[2] - s.chunk_at[1]) +
                        s.file.substr(s.chunk_at[0], s.chunk_at[1] - s.chunk_at[0]) + s.file.substr(s.chunk_at[2]);
  auto altered = unseal(swapped, only(key_));
  ASSERT_TRUE(altered.ok());
  EXPECT_EQ(altered->state, SealedState::Altered);
  EXPECT_NE(altered->detail.find("chunk 1"), std::string::npos) << altered->detail;

  auto cut = unseal(s.file.substr(0, s.chunk_at.back()), only(key_));
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->state, SealedState::CutShort);
  EXPECT_EQ(cut->plain, "hello world" + std::string(3000, 'x'));
}

// Version 2 (written now): AES-256-GCM chunks after a preamble without a stream header; a head and
// a body sealed together read back as one piece, split only at kMaxSealedChunk.
TEST_F(SealedStreamTest, VersionTwoSealsHeadAndBodyAsOneStringWithoutAStreamHeader) {
  const std::string salt = random_salt();
  std::string file;
  auto w = SealedWriter::start(derive_stream_key(key_, salt), kKeyId, salt, file);
  auto p = parse_sealed_preamble(file);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->version, 2u);
  EXPECT_TRUE(p->stream_header.empty());
  EXPECT_EQ(p->size, file.size());
  const std::string head = "HEAD:";
  const std::string body(kMaxSealedChunk, 'y');  // one byte too many for one chunk with its head
  w.seal(head, body, file);
  w.seal("", "tail", file);
  w.finish(file);
  auto back = unseal(file, only(key_));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->state, SealedState::Complete);
  EXPECT_EQ(back->plain, head + body + "tail");
  EXPECT_EQ(back->chunks, 4u);  // head+body in two chunks, "tail", FINAL
  // Every chunk carries its 17 bytes of overhead (tag byte and GCM tag) and its length.
  EXPECT_EQ(file.size(), p->size + 4 * (4 + 17) + head.size() + body.size() + 4);
}

TEST_F(SealedStreamTest, PreambleNamesTheKeyAndTheSaltButNoSecret) {
  const Sealed s = seal(key_, {"x"});
  auto p = parse_sealed_preamble(s.file);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->key_id, kKeyId);
  EXPECT_EQ(p->salt.size(), kSealedSaltBytes);
  EXPECT_EQ(s.file.find(std::string(key_.view())), std::string::npos);
}

TEST_F(SealedStreamTest, ALongWriteIsSplitIntoChunksAndReadsBackWhole) {
  const std::string big(kMaxSealedChunk * 2 + 17, 'b');
  const Sealed s = seal(key_, {big});
  auto back = unseal(s.file, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Complete);
  EXPECT_EQ(back->chunks, 4u);
  EXPECT_EQ(back->plain, big);
}

TEST_F(SealedStreamTest, AFileWithoutItsFinalChunkIsCutShortAndItsPrefixReads) {
  const Sealed s = seal(key_, {"one", "two"}, false);
  auto back = unseal(s.file, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::CutShort);
  EXPECT_EQ(back->plain, "onetwo");
  EXPECT_NE(back->detail.find("without its final chunk"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, AFileCutInsideAChunkKeepsEveryChunkBeforeAndNamesTheCutOne) {
  const Sealed s = seal(key_, {"one", "two", "three"});
  const std::string cut = s.file.substr(0, s.chunk_at[2] + 9);  // inside chunk 3
  auto back = unseal(cut, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::CutShort);
  EXPECT_EQ(back->plain, "onetwo");
  EXPECT_NE(back->detail.find("chunk 3"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, AFlippedByteIsAlteredAtItsChunk) {
  Sealed s = seal(key_, {"one", "two", "three"});
  s.file[s.chunk_at[1] + 6] ^= 0x01;
  auto back = unseal(s.file, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_EQ(back->plain, "one");
  EXPECT_NE(back->detail.find("chunk 2"), std::string::npos) << back->detail;
  EXPECT_NE(back->detail.find("fails authentication"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, SwappedChunksAreAltered) {
  const Sealed s = seal(key_, {"AAAA", "BBBB", "CCCC"});
  const std::string a = s.file.substr(s.chunk_at[0], s.chunk_at[1] - s.chunk_at[0]);
  const std::string b = s.file.substr(s.chunk_at[1], s.chunk_at[2] - s.chunk_at[1]);
  std::string swapped = s.file.substr(0, s.chunk_at[0]) + b + a + s.file.substr(s.chunk_at[2]);
  auto back = unseal(swapped, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_NE(back->detail.find("chunk 1"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, ARemovedChunkIsAltered) {
  const Sealed s = seal(key_, {"AAAA", "BBBB", "CCCC"});
  std::string removed = s.file.substr(0, s.chunk_at[1]) + s.file.substr(s.chunk_at[2]);
  auto back = unseal(removed, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_EQ(back->plain, "AAAA");
  EXPECT_NE(back->detail.find("chunk 2"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, AChunkShortenedInTheMiddleIsAltered) {
  Sealed s = seal(key_, {"AAAA", "BBBBBBBB", "CCCC"});
  // Remove two ciphertext bytes of chunk 2 and fix its length field: its tag no longer matches.
  std::string shortened = s.file.substr(0, s.chunk_at[1]);
  const std::string chunk = s.file.substr(s.chunk_at[1] + 4, s.chunk_at[2] - s.chunk_at[1] - 4);
  const auto n = static_cast<std::uint32_t>(chunk.size() - 2);
  for (int i = 3; i >= 0; --i) shortened.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  shortened += chunk.substr(2) + s.file.substr(s.chunk_at[2]);
  auto back = unseal(shortened, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_NE(back->detail.find("chunk 2"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, BytesAfterTheFinalChunkAreAltered) {
  const Sealed s = seal(key_, {"one"});
  auto back = unseal(s.file + s.file.substr(s.chunk_at[0]), only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_NE(back->detail.find("follow the final chunk"), std::string::npos) << back->detail;
}

TEST_F(SealedStreamTest, AChangedPreambleFailsTheFirstChunk) {
  Sealed s = seal(key_, {"one"});
  s.file[kSealedMagic.size() + 2 + kKeyId.size() + 3] ^= 0x40;  // a byte of the salt
  auto back = unseal(s.file, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_TRUE(back->plain.empty());
}

TEST_F(SealedStreamTest, AnotherClientsKeyOpensNothing) {
  const Sealed s = seal(key_, {"secret"});
  const SecretKey other = SecretKey::random();
  auto back = unseal(s.file, only(other));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Altered);
  EXPECT_TRUE(back->plain.empty());
}

TEST_F(SealedStreamTest, AKeyTheLookupRefusesIsItsReason) {
  const Sealed s = seal(key_, {"secret"});
  auto back = unseal(s.file, [](const std::string&) -> Result<SecretKey> { return Error{"destroyed on DATE by WHOM"}; });
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().message, "destroyed on DATE by WHOM");
}

TEST_F(SealedStreamTest, MalformedPreamblesAreRefusedWithAReason) {
  EXPECT_FALSE(parse_sealed_preamble("BSTNREC1\n").ok());
  EXPECT_FALSE(parse_sealed_preamble("BSTNSEAL").ok());
  EXPECT_FALSE(parse_sealed_preamble(std::string("BSTNSEAL\x02", 9)).ok());
  EXPECT_FALSE(parse_sealed_preamble(std::string("BSTNSEAL\x01\x00", 10)).ok());
  EXPECT_FALSE(parse_sealed_preamble(std::string("BSTNSEAL\x01\x05keyid", 15)).ok());  // no salt, no header
}

TEST_F(SealedStreamTest, AStreamKeyIsPerFile) {
  const SecretKey a = derive_stream_key(key_, std::string(kSealedSaltBytes, 'a'));
  const SecretKey b = derive_stream_key(key_, std::string(kSealedSaltBytes, 'b'));
  const SecretKey a_again = derive_stream_key(key_, std::string(kSealedSaltBytes, 'a'));
  EXPECT_NE(a.view(), b.view());
  EXPECT_EQ(a.view(), a_again.view());
  EXPECT_NE(a.view(), key_.view());
}

// ---- The recorders on a sealed sink ---------------------------------------------------------------

// unseal_stream, fed by a source that gives at most `piece` bytes per call and records the most it
// was ever asked for, reads every file above exactly as unseal does, in bounded memory.
TEST_F(SealedStreamTest, StreamingReadAgreesWithTheWholeFileReadInAnyPiecesAndAsksForOneChunkAtMost) {
  const Sealed whole = seal(key_, {"one", "two", std::string(kMaxSealedChunk + 5, 'z'), "four"});
  std::string flipped = whole.file;
  flipped[whole.chunk_at[1] + 6] ^= 0x01;
  const std::vector<std::string> files{
      whole.file,
      whole.file.substr(0, whole.chunk_at[3] + 9),               // cut inside chunk 4
      whole.file.substr(0, whole.chunk_at[4]),                   // no FINAL chunk
      flipped,                                                   // altered at chunk 2
      whole.file + whole.file.substr(whole.chunk_at[0], 40),     // bytes after the FINAL chunk
  };
  for (const std::string& file : files) {
    auto expected = unseal(file, only(key_));
    ASSERT_TRUE(expected.ok());
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, file.size()}) {
      std::size_t taken = 0, most_asked = 0;
      const SealedSource source = [&](std::size_t n, std::string& out) {
        most_asked = std::max(most_asked, n);
        const std::string_view give = std::string_view(file).substr(taken, std::min(n, piece));
        out.append(give);
        taken += give.size();
        return true;
      };
      std::string plain;
      auto report = unseal_stream(source, only(key_), [&plain](std::string_view p) {
        plain.append(p);
        return true;
      });
      ASSERT_TRUE(report.ok()) << report.error().message;
      EXPECT_EQ(report->state, expected->state) << "piece " << piece;
      EXPECT_EQ(report->detail, expected->detail) << "piece " << piece;
      EXPECT_EQ(report->chunks, expected->chunks) << "piece " << piece;
      EXPECT_EQ(plain, expected->plain) << "piece " << piece;
      EXPECT_LE(most_asked, kMaxSealedChunk + 17) << "piece " << piece;
    }
  }
  // A sink that refuses (a full disk, a closed socket) ends the read with an Error.
  std::size_t taken = 0;
  auto refused = unseal_stream(
      [&](std::size_t n, std::string& out) {
        out.append(std::string_view(whole.file).substr(taken, n));
        taken += std::min(n, whole.file.size() - std::min(taken, whole.file.size()));
        return true;
      },
      only(key_), [](std::string_view) { return false; });
  EXPECT_FALSE(refused.ok());
}

// SealedReader, pulled by its caller: one authentic chunk per next(), nothing of a chunk that fails,
// and the end (an empty piece, the report) stays the end.
TEST_F(SealedStreamTest, APulledReadGivesOneAuthenticChunkAtATimeAndStopsAtTheFirstAlteredOne) {
  const Sealed s = seal(key_, {"one", "two", "three"});
  std::string flipped = s.file;
  flipped[s.chunk_at[2] + 6] ^= 0x01;  // chunk 3
  const auto pull = [this](const std::string& file) {
    std::size_t taken = 0;
    auto reader = SealedReader::open(
        [file, taken](std::size_t n, std::string& out) mutable {
          out.append(std::string_view(file).substr(std::min(taken, file.size()), n));
          taken += n;
          return true;
        },
        only(key_));
    EXPECT_TRUE(reader.ok());
    return std::move(*reader);
  };
  SealedReader whole = pull(s.file);
  EXPECT_EQ(whole.next(), "one");
  EXPECT_EQ(whole.next(), "two");
  EXPECT_EQ(whole.next(), "three");
  EXPECT_FALSE(whole.ended());
  EXPECT_EQ(whole.next(), "");
  EXPECT_TRUE(whole.ended());
  EXPECT_EQ(whole.next(), "");
  EXPECT_EQ(whole.report().state, SealedState::Complete);
  EXPECT_EQ(whole.report().chunks, 4u);
  SealedReader altered = pull(flipped);
  EXPECT_EQ(altered.next(), "one");
  EXPECT_EQ(altered.next(), "two");
  EXPECT_EQ(altered.next(), "") << "nothing of the altered chunk";
  EXPECT_EQ(altered.report().state, SealedState::Altered);
  EXPECT_NE(altered.report().detail.find("chunk 3"), std::string::npos) << altered.report().detail;
  EXPECT_EQ(altered.next(), "");
}

class SealedRecorderTest : public ::testing::Test {
 protected:
  // sealed_exec_writer: an exec recording writer sealing onto fd (not owned) under k.
  Result<ExecRecordingWriter> sealed_exec_writer(int fd, const SealingKey& k, std::uint64_t cap) const {
    auto sink = sealed_sink(fd, k);
    if (!sink) return sink.error();
    return ExecRecordingWriter::create(std::move(sink.value()), elapsed_, cap);
  }

  SealingKey sealing() const {
    const std::string salt = random_salt();
    return SealingKey{derive_stream_key(key_, salt), std::string(kKeyId), salt};
  }
  std::string path(const std::string& name) const { return tmp_ / name; }

  testing::TempDir tmp_;
  SecretKey key_ = SecretKey::random();
  ManualMonotonicClock elapsed_;
};

TEST_F(SealedRecorderTest, APtyRecordingIsSealedAndItsTextReadsBackAsAsciicast) {
  const SealingKey k = sealing();
  UniqueFd fd(testing::open_append(path("0-pty.cast")));
  ASSERT_TRUE(fd.valid());
  auto rec = pty_recorder_on(std::move(fd), path("0-pty.cast"), AsciicastHeader{80, 24, 0, "xterm", "", "shell"},
                             elapsed_, Sealing::InProcess, &k);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE((*rec)->record(Stream::Output, "$ secret-output\r\n"));
  ASSERT_TRUE((*rec)->record(Stream::Input, "ls\r"));
  auto summary = (*rec)->close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  auto file = read_file(path("0-pty.cast"));
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(is_sealed(*file));
  EXPECT_EQ(file->find("secret-output"), std::string::npos);
  auto back = unseal(*file, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::Complete);
  auto cast = parse_asciicast(back->plain);
  ASSERT_TRUE(cast.ok()) << cast.error().message;
  ASSERT_EQ(cast->events.size(), 2u);
  EXPECT_EQ(cast->events[0].data, "$ secret-output\r\n");
  EXPECT_FALSE(cast->truncated);
}

// At its cap a sealed exec recording reads its own records back, unsealed with its key, for the
// digests of the bytes it could not store; until then it hashes nothing (issue 21).
TEST_F(SealedRecorderTest, AnExecRecordingIsSealedWithItsDigestsReadBackAtTheCap) {
  const SealingKey k = sealing();
  UniqueFd fd(testing::open_append(path("1-exec.rec")));
  ASSERT_TRUE(fd.valid());
  auto rec = exec_recorder_on(std::move(fd), path("1-exec.rec"), elapsed_, 8, Sealing::InProcess, &k);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE((*rec)->record(Stream::Input, "stdin-bytes"));
  ASSERT_TRUE((*rec)->record(Stream::Output, "stdout"));
  auto summary = (*rec)->close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->truncated);  // the cap of 8 bytes stored only part of it
  EXPECT_EQ(summary->bytes_total_in, 11u);
  EXPECT_EQ(summary->stream_sha256.in, sha256_hex("stdin-bytes"));
  auto file = read_file(path("1-exec.rec"));
  ASSERT_TRUE(file.ok());
  auto back = unseal(*file, only(key_));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->state, SealedState::Complete);
  auto parsed = parse_exec_recording(back->plain);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;  // the trailer agrees with the stored bytes
  EXPECT_EQ(parsed->stdin_bytes, "stdin-by");
  ASSERT_TRUE(parsed->trailer.has_value());
  EXPECT_EQ(parsed->trailer->of(Stream::Input).sha256, sha256_hex("stdin-bytes"));
  EXPECT_EQ(parsed->trailer->of(Stream::Output).sha256, sha256_hex("stdout"));
}

// Many chunks of interleaved streams, the cap crossed in the middle of a write: every stream's
// digest covers all its bytes in order, those read back from sealed chunks and those hashed after.
TEST_F(SealedRecorderTest, InterleavedStreamsCrossingTheCapOfASealedRecordingKeepWholeStreamDigests) {
  const SealingKey k = sealing();
  UniqueFd fd(testing::open_append(path("3-exec.rec")));
  ASSERT_TRUE(fd.valid());
  auto w = sealed_exec_writer(fd.get(), k, 3'000'000);
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::array<std::string, 3> sent;
  for (int i = 0; i < 90; ++i) {
    const auto s = static_cast<std::size_t>(i % 3);
    std::string piece(50'000 + 97 * static_cast<std::size_t>(i), static_cast<char>('a' + i % 26));
    piece[static_cast<std::size_t>(i)] = 'X';
    ASSERT_TRUE(w->write(s == 0 ? Stream::Input : s == 1 ? Stream::Output : Stream::Error, piece));
    sent[s] += piece;
  }
  ASSERT_TRUE(w->finish());
  auto tally = w->tally();
  ASSERT_TRUE(tally.ok()) << tally.error().message;
  auto back = unseal(*read_file(path("3-exec.rec")), only(key_));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->state, SealedState::Complete);
  auto parsed = parse_exec_recording(back->plain);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->trailer.has_value());
  EXPECT_TRUE(parsed->trailer->truncated());
  for (Stream s : {Stream::Input, Stream::Output, Stream::Error}) {
    const std::string& all = sent[static_cast<std::size_t>(s)];
    EXPECT_EQ(parsed->trailer->of(s).total, all.size());
    EXPECT_EQ(parsed->trailer->of(s).sha256, sha256_hex(all));
    EXPECT_EQ(tally->of(s).sha256, sha256_hex(all));
    EXPECT_EQ(parsed->bytes(s), all.substr(0, parsed->bytes(s).size()));
  }
}

// Under the cap a sealed exec recording states no per-stream digest: the file's digest in the chain
// covers its ciphertext, and the ciphertext authenticates every stored byte.
TEST_F(SealedRecorderTest, ASealedRecordingUnderItsCapStatesNoSecondDigest) {
  const SealingKey k = sealing();
  UniqueFd fd(::open(path("4-exec.rec").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());  // write-only: a read-back would fail
  auto w = sealed_exec_writer(fd.get(), k, 1000);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->write(Stream::Output, "all of it fits"));
  ASSERT_TRUE(w->finish());
  auto tally = w->tally();
  ASSERT_TRUE(tally.ok()) << tally.error().message;
  EXPECT_EQ(tally->of(Stream::Output).sha256, "");
  EXPECT_EQ(tally->of(Stream::Output).total, 14u);
}

// The read-back authenticates what it reads: a sealed file changed under the writer before its cap
// fails the write that reaches the cap, rather than state digests of bytes it did not write.
TEST_F(SealedRecorderTest, ASealedRecordingAlteredBeforeItsCapFailsAtTheCap) {
  const SealingKey k = sealing();
  UniqueFd fd(testing::open_append(path("5-exec.rec")));
  ASSERT_TRUE(fd.valid());
  auto w = sealed_exec_writer(fd.get(), k, 100);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->write(Stream::Output, std::string(60, 'o')));
  {
    UniqueFd other(::open(path("5-exec.rec").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(other.valid());
    const auto size = ::lseek(other.get(), 0, SEEK_END);
    ASSERT_EQ(::pwrite(other.get(), "Z", 1, size - 5), 1);  // inside the last chunk's tag
  }
  EXPECT_FALSE(w->write(Stream::Output, std::string(60, 'p')));
  EXPECT_TRUE(w->failed());
  EXPECT_FALSE(w->tally().ok());
}

TEST_F(SealedRecorderTest, ACrashLeavesAPrefixThatReads) {
  // A recording never closed: what a SIGKILLed session leaves.
  const SealingKey k = sealing();
  UniqueFd fd(testing::open_append(path("2-pty.cast")));
  auto rec = pty_recorder_on(std::move(fd), path("2-pty.cast"), AsciicastHeader{}, elapsed_, Sealing::InProcess, &k);
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE((*rec)->record(Stream::Output, "before the crash\r\n"));
  auto file = read_file(path("2-pty.cast"));
  ASSERT_TRUE(file.ok());
  auto back = unseal(*file, only(key_));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, SealedState::CutShort);
  auto cast = parse_asciicast(back->plain);
  ASSERT_TRUE(cast.ok());
  ASSERT_EQ(cast->events.size(), 1u);
  EXPECT_EQ(cast->events[0].data, "before the crash\r\n");
}

}  // namespace
}  // namespace bastion::audit
