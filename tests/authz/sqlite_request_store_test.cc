// SqliteRequestStore on a real SQLite file and a real PostgreSQL database: requests round-trip, the
// schema itself keeps the two-person rule, lapses are marked at their deadline, policies fall back
// server -> client -> officer, and the pending TTL setting.
#include "authz/sqlite_request_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "authz/sqlite_store.h"

#include "tests/db/test_database.h"

namespace bastion::authz {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const Seconds kNow = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC

// The same cases run against SQLite and PostgreSQL (tests/db/test_database.h).
class RequestStoreTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    test_database_ = std::make_unique<test_db::TestDatabase>(GetParam());
    BASTION_REQUIRE_ENGINE(*test_database_);
    auto db = db::Database::open(test_database_->location(), true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    store_ = std::make_unique<SqliteStore>(db_, clock_);
    requests_ = std::make_unique<SqliteRequestStore>(db_);
    ASSERT_TRUE(store_->add_operator({"alice", Role::Operator, "", "JBSWY3DPEHPK3PXP"}).ok());
    ASSERT_TRUE(store_->add_operator({"olivia", Role::Officer, "", "JBSWY3DPEHPK3PXP"}).ok());
    ASSERT_TRUE(store_->add_operator({"carol", Role::Client, "acme", "JBSWY3DPEHPK3PXP"}).ok());
    auto web1 = store_->add_server({0, "web1", "127.0.0.1", 22, "acme", ServerKind::Dedicated, "ssh-ed25519 AAAA", {}});
    ASSERT_TRUE(web1.ok()) << web1.error().message;
    web1_ = web1->id;
    CatalogueEntry shell;
    shell.name = "shell";
    ASSERT_TRUE(store_->add_catalogue_entry("web1", shell).ok());
    alice_ = store_->find_operator("alice")->id;
  }
  void TearDown() override {
    requests_.reset();
    store_.reset();
    db_.reset();
    test_database_.reset();
  }

  NewRequest draft() const {
    return NewRequest{alice_, web1_, "root", {"logs", "restart"}, hours{2}, std::nullopt, "ticket 4411",
                      ApprovalPolicy{true, true}, kNow, kNow + hours{24}};
  }

  std::unique_ptr<test_db::TestDatabase> test_database_;
  FixedClock clock_{kNow};
  db::DatabasePtr db_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteRequestStore> requests_;
  std::int64_t web1_ = 0;
  std::int64_t alice_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Engines, RequestStoreTest, test_db::kEngines, test_db::engine_name);

TEST_P(RequestStoreTest, ARequestRoundTripsWithItsServersClient) {
  auto d = draft();
  d.from = kNow + hours{3};
  const auto r = requests_->add(d);
  EXPECT_GT(r.id, 0);
  EXPECT_EQ(r.operator_name, "alice");
  EXPECT_EQ(r.server_name, "web1");
  EXPECT_EQ(r.client, "acme");
  EXPECT_EQ(r.ops, (std::vector<std::string>{"logs", "restart"}));
  EXPECT_EQ(r.duration, hours{2});
  EXPECT_EQ(r.from, kNow + hours{3});
  EXPECT_EQ(r.needs, (ApprovalPolicy{true, true}));
  EXPECT_EQ(r.status, RequestStatus::Pending);
  EXPECT_EQ(r.lapses_at, kNow + hours{24});
  EXPECT_TRUE(r.approvals.empty());
  EXPECT_EQ(requests_->list().size(), 1u);
}

TEST_P(RequestStoreTest, ApprovalsAreKeptInOrderAndTheSchemaRefusesASecondOfOneSlotOrOnePerson) {
  const auto r = requests_->add(draft());
  requests_->add_approval(r.id, {3, "carol", Approver::Client, kNow + minutes{1}, "ok"});
  EXPECT_THROW(requests_->add_approval(r.id, {2, "olivia", Approver::Client, kNow, ""}), db::DbError);
  EXPECT_THROW(requests_->add_approval(r.id, {3, "carol", Approver::Officer, kNow, ""}), db::DbError);
  requests_->add_approval(r.id, {2, "olivia", Approver::Officer, kNow + minutes{2}, ""});
  const auto back = requests_->find(r.id);
  ASSERT_EQ(back->approvals.size(), 2u);
  EXPECT_EQ(back->approvals[0].approver, "carol");
  EXPECT_EQ(back->approvals[0].as, Approver::Client);
  EXPECT_EQ(back->approvals[0].reason, "ok");
  EXPECT_EQ(back->approvals[1].approver, "olivia");
  EXPECT_EQ(back->approvals[1].at, kNow + minutes{2});
}

TEST_P(RequestStoreTest, ApprovedNamesItsGrantAndEndsOnlyOnce) {
  const auto r = requests_->add(draft());
  auto g = store_->add_grant({"alice", "web1", "root", {"shell"}, kNow, kNow + hours{2}, "request", "olivia"});
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_TRUE(requests_->set_approved(r.id, g->id));
  EXPECT_EQ(requests_->find_by_grant(g->id)->id, r.id);
  EXPECT_EQ(requests_->find(r.id)->status, RequestStatus::Approved);
  EXPECT_FALSE(requests_->set_ended(r.id, RequestStatus::Cancelled, "alice", kNow, ""));
  EXPECT_FALSE(requests_->set_approved(r.id, g->id));
}

TEST_P(RequestStoreTest, DeniedKeepsWhoWhenAndWhy) {
  const auto r = requests_->add(draft());
  ASSERT_TRUE(requests_->set_ended(r.id, RequestStatus::Denied, "carol", kNow + minutes{5}, "change freeze"));
  const auto back = requests_->find(r.id);
  EXPECT_EQ(back->status, RequestStatus::Denied);
  EXPECT_EQ(back->decided_by, "carol");
  EXPECT_EQ(back->decided_at, kNow + minutes{5});
  EXPECT_EQ(back->decision_reason, "change freeze");
}

TEST_P(RequestStoreTest, LapseDueMarksPendingRequestsAtTheirDeadlineOnce) {
  const auto early = requests_->add(draft());
  auto later = draft();
  later.lapses_at = kNow + hours{48};
  const auto late = requests_->add(later);
  EXPECT_TRUE(requests_->lapse_due(kNow + hours{24} - std::chrono::seconds{1}).empty());
  const auto lapsed = requests_->lapse_due(kNow + hours{30});
  ASSERT_EQ(lapsed.size(), 1u);
  EXPECT_EQ(lapsed[0].id, early.id);
  EXPECT_EQ(requests_->find(early.id)->status, RequestStatus::Lapsed);
  EXPECT_EQ(requests_->find(early.id)->decided_at, kNow + hours{24});
  EXPECT_EQ(requests_->find(late.id)->status, RequestStatus::Pending);
  EXPECT_TRUE(requests_->lapse_due(kNow + hours{30}).empty());
}

TEST_P(RequestStoreTest, PolicyFallsBackFromServerToClientToOfficer) {
  EXPECT_EQ(requests_->policy_for(web1_), (ApprovalPolicy{false, true}));
  ASSERT_TRUE(requests_->set_client_policy("acme", ApprovalPolicy{true, true}));
  EXPECT_EQ(requests_->policy_for(web1_), (ApprovalPolicy{true, true}));
  ASSERT_TRUE(requests_->set_server_policy("web1", ApprovalPolicy{true, false}));
  EXPECT_EQ(requests_->policy_for(web1_), (ApprovalPolicy{true, false}));
  EXPECT_EQ(requests_->server_policy("web1"), (ApprovalPolicy{true, false}));
  ASSERT_TRUE(requests_->set_server_policy("web1", std::nullopt));
  EXPECT_EQ(requests_->policy_for(web1_), (ApprovalPolicy{true, true}));
  EXPECT_FALSE(requests_->set_server_policy("nope", ApprovalPolicy{}));
  EXPECT_FALSE(requests_->set_client_policy("globex", ApprovalPolicy{}));
}

TEST_P(RequestStoreTest, PendingTtlDefaultsToADayAndStaysWithinBounds) {
  EXPECT_EQ(requests_->pending_ttl(), hours{24});
  ASSERT_TRUE(requests_->set_pending_ttl(hours{2}));
  EXPECT_EQ(requests_->pending_ttl(), hours{2});
  EXPECT_FALSE(requests_->set_pending_ttl(minutes{4}));
  EXPECT_FALSE(requests_->set_pending_ttl(hours{24 * 31}));
  EXPECT_EQ(requests_->pending_ttl(), hours{2});
}

}  // namespace
}  // namespace bastion::authz
