#pragma once
// live: what the authorization and audit tests need beyond run-to-completion clients —
//   LiveClient   a client kept running by a stdin pipe the test holds open, whose end is timed;
//   EchoServer   a loopback TCP echo server (the target of a -L forward);
//   SshAgent     a real ssh-agent holding one key, on a socket in the test's temp dir;
//   Multiplexed  one authenticated connection (ControlMaster) for an account that must run several
//                commands within one TOTP step (a code is accepted once);
// and small checks shared by those tests.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/harness/bastion.h"
#include "tests/e2e/harness/process.h"

namespace bastion::e2e {

using WallClock = std::chrono::system_clock;

// mentions: an extended regex matches somewhere in text, case-insensitive.
bool mentions(const std::string& text, const std::string& regex);
// now_unix: the wall clock in whole seconds (what grant windows are made of).
long long now_unix();
// parse_utc parses "YYYY-MM-DDTHH:MM:SSZ" (bastionctl's iso8601) into a wall-clock time point.
WallClock::time_point parse_utc(const std::string& text);
// seconds_between: b - a in (fractional) seconds.
double seconds_between(WallClock::time_point a, WallClock::time_point b);

class LiveClient {
 public:
  // Starts argv (with env) reading stdin from a FIFO at fifo_path that this object holds open for
  // writing, so the client never sees EOF until close_stdin() or destruction. stdout and stderr are
  // captured in memory.
  LiveClient(std::vector<std::string> argv, const Env& env, const std::string& fifo_path);
  ~LiveClient();
  LiveClient(const LiveClient&) = delete;
  LiveClient& operator=(const LiveClient&) = delete;

  // type writes text to the client's stdin.
  void type(const std::string& text);
  void close_stdin();
  // wait_for_output polls stdout+stderr until needle appears (true) or timeout passes (false), or
  // the client ended without printing it (false).
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  // wait returns how the client ended, or nullopt if it still runs after timeout. ended_at is when
  // the ending was observed (polled every few milliseconds).
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  std::optional<WallClock::time_point> ended_at() const { return ended_at_; }
  bool running();
  int pid() const { return static_cast<int>(proc_->pid()); }
  std::string out() const { return proc_->out(); }
  std::string err() const { return proc_->err(); }
  RunResult result();  // status (or timed_out while running), out, err

 private:
  int write_fd_ = -1;
  std::unique_ptr<Process> proc_;
  std::optional<ExitStatus> status_;
  std::optional<WallClock::time_point> ended_at_;
};

class EchoServer {
 public:
  // Listens on 127.0.0.1 at a port the kernel picks; echoes every connection's bytes back until the
  // peer half-closes, one connection at a time, until destruction.
  EchoServer();
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  int port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void serve();
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// tcp_round_trip connects to 127.0.0.1:port, sends data, half-closes and returns everything read until
// EOF or the deadline; nullopt if the connection could not be made.
std::optional<std::string> tcp_round_trip(int port, const std::string& data, std::chrono::milliseconds timeout);

class SshAgent {
 public:
  // Starts `ssh-agent -D -a DIR/agent.sock` and adds a fresh ed25519 key (its fingerprint: fingerprint()).
  explicit SshAgent(const std::string& dir);
  ~SshAgent();
  const std::string& socket() const { return socket_; }
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  std::string socket_, fingerprint_;
  std::unique_ptr<Process> proc_;
};

// Multiplexed: stock OpenSSH connection sharing for one account. The first command authenticates (key
// + TOTP) and leaves the master running; later ones ride on it without a new login. The destructor
// ends the master (`ssh -O exit`, then a kill of its pid).
class Multiplexed {
 public:
  // user: the SSH user name to multiplex (default: who.user(), the bare account).
  Multiplexed(const OperatorIdentity& who, const std::string& control_path, std::string user = "");
  ~Multiplexed();
  // argv: ssh OPTIONS + control options + extra, for the user and command.
  std::vector<std::string> ssh(const std::vector<std::string>& command, const std::vector<std::string>& extra = {}) const;
  RunResult run(const std::vector<std::string>& command, std::optional<std::string> stdin_data = std::nullopt,
                const std::vector<std::string>& extra = {}) const;

 private:
  const OperatorIdentity& who_;
  std::string user_;
  std::vector<std::string> control_;
};

// sessions_of: `sessions list --json` rows (through bastionctl) of one operator, oldest first.
std::vector<nlohmann::json> sessions_of(const Bastion& b, const std::string& operator_name);
// events_of_kind: `audit list --kind K --json`, oldest first.
std::vector<nlohmann::json> events_of_kind(const Bastion& b, const std::string& kind);

}  // namespace bastion::e2e
