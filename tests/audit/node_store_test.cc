// Tests for audit/node_store.cc (heartbeats, and the end of a dead node's sessions) and for the
// node-aware session cap of audit/sqlite_session_store.cc, against a real SQLite database and a
// real PostgreSQL database (the same cases: tests/db/test_database.h).
#include "audit/node_store.h"

#include <gtest/gtest.h>

#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "tests/db/test_database.h"

namespace bastion::audit {
namespace {

constexpr long long kT0 = 1700000000;

class NodeStoreTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    BASTION_REQUIRE_ENGINE(test_database_);
    auto db = db::Database::open(test_database_.location(), /*create=*/true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = db.value();
    sessions_ = std::make_unique<SqliteSessionStore>(db_);
  }

  std::int64_t live_on(const std::string& node, const std::string& op = "alice") {
    SessionStart s{op, "web1", "root", std::nullopt, "acme", "203.0.113.7:51234", from_unix(kT0), 4242};
    s.node = node;
    auto id = sessions_->start(s);
    if (!id) throw std::runtime_error(id.error().message);
    return *id;
  }

  test_db::TestDatabase test_database_{GetParam()};
  db::DatabasePtr db_;
  std::unique_ptr<SqliteSessionStore> sessions_;
};

INSTANTIATE_TEST_SUITE_P(Engines, NodeStoreTest, test_db::kEngines, test_db::engine_name);

TEST_P(NodeStoreTest, BeatMakesTheNodeRowThenMovesItsHeartbeat) {
  beat(*db_, "node-a", 100, from_unix(kT0), from_unix(kT0));
  beat(*db_, "node-b", 200, from_unix(kT0), from_unix(kT0 + 1));
  beat(*db_, "node-a", 101, from_unix(kT0 + 5), from_unix(kT0 + 6));
  const auto nodes = list_nodes(*db_);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "node-a");
  EXPECT_EQ(nodes[0].pid, 101);
  EXPECT_EQ(to_unix(nodes[0].started_at), kT0 + 5);
  EXPECT_EQ(to_unix(nodes[0].heartbeat_at), kT0 + 6);
  EXPECT_EQ(nodes[1].name, "node-b");
  EXPECT_EQ(to_unix(nodes[1].heartbeat_at), kT0 + 1);
}

TEST_P(NodeStoreTest, TheLiveSessionsOfANodeSilentPastTheTimeoutEndAbortedEachWithAnEvent) {
  beat(*db_, "node-a", 100, from_unix(kT0), from_unix(kT0));
  beat(*db_, "node-b", 200, from_unix(kT0), from_unix(kT0));
  const auto lost = live_on("node-a");
  const auto closed = live_on("node-a", "carol");
  ASSERT_TRUE(sessions_->finish(closed, from_unix(kT0 + 10), 0, "closed", "").ok());
  const auto alive = live_on("node-b", "bob");

  // Within the timeout, nothing is ended.
  beat(*db_, "node-b", 200, from_unix(kT0), from_unix(kT0 + 30));
  EXPECT_TRUE(end_sessions_of_lost_nodes(*db_, {}, "node-b", from_unix(kT0 + 30), std::chrono::seconds(30)).ended.empty());

  // Past it, node-a's live session ends; its closed one and node-b's stay as they were.
  beat(*db_, "node-b", 200, from_unix(kT0), from_unix(kT0 + 31));
  const auto report = end_sessions_of_lost_nodes(*db_, {}, "node-b", from_unix(kT0 + 31), std::chrono::seconds(30));
  ASSERT_EQ(report.ended.size(), 1u);
  EXPECT_EQ(report.ended[0].session_id, lost);
  EXPECT_EQ(report.ended[0].node, "node-a");
  EXPECT_EQ(to_unix(report.ended[0].last_heartbeat), kT0);
  EXPECT_TRUE(report.sink_error.empty());

  const auto row = sessions_->find(lost);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, "aborted");
  EXPECT_EQ(row->node, "node-a");
  ASSERT_TRUE(row->end);
  EXPECT_EQ(to_unix(*row->end), kT0 + 31);
  EXPECT_NE(row->reason.find("node node-a stopped sending its heartbeat (last at 2023-11-14 22:13:20 UTC; "
                             "timeout 30 s): taken for dead by node node-b"),
            std::string::npos)
      << row->reason;
  EXPECT_EQ(sessions_->find(closed)->status, "closed");
  EXPECT_EQ(sessions_->find(alive)->status, "live");

  EventFilter f;
  f.kind = "session.aborted";
  const auto events = list_events(*db_, f);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.session_id, lost);
  EXPECT_EQ(events[0].event.actor, "bastiond");
  EXPECT_EQ(events[0].event.details["node"], "node-a");
  EXPECT_EQ(events[0].event.details["ended_by_node"], "node-b");
  EXPECT_EQ(events[0].event.details["reason"], row->reason);

  // Once ended, never again: a second sweep finds nothing.
  EXPECT_TRUE(end_sessions_of_lost_nodes(*db_, {}, "node-b", from_unix(kT0 + 40), std::chrono::seconds(30)).ended.empty());
}

TEST_P(NodeStoreTest, ANodeNeverEndsItsOwnSessions) {
  beat(*db_, "node-a", 100, from_unix(kT0), from_unix(kT0));
  const auto own = live_on("node-a");
  EXPECT_TRUE(end_sessions_of_lost_nodes(*db_, {}, "node-a", from_unix(kT0 + 300), std::chrono::seconds(30)).ended.empty());
  EXPECT_EQ(sessions_->find(own)->status, "live");
}

// The access version moves in the transaction of each change a live check reads, and not for what
// it does not read (a login's TOTP step, a session starting, a heartbeat, an audit event).
TEST_P(NodeStoreTest, TheAccessVersionMovesWithWhatALiveCheckReadsOnly) {
  auto store = authz::open_sqlite_store(db_);
  const auto v0 = access_version(*db_);
  auto alice = store->add_operator({"alice", authz::Role::Operator, "", "JBSWY3DPEHPK3PXP"});
  ASSERT_TRUE(alice.ok());
  const auto v1 = access_version(*db_);
  EXPECT_GT(v1, v0);
  ASSERT_TRUE(store->consume_totp_step(alice->id, 56666666));  // a login: nothing a live check reads
  EXPECT_EQ(access_version(*db_), v1);
  ASSERT_TRUE(store->set_operator_disabled("alice", true).ok());
  const auto v2 = access_version(*db_);
  EXPECT_GT(v2, v1);

  const auto id = live_on("node-a");
  beat(*db_, "node-a", 100, from_unix(kT0), from_unix(kT0));
  ASSERT_TRUE(open_event_log(db_)->append({from_unix(kT0), "test.event", "tester", "", "", std::nullopt, {}}).ok());
  EXPECT_EQ(access_version(*db_), v2);

  ASSERT_TRUE(sessions_->request_kill(id, "boss", from_unix(kT0 + 1)).ok());
  const auto v3 = access_version(*db_);
  EXPECT_GT(v3, v2);
  ASSERT_TRUE(sessions_->finish(id, from_unix(kT0 + 2), 0, "closed", "").ok());
  EXPECT_GT(access_version(*db_), v3);
}

// The per-operator cap: a node can see only its own processes, so another node's live rows always
// count, while its own rows whose process is gone do not.
TEST_P(NodeStoreTest, TheSessionCapCountsOtherNodesRowsWhateverThisHostSaysOfTheirPids) {
  live_on("node-b");
  SessionStart s{"alice", "web1", "root", std::nullopt, "acme", "203.0.113.7:1", from_unix(kT0), 4242};
  s.node = "node-a";
  s.max_live = 1;
  s.alive = [](int, std::int64_t) { return false; };  // no such process here
  auto refused = sessions_->start(s);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("already has 1 live sessions"), std::string::npos) << refused.error().message;

  // On node-b itself, that row's process being gone frees the place.
  s.node = "node-b";
  EXPECT_TRUE(sessions_->start(s).ok());
}

}  // namespace
}  // namespace bastion::audit
