#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {

TestEnv::TestEnv() : TestEnv(nullptr) {}

TestEnv::TestEnv(const std::function<void(Bastion&)>& configure) : TestEnv("", configure) {}

TestEnv::TestEnv(const std::string& db_location, const std::function<void(Bastion&)>& configure)
    : tmp("bastion-e2e"), target(tmp.sub("target")), bastion(tmp.sub("bastion"), BASTIONCTL_PATH, BASTIOND_PATH) {
  if (!db_location.empty()) bastion.use_database(db_location, bastion.dir());
  // The target trusts both ways the bastion logs in: its egress CA (servers in certificate mode, the
  // default) and its egress key (servers in key mode).
  bastion.init();
  target.reconfigure("TrustedUserCAKeys " + bastion.egress_ca_public_file() + "\n");
  target.start();
  target.authorize(bastion.egress_key());
  bastion.add_server("web1", target.port(), "dedicated", target.host_key_line());
  if (configure) configure(bastion);
  // A bastion on a test clock (Bastion::use_test_clock) moved hours ahead issues certificates that
  // the target, on the real clock, finds not yet valid: tests that move the clock are about grants,
  // bans and retention, so web1 uses key mode there. tests/e2e/egress_certificate_test.cc shows
  // what a target makes of a certificate issued on a clock that is off.
  if (bastion.uses_test_clock()) bastion.ctl_ok({"server", "set-egress", "web1", "key"});
  bastion.start();
}

TestEnv::~TestEnv() {
  bastion.stop();
  target.stop();
}

OperatorIdentity TestEnv::new_operator(const std::string& prefix, const std::vector<std::string>& ops,
                                       const std::string& server, const std::vector<std::string>& window) {
  OperatorIdentity op = bastion.add_operator(prefix + std::to_string(next_operator_++));
  op.set_port(bastion.port());
  if (!ops.empty()) bastion.grant(op.name(), server, login(), ops, window);
  return op;
}

void TestEnv::add_shared_server() {
  bastion.add_server("shared1", target.port(), "shared", target.host_key_line());
}

RunResult run_as(const OperatorIdentity& op, const std::vector<std::string>& argv, std::optional<std::string> stdin_data,
                 std::chrono::milliseconds timeout) {
  return run(argv, op.env(), std::move(stdin_data), timeout);
}

}  // namespace bastion::e2e
