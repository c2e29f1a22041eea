// Tests for audit/sftp_parser.cc: real OpenSSH sftp/sftp-server traffic gives
// the right operations whatever the fragmentation, and hostile input is refused
// within bounds.
#include "audit/sftp_parser.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tests/audit/sftp_test_util.h"

namespace bastion::audit {
namespace {

using namespace testing;
using Ops = std::vector<SftpOperation>;

// ---- The stock sftp client against the stock server
// ----------------------------------------------

class SftpClientCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_sftp_tools()) GTEST_SKIP() << "sftp or " << kSftpServer << " not installed";
    std::mt19937 rng(3);
    payload_.resize(1 << 20);
    for (char &c : payload_) c = static_cast<char>(rng());
    std::ofstream(dir_ / "up.bin", std::ios::binary) << payload_;
    ASSERT_EQ(::mkdir((dir_ / "remote").c_str(), 0700), 0);
    auto cap = capture_sftp_client(dir_.path(),
                                   "cd remote\nput up.bin up.bin\nget up.bin down.bin\nrename up.bin "
                                   "moved.bin\n"
                                   "mkdir d1\nchmod 600 moved.bin\nln -s moved.bin link.bin\nrm link.bin\n"
                                   "rmdir d1\nrm moved.bin\n-rm nothere\n");
    ASSERT_TRUE(cap.has_value()) << "sftp batch failed";
    transcript_ = interleave(*cap);
  }
  std::string remote(const std::string &name) const { return dir_ / ("remote/" + name); }

  TempDir dir_;
  std::string payload_;
  Transcript transcript_;
};

TEST_F(SftpClientCapture, PutGetRenameMkdirChmodSymlinkRemoveGiveOneEventEach) {
  const Ops ops = parse_transcript(transcript_);
  ASSERT_EQ(kinds(ops), (std::vector<std::string>{"sftp.open", "sftp.close", "sftp.open", "sftp.close", "sftp.rename",
                                                  "sftp.mkdir", "sftp.setstat", "sftp.symlink", "sftp.remove",
                                                  "sftp.rmdir", "sftp.remove", "sftp.remove"}));
  EXPECT_EQ(ops[0].details["path"], remote("up.bin"));
  EXPECT_EQ(ops[0].details["flags"], nlohmann::json({"write", "creat", "trunc"}));
  EXPECT_EQ(ops[1].details["path"], remote("up.bin"));
  EXPECT_EQ(ops[1].details["bytes_written"], 1048576);
  EXPECT_EQ(ops[1].details["bytes_read"], 0);
  EXPECT_EQ(ops[1].details["status"], "ok");
  EXPECT_EQ(ops[2].details["flags"], nlohmann::json({"read"}));
  EXPECT_EQ(ops[3].details["bytes_read"], 1048576);
  EXPECT_EQ(ops[3].details["bytes_written"], 0);
  EXPECT_EQ(ops[4].details["from"], remote("up.bin"));
  EXPECT_EQ(ops[4].details["to"], remote("moved.bin"));
  EXPECT_EQ(ops[4].details["posix"], true);
  EXPECT_EQ(ops[5].details["path"], remote("d1"));
  EXPECT_EQ(ops[6].details["attrs"]["permissions"], "600");
  EXPECT_EQ(ops[7].details["target"], "moved.bin");
  EXPECT_EQ(ops[7].details["link"], remote("link.bin"));
  EXPECT_EQ(ops[8].details["path"], remote("link.bin"));
  EXPECT_EQ(ops[9].details["path"], remote("d1"));
  EXPECT_EQ(ops[10].details["status"], "ok");
  EXPECT_EQ(ops[11].details["path"], remote("nothere"));
  EXPECT_EQ(ops[11].details["status"], "no_such_file");
  EXPECT_EQ(ops[11].details["status_code"], 2);
}

TEST_F(SftpClientCapture, OneByteAtATimeGivesTheSameEvents) {
  const Ops whole = parse_transcript(transcript_);
  const Ops bytewise = parse_transcript(transcript_, 1);
  ASSERT_EQ(whole.size(), bytewise.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(whole[i].kind, bytewise[i].kind);
    EXPECT_EQ(whole[i].details, bytewise[i].details);
  }
}

// ---- Our packets against the real server
// ---------------------------------------------------------

class SftpServerDriven : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kSftpServer, X_OK) != 0) GTEST_SKIP() << kSftpServer << " not installed";
    server_.emplace();
    ASSERT_EQ(reply_type(server_->exchange(init_packet())), 2);
  }
  std::string path(const std::string &name) const { return dir_ / name; }
  std::string open(std::uint32_t id, const std::string &name, std::uint32_t pflags) {
    return server_->exchange(request(3, id, str(path(name)) + u32(pflags) + no_attrs()));
  }

  TempDir dir_;
  std::optional<SftpServer> server_;
};

TEST_F(SftpServerDriven, WritesAreCountedWhenAcknowledgedAndReadsByDataReturned) {
  const std::string h = reply_handle(open(1, "f", 0x02 | 0x08));  // write, creat
  for (std::uint32_t i = 0; i < 3; ++i) {
    server_->exchange(request(6, 10 + i, str(h) + u64(i * 1000) + str(std::string(1000, 'a' + i))));
  }
  server_->exchange(request(5, 20, str(h) + u64(0) + u32(100)));  // read on a write-only handle fails
  server_->exchange(request(4, 21, str(h)));
  const std::string r = reply_handle(open(22, "f", 0x01));
  server_->exchange(request(5, 23, str(r) + u64(0) + u32(2500)));
  server_->exchange(request(5, 24, str(r) + u64(2500) + u32(2500)));  // only 500 left
  server_->exchange(request(5, 25, str(r) + u64(3000) + u32(10)));    // EOF
  server_->exchange(request(6, 26, str(r) + u64(0) + str("zz")));     // write on a read handle fails
  server_->exchange(request(4, 27, str(r)));

  const Ops ops = parse_transcript(server_->transcript());
  ASSERT_EQ(kinds(ops), (std::vector<std::string>{"sftp.open", "sftp.close", "sftp.open", "sftp.close"}));
  EXPECT_EQ(ops[1].details["bytes_written"], 3000);
  EXPECT_EQ(ops[1].details["bytes_read"], 0);
  EXPECT_EQ(ops[3].details["bytes_read"], 3000);
  EXPECT_EQ(ops[3].details["bytes_written"], 0);
  EXPECT_EQ(ops[3].details["failed_writes"], 1);
  EXPECT_EQ(read_file(path("f")).value().size(), 3000u);
}

TEST_F(SftpServerDriven, FailedOperationsCarryTheServersStatus) {
  open(1, "missing", 0x01);
  server_->exchange(request(13, 2, str(path("missing"))));
  server_->exchange(request(15, 3, str(path("missing-dir"))));
  const Ops ops = parse_transcript(server_->transcript());
  ASSERT_EQ(kinds(ops), (std::vector<std::string>{"sftp.open", "sftp.remove", "sftp.rmdir"}));
  for (const auto &op : ops) {
    EXPECT_EQ(op.details["status"], "no_such_file") << op.kind;
    EXPECT_EQ(op.details["status_code"], 2);
    EXPECT_FALSE(op.details["message"].get<std::string>().empty());
  }
}

TEST_F(SftpServerDriven, SetstatFsetstatLinksRenamesAndDirectories) {
  const std::string h = reply_handle(open(1, "a", 0x02 | 0x08));
  server_->exchange(request(10, 2, str(h) + mode_attrs(0640)));          // FSETSTAT
  server_->exchange(request(9, 3, str(path("a")) + mode_attrs(0600)));   // SETSTAT
  server_->exchange(request(14, 4, str(path("d")) + mode_attrs(0700)));  // MKDIR
  server_->exchange(request(11, 5, str(path("d"))));                     // OPENDIR
  server_->exchange(request(18, 6, str(path("a")) + str(path("b"))));    // RENAME
  server_->exchange(request(200, 7, str("hardlink@openssh.com") + str(path("b")) + str(path("c"))));
  server_->exchange(request(200, 8, str("posix-rename@openssh.com") + str(path("c")) + str(path("e"))));
  server_->exchange(request(20, 9, str("b") + str(path("s"))));  // SYMLINK
  server_->exchange(request(200, 10,
                            str("statvfs@openssh.com") + str(path("d"))));  // read-only: no event
  server_->exchange(request(200, 11, str("no-such-extension@example.com")));
  const Ops ops = parse_transcript(server_->transcript());
  ASSERT_EQ(kinds(ops), (std::vector<std::string>{"sftp.open", "sftp.setstat", "sftp.setstat", "sftp.mkdir",
                                                  "sftp.opendir", "sftp.rename", "sftp.link", "sftp.rename",
                                                  "sftp.symlink", "sftp.extended", "sftp.close"}));
  EXPECT_EQ(ops[1].details["path"], path("a"));
  EXPECT_EQ(ops[1].details["handle"], true);
  EXPECT_EQ(ops[1].details["attrs"]["permissions"], "640");
  EXPECT_EQ(ops[2].details["attrs"]["permissions"], "600");
  EXPECT_EQ(ops[3].details["status"], "ok");
  EXPECT_EQ(ops[4].details["path"], path("d"));
  EXPECT_EQ(ops[5].details["to"], path("b"));
  EXPECT_EQ(ops[6].details["target"], path("b"));
  EXPECT_EQ(ops[6].details["link"], path("c"));
  EXPECT_EQ(ops[7].details["posix"], true);
  EXPECT_EQ(ops[8].details["target"], "b");
  EXPECT_EQ(ops[9].details["name"], "no-such-extension@example.com");
  EXPECT_EQ(ops[9].details["status"], "op_unsupported");
  EXPECT_EQ(ops[10].details["status"],
            "unclosed");  // the file was never closed: finish() says so
  EXPECT_EQ(::readlink(path("s").c_str(), std::array<char, 8>{}.data(), 8), 1);
}

TEST_F(SftpServerDriven, InterleavedPiecesOfRandomSizeGiveTheSameEvents) {
  const std::string h = reply_handle(open(1, "r", 0x02 | 0x08));
  server_->exchange(request(6, 2, str(h) + u64(0) + str(std::string(70000, 'x'))));
  server_->exchange(request(4, 3, str(h)));
  server_->exchange(request(13, 4, str(path("r"))));
  const Ops whole = parse_transcript(server_->transcript());
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    SftpParser p;
    Ops ops;
    for (const auto &[d, bytes] : server_->transcript()) feed_in_pieces(p, d, bytes, 1 + rng() % 3000, ops);
    ASSERT_EQ(kinds(ops), kinds(whole));
    for (std::size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(ops[i].details, whole[i].details);
  }
  EXPECT_EQ(whole[1].details["bytes_written"], 70000);
}

TEST_F(SftpServerDriven, PipelinedRequestsFedManyPacketsAtATimeGiveTheSameEvents) {
  const std::string h = reply_handle(open(1, "p", 0x02 | 0x08));
  for (std::uint32_t i = 0; i < 8; ++i)
    server_->send(request(6, 10 + i, str(h) + u64(i * 4096) + str(std::string(4096, 'p'))));
  server_->send(request(4, 30, str(h)));
  for (int i = 0; i < 9; ++i) server_->receive();
  // Runs of one direction become single feeds, as a busy channel read delivers
  // them.
  Transcript merged;
  for (const auto &[d, bytes] : server_->transcript()) {
    if (!merged.empty() && merged.back().first == d) {
      merged.back().second += bytes;
    } else {
      merged.emplace_back(d, bytes);
    }
  }
  ASSERT_EQ(merged.size(),
            6u);  // INIT, VERSION, OPEN, HANDLE, 9 requests, 9 replies
  const Ops ops = parse_transcript(merged);
  ASSERT_EQ(kinds(ops), (std::vector<std::string>{"sftp.open", "sftp.close"}));
  EXPECT_EQ(ops[1].details["bytes_written"], 8 * 4096);
  EXPECT_EQ(ops, parse_transcript(server_->transcript(), 1));
}

// ---- Hostile input
// ------------------------------------------------------------------------------

Ops feed_once(SftpParser &p, SftpDirection d, const std::string &bytes) { return p.feed(d, bytes); }

TEST(SftpParserHostile, OversizedLengthIsRefusedOnceFromItsFourBytesAlone) {
  SftpParser p;
  std::string huge;
  put_u32(huge, 256 * 1024 + 1025);
  const Ops ops = feed_once(p, SftpDirection::ToServer, init_packet() + huge);
  ASSERT_EQ(kinds(ops), std::vector<std::string>{"sftp.unparseable"});
  EXPECT_EQ(ops[0].details["offset"], 9);
  EXPECT_EQ(ops[0].details["direction"], "operator->server");
  EXPECT_TRUE(p.unparseable());
  EXPECT_TRUE(feed_once(p, SftpDirection::ToServer, std::string(1 << 20, 'x')).empty());
  EXPECT_TRUE(p.finish().empty());
}

TEST(SftpParserHostile, LargestLegalPacketIsAccepted) {
  SftpParser p;
  const std::string data(256 * 1024 - 1024, 'd');
  EXPECT_TRUE(feed_once(p, SftpDirection::ToServer, request(6, 1, str("h") + u64(0) + str(data))).empty());
  EXPECT_FALSE(p.unparseable());
}

TEST(SftpParserHostile, ZeroLengthUnknownTypesAndWrongDirectionAreUnparseable) {
  const std::vector<std::pair<SftpDirection, std::string>> bad = {
      {SftpDirection::ToServer, u32(0)},
      {SftpDirection::ToServer, packet(99, u32(1))},
      {SftpDirection::ToClient, packet(3, u32(1))},                          // a request type from the server
      {SftpDirection::ToServer, packet(101, u32(1))},                        // a reply type from the client
      {SftpDirection::ToClient, packet(2, u32(6))},                          // protocol version 6
      {SftpDirection::ToServer, packet(3, u32(1) + u32(500))},               // OPEN whose path runs past the packet
      {SftpDirection::ToServer, packet(3, "ab")},                            // too short for a request id
      {SftpDirection::ToServer, request(4, 1, str(std::string(257, 'h')))},  // handle over 256 bytes
      {SftpDirection::ToServer, request(3, 1, str("/p") + u32(1) + u32(0x80000000) + u32(0xFFFFFFFF))},
  };
  for (const auto &[d, bytes] : bad) {
    SftpParser p;
    const Ops ops = p.feed(d, bytes);
    ASSERT_EQ(kinds(ops), std::vector<std::string>{"sftp.unparseable"}) << ::testing::PrintToString(bytes);
    EXPECT_FALSE(ops[0].details["reason"].get<std::string>().empty());
  }
}

TEST(SftpParserHostile, TruncatedStreamReportsNothingButTheOpenFile) {
  SftpParser p;
  std::string stream = request(3, 1, str("/f") + u32(2) + no_attrs());
  ASSERT_TRUE(p.feed(SftpDirection::ToServer, stream).empty());
  std::string handle_reply = packet(102, u32(1) + str("H"));
  const Ops opened = p.feed(SftpDirection::ToClient, handle_reply);
  ASSERT_EQ(kinds(opened), std::vector<std::string>{"sftp.open"});
  const std::string write = request(6, 2, str("H") + u64(0) + str("abcdef"));
  EXPECT_TRUE(p.feed(SftpDirection::ToServer, write.substr(0, write.size() - 3)).empty());
  const Ops end = p.finish();
  ASSERT_EQ(kinds(end), std::vector<std::string>{"sftp.close"});
  EXPECT_EQ(end[0].details["status"], "unclosed");
  EXPECT_EQ(end[0].details["bytes_written"], 0);  // never acknowledged
  EXPECT_FALSE(p.unparseable());
}

TEST(SftpParserHostile, FiveThousandOutstandingRequestsStopAtTheBound) {
  SftpParser p;
  std::string flood;
  for (std::uint32_t id = 0; id < 5000; ++id) flood += request(13, id, str("/x"));
  const Ops ops = p.feed(SftpDirection::ToServer, flood);
  ASSERT_EQ(kinds(ops), std::vector<std::string>{"sftp.unparseable"});
  EXPECT_NE(ops[0].details["reason"].get<std::string>().find("more than 1024 outstanding"), std::string::npos);
}

TEST(SftpParserHostile, ReadOnlyRequestsAreNotTrackedSoTheyNeverHitTheBound) {
  SftpParser p;
  std::string stats;
  for (std::uint32_t id = 0; id < 5000; ++id) stats += request(17, id, str("/x"));
  EXPECT_TRUE(p.feed(SftpDirection::ToServer, stats).empty());
  EXPECT_FALSE(p.unparseable());
}

TEST(SftpParserHostile, TooManyOpenHandlesStopAtTheBound) {
  SftpParser p;
  Ops ops;
  for (std::uint32_t id = 0; id < 1100 && !p.unparseable(); ++id) {
    feed_in_pieces(p, SftpDirection::ToServer, request(3, id, str("/f") + u32(1) + no_attrs()), 0, ops);
    feed_in_pieces(p, SftpDirection::ToClient, packet(102, u32(id) + str(u32(id))), 0, ops);
  }
  ASSERT_EQ(ops.size(), 1025u);  // 1024 opens, then the refusal
  EXPECT_EQ(ops.back().kind, "sftp.unparseable");
  EXPECT_NE(ops.back().details["reason"].get<std::string>().find("open handles"), std::string::npos);
}

TEST(SftpParserHostile, ReusedOutstandingIdAndRepliesToUnknownIds) {
  SftpParser p;
  EXPECT_TRUE(p.feed(SftpDirection::ToClient, packet(101, u32(77) + u32(0) + str("") + str(""))).empty());
  EXPECT_FALSE(p.unparseable());
  p.feed(SftpDirection::ToServer, request(13, 5, str("/a")));
  const Ops ops = p.feed(SftpDirection::ToServer, request(13, 5, str("/b")));
  ASSERT_EQ(kinds(ops), std::vector<std::string>{"sftp.unparseable"});
}

TEST(SftpParserHostile, RandomBytesNeverCrashAndReportAtMostOnce) {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    SftpParser p;
    std::size_t unparseable = 0;
    for (int i = 0; i < 20; ++i) {
      std::string junk(1 + rng() % 600, '\0');
      for (char &c : junk) c = static_cast<char>(rng() % 4 == 0 ? rng() : 0);  // small lengths are likely
      for (const auto &op : p.feed(rng() % 2 ? SftpDirection::ToServer : SftpDirection::ToClient, junk)) {
        unparseable += op.kind == "sftp.unparseable";
      }
    }
    EXPECT_LE(unparseable, 1u);
    EXPECT_EQ(unparseable == 1, p.unparseable());
  }
}

}  // namespace
}  // namespace bastion::audit
