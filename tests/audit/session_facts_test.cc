// chained_client_of: one session's client as the chain states it, read from its own events only,
// with chained_clients()'s rule.
#include "audit/session_facts.h"

#include <gtest/gtest.h>

#include "tests/audit/audit_fixture.h"

namespace bastion::audit::testing {
namespace {

using SessionFactsTest = AuditFixtureOnEngines;

INSTANTIATE_TEST_SUITE_P(Engines, SessionFactsTest, test_db::kEngines, test_db::engine_name);

TEST_P(SessionFactsTest, ChainedClientOfOneSessionAgreesWithTheWholeChain) {
  const auto acme = add_session("web1", "acme", 2), globex = add_session("db1", "globex", 1);
  // A start written before clients were stated: the client of its (chained) server.
  const std::int64_t legacy = SqliteSessionStore(db_).start({"alice", "db1", "root", std::nullopt, "acme", "", kNow, 0}).value();
  ASSERT_TRUE(log_->append({kNow, "session.start", "alice", "", "db1", legacy, {{"login", "root"}}}).ok());
  // A second start naming another client does not move a session: the first one counts.
  ASSERT_TRUE(log_->append({kNow, "session.start", "alice", "", "db1", acme, {{"client", "globex"}}}).ok());
  sql("UPDATE sessions SET client = 'globex' WHERE id = " + std::to_string(acme));  // the row is no evidence
  const auto whole = chained_clients(*db_);
  for (auto id : {acme, globex, legacy}) {
    EXPECT_EQ(chained_client_of(*db_, id).value_or(""), whole.at(id)) << "session " << id;
  }
  EXPECT_EQ(chained_client_of(*db_, acme), "acme");
  EXPECT_EQ(chained_client_of(*db_, legacy), "globex");
  EXPECT_FALSE(chained_client_of(*db_, 999).has_value()) << "no chained start, no client";
}

}  // namespace
}  // namespace bastion::audit::testing
