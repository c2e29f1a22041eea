#include "audit/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit/client_terms.h"
#include "audit/verify.h"
#include "authz/sqlite_request_store.h"
#include "authz/sqlite_store.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using testing::kNow;

class RetentionTest : public testing::AuditFixtureOnEngines {
 protected:
  void set_terms(const std::string& client, std::optional<int> recordings, std::optional<int> events) {
    ClientTermsChange c;
    c.recording_retention_days = recordings;
    c.event_retention_days = events;
    ASSERT_TRUE(set_client_terms(*db_, client, c).ok());
  }
  void verify_intact() {
    const auto report = verify_audit(*db_);
    EXPECT_TRUE(report.intact()) << report.findings.front().message;
  }
  FixedClock clock_{kNow};
};

// RetentionOfRequests: access requests (authz/access_request.h) written through the real stores,
// decided or granted at chosen ages before kNow.
class RetentionOfRequests : public RetentionTest {
 protected:
  void SetUp() override {
    RetentionTest::SetUp();
    store_ = std::make_unique<authz::SqliteStore>(db_, grant_clock_);
    requests_ = std::make_unique<authz::SqliteRequestStore>(db_);
    ASSERT_TRUE(store_->add_operator({"alice", authz::Role::Operator, "", "JBSWY3DPEHPK3PXP"}).ok());
    ASSERT_TRUE(store_->add_operator({"carol", authz::Role::Client, "acme", "JBSWY3DPEHPK3PXP"}).ok());
    authz::CatalogueEntry shell;
    shell.name = "shell";
    ASSERT_TRUE(store_->add_catalogue_entry("web1", shell).ok());
    ASSERT_TRUE(store_->add_catalogue_entry("db1", shell).ok());
  }

  static Seconds days_ago(std::int64_t days) { return kNow - std::chrono::days(days); }

  std::int64_t asked(const std::string& server, Seconds at) {
    const auto s = store_->find_server(server);
    return requests_->add({store_->find_operator("alice")->id, s->id, "root", {"shell"}, std::chrono::hours(2),
                           std::nullopt, "ticket 4411", authz::ApprovalPolicy{true, true}, at,
                           at + std::chrono::hours(24)})
        .id;
  }

  // ended: asked and, an hour later, ended as `status` (after a client approval: its row goes too).
  std::int64_t ended(const std::string& server, authz::RequestStatus status, std::int64_t age_days) {
    const auto id = asked(server, days_ago(age_days));
    requests_->add_approval(id, {0, "carol", authz::Approver::Client, days_ago(age_days), ""});
    EXPECT_TRUE(requests_->set_ended(id, status, "olivia", days_ago(age_days) + std::chrono::hours(1), "no").ok());
    return id;
  }

  // granted: asked 100 days ago, approved by both, with a two-hour grant starting at `start`.
  std::int64_t granted(const std::string& server, Seconds start) {
    const auto id = asked(server, days_ago(100));
    requests_->add_approval(id, {0, "carol", authz::Approver::Client, start, ""});
    requests_->add_approval(id, {0, "olivia", authz::Approver::Officer, start, ""});
    grant_clock_.set(start);
    auto g = store_->add_grant({"alice", server, "root", {"shell"}, start, start + std::chrono::hours(2),
                                "request " + std::to_string(id), "olivia"});
    EXPECT_TRUE(g.ok()) << g.error().message;
    EXPECT_TRUE(requests_->set_approved(id, g->id).ok());
    return id;
  }

  std::int64_t approvals_of(std::int64_t id) { return count("request_approvals", "request_id = " + std::to_string(id)); }

  FixedClock grant_clock_{kNow};
  std::unique_ptr<authz::SqliteStore> store_;
  std::unique_ptr<authz::SqliteRequestStore> requests_;
};

INSTANTIATE_TEST_SUITE_P(Engines, RetentionTest, test_db::kEngines, test_db::engine_name);

TEST_P(RetentionTest, RemovesExactlyTheRecordingsAndEventsThatAreDue) {
  const auto old_session = add_session("web1", "acme", 40);
  const auto new_session = add_session("web1", "acme", 10);
  const auto globex_session = add_session("db1", "globex", 400);
  const auto old_cast = add_recording(old_session, testing::kCast);
  const auto new_cast = add_recording(new_session, testing::kCast);
  const auto globex_cast = add_recording(globex_session, testing::kCast);
  // Events 1 to 9: each session's start and end, then the three recordings' digests.
  add_event("session.start", "web1", 100);  // 10: due (acme, 100 > 60 days)
  add_event("auth.failure", "", 100);       // 11: no client, kept
  add_event("session.start", "web1", 90);   // 12: due
  add_event("session.start", "db1", 400);   // 13: globex, no terms, kept
  add_event("session.start", "web1", 30);   // 14: kept
  set_terms("acme", 30, 60);

  const auto report = purge(*db_, clock_, recordings_dir_, "olivia");

  ASSERT_EQ(report.recordings.size(), 1u);
  EXPECT_EQ(report.recordings[0].session_id, old_session);
  EXPECT_EQ(report.events, 2);
  EXPECT_TRUE(report.problems.empty());
  EXPECT_FALSE(std::filesystem::exists(old_cast));
  EXPECT_TRUE(std::filesystem::exists(new_cast));
  EXPECT_TRUE(std::filesystem::exists(globex_cast));
  EXPECT_EQ(count("recordings"), 2);
  EXPECT_EQ(count("events", "id IN (10, 12)"), 0);
  EXPECT_EQ(count("events", "id IN (11, 13, 14)"), 3);
  EXPECT_EQ(count("sessions"), 3);
  auto q = db_->prepare("SELECT reason FROM sessions WHERE id = ?");
  q.bind(1, old_session);
  ASSERT_TRUE(q.step());
  EXPECT_THAT(q.col_text(0), HasSubstr("recordings purged 2026-11-23T10:00:00Z (30-day retention)"));
  EventFilter purges;
  purges.kind = "retention.purge";
  const auto purge_events = list_events(*db_, purges);
  ASSERT_EQ(purge_events.size(), 1u);
  EXPECT_EQ(purge_events[0].event.actor, "olivia");
  EXPECT_EQ(purge_events[0].event.details["clients"]["acme"]["events"], 2);
  EXPECT_EQ(purge_events[0].event.details["purged_events"].size(), 2u);  // runs [10,10] and [12,12]
  // The old session's digest stays in the chain; the purge event says its recording went.
  verify_intact();
}

TEST_P(RetentionTest, ContractEndPlusGraceDestroysEverythingOfThatClientOnly) {
  const auto acme_session = add_session("web1", "acme", 5);
  const auto globex_session = add_session("db1", "globex", 5);
  add_recording(acme_session, testing::kCast);
  const auto globex_cast = add_recording(globex_session, testing::kCast);
  add_event("session.start", "db1", 5, globex_session);
  add_event("session.start", "web1", 5, acme_session);
  add_event("session.end", "db1", 5, globex_session);
  ClientTermsChange ended;
  ended.contract_end = std::optional<Seconds>(kNow - std::chrono::days(100));
  ended.grace_days = 90;
  ASSERT_TRUE(set_client_terms(*db_, "globex", ended).ok());

  const auto report = purge(*db_, clock_, recordings_dir_);

  ASSERT_EQ(report.clients.size(), 1u);
  EXPECT_TRUE(report.clients[0].contract_ended);
  EXPECT_EQ(report.sessions, std::vector<std::int64_t>{globex_session});
  EXPECT_FALSE(std::filesystem::exists(globex_cast));
  EXPECT_EQ(count("sessions", "server = 'db1'"), 0);
  EXPECT_EQ(count("events", "server = 'db1'"), 0);
  EXPECT_EQ(count("sessions", "server = 'web1'"), 1);
  EXPECT_EQ(count("events", "server = 'web1'"), 4);  // acme's start, end, digest and the one added
  verify_intact();
}

TEST_P(RetentionTest, AnEditedSessionRowIsPurgedWithTheClientItsChainedStartNames) {
  const auto acme_session = add_session("web1", "acme", 5);
  const auto globex_session = add_session("db1", "globex", 5);
  sql("UPDATE sessions SET client = 'globex', server = 'db1' WHERE id = " + std::to_string(acme_session));
  sql("UPDATE sessions SET client = 'acme', server = 'web1' WHERE id = " + std::to_string(globex_session));
  ClientTermsChange ended;
  ended.contract_end = std::optional<Seconds>(kNow - std::chrono::days(100));
  ended.grace_days = 90;
  ASSERT_TRUE(set_client_terms(*db_, "globex", ended).ok());
  const auto report = purge(*db_, clock_, recordings_dir_);
  EXPECT_EQ(report.sessions, std::vector<std::int64_t>{globex_session});
  EXPECT_EQ(count("sessions", "id = " + std::to_string(acme_session)), 1);
}

TEST_P(RetentionTest, GraceNotOverMeansNothingIsDestroyed) {
  add_session("db1", "globex", 5);
  ClientTermsChange ended;
  ended.contract_end = std::optional<Seconds>(kNow - std::chrono::days(10));
  ASSERT_TRUE(set_client_terms(*db_, "globex", ended).ok());  // default grace: 90 days
  const auto report = purge(*db_, clock_, recordings_dir_);
  EXPECT_TRUE(report.clients.empty());
  EXPECT_EQ(count("sessions"), 1);
}

TEST_P(RetentionTest, RepeatedPurgesKeepTheChainVerifiable) {
  for (int age : {200, 150, 120, 100, 50}) add_event("session.start", "web1", age);
  add_event("session.start", "db1", 110);
  set_terms("acme", std::nullopt, 130);
  purge(*db_, clock_, recordings_dir_);
  verify_intact();
  add_event("session.start", "web1", 0);
  set_terms("acme", std::nullopt, 60);
  set_terms("globex", std::nullopt, 60);
  const auto second = purge(*db_, clock_, recordings_dir_);
  EXPECT_EQ(second.events, 3);  // web1 at 120 and 100, db1 at 110
  verify_intact();
  EXPECT_EQ(count("events", "kind = 'retention.purge'"), 2);
}

TEST_P(RetentionTest, NeverDeletesAFileOutsideTheRecordingsDirectory) {
  const auto session = add_session("web1", "acme", 40);
  add_recording(session, testing::kCast);
  const std::string outside = dir_ / "precious.txt";
  std::ofstream(outside) << "keep me";
  sql("UPDATE recordings SET path = '" + outside + "'");
  set_terms("acme", 30, std::nullopt);
  const auto report = purge(*db_, clock_, recordings_dir_);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], HasSubstr("is not inside the recordings directory"));
  EXPECT_TRUE(std::filesystem::exists(outside));
}

TEST_P(RetentionTest, SessionWhoseEventsWerePurgedIsNotTakenForTampering) {
  const auto session = add_session("web1", "acme", 100);
  add_recording(session, testing::kCast);
  set_terms("acme", std::nullopt, 60);  // events go after 60 days, recordings and rows stay
  const auto report = purge(*db_, clock_, recordings_dir_);
  EXPECT_EQ(report.events, 3);
  EXPECT_EQ(count("sessions"), 1);
  EXPECT_EQ(count("recordings"), 1);
  verify_intact();
  // What is left unanchored is still checked against itself: the file against its row.
  sql("UPDATE recordings SET sha256 = 'ab'");
  EXPECT_FALSE(verify_audit(*db_).intact());
}

// Several nodes, each recording into a directory of its own (README, "Running several bastions"):
// node A's purge deletes the rows of node B's recordings but cannot reach their files; node B's
// sweep removes them, and only them.
TEST_P(RetentionTest, ANodeSweepsFromItsDirectoryTheRecordingsAnotherNodesPurgeDestroyed) {
  const auto old_session = add_session("web1", "acme", 40);
  const auto new_session = add_session("web1", "acme", 10);
  const auto old_cast = add_recording(old_session, testing::kCast);  // in node B's directory
  const auto new_cast = add_recording(new_session, testing::kCast);
  const std::string node_a_dir = dir_ / "node-a-recordings";
  std::filesystem::create_directories(node_a_dir);
  set_terms("acme", 30, std::nullopt);

  const auto report = purge(*db_, clock_, node_a_dir, "node-a");
  ASSERT_EQ(report.recordings.size(), 1u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], HasSubstr("removes it at its next retention run"));
  EXPECT_TRUE(std::filesystem::exists(old_cast));
  EXPECT_TRUE(sweep_purged_recordings(*db_, node_a_dir).deleted.empty());  // nothing of A's own

  const auto swept = sweep_purged_recordings(*db_, recordings_dir_);
  EXPECT_EQ(swept.deleted, std::vector<std::string>{old_cast});
  EXPECT_TRUE(swept.problems.empty());
  EXPECT_FALSE(std::filesystem::exists(old_cast));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(old_cast).parent_path()));  // the session's folder
  EXPECT_TRUE(std::filesystem::exists(new_cast));
  EXPECT_TRUE(sweep_purged_recordings(*db_, recordings_dir_).deleted.empty());
  verify_intact();
}

TEST_P(RetentionTest, TheSweepLeavesAPurgedPathThatARowOrALiveSessionOwnsAgain) {
  const auto old_session = add_session("web1", "acme", 40);
  const auto new_session = add_session("web1", "acme", 10);
  const auto old_cast = add_recording(old_session, testing::kCast);
  const auto new_cast = add_recording(new_session, testing::kCast);
  const std::string node_a_dir = dir_ / "node-a-recordings";
  std::filesystem::create_directories(node_a_dir);
  set_terms("acme", 30, std::nullopt);
  ASSERT_EQ(purge(*db_, clock_, node_a_dir, "node-a").recordings.size(), 1u);

  // A row names the purged path again (SQLite gave a purged newest session's id to a new one).
  sql("UPDATE recordings SET path = '" + old_cast + "' WHERE session_id = " + std::to_string(new_session));
  EXPECT_TRUE(sweep_purged_recordings(*db_, recordings_dir_).deleted.empty());
  EXPECT_TRUE(std::filesystem::exists(old_cast));
  sql("UPDATE recordings SET path = '" + new_cast + "' WHERE session_id = " + std::to_string(new_session));
  // The session whose folder it is is live (its rows are written when it ends).
  sql("UPDATE sessions SET status = 'live' WHERE id = " + std::to_string(old_session));
  EXPECT_TRUE(sweep_purged_recordings(*db_, recordings_dir_).deleted.empty());
  EXPECT_TRUE(std::filesystem::exists(old_cast));
  sql("UPDATE sessions SET status = 'closed' WHERE id = " + std::to_string(old_session));
  EXPECT_EQ(sweep_purged_recordings(*db_, recordings_dir_).deleted, std::vector<std::string>{old_cast});
  EXPECT_TRUE(std::filesystem::exists(new_cast));
}

INSTANTIATE_TEST_SUITE_P(Engines, RetentionOfRequests, test_db::kEngines, test_db::engine_name);

TEST_P(RetentionOfRequests, DecidedRequestsOlderThanTheEventRetentionGoWithTheirApprovals) {
  const auto denied_long_ago = ended("web1", authz::RequestStatus::Denied, 100);
  const auto cancelled_lately = ended("web1", authz::RequestStatus::Cancelled, 10);
  const auto lapsed_long_ago = ended("web1", authz::RequestStatus::Lapsed, 61);
  const auto granted_long_ago = granted("web1", days_ago(100));
  const auto pending_long_ago = asked("web1", days_ago(100));  // past its deadline, never settled
  const auto live = granted("web1", kNow - std::chrono::hours(1));
  const auto yet_to_start = granted("web1", kNow + std::chrono::hours(1));
  const auto other_client = ended("db1", authz::RequestStatus::Denied, 100);
  set_terms("acme", std::nullopt, 60);

  const auto report = purge(*db_, clock_, recordings_dir_, "olivia");

  const std::vector<std::int64_t> gone{denied_long_ago, lapsed_long_ago, granted_long_ago};
  EXPECT_EQ(report.requests, gone);
  for (auto id : gone) {
    EXPECT_FALSE(requests_->find(id)) << "request " << id;
    EXPECT_EQ(approvals_of(id), 0) << "request " << id;
  }
  for (auto id : {cancelled_lately, pending_long_ago, live, yet_to_start, other_client}) {
    ASSERT_TRUE(requests_->find(id)) << "request " << id;
  }
  EXPECT_EQ(approvals_of(live), 2);
  EXPECT_EQ(count("grants"), 3);  // grants are not requests: the sessions under them still name them
  EventFilter purges;
  purges.kind = "retention.purge";
  const auto purge_events = list_events(*db_, purges);
  ASSERT_EQ(purge_events.size(), 1u);
  EXPECT_EQ(purge_events[0].event.details["clients"]["acme"]["requests"], 3);
  EXPECT_EQ(purge_events[0].event.details["requests"], nlohmann::json(gone));
  verify_intact();
}

TEST_P(RetentionOfRequests, ARevokedGrantsRequestGoesByTheRevocationNotTheWindow) {
  const auto id = granted("web1", days_ago(70));
  sql("UPDATE grants SET not_after = " + std::to_string(to_unix(kNow + std::chrono::hours(1))) +
      ", revoked_at = " + std::to_string(to_unix(days_ago(65))));
  set_terms("acme", std::nullopt, 60);
  EXPECT_EQ(purge(*db_, clock_, recordings_dir_).requests, std::vector<std::int64_t>{id});
}

TEST_P(RetentionOfRequests, WithoutEventRetentionRequestsStayUntilTheContractEndsThenAllEndedOnesGo) {
  const auto acme_old = ended("web1", authz::RequestStatus::Denied, 400);
  const auto globex_old = ended("db1", authz::RequestStatus::Denied, 400);
  const auto globex_recent = ended("db1", authz::RequestStatus::Cancelled, 1);
  const auto globex_live = granted("db1", kNow - std::chrono::hours(1));
  ClientTermsChange ended_contract;
  ended_contract.contract_end = std::optional<Seconds>(kNow - std::chrono::days(100));
  ended_contract.grace_days = 90;
  ASSERT_TRUE(set_client_terms(*db_, "globex", ended_contract).ok());

  const auto report = purge(*db_, clock_, recordings_dir_);

  EXPECT_EQ(report.requests, (std::vector<std::int64_t>{globex_old, globex_recent}));
  EXPECT_TRUE(requests_->find(acme_old));
  EXPECT_TRUE(requests_->find(globex_live));  // its grant still runs: it stays with it
  ASSERT_EQ(report.clients.size(), 1u);
  EXPECT_EQ(report.clients[0].requests, 2);
}

TEST_P(RetentionTest, ClientTermsRefuseUnknownClients) {
  const auto r = set_client_terms(*db_, "initech", {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("no client named 'initech'"));
}

}  // namespace
}  // namespace bastion::audit
