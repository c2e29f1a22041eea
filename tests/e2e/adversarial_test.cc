// A flood of hostile connections: thousands of them, from many loopback addresses, each speaking
// something that is not SSH or is SSH gone wrong — random bytes, a valid banner then garbage,
// KEXINIT packets cut short or lying about their own fields, a packet length of 0x7fffffff, a
// banner line far over 255 bytes without a newline, and slowloris clients dripping a banner a
// byte at a time. Meanwhile and afterwards an operator logs in and runs a command. Afterwards the
// listener holds exactly the descriptors it held before, about the same memory, and no session
// process is left behind; no session process died of anything but the login grace alarm.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/proc_stats.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// ---- what the attackers send --------------------------------------------------------------------

enum class Kind { Garbage, BannerThenGarbage, CutKexinit, LyingKexinit, HugeLength, LongBanner, Slowloris };
constexpr std::array kFloodKinds = {Kind::Garbage,      Kind::BannerThenGarbage, Kind::CutKexinit,
                                    Kind::LyingKexinit, Kind::HugeLength,        Kind::LongBanner};

const char* name_of(Kind k) {
  switch (k) {
    case Kind::Garbage: return "random garbage";
    case Kind::BannerThenGarbage: return "banner then garbage";
    case Kind::CutKexinit: return "KEXINIT cut short";
    case Kind::LyingKexinit: return "KEXINIT with a lying name-list length";
    case Kind::HugeLength: return "packet length 0x7fffffff";
    case Kind::LongBanner: return "banner over 255 bytes, no newline";
    case Kind::Slowloris: return "slowloris";
  }
  return "?";
}

const std::string kBanner = "SSH-2.0-OpenSSH_9.2p1 flood\r\n";

std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string name_list(const std::string& names) { return u32(static_cast<std::uint32_t>(names.size())) + names; }

// kexinit_packet: an unencrypted binary packet carrying a KEXINIT (RFC 4253 7.1). With `lie`, the
// first name-list claims 0xfffffff0 bytes: the packet is whole, its contents are not.
std::string kexinit_packet(std::mt19937& rng, bool lie) {
  std::string payload(1, static_cast<char>(20));  // SSH_MSG_KEXINIT
  for (int i = 0; i < 16; ++i) payload += static_cast<char>(rng());
  payload += lie ? u32(0xfffffff0u) + "curve25519-sha256" : name_list("curve25519-sha256");
  payload += name_list("ssh-ed25519") + name_list("aes128-ctr") + name_list("aes128-ctr") +
             name_list("hmac-sha2-256") + name_list("hmac-sha2-256") + name_list("none") + name_list("none") +
             name_list("") + name_list("") + std::string(1, '\0') + u32(0);
  std::size_t padding = 8 - (payload.size() + 5) % 8;
  if (padding < 4) padding += 8;
  return u32(static_cast<std::uint32_t>(1 + payload.size() + padding)) + static_cast<char>(padding) + payload +
         std::string(padding, '\0');
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Script: what one connection sends, and how it ends. drip > 0 sends one byte per drip; with
// expect_close the server must end the connection itself (it received nonsense); otherwise we
// hang up `hold` after the last byte (the server cannot know the rest will never come).
struct Script {
  Kind kind = Kind::Garbage;
  std::string bytes;
  std::chrono::milliseconds drip{0};
  bool expect_close = true;
  std::chrono::milliseconds hold{0};
};

Script script_for(Kind kind, std::mt19937& rng) {
  Script s{kind, "", 0ms, true, 0ms};
  switch (kind) {
    // At least 256 bytes: past any banner line (a shorter one without a newline may rightly be
    // waited on, until the login grace ends it, like slowloris).
    case Kind::Garbage: s.bytes = random_bytes(rng, 256 + rng() % 4096); break;
    case Kind::BannerThenGarbage: {
      // The first four bytes are a packet length: a nonzero top byte makes it 16 MiB or more, over
      // any limit, so the bastion can tell at once (a small one would rightly make it wait for more).
      std::string garbage = random_bytes(rng, 16 + rng() % 2048);
      garbage[0] = static_cast<char>(garbage[0] | 1);
      s.bytes = kBanner + garbage;
      break;
    }
    case Kind::CutKexinit: {
      std::string packet = kexinit_packet(rng, false);
      s.bytes = kBanner + packet.substr(0, 5 + rng() % (packet.size() - 10));
      s.expect_close = false;
      s.hold = 300ms;
      break;
    }
    case Kind::LyingKexinit: s.bytes = kBanner + kexinit_packet(rng, true); break;
    case Kind::HugeLength: s.bytes = kBanner + u32(0x7fffffffu) + random_bytes(rng, 64); break;
    case Kind::LongBanner: s.bytes = "SSH-2.0-" + std::string(300 + rng() % 2000, 'A'); break;
    case Kind::Slowloris:
      s.bytes = "SSH-2.0-" + std::string(200, 'x');  // never a newline
      s.drip = 1000ms;
      break;
  }
  return s;
}

// ---- the flood engine: one thread, non-blocking sockets, poll ------------------------------------

// ClosedBeforeAByte: the bastion closed (or reset) before we read anything — dropped at accept by
// a cap, or a reset that discarded its banner along with our unread garbage.
enum class End { ClosedBeforeAByte, ClosedByServer, HungUpByUs, LeftOpenByServer, ConnectFailed };

struct Tally {
  std::map<Kind, std::map<End, int>> ends;
  int total = 0;
  int greeted = 0;  // saw the bastion's SSH banner: reached a session process
  std::string report() const {
    std::string out = std::to_string(total) + " connections, " + std::to_string(greeted) + " greeted\n";
    const char* end_names[] = {"closed before a byte", "closed by the bastion", "hung up by us",
                               "LEFT OPEN by the bastion", "connect failed"};
    for (const auto& [kind, by_end] : ends) {
      out += std::string("  ") + name_of(kind) + ":";
      for (const auto& [end, n] : by_end) out += std::string(" ") + end_names[static_cast<int>(end)] + " " + std::to_string(n);
      out += "\n";
    }
    return out;
  }
};

struct Conn {
  int fd = -1;
  Script script;
  std::size_t sent = 0;
  std::size_t received = 0;
  bool connecting = true;
  bool greeted = false;
  Clock::time_point next_write{};
  Clock::time_point give_up{};  // when we hang up if the bastion has not
};

class Flood {
 public:
  Flood(int port, std::uint32_t seed) : port_(port), rng_(seed) {}

  // add queues one connection from `from` (a 127/8 address).
  void add(const std::string& from, Kind kind) { queue_.push_back({from, script_for(kind, rng_)}); }
  // run opens the queued connections in order, at most max_in_flight at once (slowloris ones aside,
  // which all start at once and are not counted), until every one has ended.
  void run(std::size_t max_in_flight) {
    std::size_t next = 0;
    while (next < queue_.size() || !live_.empty()) {
      while (next < queue_.size() && (queue_[next].second.kind == Kind::Slowloris || in_flight() < max_in_flight)) {
        open(queue_[next].first, std::move(queue_[next].second));
        ++next;
      }
      step();
      started_ = next;
    }
    finished_ = true;
  }
  std::size_t started() const { return started_.load(); }
  bool finished() const { return finished_.load(); }
  const Tally& tally() const { return tally_; }

 private:
  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const auto& c : live_) n += c.script.kind == Kind::Slowloris ? 0 : 1;
    return n;
  }

  void open(const std::string& from, Script script) {
    ++tally_.total;
    Conn c;
    c.script = std::move(script);
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);  // port chosen at connect
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &src.sin_addr);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<std::uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (c.fd < 0 || ::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
        (::connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)) {
      finish(c, End::ConnectFailed);
      return;
    }
    c.next_write = Clock::now();
    c.give_up = Clock::now() + 30s;  // re-armed once the script is sent
    live_.push_back(std::move(c));
  }

  void finish(Conn& c, End end) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    tally_.ends[c.script.kind][end]++;
    tally_.greeted += c.greeted ? 1 : 0;
  }

  bool script_done(const Conn& c) const { return c.sent >= c.script.bytes.size(); }

  void write_some(Conn& c) {
    const std::size_t want = c.script.drip > 0ms ? 1 : c.script.bytes.size() - c.sent;
    ssize_t n = ::send(c.fd, c.script.bytes.data() + c.sent, want, MSG_NOSIGNAL);
    if (n > 0) c.sent += static_cast<std::size_t>(n);
    c.next_write = Clock::now() + c.script.drip;
    if (script_done(c)) c.give_up = Clock::now() + (c.script.expect_close ? 20000ms : c.script.hold);
  }

  // read_some drains what the bastion sent; true when it closed the connection (EOF or reset).
  bool read_some(Conn& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.received == 0 && std::string_view(buf, static_cast<std::size_t>(n)).starts_with("SSH-2.0-"))
          c.greeted = true;
        c.received += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) return true;
      return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
  }

  void step() {
    const auto now = Clock::now();
    std::vector<pollfd> fds;
    fds.reserve(live_.size());
    for (const auto& c : live_) {
      short ev = POLLIN;
      if (c.connecting || (!script_done(c) && now >= c.next_write)) ev |= POLLOUT;
      fds.push_back({c.fd, ev, 0});
    }
    ::poll(fds.data(), fds.size(), 10);
    for (std::size_t i = 0; i < live_.size(); ++i) {
      Conn& c = live_[i];
      const short re = fds[i].revents;
      if (c.connecting && (re & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        c.connecting = false;
        if (err != 0) {
          finish(c, End::ConnectFailed);
          continue;
        }
      }
      if ((re & (POLLIN | POLLHUP | POLLERR)) && read_some(c)) {
        finish(c, c.received == 0 ? End::ClosedBeforeAByte : End::ClosedByServer);
        continue;
      }
      if (!c.connecting && !script_done(c) && Clock::now() >= c.next_write) write_some(c);
      if (Clock::now() >= c.give_up) {
        finish(c, script_done(c) && !c.script.expect_close ? End::HungUpByUs : End::LeftOpenByServer);
      }
    }
    std::erase_if(live_, [](const Conn& c) { return c.fd < 0; });
  }

  int port_;
  std::mt19937 rng_;
  std::vector<std::pair<std::string, Script>> queue_;
  std::vector<Conn> live_;
  std::atomic<std::size_t> started_{0};
  std::atomic<bool> finished_{false};
  Tally tally_;
};

// ---- what the daemon holds -----------------------------------------------------------------------

struct Footprint {
  int fds = 0;
  long long rss_kib = 0;
};

// settled_footprint waits (deadline 60 s) until the listener has no child left — every session
// process and the retention run ended and reaped — then reads its descriptors and memory. The
// listener opens the database for a moment each second (its ban cache: the file, its WAL and shared
// memory), so the descriptors are the fewest seen in ten reads 50 ms apart: a leaked descriptor is in
// every read, a moment's connection is not.
std::optional<Footprint> settled_footprint(const TestEnv& env) {
  const pid_t pid = env.bastion.pid();
  if (!wait_until([&] { return children_of(pid).empty(); }, 60s)) return std::nullopt;
  std::optional<int> fewest;
  for (int i = 0; i < 10; ++i) {
    if (i > 0) std::this_thread::sleep_for(50ms);
    auto fds = open_fd_count(pid);
    if (!fds) return std::nullopt;
    fewest = fewest ? std::min(*fewest, *fds) : *fds;
  }
  auto rss = rss_kib(pid);
  if (!rss) return std::nullopt;
  return Footprint{*fewest, *rss};
}

// logs_in: an operator logs in and runs a command. During a flood the listener may be over its cap
// of unauthenticated connections at the moment ssh connects (then it is closed at once, as sshd's
// MaxStartups would); the operator tries again, as a person would, within a minute.
RunResult logs_in(const TestEnv& env, const OperatorIdentity& op, const std::string& marker, int& attempts) {
  RunResult r;
  const auto deadline = Clock::now() + 60s;
  for (attempts = 1;; ++attempts) {
    r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo " + marker}), std::nullopt, 60s);
    if (r.exit() == 0 || Clock::now() >= deadline) return r;
  }
}

// Deaths: what the listener and the monitors logged of processes killed by a signal — by SIGALRM (the
// login grace ran out) or by anything else (a crash).
struct Deaths {
  int alarms = 0;
  std::vector<std::string> crashes;
};

Deaths deaths_in(const std::string& log) {
  Deaths d;
  // The listener names its child (a connection's monitor), the monitor its network process.
  static const std::regex killed("(?:session|network) process [0-9]+ killed by signal ([0-9]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), killed); it != std::sregex_iterator(); ++it) {
    if (std::stoi((*it)[1]) == SIGALRM)
      ++d.alarms;
    else
      d.crashes.push_back(it->str());
  }
  return d;
}

#ifdef BASTION_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// 2000 hostile connections; 500 under the sanitizers, where each fork of an instrumented process
// costs several times more (the kinds, the caps and the checks are the same: what the sanitizers
// add is memory checking of every path, which 500 connections of each kind in turn exercise).
constexpr int kConnections = kSanitized ? 500 : 2000;

TEST(Adversarial, AFloodOfHostileConnectionsLeavesTheDaemonServingAndAsItWas) {
  // A login grace of 10 s: the slowloris connections must be ended by the bastion within the test.
  TestEnv env([](Bastion& b) { b.set_daemon_args({"--login-grace", "10"}); });
  OperatorIdentity warm = env.new_operator("warm");
  OperatorIdentity during = env.new_operator("during");
  OperatorIdentity after = env.new_operator("after");
  const pid_t daemon = env.bastion.pid();

  // Warm up every path once (a login, one connection of each kind), then take the baseline.
  int attempts = 0;
  RunResult r = logs_in(env, warm, "warm-in", attempts);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  {
    Flood warmup(env.bastion.port(), 1);
    for (Kind k : kFloodKinds) warmup.add("127.2.0.1", k);
    warmup.run(8);
  }
  auto before = settled_footprint(env);
  ASSERT_TRUE(before) << "children of bastiond never ended: " << children_of(daemon).size();

  // The flood: 36 slowloris connections from 3 addresses (12 each: 2 over the per-source cap of 10),
  // then the rest from 200 addresses, round-robin over the kinds, at most 40 at once. Each costs
  // the daemon a fork and a session process (about 15 ms of CPU on a small VM): 2000 of them keep
  // the test within a minute on two shared cores.
  Flood flood(env.bastion.port(), 20261123);
  for (int i = 0; i < 36; ++i) flood.add("127.3.0." + std::to_string(1 + i % 3), Kind::Slowloris);
  for (int i = 0; i < kConnections - 36; ++i)
    flood.add("127.2." + std::to_string(1 + i % 200 / 100) + "." + std::to_string(1 + i % 100),
              kFloodKinds[static_cast<std::size_t>(i) % kFloodKinds.size()]);
  const auto flood_start = Clock::now();
  std::chrono::duration<double> flood_took{};
  std::jthread attacker([&] {  // joins on the way out of a failed assertion too
    flood.run(40);
    flood_took = Clock::now() - flood_start;
  });

  // During the flood, an operator gets in. Under the sanitizers each connection's fork costs several
  // times more (ASan's shadow mappings), and a loaded CI machine halves the rate again: the wait is a
  // bound on a stall, not a measure of speed.
  ASSERT_TRUE(wait_until([&] { return flood.started() >= kConnections / 5; }, kSanitized ? 240s : 60s))
      << "the flood did not get going: " << flood.started() << " connections started";
  int during_attempts = 0;
  RunResult in_flood = logs_in(env, during, "during-flood", during_attempts);
  const std::size_t started_by_then = flood.started();
  const bool flood_still_on = !flood.finished();
  attacker.join();
  const Tally& t = flood.tally();
  std::cout << "[flood] " << t.report() << "[flood] took " << flood_took.count()
            << " s; the operator logged in during it after " << during_attempts << " attempt(s), with "
            << started_by_then << " connections started\n";
  EXPECT_EQ(in_flood.exit(), 0) << diag(env, in_flood);
  EXPECT_NE(in_flood.out.find("during-flood"), std::string::npos) << diag(env, in_flood);
  EXPECT_TRUE(flood_still_on) << "the login finished only after the flood: it proved nothing";

  // Nonsense is answered by closing the connection, never by waiting for more of it.
  EXPECT_EQ(t.total, kConnections);
  for (const auto& [kind, ends] : t.ends) {
    EXPECT_EQ(ends.count(End::LeftOpenByServer), 0u) << name_of(kind) << " left open:\n" << t.report();
    EXPECT_EQ(ends.count(End::ConnectFailed), 0u) << name_of(kind) << ":\n" << t.report();
  }
  // Most of it reached a session process (the caps did not simply drop it all)…
  EXPECT_GT(t.greeted, kConnections * 2 / 3) << t.report();
  // …and the per-source cap held for the slowloris addresses: 10 of each 12 admitted at most.
  auto count = [&](Kind k, End e) { return t.ends.count(k) && t.ends.at(k).count(e) ? t.ends.at(k).at(e) : 0; };
  const int slow_admitted = count(Kind::Slowloris, End::ClosedByServer);
  EXPECT_LE(slow_admitted, 30) << t.report();
  EXPECT_GE(count(Kind::Slowloris, End::ClosedBeforeAByte), 6) << t.report();

  // Afterwards: no child left, the same descriptors, about the same memory.
  auto after_flood = settled_footprint(env);
  ASSERT_TRUE(after_flood) << "session processes left behind: " << children_of(daemon).size() << "\n"
                           << env.bastion.log();
  // The listener opens the database for a moment now and then (the recovery sweep, ban expiry):
  // a count read during one of those is not a leak. A leaked descriptor stays; give a sweep time to end.
  if (after_flood->fds != before->fds)
    wait_until([&] { return open_fd_count(daemon) == std::optional<int>(before->fds); }, 10s);
  EXPECT_EQ(open_fd_count(daemon), std::optional<int>(before->fds)) << "after the flood first: " << after_flood->fds;
  // Under ASan the listener's resident memory measures the sanitizer, not the daemon: freed blocks
  // sit in its quarantine and every allocation site's stack joins its never-freed stack depot
  // (measured: +45 MiB after the flood, +6 MiB with the quarantine off). There LeakSanitizer is the
  // check, and the plain build holds the bound.
  if (!kSanitized) {
    EXPECT_LE(after_flood->rss_kib, before->rss_kib + 5 * 1024)
        << "listener RSS " << before->rss_kib << " KiB before, " << after_flood->rss_kib << " KiB after";
  }
  // No session process crashed on what it read, and only the slowloris ones needed the login grace
  // to end: every other connection was closed as soon as its nonsense (or its end) was read. (The
  // listener logs a death just after reaping it: wait for the slowloris ones to be in the log.)
  Deaths deaths;
  wait_until(
      [&] {
        deaths = deaths_in(read_file(env.bastion.dir() + "/bastiond.log"));
        return deaths.alarms >= slow_admitted;
      },
      5s);
  EXPECT_EQ(deaths.crashes, std::vector<std::string>{}) << env.bastion.log();
  EXPECT_EQ(deaths.alarms, slow_admitted) << t.report();

  std::cout << "[flood] listener: " << before->fds << " fds, " << before->rss_kib << " KiB before; " << after_flood->fds
            << " fds, " << after_flood->rss_kib << " KiB after\n";

  // And it still serves.
  RunResult later = logs_in(env, after, "after-flood", attempts);
  EXPECT_EQ(later.exit(), 0) << diag(env, later);
  EXPECT_NE(later.out.find("after-flood"), std::string::npos) << diag(env, later);
  EXPECT_EQ(attempts, 1) << "after the flood the first attempt must get in";
  auto at_rest = settled_footprint(env);
  ASSERT_TRUE(at_rest);
  EXPECT_EQ(at_rest->fds, before->fds);
}

}  // namespace
}  // namespace bastion::e2e
