#pragma once

#include <cstddef>

// Read-ahead for the session process's SSH sockets.
//
// libssh 0.10 reads its socket 4 KiB at a time with a poll() before each read
// (ssh_socket_pollcallback, MAX_BUF_SIZE), however much the kernel holds: two system calls per
// 4 KiB, on each of the two connections a transfer crosses. perf of a session process during a
// 1 GiB download put recv() and poll() at a third of its time; OpenSSH reads its socket in far
// larger pieces. libssh has no option for it, so this module sits under it:
//
//   watch(fd) makes the first recv() on fd take up to kCapacity bytes from the kernel and hand
//   them out from a buffer, and poll() report fd readable, without a system call, while that
//   buffer holds bytes.
//
// It works by defining recv(), poll() and close() in this program: libssh calls them through the
// dynamic linker, which resolves a name to the program's own definition before the C library's.
// Descriptors that were never watched go straight to the kernel (one relaxed load when none is).
// The bytes held are what came off the wire, still encrypted; nothing here looks into them.
// tests/gateway/read_ahead_test.cc checks that the libssh linked still reads, polls and closes
// through those three names and through nothing that would bypass them (ppoll, epoll, recvmsg…).
// libssh 0.10 read()s only descriptors that are not sockets; only sockets are watched.
//
// What it keeps true:
//  - bytes come out in the order the kernel delivered them, each once;
//  - a recv() that follows a POLLIN reported from the buffer returns bytes, never EAGAIN (libssh
//    takes any recv() error as the end of the connection);
//  - end of file and errors reach the caller only once the buffer is empty;
//  - close(fd) drops the buffer, so a later socket given the same number never sees old bytes;
//  - a poll() that asks for POLLOUT only, or for an fd without buffered bytes, goes to the kernel.
// While a watched fd holds bytes, poll() reports only the fds with bytes held and leaves the others
// for the next call: at most kCapacity / 4 KiB calls later, when the buffer is empty.
//
// Single-threaded by design: only the thread that runs the session's event loop may recv() or
// poll() a watched fd. close() may be called from any thread (it only forgets a watched fd, and
// only the event loop's thread closes those).
namespace bastion::gateway::read_ahead {

inline constexpr std::size_t kCapacity = 128 * 1024;
inline constexpr std::size_t kSlots = 16;

// watch: buffer reads of the connected stream socket fd. False when kSlots fds are already
// watched (or no memory): fd then works as before, one kernel read per recv().
bool watch(int fd);

// buffered: bytes read from the kernel for fd and not yet handed out (0 for an unwatched fd).
std::size_t buffered(int fd);

}  // namespace bastion::gateway::read_ahead
