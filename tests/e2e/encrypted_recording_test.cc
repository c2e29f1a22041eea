// Encryption at rest and crypto-shredding (issue 20, points 2 and 3), end to end: recordings of two
// clients' servers written encrypted under each client's key by the real daemon; played back by
// `sessions play`; one client shredded — its copied-aside recording can no longer be decrypted by
// anyone while the other client's still plays; altered copies reported, naming the chunk.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/e2e/harness/db_lock.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

using namespace std::chrono_literals;

// closed_session: the id of the operator's only session once its row is closed.
long long closed_session(const Bastion& b, const std::string& op) {
  long long id = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        auto rows = sessions_of(b, op);
        if (rows.empty() || rows[0]["status"] == "live") return false;
        id = rows[0]["id"].get<long long>();
        return true;
      },
      15s));
  return id;
}

// recording_file: the one recording file of a session (STATE/recordings/ID/…).
std::string recording_file(const Bastion& b, long long session_id) {
  const std::string dir = b.state_dir() + "/recordings/" + std::to_string(session_id);
  for (const auto& e : std::filesystem::directory_iterator(dir)) return e.path().string();
  throw HarnessError("no recording in " + dir);
}

// chunk_offsets: where each chunk of a sealed file starts (audit/sealed_stream.h's layout, read
// here independently of the code under test).
std::vector<std::size_t> chunk_offsets(const std::string& file) {
  // magic, version, key id, salt, and in version 1 only a 24-byte secretstream header
  const std::size_t header = file.at(8) == 1 ? 24 : 0;
  std::size_t at = 8 + 1 + 1 + static_cast<unsigned char>(file.at(9)) + 16 + header;
  std::vector<std::size_t> out;
  while (at + 4 <= file.size()) {
    out.push_back(at);
    const std::size_t n = (std::size_t{static_cast<unsigned char>(file[at])} << 24) |
                          (std::size_t{static_cast<unsigned char>(file[at + 1])} << 16) |
                          (std::size_t{static_cast<unsigned char>(file[at + 2])} << 8) |
                          static_cast<unsigned char>(file[at + 3]);
    at += 4 + n;
  }
  return out;
}

class EncryptedRecording : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.bastion.add_server("db1", env_.target.port(), "dedicated", env_.target.host_key_line(), "globex");
    acme_op_ = std::make_unique<OperatorIdentity>(env_.new_operator("acme-op"));
    globex_op_ = std::make_unique<OperatorIdentity>(env_.new_operator("globex-op", kAllOps, "db1"));
    RunResult a = run_as(*acme_op_, acme_op_->ssh(acme_op_->user(env_.login(), "web1"), {"echo acme-secret-$((40+2))"}));
    ASSERT_EQ(a.exit(), 0) << diag(env_, a);
    RunResult g = run_as(*globex_op_, globex_op_->ssh(globex_op_->user(env_.login(), "db1"), {"echo globex-secret-$((40+2))"}));
    ASSERT_EQ(g.exit(), 0) << diag(env_, g);
    acme_session_ = closed_session(env_.bastion, acme_op_->name());
    globex_session_ = closed_session(env_.bastion, globex_op_->name());
    acme_file_ = recording_file(env_.bastion, acme_session_);
    globex_file_ = recording_file(env_.bastion, globex_session_);
  }

  RunResult play(long long id) const { return env_.bastion.ctl({"sessions", "play", std::to_string(id)}); }

  TestEnv env_;
  std::unique_ptr<OperatorIdentity> acme_op_, globex_op_;
  long long acme_session_ = 0, globex_session_ = 0;
  std::string acme_file_, globex_file_;
};

TEST_F(EncryptedRecording, EachClientsRecordingIsEncryptedOnDiskAndPlaysBack) {
  for (const auto& [file, secret] : {std::pair{acme_file_, "acme-secret-42"}, std::pair{globex_file_, "globex-secret-42"}}) {
    const std::string on_disk = read_file(file);
    EXPECT_EQ(on_disk.substr(0, 8), "BSTNSEAL") << file;
    EXPECT_EQ(on_disk.find(secret), std::string::npos) << file << " holds the session in clear";
  }
  RunResult a = play(acme_session_);
  EXPECT_EQ(a.exit(), 0) << a.describe();
  EXPECT_EQ(a.out, "acme-secret-42\n");
  RunResult g = play(globex_session_);
  EXPECT_EQ(g.exit(), 0) << g.describe();
  EXPECT_EQ(g.out, "globex-secret-42\n");
  // The chain's digest is of the file as it is on disk: verify needs no key.
  ::chmod(env_.bastion.master_key_file().c_str(), 0);
  RunResult verified = env_.bastion.ctl({"audit", "verify"});
  ::chmod(env_.bastion.master_key_file().c_str(), 0600);
  EXPECT_EQ(verified.exit(), 0) << verified.describe();
}

TEST_F(EncryptedRecording, ClientKeysListsIdsAndDatesNeverKeys) {
  const nlohmann::json keys = env_.bastion.ctl_json({"client", "keys"});
  ASSERT_EQ(keys.size(), 2u) << keys.dump();
  EXPECT_EQ(keys[0]["client"], "acme");
  EXPECT_EQ(keys[1]["client"], "globex");
  for (const auto& k : keys) {
    EXPECT_TRUE(k["destroyed_at"].is_null()) << k.dump();
    EXPECT_EQ(k.size(), 5u) << "a field beyond client, key_id, created_at, destroyed_at, destroyed_by: " << k.dump();
    EXPECT_EQ(read_file(acme_file_).find(k["key_id"].get<std::string>()) != std::string::npos, k["client"] == "acme");
  }
}

TEST_F(EncryptedRecording, AShreddedClientsCopiedRecordingCannotBeDecryptedWhileAnotherClientsStillPlays) {
  const std::string copy = env_.tmp.sub("backup", true) + "/acme-copy.rec";
  std::filesystem::copy_file(acme_file_, copy);
  const std::string before = env_.bastion.recording_text(copy);
  EXPECT_NE(before.find("acme-secret-42"), std::string::npos) << "the copy decrypts before the shred";

  RunResult unconfirmed = env_.bastion.ctl({"client", "shred", "acme"});
  EXPECT_NE(unconfirmed.exit(), 0) << unconfirmed.describe();
  EXPECT_TRUE(mentions(unconfirmed.err, "--confirm")) << unconfirmed.describe();

  RunResult shred = env_.bastion.ctl({"client", "shred", "acme", "--confirm"});
  ASSERT_EQ(shred.exit(), 0) << shred.describe();

  // The copy made before the shred: nobody can decrypt it, not even with the master key.
  RunResult gone = env_.bastion.ctl({"recording", "decrypt", copy});
  EXPECT_NE(gone.exit(), 0) << gone.describe();
  EXPECT_TRUE(mentions(gone.err, "destroyed on 20[0-9-]+T[0-9:]+Z by ")) << gone.describe();
  EXPECT_EQ(gone.out.find("acme-secret"), std::string::npos);
  // sessions play says the data was destroyed, when and by whom.
  RunResult played = play(acme_session_);
  EXPECT_NE(played.exit(), 0) << played.describe();
  EXPECT_TRUE(mentions(played.err, "the data of client acme was destroyed on 20[0-9-]+T[0-9:]+Z by ")) << played.describe();
  // The other client's recording still plays.
  RunResult other = play(globex_session_);
  EXPECT_EQ(other.exit(), 0) << other.describe();
  EXPECT_EQ(other.out, "globex-secret-42\n");

  // The shred is an audit event, the chain still verifies, and the key is listed as destroyed.
  const nlohmann::json events = env_.bastion.ctl_json({"audit", "list", "--kind", "client.shred"});
  ASSERT_EQ(events.size(), 1u) << events.dump();
  EXPECT_EQ(events[0]["details"]["client"], "acme");
  RunResult verified = env_.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(verified.exit(), 0) << verified.describe();
  const nlohmann::json keys = env_.bastion.ctl_json({"client", "keys"});
  EXPECT_FALSE(keys[0]["destroyed_at"].is_null()) << keys.dump();
  EXPECT_EQ(sqlite_value(env_.bastion, "SELECT count(*) FROM client_data_keys WHERE wrapped IS NOT NULL"), "1");

  // Nothing more of acme is recorded, so nothing of it reaches the server.
  OperatorIdentity late = env_.new_operator("late");
  RunResult refused = run_as(late, late.ssh(late.user(env_.login(), "web1"), {"echo after-shred"}));
  EXPECT_NE(refused.exit(), 0) << diag(env_, refused);
  EXPECT_EQ(refused.out.find("after-shred"), std::string::npos);
  EXPECT_TRUE(mentions(refused.err, "cannot be recorded")) << diag(env_, refused);
}

TEST_F(EncryptedRecording, AFlippedByteATruncationAndAReorderedChunkAreEachReported) {
  const std::string original = read_file(globex_file_);
  const auto chunks = chunk_offsets(original);
  ASSERT_GE(chunks.size(), 3u) << "magic, at least one record, the trailer and the final chunk";
  const std::string dir = env_.tmp.sub("copies", true);

  std::string flipped = original;
  flipped[chunks[1] + 10] ^= 0x01;
  write_file(dir + "/flipped", flipped, 0600);
  RunResult f = env_.bastion.ctl({"recording", "decrypt", dir + "/flipped"});
  EXPECT_NE(f.exit(), 0) << f.describe();
  EXPECT_TRUE(mentions(f.err, "altered: chunk 2 \\(at byte " + std::to_string(chunks[1]) + "\\) fails authentication"))
      << f.describe();

  write_file(dir + "/truncated", original.substr(0, chunks[1] + 7), 0600);
  RunResult t = env_.bastion.ctl({"recording", "decrypt", dir + "/truncated"});
  EXPECT_EQ(t.exit(), 0) << "a cut file reads up to its cut: " << t.describe();
  EXPECT_TRUE(mentions(t.err, "cut short inside chunk 2")) << t.describe();
  EXPECT_EQ(t.out, "BSTNREC1\n") << "chunk 1 holds the exec recording's magic";

  std::string reordered = original.substr(0, chunks[0]) + original.substr(chunks[1], chunks[2] - chunks[1]) +
                          original.substr(chunks[0], chunks[1] - chunks[0]) + original.substr(chunks[2]);
  write_file(dir + "/reordered", reordered, 0600);
  RunResult r = env_.bastion.ctl({"recording", "decrypt", dir + "/reordered"});
  EXPECT_NE(r.exit(), 0) << r.describe();
  EXPECT_TRUE(mentions(r.err, "altered: chunk 1 ")) << r.describe();

  // In place, the same alteration is what `sessions play` and `audit verify` report.
  write_file(globex_file_, flipped, 0600);
  RunResult played = play(globex_session_);
  EXPECT_NE(played.exit(), 0) << played.describe();
  EXPECT_TRUE(mentions(played.err, "altered")) << played.describe();
  RunResult verified = env_.bastion.ctl({"audit", "verify"});
  EXPECT_NE(verified.exit(), 0) << verified.describe();
}

}  // namespace
}  // namespace bastion::e2e
