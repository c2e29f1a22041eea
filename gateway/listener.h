#pragma once
// Listener: the only code that runs in the long-lived daemon process. It accepts TCP connections
// and forks one session process per connection (crash and compromise isolation); the child never
// returns to the accept loop.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "authz/result.h"

namespace bastion::gateway {

struct Peer {
  std::string address;  // "127.0.0.1" or "::1"
  int port = 0;
  std::string to_string() const;
};

// PreAuthLimits caps connections that have not yet authenticated, like sshd's MaxStartups: over
// either cap a new connection is closed at once, before any SSH work, so idle or slow clients
// cannot use up the daemon while operators still get in from elsewhere.
struct PreAuthLimits {
  int max_total = 100;       // unauthenticated connections in all
  int max_per_source = 10;   // unauthenticated connections from one address
};

// leave_preauth is called in a session process once its connection has authenticated: the
// listener stops counting it against PreAuthLimits. Later calls, and calls outside a session
// process, do nothing.
void leave_preauth();
// release_preauth_pipe closes this process's copy of the pre-auth pipe without saying anything:
// for the network process, whose monitor alone says when the connection has authenticated.
void release_preauth_pipe();

class Listener {
 public:
  // bind listens on host:port (port 0 = any free port).
  static Result<Listener> bind(const std::string& host, int port);
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&&) = delete;
  ~Listener();

  int port() const { return port_; }
  int fd() const { return fd_; }

  // ConnectionHandler runs in the forked child with the accepted socket; its return value is the
  // child's exit status.
  using ConnectionHandler = std::function<int(int fd, const Peer& peer)>;

  // Hooks let the daemon act on what only the listener sees: a session process that ended
  // (exit status as from waitpid), and the passing of time (called about twice a second).
  // banned says whether an address is banned: its connections are closed right after accept().
  struct Hooks {
    std::function<void(int pid, int wait_status)> on_child_exit;
    std::function<void()> on_tick;
    std::function<bool(const std::string& address)> banned;
    // trusted_proxy says whether an address is a trusted TCP proxy (--proxy-protocol-from): its
    // connections are many operators', so the per-source cap does not apply to it (the total cap
    // does); the session process reads the PROXY header and checks the operator's own address.
    std::function<bool(const std::string& address)> trusted_proxy;
  };

  // serve accepts until `stop` becomes true, forking handler per connection and reaping children.
  void serve(const ConnectionHandler& handler, const std::atomic<bool>& stop, const Hooks& hooks = {},
             const PreAuthLimits& limits = {});

  // DrainReport: how the session processes alive at a stop ended.
  struct DrainReport {
    int ended = 0;   // on their own within the grace
    int cut = 0;     // after the grace, on SIGTERM (sessions cut cleanly)
    int killed = 0;  // still there 5 s after SIGTERM: SIGKILL
  };
  // drain stops accepting (closes the listening socket), closes unauthenticated connections at
  // once, warns the session processes (SIGUSR1), lets them end on their own for `grace`, then
  // sends SIGTERM, and SIGKILL to any still there 5 s later. on_child_exit runs for each.
  DrainReport drain(std::chrono::seconds grace, const Hooks& hooks);
  // live_children: session processes running now (authenticated or not).
  int live_children() const { return static_cast<int>(children_.size()); }

  // preauth_count: connections currently unauthenticated (in total, or from one address).
  int preauth_count() const { return static_cast<int>(preauth_.size()); }
  // Per source means per ban subject: an IPv4 address, or the /64 of an IPv6 one.
  int preauth_count(const std::string& address) const;

 private:
  Listener(int fd, int port) : fd_(fd), port_(port) {}

  // PreAuth: a session process not yet authenticated; `fd` is the read end of a pipe whose write
  // end only that process holds: it becomes readable (a byte, or EOF) when the process
  // authenticates or ends.
  struct PreAuth {
    int pid;
    std::string address;  // its source subject (authz/ban_subject.h)
    int fd;
  };
  // admit: why a connection from `address` must be closed at once, or "" to serve it.
  std::string admit(const std::string& address, const Hooks& hooks, const PreAuthLimits& limits) const;
  void spawn(int conn, const Peer& peer, const ConnectionHandler& handler);
  void forget_preauth(const std::function<bool(const PreAuth&)>& done);
  void note_drop(const std::string& address, const std::string& why);
  // reap collects every session process that has ended (without waiting) and tells the hooks.
  void reap(const Hooks& hooks);
  void report_drops();

  int fd_ = -1;
  int port_ = 0;
  std::vector<PreAuth> preauth_;
  std::set<int> children_;  // every session process not yet reaped
  std::map<std::string, int> drops_;  // reason -> connections dropped since the last report
  std::string last_dropped_;
};

// parse_listen splits "HOST:PORT" or "[V6]:PORT".
Result<std::pair<std::string, int>> parse_listen(const std::string& spec);

}  // namespace bastion::gateway
