#include "tests/e2e/harness/haproxy.h"

#include <chrono>

namespace bastion::e2e {

Haproxy::Haproxy(const TempDir& tmp, const std::vector<int>& bastion_ports) : port_(free_port()) {
  const std::string cfg = tmp.sub("haproxy.cfg");
  std::string text = "global\n  maxconn 100\n"
                     "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\n"
                     "frontend ssh\n  bind 127.0.0.1:" + std::to_string(port_) + "\n  default_backend bastion\n"
                     "backend bastion\n  balance roundrobin\n";
  for (std::size_t i = 0; i < bastion_ports.size(); ++i) {
    text += "  server b" + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(bastion_ports[i]) +
            " send-proxy-v2 check inter 300ms\n";
  }
  write_file(cfg, text);
  SpawnOptions opts;
  opts.argv = {"haproxy", "-db", "-f", cfg};
  opts.stdout_file = opts.stderr_file = tmp.sub("haproxy.log");
  proc_ = std::make_unique<Process>(opts);
  log_path_ = opts.stdout_file;
  if (!wait_until([&] { return tcp_connectable(port_); }, std::chrono::seconds(10)))
    throw HarnessError("haproxy did not listen on " + std::to_string(port_) + ": " + read_file(log_path_));
}

}  // namespace bastion::e2e
