// The listener's pre-auth caps and ban hook, with real loopback sockets and real forked session
// processes (a tiny handler: it says "hello", then leaves pre-auth when the client sends 'A' and
// exits on 'Q'; forked from this test, it also holds copies of the test's other client sockets, so
// it is told to quit rather than waiting for a hang-up).
#include "gateway/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

namespace bastion::gateway {
namespace {

// connect_from opens a TCP connection to 127.0.0.1:port from the loopback address `from`.
int connect_from(const std::string& from, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) ADD_FAILURE() << "bind " << from;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) ADD_FAILURE() << "connect from " << from;
  return fd;
}

// first_read: what the server sent first ("hello"), "" on EOF (closed at once), "timeout".
std::string first_read(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) <= 0) return "timeout";
  char buf[16];
  ssize_t n = read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

class ListenerTest : public ::testing::Test {
 protected:
  void start(PreAuthLimits limits, std::set<std::string> banned = {}, std::set<std::string> proxies = {}) {
    auto l = Listener::bind("127.0.0.1", 0);
    ASSERT_TRUE(l.ok()) << l.error().message;
    listener_ = std::make_unique<Listener>(std::move(*l));
    port_ = listener_->port();
    banned_ = std::move(banned);
    proxies_ = std::move(proxies);
    thread_ = std::thread([this, limits] {
      Listener::Hooks hooks;
      hooks.banned = [this](const std::string& a) { return banned_.count(a) != 0; };
      hooks.trusted_proxy = [this](const std::string& a) { return proxies_.count(a) != 0; };
      listener_->serve(
          [](int fd, const Peer&) {
            (void)!write(fd, "hello", 5);
            char c;
            while (read(fd, &c, 1) == 1) {
              if (c == 'A') leave_preauth();
              if (c == 'Q') break;
            }
            return 0;
          },
          stop_, hooks, limits);
    });
  }
  void TearDown() override {
    for (int fd : open_) {
      (void)!send(fd, "Q", 1, MSG_NOSIGNAL);
      close(fd);
    }
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int open(const std::string& from) {
    int fd = connect_from(from, port_);
    open_.push_back(fd);
    return fd;
  }

  std::unique_ptr<Listener> listener_;
  int port_ = 0;
  std::set<std::string> banned_;
  std::set<std::string> proxies_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> open_;
};

TEST_F(ListenerTest, ClosesConnectionsOverThePerSourceCapAtOnce) {
  start({.max_total = 10, .max_per_source = 2});
  EXPECT_EQ(first_read(open("127.0.0.1")), "hello");
  EXPECT_EQ(first_read(open("127.0.0.1")), "hello");
  EXPECT_EQ(first_read(open("127.0.0.1")), "");  // third from the same address: closed, no byte
  EXPECT_EQ(first_read(open("127.0.0.2")), "hello");
}

// A trusted proxy carries many operators' connections: no per-source cap for it, the total cap holds.
TEST_F(ListenerTest, ATrustedProxyIsHeldToTheTotalCapOnly) {
  start({.max_total = 4, .max_per_source = 2}, {}, {"127.0.0.1"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(first_read(open("127.0.0.1")), "hello") << i;
  EXPECT_EQ(first_read(open("127.0.0.2")), "hello");
  EXPECT_EQ(first_read(open("127.0.0.1")), "");  // the fifth in all
}

TEST_F(ListenerTest, ClosesConnectionsOverTheTotalCapAtOnce) {
  start({.max_total = 3, .max_per_source = 10});
  for (const char* a : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) EXPECT_EQ(first_read(open(a)), "hello") << a;
  EXPECT_EQ(first_read(open("127.0.0.5")), "");
}

TEST_F(ListenerTest, AnAuthenticatedConnectionFreesItsSlot) {
  start({.max_total = 10, .max_per_source = 1});
  int first = open("127.0.0.1");
  ASSERT_EQ(first_read(first), "hello");
  EXPECT_EQ(first_read(open("127.0.0.1")), "");
  ASSERT_EQ(send(first, "A", 1, MSG_NOSIGNAL), 1);  // the session process reports it authenticated
  std::string got;
  for (int i = 0; i < 50 && got != "hello"; ++i) {  // the listener notices within its poll
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    got = first_read(open("127.0.0.1"));
  }
  EXPECT_EQ(got, "hello");
}

TEST_F(ListenerTest, AClosedConnectionFreesItsSlot) {
  start({.max_total = 10, .max_per_source = 1});
  int first = open("127.0.0.1");
  ASSERT_EQ(first_read(first), "hello");
  ASSERT_EQ(send(first, "Q", 1, MSG_NOSIGNAL), 1);  // the session process ends
  std::string got;
  for (int i = 0; i < 50 && got != "hello"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    got = first_read(open("127.0.0.1"));
  }
  EXPECT_EQ(got, "hello");
}

TEST_F(ListenerTest, BannedSourcesAreClosedBeforeAnyByte) {
  start({}, {"127.0.0.9"});
  EXPECT_EQ(first_read(open("127.0.0.9")), "");
  EXPECT_EQ(first_read(open("127.0.0.10")), "hello");
}

}  // namespace
}  // namespace bastion::gateway
