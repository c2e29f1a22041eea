// Officers administer over SSH: `ssh boss@bastion grant add …` runs the admin command set (the same
// as bastionctl), `ssh -t boss@bastion` gives the admin console — never a shell (DESIGN.md rule 8) —
// and every change made that way is in the audit trail with the officer's name and address.
// boss logs in once (TOTP codes are accepted once) and multiplexes every command over that login.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/gpg.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

std::vector<std::string> grant_add_words(const TestEnv& env, const std::string& op) {
  return {"grant", "add", "--operator", op, "--server", "web1", "--login", env.login(), "--ops", "shell",
          "--for", "1h", "--reason", "test", "--json"};
}

class OfficerOverSsh : public ::testing::Test {
 protected:
  void SetUp() override {
    boss_ = std::make_unique<OperatorIdentity>(env_.bastion.add_operator("boss", {"--role", "officer"}));
    boss_->set_port(env_.bastion.port());
    alice_ = std::make_unique<OperatorIdentity>(env_.new_operator("alice", /*ops=*/{}));
    mux_ = std::make_unique<Multiplexed>(*boss_, env_.tmp.path() + "/cm-boss");
  }

  TestEnv env_;
  std::unique_ptr<OperatorIdentity> boss_, alice_;
  std::unique_ptr<Multiplexed> mux_;
};

TEST_F(OfficerOverSsh, GrantAddPrintsTheGrantAndIsAuditedWithActorAndAddress) {
  RunResult r = mux_->run(grant_add_words(env_, alice_->name()));
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  nlohmann::json g = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(g.is_discarded()) << "not JSON:\n" << diag(env_, r);
  if (g.contains("grant")) g = g["grant"];
  ASSERT_TRUE(g.contains("id")) << g.dump();
  EXPECT_EQ(g["operator"], alice_->name());
  EXPECT_EQ(g["server"], "web1");
  EXPECT_EQ(g["login"], env_.login());
  EXPECT_EQ(g["ops"], nlohmann::json::array({"shell"}));
  const auto id = g["id"].get<std::int64_t>();

  // It is a real grant: the store has it…
  nlohmann::json shown = env_.bastion.ctl_json({"grant", "show", std::to_string(id)});
  EXPECT_EQ(shown["operator"], alice_->name()) << shown.dump();
  // …and a second change over the same login: revoke it again.
  RunResult revoke = mux_->run({"grant", "revoke", std::to_string(id)});
  ASSERT_EQ(revoke.exit(), 0) << diag(env_, revoke);

  // Every admin change made over SSH is an admin.* event by boss from a loopback address and port.
  std::vector<std::string> kinds;
  for (const auto& e : env_.bastion.ctl_json({"audit", "list", "--actor", "boss"})) {
    const std::string kind = e["kind"];
    if (kind.rfind("admin.", 0) != 0) continue;
    kinds.push_back(kind);
    EXPECT_TRUE(mentions(e["source"].get<std::string>(), "^127\\.0\\.0\\.1:[0-9]+$")) << e.dump();
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"admin.grant.add", "admin.grant.revoke"}))
      << env_.bastion.ctl_ok({"audit", "list"}).out;
}

TEST_F(OfficerOverSsh, ConsoleRunsCommandsAndNeverAShell) {
  std::int64_t id = env_.bastion.grant(alice_->name(), "web1", env_.login(), {"shell"});
  RunResult r = mux_->run({}, std::string("grant list --json\nsh\nbash\necho shell-$((6*7))\nexit\n"), {"-tt"});
  EXPECT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_FALSE(r.status.timed_out) << diag(env_, r);
  EXPECT_TRUE(mentions(r.out, "\"id\": *" + std::to_string(id) + "[^0-9]")) << diag(env_, r);
  EXPECT_NE(r.out.find(alice_->name()), std::string::npos) << diag(env_, r);
  EXPECT_TRUE(mentions(r.out, "unknown command 'sh'")) << diag(env_, r);
  EXPECT_TRUE(mentions(r.out, "unknown command 'bash'")) << diag(env_, r);
  EXPECT_EQ(r.out.find("shell-42"), std::string::npos) << "a shell evaluated the input:\n" << diag(env_, r);
  EXPECT_EQ(r.out.find("uid="), std::string::npos) << diag(env_, r);
}

TEST_F(OfficerOverSsh, NoShellThroughExecEither) {
  RunResult r = mux_->run({"sh", "-c", "'echo shell-$((6*7))'"});
  EXPECT_NE(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(r.out.find("shell-42"), std::string::npos) << diag(env_, r);
  EXPECT_TRUE(mentions(r.err, "unknown command 'sh'")) << diag(env_, r);
}

// Over SSH an officer must not make the bastion write a path of its own host: `export --out` is
// refused (and nothing is created), and without it the archive arrives on the channel's stdout,
// encrypted (OpenPGP) under the passphrase given on the first line of the channel's stdin: stock
// gpg opens it into the .tar.gz; no passphrase or a short one exports nothing.
TEST_F(OfficerOverSsh, ExportStreamsTheArchiveAndNeverWritesAPathOnTheBastion) {
  const std::string path = env_.tmp.path() + "/written-by-bastion.tar.gz";
  RunResult refused = mux_->run({"export", "--client", "acme", "--out", path});
  EXPECT_NE(refused.exit(), 0) << diag(env_, refused);
  EXPECT_TRUE(mentions(refused.err, "over SSH the archive goes to standard output")) << diag(env_, refused);
  EXPECT_FALSE(file_exists(path));

  RunResult no_passphrase = mux_->run({"export", "--client", "acme"}, std::string());
  EXPECT_NE(no_passphrase.exit(), 0) << diag(env_, no_passphrase);
  EXPECT_TRUE(mentions(no_passphrase.err, "passphrase on the first line of standard input")) << diag(env_, no_passphrase);
  EXPECT_TRUE(no_passphrase.out.empty());
  RunResult too_short = mux_->run({"export", "--client", "acme"}, std::string("tiny-secret\n"));
  EXPECT_NE(too_short.exit(), 0) << diag(env_, too_short);
  EXPECT_TRUE(mentions(too_short.err, "passphrase is too short")) << diag(env_, too_short);
  EXPECT_TRUE(too_short.out.empty());
  EXPECT_TRUE(events_of_kind(env_.bastion, "admin.client.export").empty());

  const std::string passphrase = "officer's export passphrase 7";
  // More input after the first line is never read as part of the passphrase.
  RunResult streamed = mux_->run({"export", "--client", "acme"}, passphrase + "\nnot part of it\n");
  ASSERT_EQ(streamed.exit(), 0) << diag(env_, streamed);
  ASSERT_GE(streamed.out.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(streamed.out[0]), 0xc3u) << "stdout does not start with an OpenPGP SKESK packet";
  EXPECT_EQ(streamed.out.find("sessions.json"), std::string::npos);
  RunResult wrong = gpg_decrypt(env_.tmp.path(), streamed.out, passphrase + "x");
  EXPECT_NE(wrong.exit(), 0) << wrong.err;
  RunResult clear = gpg_decrypt(env_.tmp.path(), streamed.out, passphrase);
  ASSERT_EQ(clear.exit(), 0) << clear.err;
  EXPECT_TRUE(mentions(clear.err, "AES256")) << clear.err;
  ASSERT_GE(clear.out.size(), 2u);
  EXPECT_EQ(clear.out.substr(0, 2), "\x1f\x8b") << "gpg's output is not a gzip stream";
  RunResult listing = run({"tar", "-tzf", "-"}, base_env(), clear.out);
  ASSERT_EQ(listing.exit(), 0) << listing.err;
  EXPECT_TRUE(mentions(listing.out, "sessions\\.json")) << listing.out;
  EXPECT_TRUE(mentions(listing.out, "events\\.json")) << listing.out;
  EXPECT_TRUE(mentions(streamed.err, "exported acme, encrypted")) << streamed.err;
  auto exports = events_of_kind(env_.bastion, "admin.client.export");
  ASSERT_EQ(exports.size(), 1u);
  EXPECT_EQ(exports[0]["actor"], boss_->name());
  EXPECT_EQ(exports[0]["details"]["out"], "-");
  EXPECT_TRUE(mentions(exports[0]["details"]["encrypted"]["s2k"].get<std::string>(), "SHA-256")) << exports[0].dump();
  // The passphrase is nowhere in the audit trail nor in bastiond's log.
  EXPECT_EQ(env_.bastion.ctl_ok({"audit", "list", "--json"}).out.find(passphrase), std::string::npos);
  EXPECT_EQ(env_.bastion.log().find(passphrase), std::string::npos);
}

TEST(OperatorOverSsh, AdminCommandIsRefusedWithTheRoleMessage) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  RunResult r = run_as(alice, alice.ssh(alice.user(), grant_add_words(env, alice.name())));
  EXPECT_NE(r.exit(), 0) << diag(env, r);
  EXPECT_TRUE(mentions(r.err, "officer command")) << diag(env, r);
  EXPECT_TRUE(mentions(r.err, "you are an operator")) << diag(env, r);
  // Nothing was granted.
  for (const auto& g : env.bastion.ctl_json({"grant", "list"})) EXPECT_NE(g["reason"], "test") << g.dump();
}

}  // namespace
}  // namespace bastion::e2e
