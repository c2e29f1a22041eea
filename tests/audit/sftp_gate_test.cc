// Tests for audit/sftp_gate.cc: the real OpenSSH sftp-server behind the gate, fed real SFTP v3
// packets. What the gate refuses never reaches the server (the files on disk prove it), the
// operator gets a PERMISSION_DENIED answer with the request's id and the reason, and every refusal
// is an event; hostile framing ends the channel.
#include "audit/sftp_gate.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/audit/sftp_test_util.h"

namespace bastion::audit {
namespace {

using namespace testing;

constexpr std::uint8_t kOpen = 3, kClose = 4, kRead = 5, kWrite = 6, kStat = 17, kRemove = 13, kMkdir = 14,
                       kRealpath = 16, kRename = 18, kSymlink = 20, kExtended = 200;
constexpr std::uint32_t kRead_ = 0x01, kWrite_ = 0x02, kCreat = 0x08, kTrunc = 0x10;

authz::CatalogueEntry entry(std::string name, authz::OpType type, authz::TransferLimit d, std::string path) {
  authz::CatalogueEntry e;
  e.name = std::move(name);
  e.type = type;
  e.direction = d;
  e.path = std::move(path);
  return e;
}

struct StatusReply {
  std::uint8_t type = 0;
  std::uint32_t id = 0;
  std::uint32_t code = 0;
  std::string message;
};

std::uint32_t be32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s.at(at + i));
  return v;
}

// status_of reads a STATUS reply packet.
StatusReply status_of(const std::string& p) {
  StatusReply s;
  s.type = reply_type(p);
  s.id = be32(p, 5);
  if (s.type == 101) {
    s.code = be32(p, 9);
    s.message = p.substr(17, be32(p, 13));
  }
  return s;
}

std::string open_req(std::uint32_t id, const std::string& path, std::uint32_t pflags) {
  return request(kOpen, id, str(path) + u32(pflags) + no_attrs());
}

// Gated: the gate in front of a real sftp-server, as the bastion runs it.
class Gated : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kSftpServer, X_OK) != 0) GTEST_SKIP() << kSftpServer << " not installed";
    ASSERT_EQ(::mkdir((dir_ / "www").c_str(), 0700), 0);
    std::ofstream(dir_ / "www/index.html") << "hello";
    std::ofstream(dir_ / "secret") << "do not read";
  }

  // gate puts a new gate in front of the server; the first one also passes the INIT/VERSION
  // handshake (sftp-server takes one INIT per process).
  void gate(std::vector<authz::CatalogueEntry> entries, SftpLimits limits = {}) {
    gate_ = std::make_unique<SftpGate>(
        std::move(entries),
        [this](const std::string& kind, nlohmann::json details) -> Status {
          if (sink_fails_) return Error{"disk full"};
          events_.push_back({kind, std::move(details)});
          return ok_status();
        },
        limits);
    if (!handshaken_) {
      ASSERT_EQ(exchange(init_packet()).at(4), 2);  // VERSION
    }
    handshaken_ = true;
  }

  // exchange sends one packet through the gate and returns what the operator gets back: the
  // server's reply if it was forwarded, the gate's answer if not.
  std::string exchange(const std::string& packet) {
    std::string forward;
    auto st = gate_->from_operator(packet, forward);
    EXPECT_TRUE(st.ok()) << st.error().message;
    std::string back;
    if (forward.empty()) {
      gate_->take_answers(back);
      return back;
    }
    EXPECT_EQ(forward, packet);  // allowed requests pass byte for byte
    const std::string reply = server_.exchange(forward);
    EXPECT_TRUE(gate_->from_server(reply, back).ok());
    EXPECT_EQ(back, reply);
    return back;
  }

  std::string handle_of(const std::string& reply) { return reply_handle(reply); }
  std::string path(const std::string& name) const { return dir_ / name; }

  TempDir dir_;
  SftpServer server_;
  std::unique_ptr<SftpGate> gate_;
  std::vector<SftpOperation> events_;
  bool sink_fails_ = false;
  bool handshaken_ = false;
};

TEST_F(Gated, DownloadOnlyEntryReadsUnderItsPathAndRefusesWritesWithTheReason) {
  gate({entry("www-down", authz::OpType::Sftp, authz::TransferLimit::Download, path("www") + "/**")});
  const std::string h = handle_of(exchange(open_req(1, path("www/index.html"), kRead_)));
  const std::string data = exchange(request(kRead, 2, str(h) + u64(0) + u32(100)));
  EXPECT_EQ(reply_type(data), 103);
  EXPECT_NE(data.find("hello"), std::string::npos);

  // A WRITE on the handle opened for reading never reaches the server.
  const StatusReply w = status_of(exchange(request(kWrite, 3, str(h) + u64(0) + str("pwned"))));
  EXPECT_EQ(w.type, 101);
  EXPECT_EQ(w.id, 3u);
  EXPECT_EQ(w.code, 3u);  // SSH_FX_PERMISSION_DENIED
  EXPECT_EQ(w.message, "bastion: write on '" + path("www/index.html") + "', which was not opened for writing");

  const StatusReply o = status_of(exchange(open_req(4, path("www/new.html"), kWrite_ | kCreat | kTrunc)));
  EXPECT_EQ(o.id, 4u);
  EXPECT_EQ(o.code, 3u);
  EXPECT_EQ(o.message, "bastion: open of '" + path("www/new.html") +
                           "' refused: entry 'www-down' allows download only, under " + path("www") + "/**");
  EXPECT_FALSE(std::filesystem::exists(path("www/new.html")));
  // O_RDONLY|O_TRUNC empties a file too: an upload.
  EXPECT_EQ(status_of(exchange(open_req(5, path("www/index.html"), kTrunc))).code, 3u);
  EXPECT_EQ(*read_file(path("www/index.html")), "hello");

  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].kind, "sftp.refused");
  EXPECT_EQ(events_[0].details["request"], "write");
  EXPECT_EQ(events_[1].details["request"], "open");
  EXPECT_EQ(events_[1].details["paths"], nlohmann::json::array({path("www/new.html")}));
  EXPECT_EQ(events_[1].details["id"], 4);
  std::string notices;
  gate_->take_notices(notices);
  EXPECT_NE(notices.find("bastion: open of '" + path("www/new.html") + "' refused"), std::string::npos) << notices;
}

TEST_F(Gated, PathsOutsideThePatternDotDotAndRelativePathsAreAnsweredByTheBastion) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  EXPECT_EQ(status_of(exchange(open_req(1, path("secret"), kRead_))).code, 3u);
  EXPECT_EQ(status_of(exchange(open_req(2, path("www/../secret"), kRead_))).code, 3u);
  EXPECT_EQ(status_of(exchange(request(kRemove, 3, str(path("secret"))))).code, 3u);
  EXPECT_TRUE(std::filesystem::exists(path("secret")));
  const StatusReply rel = status_of(exchange(open_req(4, "index.html", kRead_)));
  EXPECT_NE(rel.message.find("'index.html' is a relative path: name the absolute path"), std::string::npos)
      << rel.message;
  EXPECT_EQ(status_of(exchange(request(kStat, 5, str(path("secret"))))).code, 3u);  // not even a look
  // Where the login starts is always answered; the server's own reply comes back.
  EXPECT_EQ(reply_type(exchange(request(kRealpath, 6, str(".")))), 104);
  // Inside: allowed, and the server does it.
  EXPECT_EQ(status_of(exchange(request(kMkdir, 7, str(path("www/d")) + no_attrs()))).code, 0u);
  EXPECT_TRUE(std::filesystem::is_directory(path("www/d")));
  EXPECT_EQ(events_.size(), 5u);
}

TEST_F(Gated, SymlinksPointingOutsideAndRenamesOutOfThePathAreRefused) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  // OpenSSH's argument order: target first, then the link.
  EXPECT_EQ(status_of(exchange(request(kSymlink, 1, str(path("secret")) + str(path("www/s"))))).code, 3u);
  EXPECT_EQ(status_of(exchange(request(kSymlink, 2, str("../secret") + str(path("www/s"))))).code, 3u);
  EXPECT_FALSE(std::filesystem::is_symlink(path("www/s")));
  EXPECT_EQ(status_of(exchange(request(kSymlink, 3, str("index.html") + str(path("www/s"))))).code, 0u);
  EXPECT_TRUE(std::filesystem::is_symlink(path("www/s")));
  EXPECT_EQ(status_of(exchange(request(kRename, 4, str(path("www/index.html")) + str(path("moved"))))).code, 3u);
  EXPECT_EQ(status_of(exchange(request(kExtended, 5, str("hardlink@openssh.com") + str(path("secret")) +
                                                         str(path("www/h")))))
                .code,
            3u);
  EXPECT_FALSE(std::filesystem::exists(path("www/h")));
  EXPECT_TRUE(std::filesystem::exists(path("www/index.html")));
}

TEST_F(Gated, AnScpEntryUploadsButNeverRemovesRenamesOrLinks) {
  gate({entry("www-up", authz::OpType::Scp, authz::TransferLimit::Upload, path("www") + "/**")});
  const std::string h = handle_of(exchange(open_req(1, path("www/up.txt"), kWrite_ | kCreat | kTrunc)));
  EXPECT_EQ(status_of(exchange(request(kWrite, 2, str(h) + u64(0) + str("uploaded")))).code, 0u);
  EXPECT_EQ(status_of(exchange(request(kRead, 3, str(h) + u64(0) + u32(10)))).code, 3u);  // not readable
  EXPECT_EQ(status_of(exchange(request(kClose, 4, str(h)))).code, 0u);
  EXPECT_EQ(*read_file(path("www/up.txt")), "uploaded");
  const StatusReply rm = status_of(exchange(request(kRemove, 5, str(path("www/up.txt")))));
  EXPECT_NE(rm.message.find("scp never removes, renames or links"), std::string::npos) << rm.message;
  EXPECT_TRUE(std::filesystem::exists(path("www/up.txt")));
  // Reading is a download, refused; after CLOSE the handle stands for nothing.
  EXPECT_EQ(status_of(exchange(open_req(6, path("www/index.html"), kRead_))).code, 3u);
  EXPECT_EQ(status_of(exchange(request(kWrite, 7, str(h) + u64(0) + str("x")))).code, 3u);
  EXPECT_EQ(status_of(exchange(request(kExtended, 8, str("copy-data") + str(h) + u64(0) + u64(0) + str(h) + u64(0))))
                .code,
            3u);
}

TEST_F(Gated, UnknownExtendedRequestsAreRefusedAndServerLimitsAnswered) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  EXPECT_EQ(status_of(exchange(request(kExtended, 1, str("made-up@example.com") + str("/etc/shadow")))).code, 3u);
  EXPECT_EQ(reply_type(exchange(request(kExtended, 2, str("limits@openssh.com")))), 201);
}

TEST_F(Gated, AnAnswerWaitsForTheEndOfTheServersPacket) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Download, path("www") + "/**")});
  // The server's reply to a forwarded request arrives in two pieces; a refusal comes in between.
  std::string forward;
  ASSERT_TRUE(gate_->from_operator(request(kStat, 1, str(path("www/index.html"))), forward).ok());
  const std::string reply = server_.exchange(forward);
  std::string out;
  ASSERT_TRUE(gate_->from_server(reply.substr(0, 6), out).ok());
  std::string refused_forward;
  ASSERT_TRUE(gate_->from_operator(request(kRemove, 2, str(path("www/index.html"))), refused_forward).ok());
  EXPECT_TRUE(refused_forward.empty());
  std::string early;
  gate_->take_answers(early);
  EXPECT_TRUE(early.empty());  // mid-packet: it would corrupt the reply
  EXPECT_GT(gate_->answers_waiting(), 0u);
  ASSERT_TRUE(gate_->from_server(reply.substr(6), out).ok());
  ASSERT_GT(out.size(), reply.size());
  EXPECT_EQ(out.substr(0, reply.size()), reply);
  const StatusReply answer = status_of(out.substr(reply.size()));
  EXPECT_EQ(answer.id, 2u);
  EXPECT_EQ(answer.code, 3u);
  EXPECT_EQ(gate_->answers_waiting(), 0u);
}

TEST_F(Gated, RequestsSplitAnywhereAreForwardedWhole) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  const std::string two = open_req(1, path("www/index.html"), kRead_) + request(kRemove, 2, str(path("secret")));
  std::string forward;
  for (char c : two) ASSERT_TRUE(gate_->from_operator(std::string(1, c), forward).ok());
  EXPECT_EQ(forward, open_req(1, path("www/index.html"), kRead_));
  EXPECT_GT(gate_->answers_waiting(), 0u);
}

TEST_F(Gated, MalformedOrOversizedInputAndUnwritableEventsEndTheChannel) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  std::string forward;
  // OPEN cut short inside its path string.
  auto bad = gate_->from_operator(packet(kOpen, u32(1) + u32(50) + "abc"), forward);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "malformed SFTP request of type 3 from the operator");
  EXPECT_FALSE(gate_->from_operator(init_packet(), forward).ok());  // nothing more after that

  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")}, SftpLimits{1024, 4, 4});
  EXPECT_FALSE(gate_->from_operator(u32(4096) + "x", forward).ok());

  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  std::string reply_side;
  EXPECT_FALSE(gate_->from_server(packet(7, u32(1)), reply_side).ok());  // not a reply type

  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")});
  sink_fails_ = true;
  auto unrecorded = gate_->from_operator(request(kRemove, 9, str(path("secret"))), forward);
  ASSERT_FALSE(unrecorded.ok());
  EXPECT_EQ(unrecorded.error().message, "the refusal of an SFTP request could not be recorded: disk full");
}

TEST_F(Gated, OutstandingOpensAreBounded) {
  gate({entry("www", authz::OpType::Sftp, authz::TransferLimit::Both, path("www") + "/**")}, SftpLimits{64 * 1024, 2, 2});
  std::string forward;
  ASSERT_TRUE(gate_->from_operator(open_req(1, path("www/index.html"), kRead_), forward).ok());
  ASSERT_TRUE(gate_->from_operator(open_req(2, path("www/index.html"), kRead_), forward).ok());
  auto third = gate_->from_operator(open_req(3, path("www/index.html"), kRead_), forward);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().message, "more than 2 outstanding SFTP opens");
}

}  // namespace
}  // namespace bastion::audit
