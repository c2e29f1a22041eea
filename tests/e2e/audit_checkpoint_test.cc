// Signed audit checkpoints (issue 20, point 1): the real bastiond writes them at start, every N
// events and at stop, and copies the ones `bastionctl audit checkpoint` writes to its JSON lines
// sink (an officer's `audit checkpoint` over SSH goes there at once); the real `bastionctl audit verify --checkpoints FILE --key PUB` then names truncation, a
// chain rewritten with correct hashes, a removed checkpoint and a forged one — each on its own copy
// of the real SQLite file, as a root compromise would leave it.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

std::vector<nlohmann::json> checkpoints_in(const std::string& path) {
  std::vector<nlohmann::json> out;
  if (!file_exists(path)) return out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("type", "") == "checkpoint") out.push_back(j);
  }
  return out;
}

std::string without_checkpoint(const std::string& path, std::int64_t seq) {
  std::string kept;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("type", "") == "checkpoint" && j.value("seq", 0) == seq) continue;
    kept += line + "\n";
  }
  return kept;
}

RunResult sql(const std::string& db, const std::string& statement) {
  RunResult r = run({"sqlite3", db, statement}, base_env(), std::nullopt, 30s);
  if (r.exit() != 0) throw HarnessError("sqlite3 " + statement + ": " + r.describe());
  return r;
}

// kRewrite: what someone with the database but not the key does — alter event 5 and re-hash it and
// every later event by the documented canonical form (audit/event_chain.h), in Python, so the
// chain links again. It doubles as a check that the documented form is the one the bastion uses.
constexpr const char* kRewrite = R"PY(
import hashlib, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT id, at, kind, actor, source, server, session_id, details, prev_hash, hash FROM events ORDER BY id").fetchall()
prev = ""
for (id, at, kind, actor, source, server, session_id, details, prev_hash, h) in rows:
    d = json.loads(details)
    if id < 5:
        arr = ["bastion.event.v1", prev_hash, id, at, kind, actor, source, server, session_id, d]
        assert hashlib.sha256(json.dumps(arr, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()).hexdigest() == h
        prev = h
        continue
    if id == 5:
        d = {"rewritten": True}
    arr = ["bastion.event.v1", prev, id, at, kind, actor, source, server, session_id, d]
    new = hashlib.sha256(json.dumps(arr, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    db.execute("UPDATE events SET details = ?, prev_hash = ?, hash = ? WHERE id = ?",
               (json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False), prev, new, id))
    prev = new
db.commit()
)PY";

class AuditCheckpoint : public ::testing::Test {
 protected:
  AuditCheckpoint()
      : env_([this](Bastion& b) {
          sink_ = b.dir() + "/events.jsonl";
          b.set_daemon_args({"--events-json", sink_, "--checkpoint-events", "5"});
        }) {}

  // Sets the scene: a start checkpoint, a login (a dozen events, so checkpoints by count), one
  // written on demand by bastionctl and copied to the sink by the daemon, and the stop checkpoint.
  void SetUp() override {
    ASSERT_TRUE(wait_until([&] { return !checkpoints_in(sink_).empty(); }, 10s)) << env_.bastion.log();
    EXPECT_EQ(checkpoints_in(sink_)[0]["seq"], 1);
    OperatorIdentity op = env_.new_operator("op");
    RunResult r = run_as(op, op.ssh(op.user(env_.login(), "web1"), {"echo checkpointed"}));
    ASSERT_EQ(r.exit(), 0) << diag(env_, r);
    // A login and its operator and grant are more than five events: the daemon checkpoints by count.
    ASSERT_TRUE(wait_until([&] { return checkpoints_in(sink_).size() >= 2; }, 10s))
        << "no checkpoint by count\n" << env_.bastion.log();
    RunResult on_demand = env_.bastion.ctl({"audit", "checkpoint"});
    ASSERT_EQ(on_demand.exit(), 0) << on_demand.describe();
    EXPECT_TRUE(mentions(on_demand.out, "bastiond copies it to its sinks")) << on_demand.describe();
    const std::int64_t seq = std::stoll(on_demand.out.substr(std::string("checkpoint ").size()));
    ASSERT_TRUE(wait_until([&] {
      for (const auto& c : checkpoints_in(sink_))
        if (c["seq"] == seq) return true;
      return false;
    }, 10s)) << "the daemon did not copy checkpoint " << seq << " to its sink\n" << env_.bastion.log();
    // An officer over SSH: the same command, run by the monitor, which has the daemon's sinks.
    OperatorIdentity boss = env_.bastion.add_operator("boss", {"--role", "officer"});
    boss.set_port(env_.bastion.port());
    RunResult over_ssh = run_as(boss, boss.ssh(boss.user(), {"audit", "checkpoint", "--json"}));
    ASSERT_EQ(over_ssh.exit(), 0) << diag(env_, over_ssh);
    const auto written = nlohmann::json::parse(over_ssh.out, nullptr, false);
    ASSERT_TRUE(written.is_object()) << over_ssh.describe();
    EXPECT_EQ(written["emitted"], true) << written.dump();
    EXPECT_EQ(checkpoints_in(sink_).back()["signature"], written["signature"]);
    env_.bastion.stop();
    const auto all = checkpoints_in(sink_);
    ASSERT_GE(all.size(), 5u) << "start, by count, on demand (twice) and stop";
    const std::int64_t last_event = std::stoll(trim(sql(env_.bastion.db(), "SELECT MAX(id) FROM events").out));
    EXPECT_EQ(all.back()["event_id"], last_event) << "the stop checkpoint covers the daemon.stop event";
    key_ = env_.bastion.dir() + "/audit_checkpoint_ed25519_key.pub";
    RunResult ok = verify(env_.bastion.db(), sink_);
    ASSERT_EQ(ok.exit(), 0) << ok.describe();
    EXPECT_TRUE(mentions(ok.out, "intact")) << ok.describe();
    EXPECT_TRUE(mentions(ok.out, std::to_string(all.size()) + " signed checkpoint\\(s\\) verified")) << ok.describe();
  }

  // copy_db: a copy of the database to tamper with, as a backup thief or root would.
  std::string copy_db(const std::string& name) {
    const std::string path = env_.scratch(name) + "/bastion.db";
    std::filesystem::copy_file(env_.bastion.db(), path);
    return path;
  }

  RunResult verify(const std::string& db, const std::string& checkpoints) const {
    return run({BASTIONCTL_PATH, "--db", db, "audit", "verify", "--checkpoints", checkpoints, "--key", key_},
               base_env(), std::nullopt, 60s);
  }

  std::string sink_, key_;
  TestEnv env_;
};

TEST_F(AuditCheckpoint, DeletingTheLastTenEventsIsNamedAsTruncation) {
  const std::string db = copy_db("truncated");
  const std::int64_t last = std::stoll(trim(sql(db, "SELECT MAX(id) FROM events").out));
  sql(db, "DELETE FROM events WHERE id > " + std::to_string(last - 10));
  // Without checkpoints the chain itself still links (the session rows whose events went are
  // named, but not that events are gone, nor which).
  RunResult plain = run({BASTIONCTL_PATH, "--db", db, "audit", "verify"}, base_env(), std::nullopt, 60s);
  EXPECT_FALSE(mentions(plain.out + plain.err, "missing_events|truncated_chain|are missing")) << plain.describe();
  RunResult r = verify(db, sink_);
  EXPECT_NE(r.exit(), 0) << r.describe();
  EXPECT_TRUE(mentions(r.out, "truncated_chain: the newest events were deleted")) << r.describe();
  EXPECT_TRUE(mentions(r.out, "events " + std::to_string(last - 9) + " to " + std::to_string(last) + " are missing"))
      << r.describe();
  EXPECT_TRUE(mentions(r.out, "events.jsonl line [0-9]+")) << r.describe();
}

TEST_F(AuditCheckpoint, RewritingTheChainFromEventFiveWithCorrectHashesIsNamed) {
  const std::string db = copy_db("rewritten");
  RunResult py = run({"python3", "-c", kRewrite, db}, base_env(), std::nullopt, 60s);
  ASSERT_EQ(py.exit(), 0) << py.describe();
  RunResult plain = run({BASTIONCTL_PATH, "--db", db, "audit", "verify"}, base_env(), std::nullopt, 60s);
  EXPECT_EQ(plain.exit(), 0) << "the rewrite should fool the unkeyed chain: " << plain.describe();
  RunResult r = verify(db, sink_);
  EXPECT_NE(r.exit(), 0) << r.describe();
  EXPECT_TRUE(mentions(r.out, "rewritten_chain: the chain was rewritten under checkpoint [0-9]+ \\(")) << r.describe();
  // No checkpoint confirms event 5 or later any more: the rewrite starts at or before it.
  EXPECT_TRUE(mentions(r.out, "the rewrite starts after event [0-4] ")) << r.describe();
}

TEST_F(AuditCheckpoint, ARemovedCheckpointIsNamed) {
  const std::string copy = env_.scratch("removed") + "/events.jsonl";
  write_file(copy, without_checkpoint(sink_, 2));
  RunResult r = verify(env_.bastion.db(), copy);
  EXPECT_NE(r.exit(), 0) << r.describe();
  EXPECT_TRUE(mentions(r.out, "missing_checkpoint: checkpoint 2 is missing: the files hold checkpoint 1 \\(")) << r.describe();
}

TEST_F(AuditCheckpoint, AForgedSignatureIsNamed) {
  std::string text = read_file(sink_);
  const auto at = text.rfind("\"signature\":\"");
  ASSERT_NE(at, std::string::npos);
  char& c = text[at + 13 + 5];
  c = c == 'A' ? 'B' : 'A';
  const std::string copy = env_.scratch("forged") + "/events.jsonl";
  write_file(copy, text);
  RunResult r = verify(env_.bastion.db(), copy);
  EXPECT_NE(r.exit(), 0) << r.describe();
  EXPECT_TRUE(mentions(r.out, "forged_checkpoint: checkpoint [0-9]+ \\(.*events.jsonl line [0-9]+.*does not verify"))
      << r.describe();
}

TEST_F(AuditCheckpoint, BastiondRefusesToStartWithoutTheKeyAndSaysHowToMakeOne) {
  const std::string key = env_.bastion.dir() + "/audit_checkpoint_ed25519_key";
  std::filesystem::rename(key, key + ".aside");
  RunResult r = run({BASTIOND_PATH, "--listen", "127.0.0.1:0", "--db", env_.bastion.db(), "--state-dir",
                     env_.bastion.state_dir()},
                    base_env(), std::nullopt, 30s);
  EXPECT_NE(r.exit(), 0) << r.describe();
  EXPECT_TRUE(mentions(r.err, "audit checkpoint key .* does not exist; create it with `bastionctl --db DB audit checkpoint-key`"))
      << r.describe();
  // checkpoint-key makes a new one (the old .pub no longer verifies what it signs).
  RunResult made = env_.bastion.ctl({"audit", "checkpoint-key"});
  EXPECT_EQ(made.exit(), 0) << made.describe();
  EXPECT_TRUE(mentions(made.out, "^created .*audit_checkpoint_ed25519_key\nssh-ed25519 ")) << made.describe();
}

}  // namespace
}  // namespace bastion::e2e
