// Read-ahead under libssh (gateway/read_ahead.h) on real kernel sockets: TCP connections on
// loopback, as a session process has, read the way libssh reads them (poll(), then recv() of
// 4 KiB). This binary links gateway/read_ahead.cc, so the recv(), poll() and close() called here
// are the interposed ones, as in bastiond.
#include "gateway/read_ahead.h"

#include <arpa/inet.h>
#include <link.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bastion::gateway {
namespace {

constexpr std::size_t kLibsshRead = 4096;  // libssh 0.10's MAX_BUF_SIZE

// Connection: a TCP connection on loopback; `reader` is the side under test, `peer` writes.
// Closing goes through the interposed close(), which is part of what is tested.
struct Connection {
  int reader = -1;
  int peer = -1;
  Connection() {
    int lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(lsn, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lsn, 1) != 0 ||
        getsockname(lsn, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "cannot listen on loopback: " << std::strerror(errno);
    peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(peer, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect";
    reader = accept4(lsn, nullptr, nullptr, SOCK_CLOEXEC);
    close(lsn);
  }
  ~Connection() {
    if (reader >= 0) close(reader);
    if (peer >= 0) close(peer);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
};

// pattern: n bytes that differ from their neighbours, so a reordering or a repeat shows.
std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  unsigned x = seed;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    off += static_cast<std::size_t>(n);
  }
}

// kernel_holds: bytes the kernel has queued for reading on fd.
std::size_t kernel_holds(int fd) {
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 ? static_cast<std::size_t>(n) : 0;
}

// wait_for_kernel: until the kernel holds `want` bytes for fd (loopback delivers within
// microseconds; the deadline only turns a hang into a failure).
void wait_for_kernel(int fd, std::size_t want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (kernel_holds(fd) < want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(kernel_holds(fd), want);
}

// arrive: the peer sends pattern(n, seed), which the kernel then holds for the reader; returns it.
std::string arrive(const Connection& c, std::size_t n, unsigned seed = 1) {
  std::string sent = pattern(n, seed);
  send_all(c.peer, sent);
  wait_for_kernel(c.reader, n);
  return sent;
}

std::string recv_some(int fd, std::size_t n = kLibsshRead, int flags = 0) {
  std::string buf(n, '\0');
  ssize_t got = recv(fd, buf.data(), n, flags);
  if (got < 0) return "error: " + std::string(std::strerror(errno));
  buf.resize(static_cast<std::size_t>(got));
  return buf;
}

// libssh_path: the libssh this test binary (like bastiond) is linked with, as loaded.
std::string libssh_path() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("/libssh.so") == std::string::npos) return 0;
        *static_cast<std::string*>(out) = name;
        return 1;
      },
      &found);
  return found;
}

// Read-ahead works only while libssh calls recv(), poll() and close() by name. A libssh that
// polled through ppoll() or epoll while still reading with recv() would never see the bytes held
// here and could stall a session; one that also read a socket through recvfrom() or recvmsg()
// would take bytes out of order. This fails before such a libssh is shipped.
TEST(ReadAhead, LibsshStillReadsPollsAndClosesThroughTheNamesInterposed) {
  const std::string lib = libssh_path();
  ASSERT_FALSE(lib.empty()) << "libssh is not loaded in this test binary";
  std::FILE* nm = popen(("nm -D --undefined-only '" + lib + "' 2>&1").c_str(), "r");
  ASSERT_NE(nm, nullptr);
  std::set<std::string> imports;
  char line[512];
  while (std::fgets(line, sizeof line, nm)) {
    std::string l(line);
    auto u = l.find(" U ");
    if (u == std::string::npos) continue;
    std::string name = l.substr(u + 3);
    name = name.substr(0, name.find_first_of("@\n"));
    imports.insert(name);
  }
  ASSERT_EQ(pclose(nm), 0) << "nm failed on " << lib;
  for (const char* used : {"recv", "poll", "close"})
    EXPECT_TRUE(imports.count(used)) << lib << " no longer calls " << used;
  for (const char* bypass :
       {"ppoll", "select", "pselect", "epoll_wait", "epoll_pwait", "recvfrom", "recvmsg", "readv"})
    EXPECT_FALSE(imports.count(bypass)) << lib << " now calls " << bypass << ", which read-ahead does not cover";
}

TEST(ReadAhead, AnUnwatchedSocketIsReadOnePieceAtATime) {
  Connection c;
  const std::string sent = arrive(c, 20000);
  EXPECT_EQ(recv_some(c.reader), sent.substr(0, kLibsshRead));
  EXPECT_EQ(read_ahead::buffered(c.reader), 0u);
  EXPECT_EQ(kernel_holds(c.reader), 20000 - kLibsshRead);
}

TEST(ReadAhead, AWatchedSocketTakesWhatTheKernelHoldsAndHandsItOutInOrder) {
  Connection c;
  ASSERT_TRUE(read_ahead::watch(c.reader));
  const std::string sent = arrive(c, 20000);

  EXPECT_EQ(recv_some(c.reader), sent.substr(0, kLibsshRead));
  EXPECT_EQ(kernel_holds(c.reader), 0u) << "one read took everything the kernel held";
  EXPECT_EQ(read_ahead::buffered(c.reader), sent.size() - kLibsshRead);
  std::string rest;
  while (read_ahead::buffered(c.reader) > 0) rest += recv_some(c.reader);
  EXPECT_EQ(rest, sent.substr(kLibsshRead));
}

TEST(ReadAhead, PollReportsHeldBytesWithoutAskingTheKernel) {
  Connection c;
  Connection idle;
  ASSERT_TRUE(read_ahead::watch(c.reader));
  ASSERT_TRUE(read_ahead::watch(idle.reader));
  arrive(c, 10000);
  ASSERT_EQ(recv_some(c.reader).size(), kLibsshRead);
  ASSERT_EQ(kernel_holds(c.reader), 0u);

  // An infinite timeout: were this poll to reach the kernel, nothing would wake it.
  pollfd fds[2] = {{c.reader, POLLIN, 0}, {idle.reader, POLLIN, 0}};
  ASSERT_EQ(poll(fds, 2, -1), 1);
  EXPECT_EQ(fds[0].revents, POLLIN);
  EXPECT_EQ(fds[1].revents, 0);

  // Asking only whether it can be written goes to the kernel, which says it can.
  pollfd out{c.reader, POLLOUT, 0};
  ASSERT_EQ(poll(&out, 1, 0), 1);
  EXPECT_EQ(out.revents, POLLOUT);

  // Once the held bytes are out, poll() is the kernel's again: nothing to read.
  while (read_ahead::buffered(c.reader) > 0) recv_some(c.reader);
  pollfd in{c.reader, POLLIN, 0};
  EXPECT_EQ(poll(&in, 1, 0), 0);
}

TEST(ReadAhead, EndOfFileComesOnlyAfterTheHeldBytes) {
  Connection c;
  ASSERT_TRUE(read_ahead::watch(c.reader));
  const std::string sent = pattern(10000, 7);
  send_all(c.peer, sent);
  shutdown(c.peer, SHUT_WR);
  wait_for_kernel(c.reader, sent.size());

  std::string got;
  for (int i = 0; i < 3; ++i) got += recv_some(c.reader);
  EXPECT_EQ(got, sent);
  pollfd in{c.reader, POLLIN, 0};
  ASSERT_EQ(poll(&in, 1, 1000), 1) << "the kernel reports the end of the stream";
  EXPECT_EQ(recv_some(c.reader), "");
}

TEST(ReadAhead, ClosingForgetsHeldBytesSoALaterSocketOnTheSameNumberSeesNone) {
  Connection c;
  ASSERT_TRUE(read_ahead::watch(c.reader));
  arrive(c, 10000);
  recv_some(c.reader);
  ASSERT_GT(read_ahead::buffered(c.reader), 0u);
  Connection next;
  const int number = c.reader;
  close(c.reader);
  c.reader = -1;
  EXPECT_EQ(read_ahead::buffered(number), 0u);

  // Another connection's socket given the same number, as the kernel does for libssh's next one.
  ASSERT_EQ(dup2(next.reader, number), number);
  close(next.reader);
  next.reader = number;
  pollfd in{number, POLLIN, 0};
  EXPECT_EQ(poll(&in, 1, 0), 0) << "no old bytes reported";
  ASSERT_TRUE(read_ahead::watch(number));
  send_all(next.peer, "fresh");
  wait_for_kernel(number, 5);
  EXPECT_EQ(recv_some(number), "fresh");
}

TEST(ReadAhead, FlagsTheBufferCannotHonourAreRefusedWhileBytesAreHeld) {
  Connection c;
  ASSERT_TRUE(read_ahead::watch(c.reader));
  const std::string sent = arrive(c, 10000, 3);

  // Nothing held yet: peeking is the kernel's business, and consumes nothing.
  EXPECT_EQ(recv_some(c.reader, 10, MSG_PEEK), sent.substr(0, 10));
  EXPECT_EQ(read_ahead::buffered(c.reader), 0u);
  EXPECT_EQ(recv_some(c.reader, 10), sent.substr(0, 10));
  // Bytes held: peeking shows them without taking them; a non-blocking read takes them.
  EXPECT_EQ(recv_some(c.reader, 10, MSG_PEEK), sent.substr(10, 10));
  EXPECT_EQ(recv_some(c.reader, 10, MSG_DONTWAIT), sent.substr(10, 10));
  // Waiting for a full read cannot be honoured from the buffer: refused, nothing taken.
  const std::size_t held = read_ahead::buffered(c.reader);
  EXPECT_EQ(recv_some(c.reader, 10, MSG_WAITALL), "error: " + std::string(std::strerror(EOPNOTSUPP)));
  EXPECT_EQ(read_ahead::buffered(c.reader), held);
  EXPECT_EQ(recv_some(c.reader, held), sent.substr(20));
}

TEST(ReadAhead, AReadAsLargeAsTheBufferGoesStraightToTheKernel) {
  Connection c;
  ASSERT_TRUE(read_ahead::watch(c.reader));
  const std::string sent = arrive(c, 10000, 5);
  EXPECT_EQ(recv_some(c.reader, read_ahead::kCapacity), sent);
  EXPECT_EQ(read_ahead::buffered(c.reader), 0u);
}

TEST(ReadAhead, WhenEverySlotIsTakenAnotherSocketIsReadUnbuffered) {
  std::vector<std::unique_ptr<Connection>> all;
  for (std::size_t i = 0; i < read_ahead::kSlots; ++i) {
    all.push_back(std::make_unique<Connection>());
    ASSERT_TRUE(read_ahead::watch(all.back()->reader)) << "slot " << i;
  }
  Connection extra;
  EXPECT_FALSE(read_ahead::watch(extra.reader));
  const std::string sent = arrive(extra, 10000);
  EXPECT_EQ(recv_some(extra.reader), sent.substr(0, kLibsshRead));
  EXPECT_EQ(read_ahead::buffered(extra.reader), 0u);
  EXPECT_EQ(kernel_holds(extra.reader), 10000 - kLibsshRead);
  all.pop_back();  // closing frees a slot
  EXPECT_TRUE(read_ahead::watch(extra.reader));
}

// Two streams read at once the way libssh reads them: poll() both, then recv() 4 KiB from each
// that is ready. Both arrive whole and in order, and the held bytes of one never starve the other.
TEST(ReadAhead, TwoBusyStreamsReadTheLibsshWayArriveWhole) {
  Connection a;
  Connection b;
  ASSERT_TRUE(read_ahead::watch(a.reader));
  ASSERT_TRUE(read_ahead::watch(b.reader));
  const std::string sent_a = pattern(4u << 20, 11);
  const std::string sent_b = pattern(4u << 20, 13);
  std::thread wa([&] {
    send_all(a.peer, sent_a);
    shutdown(a.peer, SHUT_WR);
  });
  std::thread wb([&] {
    send_all(b.peer, sent_b);
    shutdown(b.peer, SHUT_WR);
  });
  std::string got_a, got_b;
  bool open_a = true, open_b = true;
  std::size_t served_from_buffer = 0;
  while (open_a || open_b) {
    pollfd fds[2] = {{open_a ? a.reader : -1, POLLIN, 0}, {open_b ? b.reader : -1, POLLIN, 0}};
    ASSERT_GT(poll(fds, 2, 10000), 0) << "a stream stalled";
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      const int fd = fds[i].fd;
      if (read_ahead::buffered(fd) > 0) ++served_from_buffer;
      std::string piece = recv_some(fd);
      ASSERT_EQ(piece.rfind("error", 0), std::string::npos) << piece;
      if (piece.empty()) (i == 0 ? open_a : open_b) = false;
      (i == 0 ? got_a : got_b) += piece;
    }
  }
  wa.join();
  wb.join();
  EXPECT_TRUE(got_a == sent_a) << "stream a differs (" << got_a.size() << " of " << sent_a.size() << " bytes)";
  EXPECT_TRUE(got_b == sent_b) << "stream b differs (" << got_b.size() << " of " << sent_b.size() << " bytes)";
  EXPECT_GT(served_from_buffer, 0u);
}

}  // namespace
}  // namespace bastion::gateway
