// web-login: a reviewer or officer on SSH gets a one-time sign-in link for herself, valid 2 minutes,
// based on bastiond's --portal-url; operators, the host's bastionctl and a bastion without a portal
// address are refused with the reason.
#include "authz/web_account_store.h"
#include "authz/web_password.h"
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class WebLoginCommand : public AdminFixture {
 protected:
  void SetUp() override {
    AdminFixture::SetUp();
    add_server("web1", "acme", "dedicated");
    ASSERT_EQ(run({"operator", "add", "carol", "--role", "client", "--client", "acme", "--web"}), kExitOk) << err_.str();
    ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk) << err_.str();
    remote_ = true;
    portal_url_ = "https://portal.example.com:8443/";
  }

  // token_of: the token at the end of a printed link.
  static std::string token_of(const std::string& url) { return url.substr(url.rfind('/') + 1); }
};

TEST_F(WebLoginCommand, AReviewerOverSshGetsALinkOfTheConfiguredPortalValidTwoMinutesForHerself) {
  ASSERT_EQ(run({"web-login", "--json"}, "carol", authz::Role::Client, "acme"), kExitOk) << err_.str();
  const auto j = Json::parse(out_.str());
  EXPECT_EQ(j["name"], "carol");
  EXPECT_EQ(j["valid_seconds"], 120);
  const std::string url = j["web_login_url"];
  EXPECT_THAT(url, MatchesRegex("https://portal\\.example\\.com:8443/login/[0-9a-f]{64}"));
  authz::WebAccountStore web(db_);
  const auto link = web.login_link(authz::token_hash(token_of(url)), kNow + std::chrono::seconds(119));
  EXPECT_EQ(link.state, authz::LoginLinkState::Usable);
  EXPECT_EQ(link.operator_name, "carol") << "bound to the account that asked";
  EXPECT_EQ(web.login_link(authz::token_hash(token_of(url)), kNow + std::chrono::seconds(120)).state,
            authz::LoginLinkState::Expired);
  auto stored = db_->prepare("SELECT count(*) FROM web_login_links WHERE token_hash = ?");
  stored.bind(1, std::string_view(token_of(url)));
  ASSERT_TRUE(stored.step());
  EXPECT_EQ(stored.col_int(0), 0) << "the token itself is never stored";
  const auto issued = events_of("web.login_link.issued");
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0].event.actor, "carol");
  EXPECT_EQ(issued[0].event.source, "203.0.113.7:51234");
  EXPECT_EQ(issued[0].event.details["expires"], "2026-11-23T10:02:00Z");
  EXPECT_EQ(issued[0].event.details.dump().find(token_of(url)), std::string::npos) << "the token is not in the trail";

  ASSERT_EQ(run({"web-login"}, "carol", authz::Role::Client, "acme"), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), MatchesRegex("sign-in link for carol \\(once, within 2 minutes\\): "
                                       "https://portal\\.example\\.com:8443/login/[0-9a-f]{64}\n"));
  EXPECT_NE(token_of(out_.str().substr(0, out_.str().size() - 1)), token_of(url)) << "each link is new";
}

TEST_F(WebLoginCommand, AnOfficerGetsOneToo) {
  ASSERT_EQ(run({"operator", "add", "olga", "--role", "officer", "--web"}), kExitOk) << err_.str();
  ASSERT_EQ(run({"web-login", "--json"}, "olga"), kExitOk) << err_.str();
  const std::string url = Json::parse(out_.str())["web_login_url"];
  EXPECT_EQ(authz::WebAccountStore(db_).login_link(authz::token_hash(token_of(url)), kNow).operator_name, "olga");
}

TEST_F(WebLoginCommand, AnOperatorIsToldThePortalIsNotForOperators) {
  const auto before = event_count();
  EXPECT_EQ(run({"web-login"}, "alice", authz::Role::Operator), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("the web portal is for client reviewers and security officers"));
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(event_count(), before);
  auto q = db_->prepare("SELECT count(*) FROM web_login_links");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_int(0), 0);
}

TEST_F(WebLoginCommand, WithoutAPortalAddressTheRefusalNamesTheOption) {
  portal_url_.clear();
  EXPECT_EQ(run({"web-login"}, "carol", authz::Role::Client, "acme"), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("bastiond --portal-url"));
}

TEST_F(WebLoginCommand, OnTheHostItIsRefusedForItKnowsNoPerson) {
  remote_ = false;
  EXPECT_EQ(run({"web-login"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("over SSH"));
  EXPECT_THAT(err_.str(), HasSubstr("operator web-enrol"));
}

TEST_F(WebLoginCommand, NoLinkIsIssuedWhenItsEventCannotBeWritten) {
  FailingEventLog failing;
  EXPECT_EQ(run_with(failing, {"web-login"}, "carol", authz::Role::Client, "acme"), kExitRefused);
  EXPECT_EQ(out_.str(), "");
  auto q = db_->prepare("SELECT count(*) FROM web_login_links");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_int(0), 0) << "the link rolled back with its event";
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
