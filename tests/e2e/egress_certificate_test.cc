// Egress without a standing key (issue 15): the bastion logs in to a server with a certificate its
// egress CA issues for that one login, naming the person, the session and the grant; the server's
// own log says who it was. Real OpenSSH targets configured as the README tells client servers to
// be (TrustedUserCAKeys, AuthorizedPrincipalsFile, no authorized_keys for the bastion), real clients.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gateway/openssh_key.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/files.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/proc_stats.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

namespace fs = std::filesystem;

// CertificateOnlyTarget: an sshd that trusts the bastion's egress CA for `login` and nothing else
// (its authorized_keys is empty). `principal` is what its AuthorizedPrincipalsFile accepts for the
// login: the login itself, as `bastionctl egress-ca` prints it, unless a test says otherwise.
struct CertificateOnlyTarget {
  SshdTarget sshd;
  CertificateOnlyTarget(TestEnv& env, const std::string& name, bool trust_ca, const std::string& principal = "")
      : sshd(env.tmp.sub(name)) {
    fs::create_directories(sshd.dir() + "/principals");
    write_file(sshd.dir() + "/principals/" + sshd.login(), (principal.empty() ? sshd.login() : principal) + "\n", 0644);
    if (trust_ca) {
      sshd.reconfigure("TrustedUserCAKeys " + env.bastion.egress_ca_public_file() + "\nAuthorizedPrincipalsFile " +
                       sshd.dir() + "/principals/%u\n");
    }
    sshd.start();
    env.bastion.add_server(name, sshd.port(), "dedicated", sshd.host_key_line());
  }
};

// session_ids: the ids of an operator's sessions on `server`, oldest first.
std::vector<std::int64_t> session_ids(const Bastion& b, const std::string& op, const std::string& server) {
  std::vector<std::int64_t> ids;
  for (const auto& s : sessions_of(b, op))
    if (s["server"] == server) ids.push_back(s["id"].get<std::int64_t>());
  return ids;
}

TEST(EgressCertificate, ATargetTrustingOnlyTheCaTakesEveryOperationAndItsLogNamesThePerson) {
  TestEnv env;
  CertificateOnlyTarget target(env, "certweb", true);
  const std::string login = env.login();
  // One operator per login: a TOTP code is accepted once, and each login here is its own person.
  std::vector<OperatorIdentity> ops;
  for (const char* who : {"exec", "shell", "scp", "sftp", "rsync"}) ops.push_back(env.new_operator(who, kAllOps, "certweb"));

  RunResult exec = run_as(ops[0], ops[0].ssh(ops[0].user(login, "certweb"), {"echo cert-$((40+2))"}));
  ASSERT_EQ(exec.exit(), 0) << diag(env, exec) << target.sshd.log();
  EXPECT_NE(exec.out.find("cert-42"), std::string::npos);
  // A shell with a pty: the grant has a shell entry, so the certificate says permit-pty.
  RunResult shell = run_as(ops[1], ops[1].ssh(ops[1].user(login, "certweb"), {}, {"-tt"}),
                           std::string("echo sh-$((6*7))\nexit 4\n"));
  EXPECT_EQ(shell.exit(), 4) << diag(env, shell) << target.sshd.log();
  EXPECT_NE(shell.out.find("sh-42"), std::string::npos);
  const std::string src = env.scratch("tree");
  make_tree(src);
  const std::string remote = env.scratch("server");
  RunResult scp = run_as(ops[2], ops[2].scp({"-O", "-r", src, ops[2].remote(login, "certweb", remote + "/scp")}),
                         std::nullopt, 120s);
  ASSERT_EQ(scp.exit(), 0) << diag(env, scp);
  EXPECT_EQ(diff_trees(src, remote + "/scp"), "");
  const std::string batch = env.tmp.sub("sftp-batch");
  write_file(batch, "put -r " + src + " " + remote + "/sftp\nbye\n");
  RunResult sftp = run_as(ops[3], ops[3].sftp(ops[3].user(login, "certweb"), batch), std::nullopt, 120s);
  ASSERT_EQ(sftp.exit(), 0) << diag(env, sftp);
  EXPECT_EQ(diff_trees(src, remote + "/sftp"), "");
  RunResult rsync = run_as(ops[4], ops[4].rsync({"-a", src + "/", ops[4].remote(login, "certweb", remote + "/rsync/")}),
                           std::nullopt, 120s);
  ASSERT_EQ(rsync.exit(), 0) << diag(env, rsync);
  EXPECT_EQ(diff_trees(src, remote + "/rsync"), "");

  // The server's own log names each person, session and grant, with the serial to look up; `sessions
  // show` gives the same serial.
  const std::string log = read_file(target.sshd.dir() + "/sshd.log");
  for (const auto& op : ops) {
    const auto ids = session_ids(env.bastion, op.name(), "certweb");
    ASSERT_FALSE(ids.empty()) << op.name();
    for (std::int64_t id : ids) {
      const std::regex accepted("Accepted publickey for " + login + " from 127\\.0\\.0\\.1 port [0-9]+ ssh2: ED25519-CERT "
                                "SHA256:[^ ]+ ID bastion:" + op.name() + ":session=" + std::to_string(id) +
                                ":grant=[0-9]+ \\(serial " + std::to_string(id) + "\\) CA ED25519 SHA256:");
      EXPECT_TRUE(std::regex_search(log, accepted)) << "session " << id << " not in the target's log:\n" << log;
      RunResult show = env.bastion.ctl_ok({"sessions", "show", std::to_string(id)});
      EXPECT_NE(show.out.find("certificate serial " + std::to_string(id) + ", key id bastion:" + op.name() +
                              ":session=" + std::to_string(id)),
                std::string::npos)
          << show.out;
    }
  }
  // Each issue is an audit event with what the target logs.
  auto issued = nlohmann::json::parse(env.bastion.ctl_ok({"audit", "list", "--kind", "egress.certificate", "--json"}).out);
  ASSERT_EQ(issued.size(), 5U) << issued.dump();
  EXPECT_EQ(issued[0]["details"]["principals"], nlohmann::json::array({login}));
  EXPECT_EQ(issued[0]["details"]["extensions"], nlohmann::json::array({"permit-pty"}));
}

TEST(EgressCertificate, AServerThatDoesNotTrustTheCaIsARefusalSayingWhatToAdd) {
  TestEnv env;
  CertificateOnlyTarget target(env, "plainweb", false);
  OperatorIdentity alice = env.new_operator("alice", kAllOps, "plainweb");
  RunResult r = run_as(alice, alice.ssh(alice.user(env.login(), "plainweb"), {"echo never-here"}));
  EXPECT_NE(r.exit(), 0);
  EXPECT_EQ(r.out.find("never-here"), std::string::npos);
  EXPECT_NE(r.err.find("plainweb refused the bastion's certificate for " + env.login() +
                       ": add the line printed by `bastionctl egress-ca` to its sshd_config (TrustedUserCAKeys) and "
                       "the principal " + env.login() + " to its AuthorizedPrincipalsFile"),
            std::string::npos)
      << diag(env, r);
}

// The target refuses a certificate 3 minutes after the bastion issued it: the bastion runs on a test
// clock 3 minutes behind, so what it issues now is, for the target, a certificate from 3 minutes ago.
TEST(EgressCertificate, ACertificateThreeMinutesOldIsRefusedByTheTarget) {
  TestEnv env([](Bastion& b) { b.use_test_clock(); });
  env.bastion.shift_clock(std::chrono::seconds(-180));
  CertificateOnlyTarget target(env, "certweb", true);
  OperatorIdentity alice = env.new_operator("alice", kAllOps, "certweb");
  RunResult r = run_as(alice, alice.ssh(alice.user(env.login(), "certweb"), {"echo never-here"}));
  EXPECT_NE(r.exit(), 0);
  EXPECT_EQ(r.out.find("never-here"), std::string::npos);
  EXPECT_NE(r.err.find("certweb refused the bastion's certificate"), std::string::npos) << diag(env, r);
  EXPECT_TRUE(mentions(read_file(target.sshd.dir() + "/sshd.log"), "[Cc]ertificate invalid: expired"))
      << target.sshd.log();
  // On time, the same login goes through.
  env.bastion.shift_clock(std::chrono::seconds(0));
  RunResult ok = run_as(alice, alice.ssh(alice.user(env.login(), "certweb"), {"echo on-time"}));
  EXPECT_EQ(ok.exit(), 0) << diag(env, ok) << target.sshd.log();
}

// A certificate names one login: a target whose login accepts another principal refuses it.
TEST(EgressCertificate, ACertificateForAnotherLoginIsRefusedByTheTarget) {
  TestEnv env;
  CertificateOnlyTarget target(env, "certweb", true, "someone-else");
  OperatorIdentity alice = env.new_operator("alice", kAllOps, "certweb");
  RunResult r = run_as(alice, alice.ssh(alice.user(env.login(), "certweb"), {"echo never-here"}));
  EXPECT_NE(r.exit(), 0);
  EXPECT_NE(r.err.find("the principal " + env.login() + " to its AuthorizedPrincipalsFile"), std::string::npos)
      << diag(env, r);
  EXPECT_TRUE(mentions(read_file(target.sshd.dir() + "/sshd.log"), "not in (its )?(principals|AuthorizedPrincipals)|"
                                                                    "[Pp]rincipal"))
      << target.sshd.log();
}



// key_needles: what would be left in memory of the egress key and the egress CA key after they were
// read: each one's 32-byte seed, and the base64 lines of each file that encode its private half.
std::vector<std::string> key_needles(const Bastion& bastion) {
  std::vector<std::string> needles;
  for (const std::string name : {"egress_ed25519_key", "egress_ca_ed25519_key"}) {
    const std::string text = read_file(bastion.dir() + "/" + name);
    auto key = gateway::parse_openssh_private_key(text);
    if (!key) throw std::runtime_error(name + ": " + key.error().message);
    needles.emplace_back(reinterpret_cast<const char*>(key->secret_key.data()), 32);
    std::istringstream lines(text);
    int index = 0;
    for (std::string line; std::getline(lines, line); ++index)
      if (index >= 3 && line.size() >= 40 && line.find("-----") == std::string::npos) needles.push_back(line);
  }
  return needles;
}

// The scan the test below relies on: a process is found to hold bytes it holds (a child, which has
// the parent's memory as it was at the fork), and not bytes made after it was forked.
TEST(EgressCertificate, TheMemoryScanFindsWhatAProcessHoldsAndOnlyThat) {
  auto random_bytes = [] {
    std::string s(48, '\0');
    std::ifstream("/dev/urandom").read(s.data(), static_cast<std::streamsize>(s.size()));
    return s;
  };
  const std::string before_fork = random_bytes();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // only async-signal-safe calls here
    ::close(ready[0]);
    const char c = 1;
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  EXPECT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  const std::string after_fork = random_bytes();
  const auto held = memory_holds(child, before_fork), not_held = memory_holds(child, after_fork);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(held.has_value() && not_held.has_value());
  EXPECT_TRUE(*held);
  EXPECT_FALSE(*not_held);
}

// In both modes, the process that runs libssh has neither the egress key nor the CA key open or
// mapped; in key mode the monitor signs each login (egress.signature) for the granted login only.
TEST(EgressCertificate, KeyModeStillWorksAndNoNetworkProcessHoldsAKey) {
  TestEnv env;
  OperatorIdentity cert_op = env.new_operator("alice");
  OperatorIdentity key_op = env.new_operator("bob");
  for (const std::string mode : {"certificate", "key"}) {
    if (mode == "key") env.bastion.ctl_ok({"server", "set-egress", "web1", "key"});
    const OperatorIdentity& alice = mode == "key" ? key_op : cert_op;
    LiveClient shell(alice.ssh(alice.user(env.login(), "web1"), {}, {"-tt"}), alice.env(), env.tmp.sub("in-" + mode));
    shell.type("echo " + mode + "-$((40+2))\n");
    ASSERT_TRUE(shell.wait_for_output(mode + "-42", 30s)) << diag(env, shell.result());
    const auto rows = sessions_of(env.bastion, alice.name());
    const pid_t monitor = rows.back()["pid"].get<int>();
    const auto kids = children_of(monitor);
    ASSERT_EQ(kids.size(), 1U);
    const pid_t net = kids[0];
    for (const auto& f : open_files(net)) {
      EXPECT_EQ(f.find("egress_ed25519_key"), std::string::npos) << mode << ": network process holds " << f;
      EXPECT_EQ(f.find("egress_ca_ed25519_key"), std::string::npos) << mode << ": network process holds " << f;
    }
    EXPECT_FALSE(maps_mention(net, "egress_")) << mode;
    // Nor any copy of either key's bytes in memory: not the network process, and not the listener
    // it was forked from (which checks both files at start, each in a child that exits).
    for (const pid_t pid : {net, env.bastion.pid()}) {
      for (const std::string& needle : key_needles(env.bastion)) {
        const auto held = memory_holds(pid, needle);
        if (!held.has_value()) {
          // Readable by root always; without root, only the listener (same user) is.
          EXPECT_TRUE(::geteuid() != 0 && pid == net) << mode << ": cannot read the memory of " << pid;
          continue;
        }
        EXPECT_FALSE(*held) << mode << ": process " << pid << (pid == net ? " (network)" : " (listener)")
                            << " holds bytes of a private key";
      }
    }
    shell.type("exit\n");
    auto ended = shell.wait(20s);
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->exit_code(), 0) << diag(env, shell.result());
  }
  auto signatures = nlohmann::json::parse(env.bastion.ctl_ok({"audit", "list", "--kind", "egress.signature", "--json"}).out);
  ASSERT_EQ(signatures.size(), 1U) << signatures.dump();
  EXPECT_EQ(signatures[0]["details"]["login"], env.login());
  auto certificates = nlohmann::json::parse(env.bastion.ctl_ok({"audit", "list", "--kind", "egress.certificate", "--json"}).out);
  EXPECT_EQ(certificates.size(), 1U) << certificates.dump();
  // The target's log: the certificate login names alice; the key login only the key.
  const std::string log = read_file(env.target.dir() + "/sshd.log");
  EXPECT_TRUE(mentions(log, "ED25519-CERT SHA256:[^ ]+ ID bastion:" + cert_op.name() + ":session=")) << log;
  EXPECT_TRUE(mentions(log, "Accepted publickey for " + env.login() + " from 127\\.0\\.0\\.1 port [0-9]+ ssh2: ED25519 SHA256:"))
      << log;
}

TEST(EgressCertificate, EgressCaPrintsWhatAServerNeedsAndRotationKeepsTheOldKeyListed) {
  TestEnv env;
  env.new_operator("alice");
  RunResult shown = env.bastion.ctl_ok({"egress-ca"});
  const std::string ca_line = trim(read_file(env.bastion.egress_ca_public_file()));
  EXPECT_NE(shown.out.find(ca_line), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("TrustedUserCAKeys /etc/ssh/bastion_user_ca.pub"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("AuthorizedPrincipalsFile /etc/ssh/bastion_principals/%u"), std::string::npos);
  EXPECT_NE(shown.out.find("/etc/ssh/bastion_principals/" + env.login() + ": " + env.login()), std::string::npos)
      << shown.out;
  auto before = nlohmann::json::parse(env.bastion.ctl_ok({"egress-ca", "--json"}).out);
  ASSERT_EQ(before["ca_keys"].size(), 1U);

  env.bastion.ctl_ok({"egress-ca", "rotate"});
  auto after = nlohmann::json::parse(env.bastion.ctl_ok({"egress-ca", "--json"}).out);
  ASSERT_EQ(after["ca_keys"].size(), 2U);
  EXPECT_EQ(after["ca_keys"][1]["fingerprint"], before["ca_keys"][0]["fingerprint"]);
  EXPECT_FALSE(after["ca_keys"][1]["current"].get<bool>());
  // The target trusts what the bastion now prints: new logins are signed by the new CA.
  write_file(env.tmp.path() + "/trusted_ca", after["trusted_user_ca_keys"]["content"].get<std::string>(), 0644);
  env.target.reconfigure("TrustedUserCAKeys " + env.tmp.path() + "/trusted_ca\n");
  OperatorIdentity bob = env.new_operator("bob");
  RunResult r = run_as(bob, bob.ssh(bob.user(env.login(), "web1"), {"echo rotated"}));
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  auto issued = nlohmann::json::parse(env.bastion.ctl_ok({"audit", "list", "--kind", "egress.certificate", "--json"}).out);
  ASSERT_FALSE(issued.empty());
  EXPECT_EQ(issued.back()["details"]["ca"], after["ca_keys"][0]["fingerprint"]);
  // The current CA cannot be removed; the retired one can, and the change is in the trail.
  RunResult current = env.bastion.ctl({"egress-ca", "remove", after["ca_keys"][0]["fingerprint"].get<std::string>()});
  EXPECT_NE(current.exit(), 0);
  EXPECT_NE(current.err.find("rotate first"), std::string::npos) << current.err;
  env.bastion.ctl_ok({"egress-ca", "remove", before["ca_keys"][0]["fingerprint"].get<std::string>()});
  EXPECT_EQ(nlohmann::json::parse(env.bastion.ctl_ok({"egress-ca", "--json"}).out)["ca_keys"].size(), 1U);
  auto changes = nlohmann::json::parse(env.bastion.ctl_ok({"audit", "list", "--kind", "admin.egress-ca.rotate", "--json"}).out);
  EXPECT_EQ(changes.size(), 1U);
}

}  // namespace
}  // namespace bastion::e2e
