// Tests for authz/access_request.cc: every transition of a request's life with an injected clock,
// who may decide what, the two-person rule, and the window of the grant that follows.
#include "authz/access_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bastion::authz {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const Seconds kMade = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC
constexpr std::int64_t kWeb1 = 10;

Operator person(std::int64_t id, std::string name, Role role, std::string client = "") {
  return Operator{id, std::move(name), role, std::move(client), false, "SECRET"};
}
Operator alice() { return person(1, "alice", Role::Operator); }
Operator bob() { return person(2, "bob", Role::Operator); }
Operator olivia() { return person(3, "olivia", Role::Officer); }
Operator oscar() { return person(4, "oscar", Role::Officer); }
Operator carol() { return person(5, "carol", Role::Client, "acme"); }
Operator dave() { return person(6, "dave", Role::Client, "globex"); }

Server web1(ServerKind kind = ServerKind::Dedicated) {
  return Server{kWeb1, "web1", "10.0.0.5", 22, "acme", kind, "ssh-ed25519 AAAA", {}};
}

CatalogueEntry entry(std::int64_t id, std::string name, OpType type, std::string pattern = "") {
  CatalogueEntry e;
  e.id = id;
  e.server_id = kWeb1;
  e.name = std::move(name);
  e.type = type;
  e.pattern = std::move(pattern);
  return e;
}

std::vector<CatalogueEntry> catalogue() {
  return {entry(1, "restart-nginx", OpType::Exec, "systemctl restart nginx"),
          entry(2, "logs", OpType::Exec, "journalctl -u nginx"), entry(3, "shell", OpType::Shell)};
}

AccessRequest request(ApprovalPolicy needs = {true, true}) {
  AccessRequest r;
  r.id = 7;
  r.operator_id = 1;
  r.operator_name = "alice";
  r.server_id = kWeb1;
  r.server_name = "web1";
  r.client = "acme";
  r.login = "root";
  r.ops = {"restart-nginx", "logs"};
  r.duration = hours{2};
  r.reason = "ticket 4411";
  r.needs = needs;
  r.created_at = kMade;
  r.lapses_at = kMade + hours{24};
  return r;
}

Approval approval(const Operator& who, Approver as, Seconds at) { return Approval{who.id, who.name, as, at, ""}; }

Grant grant(Seconds from, Seconds until) {
  Grant g;
  g.id = 40;
  g.not_before = from;
  g.not_after = until;
  return g;
}

// Draft holds what a RequestDraft points at, so each test states only what differs.
struct Draft {
  Operator who = alice();
  Server server = web1();
  std::vector<CatalogueEntry> cat = catalogue();
  std::string login = "root";
  std::vector<std::string> ops = {"restart-nginx", "logs"};
  seconds duration = hours{2};
  std::optional<Seconds> from;
  std::string reason = "ticket 4411";
  Status check() const {
    return check_request({who, server, cat, login, ops, duration, from, reason, kMade, hours{24 * 30}});
  }
};

std::string refusal(const Status& s) { return s ? "" : s.error().message; }

// ---------------------------------------------------------------- policy names

TEST(ApprovalPolicyText, ParsesTheThreePoliciesAndRefusesAnythingElse) {
  EXPECT_EQ(parse_approval_policy("officer"), (ApprovalPolicy{false, true}));
  EXPECT_EQ(parse_approval_policy("client"), (ApprovalPolicy{true, false}));
  EXPECT_EQ(parse_approval_policy("client,officer"), (ApprovalPolicy{true, true}));
  EXPECT_EQ(parse_approval_policy("officer,client"), (ApprovalPolicy{true, true}));
  for (const char* bad : {"", "none", "Officer", "client,", ",officer", "client,client", "operator"}) {
    EXPECT_FALSE(parse_approval_policy(bad)) << bad;
  }
  for (const char* s : {"officer", "client", "client,officer"}) EXPECT_EQ(to_string(*parse_approval_policy(s)), s);
}

TEST(RequestStatusText, RoundTripsEveryStoredStatus) {
  for (auto s : {RequestStatus::Pending, RequestStatus::Approved, RequestStatus::Denied, RequestStatus::Cancelled,
                 RequestStatus::Lapsed}) {
    EXPECT_EQ(parse_request_status(to_string(s)), s);
  }
  EXPECT_FALSE(parse_request_status("active"));  // derived from the grant, never stored
}

// ---------------------------------------------------------------- making a request

TEST(CheckRequest, AcceptsAnOperatorAskingForCatalogueOperationsOfADedicatedServer) {
  EXPECT_TRUE(Draft{}.check());
}

TEST(CheckRequest, RefusesASharedServerAtOnceWithTheReason) {
  Draft d;
  d.server = web1(ServerKind::Shared);
  EXPECT_EQ(refusal(d.check()), "server web1 is shared; access to shared servers is never granted");
}

TEST(CheckRequest, RequiresAReason) {
  for (const char* empty : {"", "   ", "\t"}) {
    Draft d;
    d.reason = empty;
    EXPECT_NE(refusal(d.check()).find("a reason is required"), std::string::npos);
  }
}

TEST(CheckRequest, RefusesAnOperationOutsideTheCatalogueAndNamesWhatThereIs) {
  Draft d;
  d.ops = {"logs", "rm-rf"};
  EXPECT_EQ(refusal(d.check()),
            "operation 'rm-rf' is not in the catalogue of web1 (it has: restart-nginx, logs, shell)");
}

TEST(CheckRequest, RefusesNoOperationAndATwiceNamedOne) {
  Draft none;
  none.ops = {};
  EXPECT_NE(refusal(none.check()).find("at least one operation"), std::string::npos);
  Draft twice;
  twice.ops = {"logs", "logs"};
  EXPECT_EQ(refusal(twice.check()), "operation 'logs' is named twice");
}

TEST(CheckRequest, RefusesADurationBeyondTheMaximumOrNotPositive) {
  Draft longer;
  longer.duration = hours{24 * 30} + seconds{1};
  EXPECT_NE(refusal(longer.check()).find("longer than the maximum grant duration"), std::string::npos);
  Draft zero;
  zero.duration = seconds{0};
  EXPECT_NE(refusal(zero.check()).find("must be positive"), std::string::npos);
  Draft exactly;
  exactly.duration = hours{24 * 30};
  EXPECT_TRUE(exactly.check());
}

TEST(CheckRequest, RefusesAWindowAlreadyOver) {
  Draft d;
  d.from = kMade - hours{2};
  EXPECT_NE(refusal(d.check()).find("would already be over"), std::string::npos);
  d.from = kMade - hours{1};  // still one hour to go
  EXPECT_TRUE(d.check());
}

TEST(CheckRequest, OnlyEnabledOperatorsRequest) {
  Draft officer;
  officer.who = olivia();
  EXPECT_NE(refusal(officer.check()).find("only operators request access"), std::string::npos);
  Draft reviewer;
  reviewer.who = carol();
  EXPECT_NE(refusal(reviewer.check()).find("only operators request access"), std::string::npos);
  Draft disabled;
  disabled.who.disabled = true;
  EXPECT_EQ(refusal(disabled.check()), "account alice is disabled");
}

// ---------------------------------------------------------------- states

TEST(RequestState, PendingUntilTheTtlThenLapsed) {
  auto r = request();
  EXPECT_EQ(request_state(r, nullptr, kMade), RequestState::Pending);
  EXPECT_EQ(request_state(r, nullptr, r.lapses_at - seconds{1}), RequestState::Pending);
  EXPECT_EQ(request_state(r, nullptr, r.lapses_at), RequestState::Lapsed);
  EXPECT_FALSE(is_lapsed(r, r.lapses_at - seconds{1}));
  EXPECT_TRUE(is_lapsed(r, r.lapses_at));
}

TEST(RequestState, ApprovedThenActiveThenExpiredFollowTheGrantWindow) {
  auto r = request();
  r.status = RequestStatus::Approved;
  const auto g = grant(kMade + hours{1}, kMade + hours{3});
  EXPECT_EQ(request_state(r, &g, kMade + minutes{30}), RequestState::Approved);
  EXPECT_EQ(request_state(r, &g, kMade + hours{1}), RequestState::Active);
  EXPECT_EQ(request_state(r, &g, kMade + hours{3} - seconds{1}), RequestState::Active);
  EXPECT_EQ(request_state(r, &g, kMade + hours{3}), RequestState::Expired);
  // An approved request never lapses, whatever its pending deadline.
  EXPECT_EQ(request_state(r, &g, r.lapses_at + hours{1}), RequestState::Expired);
}

TEST(RequestState, ARevokedGrantRevokesTheRequestAndAMissingOneGivesNothing) {
  auto r = request();
  r.status = RequestStatus::Approved;
  auto g = grant(kMade, kMade + hours{2});
  g.revoked_at = kMade + minutes{5};
  EXPECT_EQ(request_state(r, &g, kMade + minutes{10}), RequestState::Revoked);
  EXPECT_EQ(request_state(r, nullptr, kMade + minutes{10}), RequestState::Revoked);
}

TEST(RequestState, DecidedEndsStayAsTheyAre) {
  for (auto [status, state] : {std::pair{RequestStatus::Denied, RequestState::Denied},
                               std::pair{RequestStatus::Cancelled, RequestState::Cancelled},
                               std::pair{RequestStatus::Lapsed, RequestState::Lapsed}}) {
    auto r = request();
    r.status = status;
    EXPECT_EQ(request_state(r, nullptr, kMade), state);
    EXPECT_EQ(request_state(r, nullptr, kMade + hours{48}), state);
  }
}

// ---------------------------------------------------------------- who sees

TEST(MaySee, OfficersAllReviewersTheirClientOperatorsTheirOwn) {
  const auto r = request();
  EXPECT_TRUE(may_see(r, olivia()));
  EXPECT_TRUE(may_see(r, carol()));
  EXPECT_FALSE(may_see(r, dave()));
  EXPECT_TRUE(may_see(r, alice()));
  EXPECT_FALSE(may_see(r, bob()));
  auto unbound = carol();
  unbound.client = "";
  auto other_client = r;
  other_client.client = "";
  EXPECT_FALSE(may_see(other_client, unbound));
}

// ---------------------------------------------------------------- approvals

TEST(CheckApproval, AReviewerOfTheClientFillsTheClientSlotAndAnOfficerTheOfficerSlot) {
  auto r = request();
  EXPECT_EQ(*check_approval(r, carol(), kMade), Approver::Client);
  EXPECT_EQ(*check_approval(r, olivia(), kMade), Approver::Officer);
  EXPECT_EQ(waiting_for(r), "client,officer");
  r.approvals.push_back(approval(carol(), Approver::Client, kMade));
  EXPECT_EQ(waiting_for(r), "officer");
  EXPECT_FALSE(approvals_complete(r));
  r.approvals.push_back(approval(olivia(), Approver::Officer, kMade));
  EXPECT_TRUE(approvals_complete(r));
  EXPECT_EQ(waiting_for(r), "");
}

TEST(CheckApproval, TheRequesterNeverApprovesTheirOwnRequest) {
  auto r = request();
  EXPECT_EQ(check_approval(r, alice(), kMade).error().message, "you made request 7; someone else must decide it");
  // Even if the requester's account were an officer's by the same name.
  auto renamed = olivia();
  renamed.name = "alice";
  EXPECT_FALSE(check_approval(r, renamed, kMade));
}

TEST(CheckApproval, OnePersonNeverGivesBothApprovals) {
  auto r = request();
  r.approvals.push_back(approval(olivia(), Approver::Officer, kMade));
  EXPECT_EQ(check_approval(r, olivia(), kMade).error().message,
            "you already approved request 7; the other approval must come from someone else");
  // A second officer cannot fill the client's slot either.
  EXPECT_NE(check_approval(r, oscar(), kMade).error().message.find("already has its officer approval (from olivia)"),
            std::string::npos);
  EXPECT_TRUE(check_approval(r, carol(), kMade));
}

TEST(CheckApproval, AReviewerOfAnotherClientCannotApprove) {
  EXPECT_EQ(check_approval(request(), dave(), kMade).error().message,
            "you review client globex; request 7 is for a server of another client");
}

TEST(CheckApproval, OperatorsAndDisabledAccountsCannotApprove) {
  EXPECT_NE(check_approval(request(), bob(), kMade).error().message.find("operators cannot decide"), std::string::npos);
  auto off = olivia();
  off.disabled = true;
  EXPECT_EQ(check_approval(request(), off, kMade).error().message, "account olivia is disabled");
}

TEST(CheckApproval, ASlotThePolicyDoesNotNeedIsRefused) {
  EXPECT_EQ(check_approval(request({false, true}), carol(), kMade).error().message,
            "request 7 needs officer approval, not a client reviewer's");
  EXPECT_EQ(check_approval(request({true, false}), olivia(), kMade).error().message,
            "request 7 needs client approval, not an officer's");
}

TEST(CheckApproval, NothingIsApprovedOnceLapsedOrDecided) {
  auto r = request();
  EXPECT_NE(check_approval(r, olivia(), r.lapses_at).error().message.find("lapsed at 2026-11-24 10:00:00 UTC"),
            std::string::npos);
  for (auto s : {RequestStatus::Approved, RequestStatus::Denied, RequestStatus::Cancelled}) {
    r.status = s;
    EXPECT_EQ(check_approval(r, olivia(), kMade).error().message,
              std::string("request 7 is already ") + to_string(s));
  }
}

TEST(Awaits, ListsForEachApproverOnlyWhatTheyCanStillApprove) {
  auto r = request();
  EXPECT_TRUE(awaits(r, carol(), kMade));
  EXPECT_TRUE(awaits(r, olivia(), kMade));
  EXPECT_FALSE(awaits(r, dave(), kMade));
  EXPECT_FALSE(awaits(r, alice(), kMade));
  r.approvals.push_back(approval(olivia(), Approver::Officer, kMade));
  EXPECT_FALSE(awaits(r, olivia(), kMade));
  EXPECT_FALSE(awaits(r, oscar(), kMade));
  EXPECT_TRUE(awaits(r, carol(), kMade));
  EXPECT_FALSE(awaits(r, carol(), r.lapses_at));
}

// ---------------------------------------------------------------- deny, cancel

TEST(CheckDenial, AnyoneWhoCouldApproveMayDenyWithAReason) {
  const auto r = request();
  EXPECT_TRUE(check_denial(r, carol(), "not now", kMade));
  EXPECT_TRUE(check_denial(r, olivia(), "no ticket", kMade));
  EXPECT_NE(refusal(check_denial(r, olivia(), " ", kMade)).find("a reason is required"), std::string::npos);
  EXPECT_FALSE(check_denial(r, dave(), "x", kMade));
  EXPECT_FALSE(check_denial(r, alice(), "x", kMade));
  EXPECT_FALSE(check_denial(r, bob(), "x", kMade));
}

TEST(CheckDenial, OneApprovalDoesNotStopTheOtherApproverFromDenying) {
  auto r = request();
  r.approvals.push_back(approval(carol(), Approver::Client, kMade));
  EXPECT_TRUE(check_denial(r, olivia(), "change freeze", kMade));
}

TEST(CheckDenial, NothingIsDeniedOnceLapsedOrDecided) {
  auto r = request();
  EXPECT_FALSE(check_denial(r, olivia(), "late", r.lapses_at));
  r.status = RequestStatus::Denied;
  EXPECT_EQ(refusal(check_denial(r, olivia(), "again", kMade)), "request 7 is already denied");
}

TEST(CheckCancel, TheRequesterOrAnOfficerCancelsWhilePending) {
  auto r = request();
  EXPECT_TRUE(check_cancel(r, alice(), kMade));
  EXPECT_TRUE(check_cancel(r, olivia(), kMade));
  EXPECT_NE(refusal(check_cancel(r, bob(), kMade)).find("only the requester (alice) or an officer"),
            std::string::npos);
  EXPECT_FALSE(check_cancel(r, carol(), kMade));
  EXPECT_FALSE(check_cancel(r, alice(), r.lapses_at));
  r.status = RequestStatus::Approved;
  EXPECT_EQ(refusal(check_cancel(r, alice(), kMade)), "request 7 is already approved");
}

// ---------------------------------------------------------------- the grant that follows

TEST(GrantWindow, StartsAtTheLastApprovalNotWhenRequested) {
  const auto r = request();
  const Seconds approved = kMade + hours{5};
  auto w = grant_window(r, approved, hours{24});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, approved);
  EXPECT_EQ(w->second, approved + hours{2});
}

TEST(GrantWindow, StartsAtFromWhenThatIsLater) {
  auto r = request();
  r.from = kMade + hours{10};
  auto early = grant_window(r, kMade + hours{1}, hours{24});
  EXPECT_EQ(early->first, kMade + hours{10});
  EXPECT_EQ(early->second, kMade + hours{12});
  auto late = grant_window(r, kMade + hours{11}, hours{24});
  EXPECT_EQ(late->first, kMade + hours{11});
  EXPECT_EQ(late->second, kMade + hours{13});
}

TEST(GrantWindow, RechecksTheDurationAgainstTheMaximumInForceAtApproval) {
  const auto r = request();
  EXPECT_TRUE(grant_window(r, kMade, hours{2}));
  auto refused = grant_window(r, kMade, hours{1});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "request 7 asks for 2h, longer than the maximum grant duration now (1h); deny it and let the requester "
            "ask again");
}

TEST(CheckDirectGrant, AnOfficerOnlyPolicyTakesTheOfficersGrantAsItsApproval) {
  EXPECT_TRUE(check_direct_grant(ApprovalPolicy{false, true}, "web1", false, "ticket 42"));
  EXPECT_TRUE(check_direct_grant(ApprovalPolicy{false, true}, "web1", true, "outage"));  // flagged if asked
}

TEST(CheckDirectGrant, APolicyNeedingTheClientRefusesADirectGrantAndNamesBothWays) {
  for (const auto policy : {ApprovalPolicy{true, false}, ApprovalPolicy{true, true}}) {
    auto refused = check_direct_grant(policy, "web1", false, "ticket 42");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("needs its client's approval (policy " + to_string(policy) + ")"),
              std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("request add web1"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("--emergency --reason"), std::string::npos) << refused.error().message;
  }
}

TEST(CheckDirectGrant, BreakGlassIsAllowedOnlyWithAReason) {
  EXPECT_TRUE(check_direct_grant(ApprovalPolicy{true, true}, "web1", true, "database down, client unreachable"));
  auto blank = check_direct_grant(ApprovalPolicy{true, true}, "web1", true, " \t");
  ASSERT_FALSE(blank);
  EXPECT_EQ(blank.error().message, "an emergency grant needs a reason (--reason TEXT): the client reviews it");
}

}  // namespace
}  // namespace bastion::authz
