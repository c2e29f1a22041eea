// Privilege separation as it runs (issue 14): each connection is a privileged monitor, which holds
// the database, and a sandboxed network process, which runs libssh. These tests read what the
// kernel says of a live network process (/proc/PID/status, its root, its descriptors), and show
// that a database held by another process turns a login into a refusal with a reason while a live
// session goes on — never a crash.
#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "tests/e2e/harness/db_lock.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/proc_stats.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

namespace fs = std::filesystem;

// status_field: the value of one "Name:\tvalue" line of /proc/PID/status ("" if missing).
std::string status_field(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::string v = line.substr(name.size() + 1);
    const auto first = v.find_first_not_of(" \t");
    return first == std::string::npos ? "" : v.substr(first);
  }
  return "";
}


bool holds(const std::vector<std::string>& files, const std::string& path) {
  return std::find(files.begin(), files.end(), path) != files.end();
}

// the_network_process: the one child of a session's monitor (the pid its session row names).
pid_t the_network_process(pid_t monitor) {
  auto kids = children_of(monitor);
  if (kids.size() != 1) throw HarnessError("monitor " + std::to_string(monitor) + " has " +
                                           std::to_string(kids.size()) + " children, not one network process");
  return kids[0];
}

TEST(Privsep, TheNetworkProcessOfALiveSessionIsSandboxedAndHoldsNoPrivilegedFile) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  LiveClient shell(alice.ssh(alice.user(env.login(), "web1"), {}, {"-tt"}), alice.env(), env.tmp.sub("alice.in"));
  shell.type("echo in-$((40+2))\n");
  ASSERT_TRUE(shell.wait_for_output("in-42", 30s)) << diag(env, shell.result());

  const auto rows = sessions_of(env.bastion, alice.name());
  ASSERT_EQ(rows.size(), 1U);
  const pid_t monitor = rows[0]["pid"].get<int>();
  ASSERT_NE(monitor, env.bastion.pid()) << "the monitor is the connection's own process, not the listener";
  const pid_t net = the_network_process(monitor);

  // The kernel's word: a seccomp filter (mode 2) and no_new_privs on the network process, none on
  // the monitor, which must open the database and recordings.
#ifdef BASTION_SANITIZED
  // The sanitized build leaves seccomp and the rlimits out (the ASan runtime cannot live under
  // them, gateway/sandbox.h); the plain build is the proof of the filter.
  EXPECT_EQ(status_field(net, "Seccomp"), "0");
#else
  EXPECT_EQ(status_field(net, "Seccomp"), "2");
#endif
  EXPECT_EQ(status_field(net, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(monitor, "Seccomp"), "0");

  const std::string root = fs::read_symlink("/proc/" + std::to_string(net) + "/root").string();
  std::istringstream uids(status_field(net, "Uid"));
  uid_t real = 0, effective = 0, saved = 0;
  uids >> real >> effective >> saved;
  if (geteuid() == 0) {
    // As root: the dedicated account, all three ids, and chrooted to the empty directory.
    const passwd* pw = getpwnam("bastion-net");
    ASSERT_NE(pw, nullptr) << "the install step creates bastion-net";
    EXPECT_EQ(real, pw->pw_uid);
    EXPECT_EQ(effective, pw->pw_uid);
    EXPECT_EQ(saved, pw->pw_uid);
    EXPECT_EQ(root, env.bastion.state_dir() + "/empty");
    EXPECT_TRUE(fs::is_empty(root)) << root;
    EXPECT_EQ(status_field(monitor, "Uid").substr(0, 1), "0");
  } else {
    // Unprivileged (a developer's run): the same sandbox minus the uid change and the chroot.
    EXPECT_EQ(effective, geteuid());
    EXPECT_EQ(root, "/");
  }

  // The database and the keys stay with the monitor: the network process holds none of them open
  // (its recording descriptors were opened by the monitor and passed over).
  const auto net_files = open_files(net);
  const auto monitor_files = open_files(monitor);
  EXPECT_TRUE(holds(monitor_files, env.bastion.db())) << "the monitor holds the database";
  for (const auto& f : net_files) {
    EXPECT_NE(f.rfind(env.bastion.db(), 0), 0U) << "network process holds " << f;
    EXPECT_EQ(f.find("_key"), std::string::npos) << "network process holds " << f;
  }
  bool records = false;
  for (const auto& f : net_files) records |= f.rfind(env.bastion.state_dir() + "/recordings/", 0) == 0;
  EXPECT_TRUE(records) << "the passed recording descriptor is missing";

  shell.type("exit\n");
  auto ended = shell.wait(20s);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->exit_code(), 0) << diag(env, shell.result());
}

TEST(Privsep, ALockedDatabaseRefusesALoginWithAReasonAndALiveSessionGoesOn) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  OperatorIdentity bob = env.new_operator("bob");
  LiveClient shell(bob.ssh(bob.user(env.login(), "web1"), {}, {"-tt"}), bob.env(), env.tmp.sub("bob.in"));
  shell.type("echo before-$((40+2))\n");
  ASSERT_TRUE(shell.wait_for_output("before-42", 30s)) << diag(env, shell.result());

  std::optional<LockHolder> lock;
  lock.emplace(env.bastion, env.tmp.path(), 20);

  // A login needs to write its auth events: with the database held it is refused, saying why and
  // what to do, after the bounded wait for the lock — not a dropped connection.
  RunResult refused = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo never-here"}));
  EXPECT_NE(refused.exit(), 0) << diag(env, refused);
  EXPECT_EQ(refused.out.find("never-here"), std::string::npos) << diag(env, refused);
  EXPECT_NE(refused.err.find("the bastion's database is busy; try again"), std::string::npos) << diag(env, refused);

  // The live session does not notice (reads pass a writer in WAL mode; nothing here needs a write).
  shell.type("echo during-$((40+2))\n");
  EXPECT_TRUE(shell.wait_for_output("during-42", 30s)) << diag(env, shell.result());

  ASSERT_TRUE(lock->wait_released(40s));
  // Once released, the same login works.
  RunResult in = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo alice-in"}));
  EXPECT_EQ(in.exit(), 0) << diag(env, in);
  EXPECT_NE(in.out.find("alice-in"), std::string::npos) << diag(env, in);
  shell.type("exit\n");
  auto ended = shell.wait(20s);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->exit_code(), 0) << diag(env, shell.result());

  // Nobody died of it: no process of the bastion was killed by a signal (SIGABRT would be one).
  EXPECT_FALSE(mentions(read_file(env.bastion.dir() + "/bastiond.log"), "process [0-9]+ killed by signal"))
      << env.bastion.log();
}

}  // namespace
}  // namespace bastion::e2e
