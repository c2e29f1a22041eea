// A session process killed outright (SIGKILL: an OOM kill, an operator of the host, a crash) loses
// nothing already recorded and harms nobody else (DESIGN.md "Process model", rule 6): the daemon
// keeps serving, the killed session's row is closed as aborted naming the signal, with a
// session.recovered event stating its recording's digest, its recording is a valid asciicast up to the kill, and another live session in the same
// daemon goes on as if nothing happened.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// live_session: the one live session row of an operator.
nlohmann::json live_session(const Bastion& b, const std::string& op) {
  for (auto& s : sessions_of(b, op))
    if (s["status"] == "live") return s;
  throw HarnessError("no live session of " + op + " in sessions list --json");
}

// recording_of: the asciicast file of a session (its row names it only once closed, and this one
// will never close normally): STATE/recordings/ID/*.cast.
std::string recording_of(const Bastion& b, long long session_id) {
  const std::string dir = b.state_dir() + "/recordings/" + std::to_string(session_id);
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".cast") return e.path().string();
  throw HarnessError("no .cast recording in " + dir);
}

// CastPrefix: an asciicast v2 file that may have been cut at any byte: a header line, then event
// lines, of which only the last may be incomplete.
struct CastPrefix {
  std::string error;   // "" when well-formed
  std::string output;  // the data of every "o" event, in order
  int events = 0;
};

CastPrefix read_cast_prefix(const std::string& text) {
  CastPrefix c;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || in.eof()) {
    c.error = "no complete header line";
    return c;
  }
  auto header = nlohmann::json::parse(line, nullptr, false);
  if (!header.is_object() || header.value("version", 0) != 2) {
    c.error = "header is not an asciicast v2 object: " + line;
    return c;
  }
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline after it: the one line the kill may have cut
    auto e = nlohmann::json::parse(line, nullptr, false);
    const bool ok = e.is_array() && e.size() == 3 && e[0].is_number() && e[1].is_string() && e[2].is_string() &&
                    (e[1] == "o" || e[1] == "i" || e[1] == "r");
    if (!ok) {
      c.error = "event line " + std::to_string(c.events + 1) + " is not [time, \"o\"|\"i\"|\"r\", data]: " + line;
      return c;
    }
    ++c.events;
    if (e[1] == "o") c.output += e[2].get<std::string>();
  }
  return c;
}

TEST(SessionCrash, SigkillOfOneSessionProcessAbortsItAloneAndKeepsItsRecording) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  OperatorIdentity bob = env.new_operator("bob");
  OperatorIdentity carol = env.new_operator("carol");

  // Two terminal sessions, each served by its own session process.
  LiveClient victim(alice.ssh(alice.user(env.login(), "web1"), {}, {"-tt"}), alice.env(), env.tmp.sub("alice.in"));
  LiveClient bystander(bob.ssh(bob.user(env.login(), "web1"), {}, {"-tt"}), bob.env(), env.tmp.sub("bob.in"));
  bystander.type("echo bob-$((40+2))\n");
  ASSERT_TRUE(bystander.wait_for_output("bob-42", 30s)) << diag(env, bystander.result());
  victim.type("for i in $(seq 1 200); do echo line$i; sleep 0.01; done; sleep 60\n");
  ASSERT_TRUE(victim.wait_for_output("line50\r\n", 30s)) << diag(env, victim.result());

  const auto row = live_session(env.bastion, alice.name());
  const long long id = row["id"].get<long long>();
  const int pid = row["pid"].get<int>();
  const int other_pid = live_session(env.bastion, bob.name())["pid"].get<int>();
  ASSERT_GT(pid, 1);
  ASSERT_NE(pid, other_pid) << "each connection has its own process";
  ASSERT_NE(pid, env.bastion.pid()) << "the session process is not the listener";
  const std::string cast = recording_of(env.bastion, id);
  // The recording is written as it goes: what the operator saw is on disk before the kill.
  ASSERT_TRUE(wait_until([&] { return env.bastion.recording_text(cast).find("line50") != std::string::npos; }, 10s));

  ASSERT_EQ(::kill(pid, SIGKILL), 0);

  // The operator's connection drops.
  auto ended = victim.wait(20s);
  ASSERT_TRUE(ended.has_value()) << "the client outlived its session process\n" << diag(env, victim.result());
  EXPECT_NE(ended->exit_code(), 0);

  // The row is closed as aborted, naming the signal, and that is an audit event.
  nlohmann::json closed;
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& s : sessions_of(env.bastion, alice.name()))
          if (s["id"] == id && s["status"] != "live") closed = s;
        return !closed.is_null();
      },
      15s))
      << env.bastion.log();
  EXPECT_EQ(closed["status"], "aborted") << closed.dump();
  EXPECT_TRUE(mentions(closed["reason"].get<std::string>(), "killed by signal 9 \\(SIGKILL")) << closed.dump();
  // The event is session.recovered, stating the recording's digest as the kill left the file.
  bool recovered_event = false;
  for (const auto& e : events_of_kind(env.bastion, "session.recovered"))
    recovered_event |= e["session_id"] == id && mentions(e["details"]["why"].get<std::string>(), "signal 9") &&
                       e["details"]["recording"]["path"] == cast;
  EXPECT_TRUE(recovered_event) << env.bastion.ctl_ok({"audit", "list", "--kind", "session.recovered"}).out;

  // The recording is encrypted on disk (nothing of the session in clear), and decrypted it is a
  // valid asciicast prefix holding at least what the operator saw before the kill.
  const std::string on_disk = read_file(cast);
  EXPECT_EQ(on_disk.substr(0, 8), "BSTNSEAL");
  EXPECT_EQ(on_disk.find("line50"), std::string::npos);
  RunResult decrypted = env.bastion.ctl({"recording", "decrypt", cast});
  // Whether the sealed stream got its final chunk depends on which of the connection's processes
  // the kill hit first; either way it decrypts, and a stream cut short is said on stderr.
  EXPECT_EQ(decrypted.exit(), 0) << decrypted.describe();
  CastPrefix rec = read_cast_prefix(decrypted.out);
  ASSERT_EQ(rec.error, "") << cast;
  EXPECT_GT(rec.events, 0);
  for (int i = 1; i <= 50; ++i) {
    const std::string line = "line" + std::to_string(i) + "\r\n";
    ASSERT_NE(rec.output.find(line), std::string::npos) << "recorded output lacks " << line;
    ASSERT_NE(victim.out().find(line), std::string::npos) << "the operator never saw " << line;
  }

  // The daemon still serves: a new login works…
  ASSERT_EQ(::kill(env.bastion.pid(), 0), 0) << "the listener died with its child";
  RunResult fresh = run_as(carol, carol.ssh(carol.user(env.login(), "web1"), {"echo carol-in"}));
  EXPECT_EQ(fresh.exit(), 0) << diag(env, fresh);
  EXPECT_NE(fresh.out.find("carol-in"), std::string::npos) << diag(env, fresh);

  // …and the other live session never noticed: it answers, then ends normally.
  bystander.type("echo still-$((2+3))\n");
  EXPECT_TRUE(bystander.wait_for_output("still-5", 15s)) << diag(env, bystander.result());
  EXPECT_EQ(live_session(env.bastion, bob.name())["pid"], other_pid);
  bystander.type("exit\n");
  auto bob_ended = bystander.wait(15s);
  ASSERT_TRUE(bob_ended.has_value()) << diag(env, bystander.result());
  EXPECT_EQ(bob_ended->exit_code(), 0) << diag(env, bystander.result());
  auto bob_rows = sessions_of(env.bastion, bob.name());
  ASSERT_EQ(bob_rows.size(), 1u);
  EXPECT_TRUE(wait_until([&] { return sessions_of(env.bastion, bob.name())[0]["status"] == "closed"; }, 10s))
      << sessions_of(env.bastion, bob.name())[0].dump();
}

}  // namespace
}  // namespace bastion::e2e
