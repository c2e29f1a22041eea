#pragma once
// Access requests (issue 17): an operator asks for a grant, the approvals the server's policy
// names are given by distinct people who are never the requester, and the grant follows the last
// one. Everything here is a pure function of its inputs and `now`, so the whole life of a request
// is unit-tested with an injected clock (tests/authz/access_request_test.cc); the store keeps
// rows, the admin commands record each transition as an audit event.
//
// Life of a request:  pending -> approved -> active -> expired | revoked
//                     pending -> denied | cancelled | lapsed (nobody decided before lapses_at)
// Only pending, approved, denied, cancelled and lapsed are stored; approved/active/expired/revoked
// are read off the grant the last approval created, so a request can never disagree with it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authz/model.h"
#include "authz/result.h"

namespace bastion::authz {

// Who gives an approval: a reviewer bound to the server's client, or a security officer.
enum class Approver { Client, Officer };
const char* to_string(Approver a);

// ApprovalPolicy: which approvals a request on a server needs (at least one).
struct ApprovalPolicy {
  bool client = false;
  bool officer = true;
  bool operator==(const ApprovalPolicy&) const = default;
};
// to_string: "officer", "client" or "client,officer".
std::string to_string(const ApprovalPolicy& p);
// parse_approval_policy accepts "officer", "client", "client,officer" and "officer,client".
std::optional<ApprovalPolicy> parse_approval_policy(std::string_view s);

// RequestStatus: what the store keeps.
enum class RequestStatus { Pending, Approved, Denied, Cancelled, Lapsed };
const char* to_string(RequestStatus s);
std::optional<RequestStatus> parse_request_status(std::string_view s);

// RequestState: what a person is shown (request_state below).
enum class RequestState { Pending, Approved, Active, Expired, Revoked, Denied, Cancelled, Lapsed };
const char* to_string(RequestState s);

struct Approval {
  std::int64_t approver_id = 0;  // 0 for the host's root (bastionctl)
  std::string approver;
  Approver as = Approver::Officer;
  Seconds at{};
  std::string reason;
};

struct AccessRequest {
  std::int64_t id = 0;
  std::int64_t operator_id = 0;
  std::string operator_name;
  std::int64_t server_id = 0;
  std::string server_name;
  std::string client;  // the server's client
  std::string login;
  std::vector<std::string> ops;
  std::chrono::seconds duration{};
  std::optional<Seconds> from;  // earliest start asked for (--from)
  std::string reason;
  ApprovalPolicy needs;         // the policy in force when the request was made
  Seconds created_at{};
  Seconds lapses_at{};          // pending beyond this, it lapses
  RequestStatus status = RequestStatus::Pending;
  std::vector<Approval> approvals;
  std::string decided_by;       // who denied or cancelled it ("bastion" for a lapse)
  std::optional<Seconds> decided_at;
  std::string decision_reason;
  std::optional<std::int64_t> grant_id;  // set when the last approval created the grant
};

// RequestDraft: what `request add` asks, with what the check needs to know.
struct RequestDraft {
  const Operator& requester;
  const Server& server;
  std::span<const CatalogueEntry> catalogue;
  std::string_view login;
  std::span<const std::string> ops;
  std::chrono::seconds duration{};
  std::optional<Seconds> from;
  std::string_view reason;
  Seconds now{};
  std::chrono::seconds max_duration{};  // the max-grant-duration setting
};

// check_request refuses, with a reason, a request by someone who is not an enabled operator, on a
// shared or removed server, without a reason, with no operation, an operation not in the server's
// catalogue, a duplicate operation, a non-positive duration or one longer than max_duration, or a
// --from already past.
Status check_request(const RequestDraft& d);

// is_lapsed: pending and nobody decided before lapses_at.
bool is_lapsed(const AccessRequest& r, Seconds now);

// request_state: the state shown at `now`. grant is the request's grant (nullptr if none or not
// found); a lapsed pending request reads as lapsed even before the store has marked it.
RequestState request_state(const AccessRequest& r, const Grant* grant, Seconds now);

// may_see: officers see every request, a client reviewer those on its own client's servers, an
// operator its own.
bool may_see(const AccessRequest& r, const Operator& viewer);

// check_approval returns the slot the approver fills, or refuses: the request is not pending (or
// has lapsed), the approver is the requester or has already approved it (one person never gives
// two approvals), is disabled, is an operator, is a reviewer of another client, or the slot their
// role fills is not needed or already filled.
Result<Approver> check_approval(const AccessRequest& r, const Operator& approver, Seconds now);

// check_denial: anyone who could approve may deny a pending request (one deny ends it); the
// requester may not (they cancel), nor may anyone once it is decided; a reason is required.
Status check_denial(const AccessRequest& r, const Operator& actor, std::string_view reason, Seconds now);

// check_cancel: the requester, or an officer, may cancel a request while it is pending.
Status check_cancel(const AccessRequest& r, const Operator& actor, Seconds now);

// approvals_complete: every approval the policy needs has been given.
bool approvals_complete(const AccessRequest& r);

// waiting_for: the approvals still missing, e.g. "client,officer"; "" when complete.
std::string waiting_for(const AccessRequest& r);

// awaits: a pending request that `viewer` could approve now (request list --pending).
bool awaits(const AccessRequest& r, const Operator& viewer, Seconds now);

// grant_window: the window of the grant created by the last approval at `approved_at`: it starts
// then, or at the requested --from if later, and lasts the requested duration, which is checked
// again against max_duration as it stands now.
Result<std::pair<Seconds, Seconds>> grant_window(const AccessRequest& r, Seconds approved_at,
                                                 std::chrono::seconds max_duration);

// check_direct_grant: an officer's `grant add`, which no request preceded, on a server whose
// approval policy is `policy`. Where the policy needs only an officer's approval, the officer's
// grant is that approval: allowed, and flagged only if they ask (--emergency). Where it needs the
// client's approval, a direct grant would bypass it: refused, naming `request add`, unless it is a
// break-glass grant (--emergency) with a reason, which is allowed and flagged for the client's review.
Status check_direct_grant(const ApprovalPolicy& policy, std::string_view server, bool emergency,
                          std::string_view reason);

}  // namespace bastion::authz
