#include "authz/web_account_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "authz/sqlite_store.h"
#include "authz/totp.h"
#include "authz/web_password.h"
#include "tests/db/test_database.h"

namespace bastion::authz {
namespace {

const Seconds t0{std::chrono::seconds{1'800'000'000}};

class WebAccountStoreTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    test_database_ = std::make_unique<test_db::TestDatabase>(GetParam());
    BASTION_REQUIRE_ENGINE(*test_database_);
    auto db = db::Database::open(test_database_->location(), true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    SqliteStore store(db_);
    db_->exec("INSERT INTO clients (name) VALUES ('acme')");
    auto carol = store.add_operator({"carol", Role::Client, "acme", new_totp_secret()});
    ASSERT_TRUE(carol.ok()) << carol.error().message;
    carol_ = carol->id;
  }
  void TearDown() override {
    db_.reset();
    test_database_.reset();
  }

  std::unique_ptr<test_db::TestDatabase> test_database_;
  db::DatabasePtr db_;
  std::int64_t carol_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Engines, WebAccountStoreTest, test_db::kEngines, test_db::engine_name);

TEST_P(WebAccountStoreTest, AnEnrolmentLinkWorksOnceAndNeverAfterItExpires) {
  WebAccountStore web(db_);
  web.add_enrolment(carol_, token_hash("link-1"), t0, t0 + std::chrono::hours(24));
  web.add_enrolment(carol_, token_hash("link-2"), t0, t0 + std::chrono::hours(24));
  EXPECT_EQ(web.enrolment_operator(token_hash("link-1"), t0 + std::chrono::hours(1)), carol_);
  EXPECT_FALSE(web.enrolment_operator(token_hash("link-1x"), t0).has_value());
  EXPECT_TRUE(web.use_enrolment(token_hash("link-1"), t0 + std::chrono::hours(1)));
  EXPECT_FALSE(web.use_enrolment(token_hash("link-1"), t0 + std::chrono::hours(1))) << "a second use";
  EXPECT_FALSE(web.enrolment_operator(token_hash("link-1"), t0 + std::chrono::hours(1)).has_value());
  EXPECT_FALSE(web.enrolment_operator(token_hash("link-2"), t0 + std::chrono::hours(24)).has_value());
  EXPECT_FALSE(web.use_enrolment(token_hash("link-2"), t0 + std::chrono::hours(24))) << "expired";
}

TEST_P(WebAccountStoreTest, ASignInLinkIsUsedOnceWithinItsLifeAndNamesItsAccount) {
  WebAccountStore web(db_);
  const std::string token = new_web_token();
  web.add_login_link(carol_, token_hash(token), t0, t0 + std::chrono::seconds(120));
  EXPECT_EQ(web.login_link(token, t0).state, LoginLinkState::Unknown) << "only the hash is stored";
  auto peek = web.login_link(token_hash(token), t0 + std::chrono::seconds(119));
  EXPECT_EQ(peek.state, LoginLinkState::Usable);
  EXPECT_EQ(peek.operator_name, "carol");
  EXPECT_EQ(web.login_link(token_hash(token), t0 + std::chrono::seconds(5)).state, LoginLinkState::Usable)
      << "looking uses nothing";
  auto used = web.use_login_link(token_hash(token), t0 + std::chrono::seconds(5));
  EXPECT_EQ(used.state, LoginLinkState::Usable) << "this use is the one";
  EXPECT_EQ(used.operator_id, carol_);
  EXPECT_EQ(used.operator_name, "carol");
  auto again = web.use_login_link(token_hash(token), t0 + std::chrono::seconds(6));
  EXPECT_EQ(again.state, LoginLinkState::Used) << "a second use";
  EXPECT_EQ(again.operator_name, "carol");
  EXPECT_EQ(web.login_link(token_hash(token), t0 + std::chrono::seconds(600)).state, LoginLinkState::Used)
      << "a used link stays used, not merely expired";
}

TEST_P(WebAccountStoreTest, ASignInLinkExpiresAtItsEndAndAnUnknownOneIsUnknown) {
  WebAccountStore web(db_);
  web.add_login_link(carol_, token_hash("link"), t0, t0 + std::chrono::seconds(120));
  EXPECT_EQ(web.login_link(token_hash("link"), t0 + std::chrono::seconds(120)).state, LoginLinkState::Expired);
  auto late = web.use_login_link(token_hash("link"), t0 + std::chrono::seconds(120));
  EXPECT_EQ(late.state, LoginLinkState::Expired);
  EXPECT_EQ(late.operator_name, "carol");
  EXPECT_EQ(web.login_link(token_hash("link"), t0 + std::chrono::seconds(121)).state, LoginLinkState::Expired)
      << "an expired link was not used by the attempt";
  auto unknown = web.use_login_link(token_hash("other"), t0);
  EXPECT_EQ(unknown.state, LoginLinkState::Unknown);
  EXPECT_EQ(unknown.operator_id, 0);
}

TEST_P(WebAccountStoreTest, APasswordIsReplacedNotAdded) {
  WebAccountStore web(db_);
  EXPECT_FALSE(web.password_hash(carol_).has_value());
  web.set_password(carol_, "$argon2id$first", t0);
  web.set_password(carol_, "$argon2id$second", t0 + std::chrono::seconds(1));
  EXPECT_EQ(web.password_hash(carol_), "$argon2id$second");
}

TEST_P(WebAccountStoreTest, ASessionIsFoundByItsTokenHashOnlyAndEndsOnce) {
  WebAccountStore web(db_);
  const std::string token = new_web_token();
  const auto id = web.open_session(carol_, token_hash(token), "192.0.2.7:50000", t0);
  EXPECT_FALSE(web.find_session(token).has_value()) << "the token itself is not stored";
  auto row = web.find_session(token_hash(token));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->id, id);
  EXPECT_EQ(row->operator_name, "carol");
  EXPECT_EQ(row->last_seen, t0);
  web.touch_session(id, t0 + std::chrono::minutes(5));
  EXPECT_EQ(web.find_session(token_hash(token))->last_seen, t0 + std::chrono::minutes(5));
  web.end_session(id, t0 + std::chrono::minutes(6));
  EXPECT_TRUE(web.find_session(token_hash(token))->ended);
  auto q = db_->prepare("SELECT count(*) FROM web_sessions WHERE token_hash = ?");
  q.bind(1, std::string_view(token));
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_int(0), 0);
}

}  // namespace
}  // namespace bastion::authz
