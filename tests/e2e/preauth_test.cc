// Pre-auth limits: connections that never authenticate cannot keep operators out. The listener caps
// unauthenticated connections per source address (default 10) and in all (default 100) and closes
// the rest at once, before the SSH banner. Loopback accepts any 127/8 address, so the "attackers"
// and the operator come from distinct addresses of one machine.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// RawConnection: a plain TCP socket from a chosen loopback address that never speaks SSH.
class RawConnection {
 public:
  RawConnection(const std::string& from, int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &src.sin_addr);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    connected_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
                 connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(RawConnection&& o) noexcept : fd_(o.fd_), connected_(o.connected_) { o.fd_ = -1; }
  RawConnection(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // greeting: what the bastion sent within `timeout` — its "SSH-2.0-…" banner, "" if it closed the
  // connection without a byte, "(silent)" if nothing came and it is still open.
  std::string greeting(std::chrono::milliseconds timeout) {
    std::string got;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && got.find('\n') == std::string::npos) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (poll(&p, 1, static_cast<int>(std::max<long long>(left, 0))) <= 0) break;
      char buf[256];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return got;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got.empty() ? "(silent)" : got;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

bool is_banner(const std::string& g) { return g.rfind("SSH-2.0-", 0) == 0; }

TEST(PreAuth, ThreeHundredIdleConnectionsDoNotKeepAnOperatorOut) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  std::vector<RawConnection> idle;
  for (int i = 0; i < 300; ++i) {
    idle.emplace_back("127.0.0.1", env.bastion.port());
    ASSERT_TRUE(idle.back().connected()) << "connection " << i;
  }
  int greeted = 0, closed = 0;
  for (auto& c : idle) {
    std::string g = c.greeting(2s);
    greeted += is_banner(g) ? 1 : 0;
    closed += g.empty() ? 1 : 0;
  }
  // The first ten from 127.0.0.1 got a session process (and its banner); the others were closed
  // at once, without a byte.
  EXPECT_EQ(greeted, 10) << env.bastion.log();
  EXPECT_EQ(closed, 290) << env.bastion.log();

  // All 300 still held open on our side, the operator logs in from another address.
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo logged-in"}, {"-b", "127.0.0.2"}));
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_NE(r.out.find("logged-in"), std::string::npos) << diag(env, r);
  // The listener sums its drops up about once a second, however fast the login above was.
  const std::string summed = "at once \\(over the cap of 10 unauthenticated connections per source";
  EXPECT_TRUE(wait_until([&] { return mentions(env.bastion.log(), summed); }, 5s)) << env.bastion.log();
  idle.clear();
}

TEST(PreAuth, TheTotalCapHoldsAcrossSourcesAndFreesAsConnectionsGo) {
  TestEnv env;
  std::vector<RawConnection> idle;
  for (int s = 2; s < 12; ++s) {  // 10 addresses x 10 connections = the total cap of 100
    for (int i = 0; i < 10; ++i) idle.emplace_back("127.0.0." + std::to_string(s), env.bastion.port());
  }
  int greeted = 0;
  for (auto& c : idle) greeted += is_banner(c.greeting(5s)) ? 1 : 0;
  EXPECT_EQ(greeted, 100) << env.bastion.log();

  RawConnection over("127.0.0.12", env.bastion.port());
  EXPECT_EQ(over.greeting(2s), "") << "the 101st unauthenticated connection must be closed without a byte";

  while (idle.size() > 90) idle.pop_back();  // ten of them hang up; their session processes end and free the slots
  bool admitted = wait_until(
      [&] {
        RawConnection again("127.0.0.12", env.bastion.port());
        return is_banner(again.greeting(2s));
      },
      10s);
  EXPECT_TRUE(admitted) << env.bastion.log();
}

// wrong_code_for: a code valid for none of the steps the bastion accepts (now ± 1 step).
std::string wrong_code_for(const OperatorIdentity& op) {
  long long t = now_unix();
  auto valid = [&](const std::string& c) {
    for (long long d : {-60, -30, 0, 30, 60})
      if (op.totp_code(t + d) == c) return true;
    return false;
  };
  std::string wrong = "000000";
  for (int i = 1; valid(wrong); ++i) wrong = std::to_string(100000 + i);
  return wrong;
}

TEST(PreAuth, WrongCodesBanTheSourceBeforeTheBannerWhileOtherAddressesLogIn) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  alice.use_fixed_code(wrong_code_for(alice));
  // Stock ssh asks up to three times per connection: two connections make six wrong codes.
  for (int i = 0; i < 2; ++i) {
    RunResult r = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo never-here"}));
    ASSERT_NE(r.exit(), 0) << diag(env, r);
  }
  auto bans = events_of_kind(env.bastion, "ban.source");
  ASSERT_EQ(bans.size(), 1u) << env.bastion.ctl_ok({"audit", "list"}).out;
  EXPECT_EQ(bans[0]["details"]["subject"], "127.0.0.1");
  auto listed = env.bastion.ctl_json({"bans", "list"});
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["kind"], "source");
  EXPECT_EQ(listed[0]["subject"], "127.0.0.1");

  // The banned address gets no SSH at all: closed right after accept, not even a banner.
  RawConnection banned("127.0.0.1", env.bastion.port());
  ASSERT_TRUE(banned.connected());
  EXPECT_EQ(banned.greeting(3s), "") << env.bastion.log();

  // Another address still logs in — as alice herself: 6 failures do not lock her account (10 do).
  alice.use_current_code();
  RunResult ok = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo logged-in"}, {"-b", "127.0.0.2"}));
  EXPECT_EQ(ok.exit(), 0) << diag(env, ok);
  EXPECT_NE(ok.out.find("logged-in"), std::string::npos) << diag(env, ok);

  // An officer lifts the ban; the address is served again (the listener re-reads bans every second).
  env.bastion.ctl_ok({"bans", "lift", "127.0.0.1"});
  EXPECT_EQ(events_of_kind(env.bastion, "ban.lift").size(), 1u);
  bool served = wait_until(
      [&] {
        RawConnection again("127.0.0.1", env.bastion.port());
        return is_banner(again.greeting(2s));
      },
      5s);
  EXPECT_TRUE(served) << env.bastion.log();
}

}  // namespace
}  // namespace bastion::e2e
