// settings show | set max-grant-duration.
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {

using SettingsCommandsTest = AdminFixture;

TEST_F(SettingsCommandsTest, MaxGrantDurationLimitsNewGrants) {
  setup_web1();
  ASSERT_EQ(run({"settings", "show", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).at("max-grant-duration"), 30 * 86400);
  ASSERT_EQ(run({"settings", "set", "max-grant-duration", "8h"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "max-grant-duration = 28800s\n");
  EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell",
                 "--for", "9h", "--reason", "r"}),
            kExitRefused);
  EXPECT_EQ(err_.str(),
            "bastionctl: grant window of 9h is longer than the maximum of 8h; grant less and renew it when needed\n");
  grant("web1", "shell", "8h");
  const auto events = events_of("admin.settings.set");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("max-grant-duration"), 30 * 86400);
  EXPECT_EQ(events[0].event.details.at("after").at("max-grant-duration"), 8 * 3600);
}

TEST_F(SettingsCommandsTest, RefusesOutOfRangeAndUnknownSettings) {
  EXPECT_EQ(run({"settings", "set", "max-grant-duration", "30s"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: the maximum grant duration must be between 1m and 366d, not 30s\n");
  EXPECT_EQ(run({"settings", "set", "colour", "blue"}), kExitUsage);
  EXPECT_TRUE(events_of("admin.settings.set").empty());
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
