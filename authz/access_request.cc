// The life of an access request, as pure functions (see access_request.h).
#include "authz/access_request.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "authz/text.h"

namespace bastion::authz {
namespace {

constexpr std::array<std::pair<RequestStatus, const char*>, 5> kStatuses{{
    {RequestStatus::Pending, "pending"},
    {RequestStatus::Approved, "approved"},
    {RequestStatus::Denied, "denied"},
    {RequestStatus::Cancelled, "cancelled"},
    {RequestStatus::Lapsed, "lapsed"},
}};

std::string span_text(std::chrono::seconds d) {
  const auto s = d.count();
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t") == std::string_view::npos; }

std::string request_name(const AccessRequest& r) { return "request " + std::to_string(r.id); }

// not_pending names why a request can no longer be decided, or "" if it can.
std::string not_pending(const AccessRequest& r, Seconds now) {
  if (is_lapsed(r, now)) {
    return request_name(r) + " lapsed at " + format_utc(r.lapses_at) + " with nobody deciding; ask again";
  }
  if (r.status != RequestStatus::Pending) return request_name(r) + " is already " + to_string(r.status);
  return "";
}

bool needs(const AccessRequest& r, Approver a) { return a == Approver::Client ? r.needs.client : r.needs.officer; }

const Approval* given(const AccessRequest& r, Approver a) {
  for (const auto& ap : r.approvals)
    if (ap.as == a) return &ap;
  return nullptr;
}

bool same_person(const Operator& who, std::int64_t id, std::string_view name) {
  return (id != 0 && who.id == id) || who.name == name;
}

// slot_of: the approval a person's role can give on this request, or why none.
Result<Approver> slot_of(const AccessRequest& r, const Operator& who) {
  switch (who.role) {
    case Role::Officer: return Approver::Officer;
    case Role::Client:
      if (who.client != r.client) {
        return Error{"you review client " + who.client + "; " + request_name(r) + " is for a server of another client"};
      }
      return Approver::Client;
    case Role::Operator: break;
  }
  return Error{"operators cannot decide requests; a security officer or the client's reviewer does"};
}

// may_decide: the checks approve and deny share.
Result<Approver> may_decide(const AccessRequest& r, const Operator& who, Seconds now) {
  if (auto why = not_pending(r, now); !why.empty()) return Error{why};
  if (same_person(who, r.operator_id, r.operator_name)) {
    return Error{"you made " + request_name(r) + "; someone else must decide it"};
  }
  if (who.disabled) return Error{"account " + who.name + " is disabled"};
  return slot_of(r, who);
}

}  // namespace

const char* to_string(Approver a) { return a == Approver::Client ? "client" : "officer"; }

std::string to_string(const ApprovalPolicy& p) {
  if (p.client && p.officer) return "client,officer";
  return p.client ? "client" : "officer";
}

std::optional<ApprovalPolicy> parse_approval_policy(std::string_view s) {
  if (s == "officer") return ApprovalPolicy{false, true};
  if (s == "client") return ApprovalPolicy{true, false};
  if (s == "client,officer" || s == "officer,client") return ApprovalPolicy{true, true};
  return std::nullopt;
}

const char* to_string(RequestStatus s) {
  for (const auto& [v, name] : kStatuses)
    if (v == s) return name;
  return "unknown";
}

std::optional<RequestStatus> parse_request_status(std::string_view s) {
  for (const auto& [v, name] : kStatuses)
    if (s == name) return v;
  return std::nullopt;
}

const char* to_string(RequestState s) {
  switch (s) {
    case RequestState::Pending: return "pending";
    case RequestState::Approved: return "approved";
    case RequestState::Active: return "active";
    case RequestState::Expired: return "expired";
    case RequestState::Revoked: return "revoked";
    case RequestState::Denied: return "denied";
    case RequestState::Cancelled: return "cancelled";
    case RequestState::Lapsed: return "lapsed";
  }
  return "unknown";
}

Status check_request(const RequestDraft& d) {
  const Operator& who = d.requester;
  if (who.role != Role::Operator) {
    return Error{"only operators request access; " + who.name + " is " + std::string(to_string(who.role)) +
                 " (officers grant with `grant add`)"};
  }
  if (who.disabled) return Error{"account " + who.name + " is disabled"};
  if (d.server.kind == ServerKind::Shared) {
    return Error{"server " + d.server.name + " is shared; access to shared servers is never granted"};
  }
  if (is_blank(d.reason)) {
    return Error{"a reason is required (--reason \"ticket 4411\"); the approvers read it"};
  }
  if (d.ops.empty()) return Error{"name at least one operation (--ops OP[,OP…])"};
  std::set<std::string_view> seen;
  for (const auto& op : d.ops) {
    const bool known = std::any_of(d.catalogue.begin(), d.catalogue.end(),
                                   [&](const CatalogueEntry& e) { return e.name == op; });
    if (!known) {
      std::string names;
      for (const auto& e : d.catalogue) names += (names.empty() ? "" : ", ") + e.name;
      return Error{"operation '" + escape_unprintable(op) + "' is not in the catalogue of " + d.server.name +
                   " (it has: " + (names.empty() ? "nothing yet" : names) + ")"};
    }
    if (!seen.insert(op).second) return Error{"operation '" + op + "' is named twice"};
  }
  if (d.duration <= std::chrono::seconds{0}) return Error{"the duration (--for) must be positive"};
  if (d.duration > d.max_duration) {
    return Error{"--for " + span_text(d.duration) + " is longer than the maximum grant duration (" +
                 span_text(d.max_duration) + ")"};
  }
  if (d.from && *d.from + d.duration <= d.now) {
    return Error{"--from " + format_utc(*d.from) + " with --for " + span_text(d.duration) + " would already be over"};
  }
  return ok_status();
}

bool is_lapsed(const AccessRequest& r, Seconds now) {
  return r.status == RequestStatus::Lapsed || (r.status == RequestStatus::Pending && now >= r.lapses_at);
}

RequestState request_state(const AccessRequest& r, const Grant* grant, Seconds now) {
  switch (r.status) {
    case RequestStatus::Pending: return is_lapsed(r, now) ? RequestState::Lapsed : RequestState::Pending;
    case RequestStatus::Denied: return RequestState::Denied;
    case RequestStatus::Cancelled: return RequestState::Cancelled;
    case RequestStatus::Lapsed: return RequestState::Lapsed;
    case RequestStatus::Approved: break;
  }
  // Approved: the grant tells the rest. A missing grant cannot happen through the store (both are
  // written in one transaction); read it as revoked, the state that gives nothing.
  if (grant == nullptr || grant->revoked_at) return RequestState::Revoked;
  if (now >= grant->not_after) return RequestState::Expired;
  if (now >= grant->not_before) return RequestState::Active;
  return RequestState::Approved;
}

bool may_see(const AccessRequest& r, const Operator& viewer) {
  switch (viewer.role) {
    case Role::Officer: return true;
    case Role::Client: return !viewer.client.empty() && viewer.client == r.client;
    case Role::Operator: return same_person(viewer, r.operator_id, r.operator_name);
  }
  return false;
}

Result<Approver> check_approval(const AccessRequest& r, const Operator& approver, Seconds now) {
  auto slot = may_decide(r, approver, now);
  if (!slot) return slot;
  for (const auto& ap : r.approvals) {
    if (same_person(approver, ap.approver_id, ap.approver)) {
      return Error{"you already approved " + request_name(r) + "; the other approval must come from someone else"};
    }
  }
  if (!needs(r, *slot)) {
    return Error{request_name(r) + " needs " + to_string(r.needs) + " approval, not a" +
                 (*slot == Approver::Officer ? "n officer's" : " client reviewer's")};
  }
  if (const auto* ap = given(r, *slot)) {
    return Error{request_name(r) + " already has its " + to_string(*slot) + " approval (from " + ap->approver +
                 "); it waits for " + waiting_for(r)};
  }
  return slot;
}

Status check_denial(const AccessRequest& r, const Operator& actor, std::string_view reason, Seconds now) {
  if (auto slot = may_decide(r, actor, now); !slot) return slot.error();
  if (is_blank(reason)) {
    return Error{"a reason is required to deny (--reason TEXT); the requester reads it"};
  }
  return ok_status();
}

Status check_cancel(const AccessRequest& r, const Operator& actor, Seconds now) {
  if (!same_person(actor, r.operator_id, r.operator_name) && actor.role != Role::Officer) {
    return Error{"only the requester (" + r.operator_name + ") or an officer may cancel " + request_name(r)};
  }
  if (auto why = not_pending(r, now); !why.empty()) return Error{why};
  return ok_status();
}

bool approvals_complete(const AccessRequest& r) { return waiting_for(r).empty(); }

std::string waiting_for(const AccessRequest& r) {
  std::string out;
  for (Approver a : {Approver::Client, Approver::Officer}) {
    if (needs(r, a) && given(r, a) == nullptr) out += (out.empty() ? "" : ",") + std::string(to_string(a));
  }
  return out;
}

bool awaits(const AccessRequest& r, const Operator& viewer, Seconds now) {
  return check_approval(r, viewer, now).ok();
}

Result<std::pair<Seconds, Seconds>> grant_window(const AccessRequest& r, Seconds approved_at,
                                                 std::chrono::seconds max_duration) {
  if (r.duration > max_duration) {
    return Error{request_name(r) + " asks for " + span_text(r.duration) + ", longer than the maximum grant duration now (" +
                 span_text(max_duration) + "); deny it and let the requester ask again"};
  }
  const Seconds start = r.from && *r.from > approved_at ? *r.from : approved_at;
  return std::pair{start, start + r.duration};
}

Status check_direct_grant(const ApprovalPolicy& policy, std::string_view server, bool emergency,
                          std::string_view reason) {
  if (emergency && is_blank(reason)) {
    return Error{"an emergency grant needs a reason (--reason TEXT): the client reviews it"};
  }
  if (!policy.client || emergency) return ok_status();
  return Error{"server " + std::string(server) + " needs its client's approval (policy " + to_string(policy) +
               "): the operator asks with `request add " + std::string(server) +
               " …`, or, if it cannot wait, grant with --emergency --reason TEXT (break-glass, flagged for the "
               "client's review)"};
}

}  // namespace bastion::authz
