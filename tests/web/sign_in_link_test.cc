// sign_in_with_link: a web-login link opens one portal session for its own account, once, within
// its 2 minutes; every other use is a refusal with a sentence and an auth.failure event, counted
// against the source address only.
#include "web/sign_in.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "audit/sqlite_event_log.h"
#include "authz/sqlite_ban_store.h"
#include "authz/sqlite_store.h"
#include "authz/totp.h"
#include "authz/web_account_store.h"
#include "authz/web_password.h"
#include "authz/web_session_policy.h"

namespace bastion::web {
namespace {

const Seconds t0{std::chrono::seconds{1'800'000'000}};

class SignInLink : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-web-link-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto db = db::Database::open(dir_ + "/bastion.db", true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    authz::SqliteStore store(db_);
    db_->exec("INSERT INTO clients (name) VALUES ('acme')");
    ASSERT_TRUE(store.add_operator({"carol", authz::Role::Client, "acme", authz::new_totp_secret()}).ok());
    ASSERT_TRUE(store.add_operator({"alice", authz::Role::Operator, "", authz::new_totp_secret()}).ok());
    sinks_.auth_failure_lines = false;
    auto scope = RequestScope::open(dir_ + "/bastion.db", clock_, sinks_);
    ASSERT_TRUE(scope.ok()) << scope.error().message;
    scope_ = std::move(*scope);
  }
  void TearDown() override {
    scope_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // issue stores a link of `name`'s, issued now, and returns its token.
  std::string issue(const std::string& name) {
    const std::string token = authz::new_web_token();
    authz::WebAccountStore(db_).add_login_link(scope_->store.find_operator(name)->id, authz::token_hash(token),
                                               clock_.now(), clock_.now() + authz::kWebLoginLinkLife);
    return token;
  }
  Result<SignedIn> use(const std::string& token) {
    return sign_in_with_link(*scope_, token, where_, clock_, policy_, sinks_);
  }
  std::vector<audit::StoredEvent> events(const std::string& kind) {
    audit::EventFilter f;
    f.kind = kind;
    return audit::list_events(*db_, f);
  }
  std::int64_t count(const std::string& sql) {
    auto q = db_->prepare(sql);
    return q.step() ? q.col_int(0) : -1;
  }

  std::string dir_;
  db::DatabasePtr db_;
  FixedClock clock_{t0};
  audit::EventSinks sinks_;
  authz::BanPolicy policy_;
  std::unique_ptr<RequestScope> scope_;
  const SignInAttempt where_{"", "", "", "192.0.2.9", "192.0.2.9:40000"};
};

TEST_F(SignInLink, OpensOneSessionOfItsOwnAccountAndRecordsIt) {
  const std::string token = issue("carol");
  clock_.advance(std::chrono::seconds(119));
  auto done = use(token);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->who.name, "carol");
  auto row = authz::WebAccountStore(db_).find_session(authz::token_hash(done->token));
  ASSERT_TRUE(row.has_value()) << "the same portal sessions as a password sign-in";
  EXPECT_EQ(row->operator_name, "carol");
  EXPECT_EQ(row->source, "192.0.2.9:40000");
  const auto ok = events("auth.success");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].event.actor, "carol");
  EXPECT_EQ(ok[0].event.details["method"], "web-login-link");
  EXPECT_EQ(ok[0].event.details["front"], "web");
}

TEST_F(SignInLink, ASecondUseIsRefusedAndOpensNothing) {
  const std::string token = issue("carol");
  ASSERT_TRUE(use(token).ok());
  EXPECT_EQ(link_problem(*scope_, token, clock_).value_or(""),
            "this sign-in link was already used: each link signs in once; run `ssh YOUR-ACCOUNT@bastion web-login` "
            "for a new one");
  auto again = use(token);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already used"), std::string::npos) << again.error().message;
  EXPECT_EQ(count("SELECT count(*) FROM web_sessions"), 1);
  const auto failed = events("auth.failure");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].event.actor, "carol");
  EXPECT_EQ(failed[0].event.details["reason"], "sign-in link already used");
  EXPECT_EQ(failed[0].event.details["method"], "web-login-link");
  EXPECT_EQ(count("SELECT count(*) FROM auth_failures WHERE account = 'carol'"), 0) << "nobody locks carol out";
  EXPECT_EQ(count("SELECT count(*) FROM auth_failures WHERE source = '192.0.2.9'"), 1);
}

TEST_F(SignInLink, AfterTwoMinutesItIsExpired) {
  const std::string token = issue("carol");
  clock_.advance(authz::kWebLoginLinkLife);
  EXPECT_TRUE(link_problem(*scope_, token, clock_).has_value());
  auto late = use(token);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("has expired: a link lasts 2 minutes"), std::string::npos) << late.error().message;
  EXPECT_EQ(count("SELECT count(*) FROM web_sessions"), 0);
  ASSERT_EQ(events("auth.failure").size(), 1u);
  EXPECT_EQ(events("auth.failure")[0].event.details["reason"], "sign-in link expired");
}

TEST_F(SignInLink, AnUnknownTokenIsRefused) {
  issue("carol");
  auto made_up = use(authz::new_web_token());
  ASSERT_FALSE(made_up.ok());
  EXPECT_NE(made_up.error().message.find("not valid"), std::string::npos);
  ASSERT_EQ(events("auth.failure").size(), 1u);
  EXPECT_EQ(events("auth.failure")[0].event.details["invalid_user"], true);
}

TEST_F(SignInLink, AnAccountThatBecameAnOperatorOrWasDisabledIsNotSignedIn) {
  const std::string token = issue("carol");
  db_->exec("UPDATE operators SET role = 'operator', client = NULL WHERE name = 'carol'");
  auto refused = use(token);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "the web portal is for client reviewers and security officers");
  db_->exec("UPDATE operators SET role = 'client', client = 'acme', disabled = 1 WHERE name = 'carol'");
  auto disabled = use(token);
  ASSERT_FALSE(disabled.ok());
  EXPECT_NE(disabled.error().message.find("disabled"), std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM web_sessions"), 0);
  EXPECT_EQ(authz::WebAccountStore(db_).login_link(authz::token_hash(token), clock_.now()).state,
            authz::LoginLinkState::Usable)
      << "a refused account does not use up the link";
}

TEST_F(SignInLink, ABannedSourceIsRefusedBeforeTheLinkIsUsed) {
  for (int i = 0; i < policy_.source_failures; ++i) {
    auto failed = use(authz::new_web_token());
    ASSERT_FALSE(failed.ok());
  }
  const std::string token = issue("carol");
  auto banned = use(token);
  ASSERT_FALSE(banned.ok());
  EXPECT_EQ(authz::WebAccountStore(db_).login_link(authz::token_hash(token), clock_.now()).state,
            authz::LoginLinkState::Usable);
  EXPECT_EQ(count("SELECT count(*) FROM web_sessions"), 0);
}

}  // namespace
}  // namespace bastion::web
