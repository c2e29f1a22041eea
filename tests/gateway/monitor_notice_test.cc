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
#include "authz/totp.h"
#include "gateway/monitor.h"
#include "gateway/monitor_client.h"
#include "tests/db/test_database.h"
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway {
namespace {

using monitor::Type;

const std::string kAliceLine = std::string(admin::testing::kAliceKey.substr(0, admin::testing::kAliceKey.rfind(' ')));

class MonitorNoticeTest : public admin::testing::AdminFixture {
 protected:
  void SetUp() override {
    BASTION_REQUIRE_ENGINE(pg_);
    AdminFixture::SetUp();
    setup_web1();
  }
  std::string database_location() override { return pg_.location(); }

  test_db::TestDatabase pg_{test_db::Engine::Postgres};
};

TEST_F(MonitorNoticeTest, ANoticeWakesTheNetworkProcessAndTheNextLiveCheckReadsTheRevocation) {
  const auto g = grant("web1");
  MonitorSettings settings;
  settings.recordings_dir = dir_ + "/recordings";
  settings.access_poll = std::chrono::hours(1);  // only a notice can make the check read again
  std::atomic<int> woken{0};
  settings.wake_network = [&] { ++woken; };
  MonitorServices services{*store_, *sessions_, *events_, db_};
  Monitor m(services, clock_, settings, "203.0.113.7:51234");

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

  const auto secret = store_->find_operator("alice")->totp_secret;
  ASSERT_EQ(net.ask(monitor::user_bind("alice+root+web1"))->message.numbers[0], 1U);
  ASSERT_EQ(net.ask(monitor::key_check("alice+root+web1", kAliceLine))->message.numbers[0], 1U);
  ASSERT_EQ(net.ask(monitor::totp_check(authz::totp_code(secret, clock_.now())))->message.type, Type::Account);
  auto d = net.ask(monitor::decide("web1", "root", "shell", "", "", 0));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->message.type, Type::Decision) << d->message.strings[0];
  auto s = net.ask(monitor::start_session(d->message.numbers[0], 0, "shell"));
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->message.type, Type::Started) << s->message.strings[0];
  const auto sid = s->message.numbers[0];

  // The first checks read the version and start listening; then the version is kept.
  for (int i = 0; i < 3; ++i) {
    auto live = net.ask(monitor::grant_live(sid));
    ASSERT_TRUE(live.ok());
    ASSERT_EQ(live->message.numbers[0], 1U) << live->message.strings[0];
  }
  const int woken_before = woken.load();

  // Another node revokes the grant, through a connection of its own.
  auto other = db::Database::open(pg_.location(), false);
  ASSERT_TRUE(other.ok()) << other.error().message;
  authz::SqliteStore other_store(*other, clock_);
  ASSERT_TRUE(other_store.revoke_grant(g, clock_.now()).ok());

  // The monitor, asked nothing meanwhile, hears the notice and wakes the network process…
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (woken.load() == woken_before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GT(woken.load(), woken_before) << "no wake-up in 20 s after the revocation was committed";

  // …and the check it then asks for reads the revocation (the poll alone would wait an hour).
  auto live = net.ask(monitor::grant_live(sid));
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->message.numbers[0], 0U);
  EXPECT_NE(live->message.strings[0].find("grant " + std::to_string(g) + " was revoked at"), std::string::npos)
      << live->message.strings[0];
}

TEST_F(MonitorNoticeTest, WithoutANoticeTheKeptVersionAnswersAndNothingWakes) {
  grant("web1");
  MonitorSettings settings;
  settings.recordings_dir = dir_ + "/recordings";
  settings.access_poll = std::chrono::hours(1);
  std::atomic<int> woken{0};
  settings.wake_network = [&] { ++woken; };
  MonitorServices services{*store_, *sessions_, *events_, db_};
  Monitor m(services, clock_, settings, "203.0.113.7:51234");
  const auto secret = store_->find_operator("alice")->totp_secret;
  ASSERT_EQ(m.answer(monitor::user_bind("alice+root+web1"))->message.numbers[0], 1U);
  ASSERT_EQ(m.answer(monitor::key_check("alice+root+web1", kAliceLine))->message.numbers[0], 1U);
  ASSERT_EQ(m.answer(monitor::totp_check(authz::totp_code(secret, clock_.now())))->message.type, Type::Account);
  auto d = m.answer(monitor::decide("web1", "root", "shell", "", "", 0));
  ASSERT_TRUE(d.ok() && d->message.type == Type::Decision);
  auto s = m.answer(monitor::start_session(d->message.numbers[0], 0, "shell"));
  ASSERT_TRUE(s.ok() && s->message.type == Type::Started);
  for (int i = 0; i < 5; ++i) {
    auto live = m.answer(monitor::grant_live(s->message.numbers[0]));
    ASSERT_TRUE(live.ok());
    EXPECT_EQ(live->message.numbers[0], 1U) << live->message.strings[0];
  }
  EXPECT_EQ(woken.load(), 0);
}

}  // namespace
}  // namespace bastion::gateway
