// sessions kill: the request lands on the session row, for its process to act on.
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {


class SessionKill : public AdminFixture {
 protected:
  std::int64_t live_session() {
    auto id = sessions_->start({"alice", "web1", "root", std::nullopt, "acme", "203.0.113.7:51234", kNow, 4242});
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }
};

TEST_F(SessionKill, RecordsWhoAskedAndWhen) {
  const auto id = live_session();
  clock_.advance(std::chrono::seconds(90));
  ASSERT_EQ(run({"sessions", "kill", std::to_string(id), "--json"}), kExitOk) << err_.str();
  const auto request = sessions_->kill_request(id);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->by, "olivia");
  EXPECT_EQ(request->at, kNow + std::chrono::seconds(90));
  EXPECT_EQ(Json::parse(out_.str()).at("kill_requested_at"), "2026-11-23T10:01:30Z");
  const auto events = events_of("admin.session.kill");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.server, "web1");
  EXPECT_TRUE(events[0].event.details.at("before").at("kill_requested_by").is_null());
  EXPECT_EQ(events[0].event.details.at("after").at("kill_requested_by"), "olivia");
  EXPECT_EQ(sessions_->find(id)->status, "live");  // ending it is the session process's job
}

TEST_F(SessionKill, RefusesUnknownEndedAndAlreadyKilledSessions) {
  EXPECT_EQ(run({"sessions", "kill", "99"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: no session 99\n");
  const auto closed = live_session();
  ASSERT_TRUE(sessions_->finish(closed, kNow, 0, "closed", "").ok());
  EXPECT_EQ(run({"sessions", "kill", std::to_string(closed)}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: session " + std::to_string(closed) + " has already ended (closed)\n");
  const auto live = live_session();
  ASSERT_EQ(run({"sessions", "kill", std::to_string(live)}), kExitOk);
  EXPECT_EQ(run({"sessions", "kill", std::to_string(live)}, "oscar"), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: a kill of session " + std::to_string(live) +
                            " was already requested by olivia at 2026-11-23 10:00:00 UTC; its process ends it within "
                            "a second\n");
  EXPECT_EQ(events_of("admin.session.kill").size(), 1u);
  EXPECT_EQ(run({"sessions", "kill", "x"}), kExitUsage);
}

TEST_F(SessionKill, IsForOfficersOnly) {
  const auto id = live_session();
  EXPECT_EQ(run({"sessions", "kill", std::to_string(id)}, "carol", authz::Role::Client, "acme"), kExitRefused);
  EXPECT_EQ(run({"sessions", "kill", std::to_string(id)}, "alice", authz::Role::Operator), kExitRefused);
  EXPECT_FALSE(sessions_->kill_request(id));
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
