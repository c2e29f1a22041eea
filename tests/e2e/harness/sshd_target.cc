#include "tests/e2e/harness/sshd_target.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

std::string ssh_keygen(const std::string& path, const std::string& comment) {
  RunResult r = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path});
  if (r.exit() != 0) throw HarnessError("ssh-keygen " + path + ": " + r.describe());
  return trim(read_file(path + ".pub"));
}

SshdTarget::SshdTarget(std::string dir) : dir_(std::move(dir)), login_(current_user()) {
  make_dirs(dir_);
  ssh_keygen(dir_ + "/host_ed25519_key", "e2e-target");
  write_file(dir_ + "/authorized_keys", "", 0600);
}

SshdTarget::~SshdTarget() { stop(); }

void SshdTarget::write_config() {
  std::ostringstream c;
  c << "ListenAddress 127.0.0.1:" << port_ << "\n"
    << "HostKey " << dir_ << "/host_ed25519_key\n"
    << "PidFile " << dir_ << "/sshd.pid\n"
    << "AuthorizedKeysFile " << dir_ << "/authorized_keys\n"
    << "StrictModes no\n"
    << "UsePAM no\n"
    << "PasswordAuthentication no\n"
    << "KbdInteractiveAuthentication no\n"
    << "PubkeyAuthentication yes\n"
    << "PermitRootLogin prohibit-password\n"
    << "AllowUsers " << login_ << "\n"
    << "Subsystem sftp /usr/lib/openssh/sftp-server\n"
    << "AcceptEnv LANG LC_*\n"
    // X11 and agent forwarding are allowed here, so that a test can show the bastion is what
    // refuses them. XAuthLocation /bin/true: sshd "runs xauth" without touching the real ~/.Xauthority.
    << "X11Forwarding yes\n"
    << "XAuthLocation /bin/true\n"
    << "AllowAgentForwarding yes\n"
    << "LogLevel VERBOSE\n"
    << extra_config_;
  write_file(dir_ + "/sshd_config", c.str(), 0600);
}

void SshdTarget::start() {
  if (proc_) return;
  if (::geteuid() == 0) ::mkdir("/run/sshd", 0755);  // sshd's privilege-separation directory
  std::string last_log;
  for (int attempt = 0; attempt < 10; ++attempt) {
    port_ = free_port();
    write_config();
    SpawnOptions o;
    o.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", dir_ + "/sshd_config"};
    o.stderr_file = dir_ + "/sshd.log";
    o.stdout_file = dir_ + "/sshd.log";
    auto p = std::make_unique<Process>(std::move(o));
    bool ready = wait_until([&] { return !p->running() || tcp_connectable(port_); }, std::chrono::seconds(10));
    if (ready && p->running()) {
      proc_ = std::move(p);
      return;
    }
    last_log = tail_file(dir_ + "/sshd.log");
    // Either it exited (port taken between free_port() and bind: try another) or never answered.
  }
  throw HarnessError("sshd did not start on a free loopback port after 10 attempts; last log:\n" + last_log);
}

void SshdTarget::stop() {
  if (!proc_) return;
  proc_->terminate(std::chrono::seconds(5));
  proc_.reset();
}

void SshdTarget::reconfigure(const std::string& lines) {
  extra_config_ += lines;
  if (!proc_) return;
  write_config();
  // sshd -D re-executes itself on SIGHUP, closing its listener meanwhile: wait for the new one to
  // log that it listens again rather than racing the old socket.
  const auto before = read_file(dir_ + "/sshd.log").size();
  proc_->signal(SIGHUP);
  bool back = wait_until([&] {
    const auto log = read_file(dir_ + "/sshd.log");
    return log.size() > before && log.find("Server listening", before) != std::string::npos && tcp_connectable(port_);
  }, std::chrono::seconds(10));
  if (!back) throw HarnessError("sshd did not come back after SIGHUP; log:\n" + tail_file(dir_ + "/sshd.log"));
}

void SshdTarget::authorize(const std::string& pubkey_line) {
  std::ofstream out(dir_ + "/authorized_keys", std::ios::app);
  out << trim(pubkey_line) << "\n";
  if (!out) throw HarnessError("cannot append to " + dir_ + "/authorized_keys");
}

std::string SshdTarget::host_key_line() const {
  std::istringstream in(read_file(dir_ + "/host_ed25519_key.pub"));
  std::string type, blob;
  in >> type >> blob;
  return type + " " + blob;
}

std::string SshdTarget::log() const { return tail_file(dir_ + "/sshd.log"); }

}  // namespace bastion::e2e
