// find_session_page: the portal's sessions list, filtered, sorted and paged in SQL, scoped by the
// client the chain states.
#include "audit/session_query.h"

#include <gtest/gtest.h>

#include "tests/audit/audit_fixture.h"

namespace bastion::audit::testing {
namespace {

class SessionPageTest : public AuditFixtureOnEngines {
 protected:
  std::vector<std::int64_t> ids(const SessionPageQuery& q) {
    std::vector<std::int64_t> out;
    for (const auto& s : find_session_page(db_, q).rows) out.push_back(s.id);
    return out;
  }
  // set_times rewrites a session row's times (the chain is not what the list sorts by).
  void set_times(std::int64_t id, std::int64_t start, std::optional<std::int64_t> end, const std::string& op) {
    sql("UPDATE sessions SET started_at = " + std::to_string(start) + ", ended_at = " +
        (end ? std::to_string(*end) : "NULL") + ", status = '" + (end ? "closed" : "live") + "', \"operator\" = '" +
        op + "' WHERE id = " + std::to_string(id));
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, SessionPageTest, test_db::kEngines, test_db::engine_name);

TEST_P(SessionPageTest, EachOrderSortsBothWaysWithTiesInIdOrderAndLiveSessionsLast) {
  const auto a = add_session("web1", "acme", 3), b = add_session("db1", "globex", 2), c = add_session("web1", "acme", 1),
             d = add_session("web1", "acme", 1);
  set_times(a, 1000, 1100, "zoe");   // 100 s
  set_times(b, 2000, 2010, "bob");   // 10 s
  set_times(c, 3000, std::nullopt, "bob");  // live
  set_times(d, 3000, 3100, "amy");   // 100 s, same start as c
  SessionPageQuery q;
  q.order = SessionOrder::Start;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{d, c, b, a}));
  q.descending = false;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{a, b, c, d})) << "a tie on start keeps id order";
  q.order = SessionOrder::End;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{a, b, d, c})) << "the live one has not ended: last";
  q.descending = true;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{c, d, b, a}));
  q.order = SessionOrder::Duration;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{c, d, a, b})) << "equal durations: higher id first when descending";
  q.descending = false;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{b, a, d, c}));
  q.order = SessionOrder::Operator;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{d, b, c, a}));
  q.order = SessionOrder::Server;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{b, a, c, d}));
}

TEST_P(SessionPageTest, PagesSplitNothingAndTheTotalCountsEveryMatch) {
  std::vector<std::int64_t> all;
  for (int i = 0; i < 7; ++i) all.push_back(add_session("web1", "acme", 1));  // one start second for all
  SessionPageQuery q;
  q.limit = 3;
  std::vector<std::int64_t> seen;
  for (q.offset = 0; q.offset < 9; q.offset += 3) {
    const auto page = find_session_page(db_, q);
    EXPECT_EQ(page.total, 7);
    for (const auto& s : page.rows) seen.push_back(s.id);
  }
  EXPECT_EQ(seen, std::vector<std::int64_t>(all.rbegin(), all.rend()));
}

TEST_P(SessionPageTest, EveryPageIsItsSliceOfTheWholeOrderFromTheFrontOrTheBack) {
  for (int i = 0; i < 9; ++i) {
    const auto id = add_session(i % 2 ? "web1" : "db1", i % 2 ? "acme" : "globex", 1);
    set_times(id, 1000 + i / 3, i % 4 ? std::optional<std::int64_t>(2000 - i % 3) : std::nullopt, i % 3 ? "bob" : "amy");
  }
  for (auto order : {SessionOrder::Start, SessionOrder::End, SessionOrder::Duration, SessionOrder::Server,
                     SessionOrder::Operator}) {
    for (bool descending : {true, false}) {
      SessionPageQuery whole;
      whole.order = order;
      whole.descending = descending;
      whole.limit = 100;
      const auto all = ids(whole);
      ASSERT_EQ(all.size(), 9u);
      for (std::int64_t offset = 0; offset < 10; ++offset) {
        SessionPageQuery q = whole;
        q.limit = 2;
        q.offset = offset;
        const std::vector<std::int64_t> expected(all.begin() + std::min<std::int64_t>(offset, 9),
                                                 all.begin() + std::min<std::int64_t>(offset + 2, 9));
        EXPECT_EQ(ids(q), expected) << "order " << static_cast<int>(order) << (descending ? " desc" : " asc")
                                    << ", offset " << offset;
      }
    }
  }
}

TEST_P(SessionPageTest, AReviewerSeesHerClientAsTheChainStatesItNotAsTheRowSays) {
  const auto own = add_session("web1", "acme", 2), foreign = add_session("db1", "globex", 1);
  sql("UPDATE sessions SET client = 'acme' WHERE id = " + std::to_string(foreign));  // an edited row
  SessionPageQuery q;
  q.filter.client = "acme";
  const auto page = find_session_page(db_, q);
  EXPECT_EQ(page.total, 1);
  ASSERT_EQ(page.rows.size(), 1u);
  EXPECT_EQ(page.rows[0].id, own);
}

// The reviewer's page walks her client's (client, sort key) index only when every session the
// chain gives her says her client in its row too; a row edited AWAY from her client would be lost
// by that index, so then the page reads as before, and still lists it.
TEST_P(SessionPageTest, ARowEditedAwayFromHerClientIsStillListedForHer) {
  std::vector<std::int64_t> own;
  for (int i = 0; i < 5; ++i) own.push_back(add_session("web1", "acme", 5 - i));
  add_session("db1", "globex", 1);
  SessionPageQuery q;
  q.filter.client = "acme";
  q.limit = 2;
  const auto before = find_session_page(db_, q);
  EXPECT_EQ(before.total, 5);
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{own[4], own[3]}));
  sql("UPDATE sessions SET client = 'globex' WHERE id = " + std::to_string(own[4]));  // hidden from acme by the row
  EXPECT_EQ(find_session_page(db_, q).total, 5);
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{own[4], own[3]}));
  q.order = SessionOrder::Operator;
  q.descending = false;
  q.offset = 4;
  EXPECT_EQ(ids(q), (std::vector<std::int64_t>{own[4]}));
}

// The access report's reads: totals in SQL, rows from a cursor, oldest first, for the period and
// the client the chain states.
TEST_P(SessionPageTest, TheReportTotalsAndCursorCoverThePeriodAndTheClientOnly) {
  const auto old_one = add_session("web1", "acme", 40), a = add_session("web1", "acme", 3),
             foreign = add_session("db1", "globex", 2), b = add_session("web1", "acme", 1),
             live = add_session("web1", "acme", 1);
  set_times(a, 1000, 1100, "zoe");    // 100 s
  set_times(b, 2000, 2010, "bob");    // 10 s
  set_times(live, 3000, std::nullopt, "amy");
  set_times(foreign, 1500, 1600, "bob");
  set_times(old_one, 10, 20, "bob");  // before the period
  sql("UPDATE sessions SET client = 'acme' WHERE id = " + std::to_string(foreign));  // an edited row: not hers
  SessionFilter f;
  f.client = "acme";
  f.since = from_unix(100);
  f.until = from_unix(5000);
  SqliteSessionStore store(db_);
  const auto t = store.totals(f, from_unix(3500));
  EXPECT_EQ(t.sessions, 3);
  EXPECT_EQ(t.seconds, 100 + 10 + 500);  // the live one until "now"
  auto cursor = store.by_start(f);
  std::vector<std::int64_t> seen;
  while (auto s = cursor.next()) seen.push_back(s->id);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{a, b, live}));
}

TEST_P(SessionPageTest, FiltersCombineAndAreParametersNotSql) {
  const auto a = add_session("web1", "acme", 3);
  add_session("db1", "globex", 2);
  SessionPageQuery q;
  q.filter.server = "web1";
  q.filter.status = "closed";
  EXPECT_EQ(ids(q), std::vector<std::int64_t>{a});
  q.filter.server = "web1' OR '1'='1";
  EXPECT_TRUE(ids(q).empty());
  EXPECT_EQ(find_session_page(db_, q).total, 0);
  q.filter = {};
  q.filter.since = kNow - std::chrono::seconds(2 * kDay + 10);
  EXPECT_EQ(ids(q).size(), 1u);
}

}  // namespace
}  // namespace bastion::audit::testing
