#pragma once
// SshdTarget: a real OpenSSH sshd playing a client's server, on a free loopback port, with its own
// ed25519 host key and authorized_keys file in a private directory. It accepts public keys only, for
// the current user (as whom the tests run), so the bastion's egress key is what lets it in.
#include <memory>
#include <string>

#include "tests/e2e/harness/process.h"

namespace bastion::e2e {

class SshdTarget {
 public:
  // dir is created; everything of this sshd (config, keys, pid file, log) lives in it.
  explicit SshdTarget(std::string dir);
  ~SshdTarget();

  // start picks a free port and starts `sshd -D -e -f CONFIG`, retrying with another port if the bind
  // fails; returns once a TCP connect to it succeeds (deadline 10 s). Throws HarnessError otherwise.
  void start();
  void stop();
  bool running() const { return proc_ != nullptr; }

  // reconfigure appends `lines` to this sshd's configuration (e.g. "AcceptEnv FOO\nSetEnv X=y\n")
  // and, if it runs, makes it re-read it (SIGHUP; same port) and waits until it answers again.
  void reconfigure(const std::string& lines);

  // authorize appends an authorized_keys line (e.g. the bastion's egress key).
  void authorize(const std::string& pubkey_line);
  // host_key_line: "ssh-ed25519 AAAA…" of this sshd's host key, as an officer would register it.
  std::string host_key_line() const;
  int port() const { return port_; }
  const std::string& login() const { return login_; }
  const std::string& dir() const { return dir_; }
  std::string log() const;

 private:
  void write_config();

  std::string dir_;
  std::string login_;
  std::string extra_config_;
  int port_ = 0;
  std::unique_ptr<Process> proc_;
};

// ssh_keygen creates an ed25519 key pair without passphrase at path (path.pub beside it) and returns
// the public key line.
std::string ssh_keygen(const std::string& path, const std::string& comment);

}  // namespace bastion::e2e
