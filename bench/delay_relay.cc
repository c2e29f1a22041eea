// delay_relay: a TCP relay on loopback that holds every chunk for a fixed time in each direction, so
// that scripts/bench can measure over a long link (issue 16) on a machine without netem.
//
//   delay_relay --to PORT --one-way-ms D [--listen-port P]
//
// Listens on 127.0.0.1 (port P, or one the kernel picks), prints the port on stdout, and for each
// connection accepted opens one to 127.0.0.1:PORT. A chunk read from one side is written to the
// other D ms after it was read, in order; the two directions are independent, so a round trip
// costs 2 × D. One thread, one poll loop, every socket non-blocking.
//
// What it must not do is add a window of its own that would hide the one SSH negotiates:
//  - the bytes in transit (read, not yet written) per direction are capped at kInFlight, far above
//    any SSH channel window (2 MiB for OpenSSH), so what limits a transfer is SSH's window and its
//    adjusts, which travel through the same delay. At the cap it stops reading, and TCP then stops
//    the sender: the wire is full;
//  - it stops reading a side while a chunk that is due cannot be written (the receiver is not
//    reading): backpressure goes through, it does not pile up here;
//  - its socket buffers are set small (kSocketBuffer): on loopback they need not cover a delay,
//    and larger ones would be a second, invisible queue.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kInFlight = 64u << 20;
constexpr int kSocketBuffer = 256 * 1024;

struct Chunk {
  Clock::time_point due;
  std::vector<char> bytes;
  std::size_t off = 0;
};

// Direction: bytes from `from` to `to`.
struct Direction {
  int from = -1;
  int to = -1;
  std::deque<Chunk> queue;
  std::size_t queued = 0;
  bool eof = false;       // `from` ended; shut `to` down once the queue is empty
  bool shut = false;
  bool blocked = false;   // a due chunk met a full `to`
};

struct Pair {
  int a = -1, b = -1;
  Direction up, down;
  bool dead = false;
};

void tune(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int buf = kSocketBuffer;  // before connect: the window scale is agreed in the handshake
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  tune(fd);
  return fd;
}

// pump_read reads what `d` may take now; false if the connection must end.
bool pump_read(Direction& d, std::chrono::milliseconds delay) {
  while (!d.eof && !d.blocked && d.queued < kInFlight) {
    Chunk c;
    c.bytes.resize(kReadSize);
    ssize_t n = read(d.from, c.bytes.data(), c.bytes.size());
    if (n == 0) {
      d.eof = true;
      break;
    }
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.bytes.resize(static_cast<std::size_t>(n));
    c.due = Clock::now() + delay;
    d.queued += c.bytes.size();
    d.queue.push_back(std::move(c));
  }
  return true;
}

// pump_write writes the chunks that are due; false if the connection must end.
bool pump_write(Direction& d) {
  const auto now = Clock::now();
  d.blocked = false;
  while (!d.queue.empty() && d.queue.front().due <= now) {
    Chunk& c = d.queue.front();
    ssize_t n = write(d.to, c.bytes.data() + c.off, c.bytes.size() - c.off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        d.blocked = true;
        return true;
      }
      return false;
    }
    c.off += static_cast<std::size_t>(n);
    d.queued -= static_cast<std::size_t>(n);
    if (c.off == c.bytes.size()) d.queue.pop_front();
  }
  if (d.eof && d.queue.empty() && !d.shut) {
    shutdown(d.to, SHUT_WR);
    d.shut = true;
  }
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: delay_relay --to PORT --one-way-ms D [--listen-port P]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int to_port = 0, listen_port = 0;
  long one_way_ms = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--to") to_port = std::atoi(argv[i + 1]);
    else if (k == "--one-way-ms") one_way_ms = std::atol(argv[i + 1]);
    else if (k == "--listen-port") listen_port = std::atoi(argv[i + 1]);
    else return usage();
  }
  if (argc % 2 != 1 || to_port <= 0 || one_way_ms < 0) return usage();
  signal(SIGPIPE, SIG_IGN);
  const std::chrono::milliseconds delay(one_way_ms);

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);  // inherited by accepted sockets
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(listen_port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(lfd, 128) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::perror("delay_relay: listen");
    return 1;
  }
  std::printf("%d\n", ntohs(sa.sin_port));
  std::fflush(stdout);

  std::vector<std::unique_ptr<Pair>> pairs;
  for (;;) {
    std::vector<pollfd> fds{{lfd, POLLIN, 0}};
    auto next_due = Clock::time_point::max();
    for (auto& p : pairs) {
      for (Direction* d : {&p->up, &p->down}) {
        short rd = (!d->eof && !d->blocked && d->queued < kInFlight) ? POLLIN : 0;
        if (rd) fds.push_back({d->from, rd, 0});
        if (d->blocked) fds.push_back({d->to, POLLOUT, 0});
        else if (!d->queue.empty() && d->queue.front().due < next_due) next_due = d->queue.front().due;
      }
    }
    timespec ts{};
    timespec* tsp = nullptr;
    if (next_due != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(next_due - Clock::now()).count();
      if (left < 0) left = 0;
      ts.tv_sec = left / 1000000000;
      ts.tv_nsec = left % 1000000000;
      tsp = &ts;
    }
    if (ppoll(fds.data(), fds.size(), tsp, nullptr) < 0 && errno != EINTR) {
      std::perror("delay_relay: poll");
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      int c = accept(lfd, nullptr, nullptr);
      if (c >= 0) {
        int u = connect_to(to_port);
        if (u < 0) {
          close(c);
        } else {
          tune(c);
          auto p = std::make_unique<Pair>();
          p->a = c;
          p->b = u;
          p->up.from = c, p->up.to = u;
          p->down.from = u, p->down.to = c;
          pairs.push_back(std::move(p));
        }
      }
    }
    for (auto& p : pairs) {
      for (Direction* d : {&p->up, &p->down})
        if (!pump_write(*d) || !pump_read(*d, delay) || !pump_write(*d)) p->dead = true;
      if (p->up.shut && p->down.shut) p->dead = true;
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      if ((*it)->dead) {
        close((*it)->a);
        close((*it)->b);
        it = pairs.erase(it);
      } else {
        ++it;
      }
    }
  }
}
