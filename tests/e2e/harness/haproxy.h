#pragma once
// Haproxy: a real HAProxy (`haproxy -db`, foreground) of one test's own, in TCP mode, listening on
// a free loopback port and sending each connection to one of the bastion ports it is given
// (round robin) with a PROXY v2 header (`send-proxy-v2`), health-checking each every 300 ms (a
// check is a PROXY LOCAL connection). The front door of etc/haproxy-bastion.cfg, made small.
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

class Haproxy {
 public:
  // Throws HarnessError if HAProxy does not listen within 10 s.
  Haproxy(const TempDir& tmp, const std::vector<int>& bastion_ports);
  int port() const { return port_; }
  std::string log() const { return read_file(log_path_); }

 private:
  int port_;
  std::string log_path_;
  std::unique_ptr<Process> proc_;
};

}  // namespace bastion::e2e
