#pragma once
// Listener: the only code that runs in the long-lived daemon process. It accepts TCP connections
// and forks one session process per connection (crash and compromise isolation); the child never
// returns to the accept loop.
#include <atomic>
#include <functional>
#include <string>

#include "authz/result.h"

namespace bastion::gateway {

struct Peer {
  std::string address;  // "127.0.0.1" or "::1"
  int port = 0;
  std::string to_string() const;
};

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
  struct Hooks {
    std::function<void(int pid, int wait_status)> on_child_exit;
    std::function<void()> on_tick;
  };

  // serve accepts until `stop` becomes true, forking handler per connection and reaping children.
  void serve(const ConnectionHandler& handler, const std::atomic<bool>& stop, const Hooks& hooks = {});

 private:
  Listener(int fd, int port) : fd_(fd), port_(port) {}
  int fd_ = -1;
  int port_ = 0;
};

// parse_listen splits "HOST:PORT" or "[V6]:PORT".
Result<std::pair<std::string, int>> parse_listen(const std::string& spec);

}  // namespace bastion::gateway
