// Client reviewers see their own client's servers only: sessions, recordings and audit events of
// web1 (client acme) but nothing of web2 (client globex), and no officer command. carol logs in once
// (TOTP codes are accepted once) and multiplexes every command over that login.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/gpg.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

class ClientReviewer : public ::testing::Test {
 protected:
  void SetUp() override {
    // web2: the same sshd, registered as another client's server.
    env_.bastion.add_server("web2", env_.target.port(), "dedicated", env_.target.host_key_line(), "globex");
    OperatorIdentity on1 = env_.new_operator("op", kAllOps, "web1");
    OperatorIdentity on2 = env_.new_operator("op", kAllOps, "web2");
    RunResult r1 = run_as(on1, on1.ssh(on1.user(env_.login(), "web1"), {"echo web1-secret-$((6*7))"}));
    ASSERT_EQ(r1.out, "web1-secret-42\n") << diag(env_, r1);
    RunResult r2 = run_as(on2, on2.ssh(on2.user(env_.login(), "web2"), {"echo web2-secret-$((6*7))"}));
    ASSERT_EQ(r2.out, "web2-secret-42\n") << diag(env_, r2);
    web1_session_ = only_session(on1.name());
    web2_session_ = only_session(on2.name());

    carol_ = std::make_unique<OperatorIdentity>(env_.bastion.add_operator("carol", {"--role", "client", "--client", "acme"}));
    carol_->set_port(env_.bastion.port());
    mux_ = std::make_unique<Multiplexed>(*carol_, env_.tmp.path() + "/cm-carol");
  }

  std::int64_t only_session(const std::string& op) {
    auto rows = sessions_of(env_.bastion, op);
    if (rows.size() != 1) throw HarnessError("expected one session of " + op + ", got " + std::to_string(rows.size()));
    return rows[0]["id"].get<std::int64_t>();
  }

  TestEnv env_;
  std::int64_t web1_session_ = 0, web2_session_ = 0;
  std::unique_ptr<OperatorIdentity> carol_;
  std::unique_ptr<Multiplexed> mux_;
};

TEST_F(ClientReviewer, SeesOnlyHerClientsSessionsAndRecordings) {
  RunResult list = mux_->run({"sessions", "list", "--json"});
  ASSERT_EQ(list.exit(), 0) << diag(env_, list);
  nlohmann::json rows = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(rows.is_array()) << diag(env_, list);
  std::vector<std::int64_t> ids;
  for (const auto& s : rows) {
    ids.push_back(s["id"].get<std::int64_t>());
    EXPECT_EQ(s["server"], "web1") << s.dump();
  }
  EXPECT_EQ(ids, std::vector<std::int64_t>{web1_session_}) << list.out;

  RunResult play = mux_->run({"sessions", "play", std::to_string(web1_session_)});
  EXPECT_EQ(play.exit(), 0) << diag(env_, play);
  EXPECT_NE(play.out.find("web1-secret-42"), std::string::npos) << diag(env_, play);

  for (const char* verb : {"play", "export"}) {
    RunResult other = mux_->run({"sessions", verb, std::to_string(web2_session_)});
    EXPECT_NE(other.exit(), 0) << verb << "\n" << diag(env_, other);
    EXPECT_TRUE(mentions(other.err, "not one of your client")) << verb << "\n" << diag(env_, other);
    EXPECT_EQ(other.out.find("web2-secret"), std::string::npos) << verb << "\n" << diag(env_, other);
  }
}

TEST_F(ClientReviewer, SeesOnlyHerClientsAuditEventsAndChangesNothing) {
  RunResult audit = mux_->run({"audit", "list", "--json"});
  ASSERT_EQ(audit.exit(), 0) << diag(env_, audit);
  nlohmann::json events = nlohmann::json::parse(audit.out, nullptr, false);
  ASSERT_TRUE(events.is_array()) << diag(env_, audit);
  bool saw_web1 = false;
  for (const auto& e : events) {
    EXPECT_NE(e["server"], "web2") << e.dump();
    EXPECT_NE(e["session_id"], web2_session_) << e.dump();
    if (e["server"] == "web1") saw_web1 = true;
  }
  EXPECT_TRUE(saw_web1) << audit.out;

  RunResult change = mux_->run({"grant", "add", "--operator", "carol", "--server", "web1", "--login", env_.login(),
                                "--ops", "shell", "--for", "1h", "--reason", "carol-self-grant"});
  EXPECT_NE(change.exit(), 0) << diag(env_, change);
  EXPECT_TRUE(mentions(change.err, "officer command.*client reviewer")) << diag(env_, change);
  for (const auto& g : env_.bastion.ctl_json({"grant", "list"})) EXPECT_NE(g["reason"], "carol-self-grant");
}

// "Export our data" over SSH: the reviewer streams her own client's archive (the same rule and
// record as the web portal's download); another client's is refused and recorded nowhere.
TEST_F(ClientReviewer, ExportsHerOwnClientsDataOnly) {
  const std::string passphrase = "carol's own passphrase";
  RunResult own = mux_->run({"export", "--client", "acme"}, passphrase + "\n");
  ASSERT_EQ(own.exit(), 0) << diag(env_, own);
  RunResult clear = gpg_decrypt(env_.tmp.path(), own.out, passphrase);
  ASSERT_EQ(clear.exit(), 0) << clear.err;
  ASSERT_GT(clear.out.size(), 2u) << clear.err;
  EXPECT_EQ(clear.out.substr(0, 2), std::string("\x1f\x8b")) << "not a gzip stream";
  RunResult other = mux_->run({"export", "--client", "globex"}, passphrase + "\n");
  EXPECT_NE(other.exit(), 0) << diag(env_, other);
  EXPECT_TRUE(mentions(other.err, "own client's data only")) << diag(env_, other);
  EXPECT_TRUE(other.out.empty()) << diag(env_, other);
  const auto exports = env_.bastion.ctl_json({"audit", "list", "--kind", "admin.client.export"});
  ASSERT_EQ(exports.size(), 1u) << exports.dump();
  EXPECT_EQ(exports[0]["actor"], "carol");
  EXPECT_EQ(exports[0]["details"]["client"], "acme");
}

}  // namespace
}  // namespace bastion::e2e
