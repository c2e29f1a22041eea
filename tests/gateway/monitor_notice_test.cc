// Tests for gateway/monitor.cc on PostgreSQL: a change notice (migration 20's triggers, LISTEN
// bastion_access) that reaches a connection's monitor while it waits between requests wakes the
// network process (MonitorSettings::wake_network), and the live check that follows reads the access
// version again, so that a revocation made through another connection (another node) ends the
// session although the access poll is set far away. The wake-up carries nothing: the answer is what
// the monitor reads.
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "authz/sqlite_store.h"
#include "tests/db/test_database.h"
#include "tests/gateway/monitor_fixture.h"

namespace bastion::gateway {
namespace {

// The monitor's fixture on a PostgreSQL schema of its own, the monitor holding the database (it
// listens there), the access poll an hour away (only a notice can make a check read again), and
// each wake-up of the network process counted.
class MonitorNoticeTest : public testing::MonitorTest {
 protected:
  void SetUp() override {
    BASTION_REQUIRE_ENGINE(pg_);
    MonitorTest::SetUp();
    services_->db = db_;
    settings_.access_poll = std::chrono::hours(1);
    settings_.wake_network = [this] { ++woken_; };
  }
  std::string database_location() override { return pg_.location(); }

  test_db::TestDatabase pg_{test_db::Engine::Postgres};
  std::atomic<int> woken_{0};
};

TEST_F(MonitorNoticeTest, ANoticeWakesTheNetworkProcessAndTheNextLiveCheckReadsTheRevocation) {
  const auto g = grant("web1");
  Monitor m = make();

  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  audit::UniqueFd mon(fds[1]);
  MonitorClient net{audit::UniqueFd(fds[0])};
  std::thread monitor_side([&] { m.serve(mon.get()); });
  struct Join {
    std::thread& t;
    int sock;
    ~Join() {
      ::shutdown(sock, SHUT_RDWR);
      if (t.joinable()) t.join();
    }
  } join{monitor_side, mon.get()};

  const auto sid = shell_over(net);
  ASSERT_NE(sid, 0U);

  // The first checks read the version and start listening; then the version is kept.
  for (int i = 0; i < 3; ++i) {
    auto live = net.ask(monitor::grant_live(sid));
    ASSERT_TRUE(live.ok());
    ASSERT_EQ(live->message.numbers[0], 1U) << live->message.strings[0];
  }
  const int woken_before = woken_.load();

  // Another node revokes the grant, through a connection of its own.
  auto other = db::Database::open(pg_.location(), false);
  ASSERT_TRUE(other.ok()) << other.error().message;
  authz::SqliteStore other_store(*other, clock_);
  ASSERT_TRUE(other_store.revoke_grant(g, clock_.now()).ok());

  // The monitor, asked nothing meanwhile, hears the notice and wakes the network process…
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (woken_.load() == woken_before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GT(woken_.load(), woken_before) << "no wake-up in 20 s after the revocation was committed";

  // …and the check it then asks for reads the revocation (the poll alone would wait an hour).
  auto live = net.ask(monitor::grant_live(sid));
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->message.numbers[0], 0U);
  EXPECT_NE(live->message.strings[0].find("grant " + std::to_string(g) + " was revoked at"), std::string::npos)
      << live->message.strings[0];
}

TEST_F(MonitorNoticeTest, WithoutANoticeTheKeptVersionAnswersAndNothingWakes) {
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m);
  ASSERT_NE(sid, 0);
  for (int i = 0; i < 5; ++i) {
    auto live = m.answer(monitor::grant_live(sid));
    ASSERT_TRUE(live.ok());
    EXPECT_EQ(live->message.numbers[0], 1U) << live->message.strings[0];
  }
  EXPECT_EQ(woken_.load(), 0);
}

}  // namespace
}  // namespace bastion::gateway
