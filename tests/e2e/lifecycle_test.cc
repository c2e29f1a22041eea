// Lifecycle of the daemon and of connections: SIGHUP reloads the configuration without touching
// live sessions; SIGTERM lets live sessions finish within a grace and then cuts the rest, recording
// both; an idle connection is warned, then closed; a client that stops answering keepalive probes
// is dropped; an operator's live sessions are capped; --user drops root. Each test runs the real
// bastiond with its own options against a real sshd, with real ssh clients.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pwd.h>

#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// restart_with: the env's bastiond again, with these extra options (operators made afterwards
// point at its new port).
void restart_with(TestEnv& env, const std::vector<std::string>& args) {
  env.bastion.stop();
  env.bastion.set_daemon_args(args);
  env.bastion.start();
}

// open_shell: `ssh -tt` to web1 with a stdin pipe the test holds, once the remote shell answers.
std::unique_ptr<LiveClient> open_shell(const TestEnv& env, const OperatorIdentity& op, const std::string& fifo) {
  auto c = std::make_unique<LiveClient>(op.ssh(op.user(env.login(), "web1"), {}, {"-tt"}), op.env(), fifo);
  c->type("echo ready-$((6*7))\n");
  if (!c->wait_for_output("ready-42", 30s)) throw HarnessError("the shell never answered:\n" + diag(env, c->result()));
  return c;
}

// session_row_of: the operator's only session row, once it has one with the given status.
std::optional<nlohmann::json> wait_for_row(const TestEnv& env, const std::string& op, const std::string& status,
                                           std::chrono::milliseconds timeout) {
  std::optional<nlohmann::json> row;
  wait_until(
      [&] {
        auto rows = sessions_of(env.bastion, op);
        if (rows.empty() || rows.back().value("status", "") != status) return false;
        row = rows.back();
        return true;
      },
      timeout);
  return row;
}

bool has_event(const TestEnv& env, const std::string& kind) { return !events_of_kind(env.bastion, kind).empty(); }

TEST(Lifecycle, SighupReloadsTheConfigurationAndLiveSessionsCarryOn) {
  TestEnv env;
  const std::string conf = env.tmp.sub("bastion.conf");
  write_file(conf, "idle-timeout = 0\nlog-level = info\n");
  restart_with(env, {"--config", conf});
  OperatorIdentity before = env.new_operator("before");
  auto live = open_shell(env, before, env.tmp.sub("fifo-before"));

  // New connections get an idle timeout of 5 s; the live one keeps what it started with (none).
  write_file(conf, "idle-timeout = 5\nidle-warning = 2\nlog-level = info\n");
  env.bastion.signal_daemon(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return has_event(env, "daemon.reload"); }, 10s)) << env.bastion.log();
  auto reload = events_of_kind(env.bastion, "daemon.reload").back();
  EXPECT_EQ(reload["details"]["changed"], nlohmann::json::array({"idle-timeout: 0 -> 5", "idle-warning: 60 -> 2"}))
      << reload.dump();
  EXPECT_GE(reload["details"]["live_connections"].get<int>(), 1);

  OperatorIdentity after = env.new_operator("after");
  auto fresh = open_shell(env, after, env.tmp.sub("fifo-after"));
  auto fresh_end = fresh->wait(20s);
  ASSERT_TRUE(fresh_end.has_value()) << "the new connection outlived the reloaded idle timeout\n"
                                     << diag(env, fresh->result());
  EXPECT_TRUE(mentions(fresh->err(), "idle")) << diag(env, fresh->result());

  // By now the first session has been idle longer than 5 s as well, and still answers.
  ASSERT_TRUE(live->running()) << diag(env, live->result());
  live->type("echo still-$((40+2))\n");
  EXPECT_TRUE(live->wait_for_output("still-42", 20s)) << diag(env, live->result());

  // A configuration that does not parse changes nothing, and says why.
  write_file(conf, "idle-timeout = soon\n");
  env.bastion.signal_daemon(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return has_event(env, "daemon.reload_failed"); }, 10s)) << env.bastion.log();
  auto failed = events_of_kind(env.bastion, "daemon.reload_failed").back();
  EXPECT_TRUE(mentions(failed["details"]["error"].get<std::string>(), "idle-timeout")) << failed.dump();
  EXPECT_TRUE(env.bastion.running());
  live->type("echo after-bad-$((40+3))\n");
  EXPECT_TRUE(live->wait_for_output("after-bad-43", 20s)) << diag(env, live->result());
}

TEST(Lifecycle, AnIdleConnectionIsWarnedThenClosedAndBothAreRecorded) {
  TestEnv env;
  restart_with(env, {"--idle-timeout", "6", "--idle-warning", "3"});
  OperatorIdentity op = env.new_operator("idle");
  auto shell = open_shell(env, op, env.tmp.sub("fifo"));
  auto end = shell->wait(30s);
  ASSERT_TRUE(end.has_value()) << "an idle session was never closed\n" << diag(env, shell->result());
  EXPECT_NE(end->exit_code(), 0);
  EXPECT_TRUE(mentions(shell->err(), "idle for [0-9]+ s and will be closed in [0-9]+ s")) << diag(env, shell->result());
  EXPECT_TRUE(mentions(shell->err(), "idle timeout 6 s")) << diag(env, shell->result());

  auto row = wait_for_row(env, op.name(), "aborted", 10s);
  ASSERT_TRUE(row.has_value()) << sessions_of(env.bastion, op.name()).size() << "\n" << env.bastion.log();
  EXPECT_TRUE(mentions((*row)["reason"].get<std::string>(), "idle timeout")) << row->dump();
  auto warnings = events_of_kind(env.bastion, "connection.idle_warning");
  ASSERT_GE(warnings.size(), 1u);  // one per idle spell: late shell output may start a new one
  EXPECT_EQ(warnings.back()["actor"], op.name());
  auto cuts = events_of_kind(env.bastion, "connection.cut");
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_TRUE(mentions(cuts[0]["details"]["reason"].get<std::string>(), "idle")) << cuts[0].dump();
}

TEST(Lifecycle, TypingKeepsAConnectionOutOfTheIdleTimeout) {
  TestEnv env;
  restart_with(env, {"--idle-timeout", "5", "--idle-warning", "1"});
  OperatorIdentity op = env.new_operator("busy");
  auto shell = open_shell(env, op, env.tmp.sub("fifo"));
  // Ten seconds of work, a keystroke-sized command every second: twice the timeout, never idle.
  for (int i = 0; i < 10; ++i) {
    shell->type("echo tick-" + std::to_string(i) + "-$((1+1))\n");
    ASSERT_TRUE(shell->wait_for_output("tick-" + std::to_string(i) + "-2", 10s)) << diag(env, shell->result());
    std::this_thread::sleep_for(1s);
  }
  EXPECT_TRUE(shell->running()) << diag(env, shell->result());
  EXPECT_FALSE(has_event(env, "connection.cut"));
}

TEST(Lifecycle, AClientThatStopsAnsweringKeepalivesIsDropped) {
  TestEnv env;
  restart_with(env, {"--client-alive-interval", "1", "--client-alive-count-max", "2", "--log-level", "debug"});
  OperatorIdentity op = env.new_operator("frozen");
  auto shell = open_shell(env, op, env.tmp.sub("fifo"));
  shell->type("sleep 60\n");
  // A frozen client: its kernel still acknowledges TCP, but nothing answers at the SSH level.
  ASSERT_EQ(kill(shell->pid(), SIGSTOP), 0);
  auto row = wait_for_row(env, op.name(), "aborted", 30s);
  kill(shell->pid(), SIGCONT);
  ASSERT_TRUE(row.has_value()) << "the frozen client's session is still live\n" << env.bastion.log();
  EXPECT_TRUE(mentions((*row)["reason"].get<std::string>(), "keepalive probes unanswered")) << row->dump();
  auto cuts = events_of_kind(env.bastion, "connection.cut");
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_TRUE(mentions(cuts[0]["details"]["reason"].get<std::string>(), "stopped answering")) << cuts[0].dump();
}

TEST(Lifecycle, SigtermLetsSessionsEndWithinTheGraceThenCutsTheRest) {
  TestEnv env;
  restart_with(env, {"--stop-grace", "10"});
  OperatorIdentity stays = env.new_operator("stays");
  OperatorIdentity finishes = env.new_operator("finishes");
  auto shell = open_shell(env, stays, env.tmp.sub("fifo-stays"));
  shell->type("sleep 60\n");
  // A command that ends by itself a few seconds into the grace.
  LiveClient job(finishes.ssh(finishes.user(env.login(), "web1"), {"sleep 3; echo job-done"}), finishes.env(),
                 env.tmp.sub("fifo-job"));
  ASSERT_TRUE(wait_for_row(env, finishes.name(), "live", 30s).has_value()) << env.bastion.log();

  const int port = env.bastion.port();
  env.bastion.signal_daemon(SIGTERM);
  EXPECT_TRUE(wait_until([&] { return !tcp_connectable(port); }, 5s)) << "still accepting after SIGTERM";

  auto job_end = job.wait(20s);
  ASSERT_TRUE(job_end.has_value()) << diag(env, job.result());
  EXPECT_EQ(job_end->exit_code(), 0) << diag(env, job.result());
  EXPECT_TRUE(mentions(job.out(), "job-done"));

  auto shell_end = shell->wait(30s);
  ASSERT_TRUE(shell_end.has_value()) << "the shell outlived the grace\n" << diag(env, shell->result());
  EXPECT_TRUE(mentions(shell->err(), "the bastion is stopping: this connection will be closed in 10 s"))
      << diag(env, shell->result());
  auto daemon_end = env.bastion.wait_daemon(30s);
  ASSERT_TRUE(daemon_end.has_value()) << "bastiond did not stop";
  EXPECT_EQ(daemon_end->exit_code(), 0) << daemon_end->describe();

  // The record: the stop, the session that ended within the grace, the one cut after it.
  auto finished_row = sessions_of(env.bastion, finishes.name()).back();
  EXPECT_EQ(finished_row["status"], "closed") << finished_row.dump();
  auto cut_row = sessions_of(env.bastion, stays.name()).back();
  EXPECT_EQ(cut_row["status"], "aborted") << cut_row.dump();
  EXPECT_TRUE(mentions(cut_row["reason"].get<std::string>(), "the bastion is stopping")) << cut_row.dump();
  // The last stop is this one (restart_with stopped the env's first daemon, with nothing live).
  auto stopping = events_of_kind(env.bastion, "daemon.stopping");
  ASSERT_EQ(stopping.size(), 2u);
  EXPECT_EQ(stopping[1]["details"]["signal"], "SIGTERM");
  EXPECT_GE(stopping[1]["details"]["live_connections"], 2) << stopping[1].dump();
  EXPECT_EQ(stopping[1]["details"]["grace_seconds"], 10);
  auto stop = events_of_kind(env.bastion, "daemon.stop");
  ASSERT_EQ(stop.size(), 2u);
  EXPECT_GE(stop[1]["details"]["ended_within_grace"], 1) << stop[1].dump();
  EXPECT_EQ(stop[1]["details"]["cut_after_grace"], 1) << stop[1].dump();
  EXPECT_EQ(stop[1]["details"]["killed"], 0) << stop[1].dump();
  EXPECT_EQ(events_of_kind(env.bastion, "connection.stop_notice").size(), 2u);
}

TEST(Lifecycle, AnOperatorsLiveSessionsAreCapped) {
  TestEnv env;
  restart_with(env, {"--max-sessions-per-operator", "2"});
  OperatorIdentity op = env.new_operator("capped");
  Multiplexed mux(op, env.tmp.path() + "/cm-capped", op.user(env.login(), "web1"));
  ASSERT_EQ(mux.run({"true"}).exit(), 0);
  LiveClient first(mux.ssh({"sleep 60"}), op.env(), env.tmp.sub("fifo-1"));
  LiveClient second(mux.ssh({"sleep 60"}), op.env(), env.tmp.sub("fifo-2"));
  ASSERT_TRUE(wait_until([&] {
    auto rows = sessions_of(env.bastion, op.name());
    return std::count_if(rows.begin(), rows.end(), [](const auto& r) { return r["status"] == "live"; }) == 2;
  }, 30s)) << env.bastion.log();
  auto third = mux.run({"echo", "third"});
  EXPECT_EQ(third.exit(), 1) << third.describe();
  EXPECT_TRUE(mentions(third.err, "already has 2 live sessions")) << third.describe();
  // Another operator is not affected by alice's count.
  OperatorIdentity other = env.new_operator("other");
  auto r = run_as(other, other.ssh(other.user(env.login(), "web1"), {"echo", "other-ok"}));
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  auto refused = events_of_kind(env.bastion, "channel.refused");
  ASSERT_FALSE(refused.empty());
  EXPECT_TRUE(mentions(refused.back()["details"]["reason"].get<std::string>(), "live sessions"));
}

// uid_of: the real uid of a process, from /proc.
int uid_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) return std::stoi(line.substr(4));
  }
  return -1;
}

std::vector<int> children_of(int pid) {
  std::vector<int> kids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state;
    int ppid;
    rest >> state >> ppid;
    if (ppid == pid) kids.push_back(std::stoi(name));
  }
  return kids;
}

TEST(Lifecycle, StartedAsRootWithUserItDropsToThatAccountBeforeServing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to show the drop (CI runs as root)";
  passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  TestEnv env;
  OperatorIdentity op = env.new_operator("dropped");
  env.bastion.stop();
  // Everything the daemon opens belongs to the account it runs as; the path to it is traversable.
  for (std::filesystem::path p = env.bastion.dir(); p != "/" && p != p.parent_path(); p = p.parent_path()) {
    if (p == "/tmp") break;
    chmod(p.c_str(), 0711);
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(env.bastion.dir())) {
    if (lchown(entry.path().c_str(), nobody->pw_uid, nobody->pw_gid) != 0) FAIL() << entry.path();
  }
  ASSERT_EQ(chown(env.bastion.dir().c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  env.bastion.set_daemon_args({"--user", "nobody"});
  env.bastion.start();
  op.set_port(env.bastion.port());
  EXPECT_EQ(uid_of(env.bastion.pid()), static_cast<int>(nobody->pw_uid)) << env.bastion.log();

  auto shell = open_shell(env, op, env.tmp.sub("fifo"));
  auto kids = children_of(env.bastion.pid());
  ASSERT_FALSE(kids.empty());
  for (int kid : kids) EXPECT_EQ(uid_of(kid), static_cast<int>(nobody->pw_uid)) << "session process " << kid;
  shell->type("echo as-nobody-$((40+2))\n");
  EXPECT_TRUE(shell->wait_for_output("as-nobody-42", 20s)) << diag(env, shell->result());
  shell->close_stdin();
  shell->wait(10s);
}

TEST(Lifecycle, UserOptionNamingNoAccountIsRefusedAtStart) {
  TestEnv env;
  env.bastion.stop();
  env.bastion.set_daemon_args({"--user", "no-such-account-e2e"});
  try {
    env.bastion.start();
    FAIL() << "bastiond started with --user naming no account";
  } catch (const HarnessError& e) {
    EXPECT_TRUE(mentions(e.what(), "no-such-account-e2e: no such account")) << e.what();
  }
}

// Like sshd with its keys: a database (TOTP secrets, the audit trail) or a host private key that
// group or others may read is refused at start, with the chmod that fixes it; fixed, it starts.
TEST(Lifecycle, ADatabaseOrAHostKeyOthersCanReadIsRefusedAtStart) {
  TestEnv env;
  env.bastion.stop();
  const std::string db = env.bastion.db();
  const std::string key = env.bastion.dir() + "/host_ed25519_key";
  struct Case {
    std::string path;
    std::string says;
  };
  for (const Case& c : {Case{db, "database " + db + " is accessible to group or others (mode 0640)"},
                        Case{key, "private key " + key + " is accessible by group or others"}}) {
    ASSERT_EQ(chmod(c.path.c_str(), 0640), 0) << c.path;
    try {
      env.bastion.start();
      FAIL() << "bastiond started with " << c.path << " readable by its group";
    } catch (const HarnessError& e) {
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("chmod 600 " + c.path), std::string::npos) << e.what();
    }
    ASSERT_EQ(chmod(c.path.c_str(), 0600), 0) << c.path;
  }
  env.bastion.start();
  EXPECT_GT(env.bastion.pid(), 0);
}

}  // namespace
}  // namespace bastion::e2e
