#include "gateway/read_ahead.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

// The C library's own entry points (glibc exports them under these names, version GLIBC_2.2.5),
// so that the definitions below can hand over to the kernel without calling themselves.
extern "C" int __poll(pollfd* fds, nfds_t n, int timeout_ms);  // NOLINT(bugprone-reserved-identifier)
extern "C" int __close(int fd);                                 // NOLINT(bugprone-reserved-identifier)

namespace bastion::gateway::read_ahead {
namespace {

// Slot: one watched fd and the bytes read for it. fd is atomic because close() may look from any
// thread; buf/off/len belong to the event loop's thread.
struct Slot {
  std::atomic<int> fd{-1};
  unsigned char* buf = nullptr;
  std::size_t off = 0;
  std::size_t len = 0;
};

Slot g_slots[kSlots];
std::atomic<int> g_watched{0};

Slot* slot_of(int fd) {
  if (fd < 0 || g_watched.load(std::memory_order_relaxed) == 0) return nullptr;
  for (auto& s : g_slots)
    if (s.fd.load(std::memory_order_relaxed) == fd) return &s;
  return nullptr;
}

bool holds_bytes(const pollfd& p) {
  if (!(p.events & POLLIN)) return false;
  const Slot* s = slot_of(p.fd);
  return s && s->len > 0;
}

// Flags a read from the buffer can honour: it never waits and sends nothing.
constexpr int kHarmlessFlags = MSG_DONTWAIT | MSG_NOSIGNAL;

}  // namespace

bool watch(int fd) {
  if (fd < 0 || slot_of(fd)) return fd >= 0;
  for (auto& s : g_slots) {
    if (s.fd.load(std::memory_order_relaxed) != -1) continue;
    if (!s.buf) s.buf = static_cast<unsigned char*>(std::malloc(kCapacity));
    if (!s.buf) return false;
    s.off = s.len = 0;
    s.fd.store(fd);
    g_watched.fetch_add(1);
    return true;
  }
  return false;
}

std::size_t buffered(int fd) {
  const Slot* s = slot_of(fd);
  return s ? s->len : 0;
}

namespace {

ssize_t read_through(int fd, void* out, std::size_t n, int flags) {
  Slot* s = slot_of(fd);
  if (!s) return ::recvfrom(fd, out, n, flags, nullptr, nullptr);
  if (s->len == 0) {
    // Nothing held: a read that wants more than a refill would give, or something the buffer
    // cannot honour (peeking, out-of-band data), goes to the kernel as asked.
    if (n >= kCapacity || (flags & ~kHarmlessFlags) != 0) return ::recvfrom(fd, out, n, flags, nullptr, nullptr);
    ssize_t got = ::recvfrom(fd, s->buf, kCapacity, flags, nullptr, nullptr);
    if (got <= 0) return got;  // end of file or an error, exactly as the kernel said
    s->off = 0;
    s->len = static_cast<std::size_t>(got);
  }
  const bool peek = (flags & MSG_PEEK) != 0;
  if ((flags & ~(kHarmlessFlags | MSG_PEEK)) != 0) {
    errno = EOPNOTSUPP;  // e.g. MSG_WAITALL or MSG_OOB with bytes held: no caller of ours does that
    return -1;
  }
  const std::size_t k = n < s->len ? n : s->len;
  std::memcpy(out, s->buf + s->off, k);
  if (!peek) {
    s->off += k;
    s->len -= k;
  }
  return static_cast<ssize_t>(k);
}

int poll_through(pollfd* fds, nfds_t n, int timeout_ms) {
  if (g_watched.load(std::memory_order_relaxed) != 0) {
    int ready = 0;
    for (nfds_t i = 0; i < n; ++i) ready += holds_bytes(fds[i]) ? 1 : 0;
    if (ready > 0) {
      for (nfds_t i = 0; i < n; ++i) fds[i].revents = holds_bytes(fds[i]) ? POLLIN : 0;
      return ready;
    }
  }
  return __poll(fds, n, timeout_ms);
}

int close_through(int fd) {
  if (Slot* s = slot_of(fd)) {
    s->len = 0;
    s->fd.store(-1);
    g_watched.fetch_sub(1);
  }
  return __close(fd);
}

}  // namespace
}  // namespace bastion::gateway::read_ahead

// The interposed entry points. Everything else in this program and its libraries that calls
// recv(), poll() or close() gets these; for an unwatched fd they are the C library's.
extern "C" ssize_t recv(int fd, void* out, size_t n, int flags) {
  return bastion::gateway::read_ahead::read_through(fd, out, n, flags);
}

extern "C" int poll(pollfd* fds, nfds_t n, int timeout_ms) {
  return bastion::gateway::read_ahead::poll_through(fds, n, timeout_ms);
}

extern "C" int close(int fd) { return bastion::gateway::read_ahead::close_through(fd); }
