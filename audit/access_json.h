#pragma once
// The JSON shapes of grants and access requests as evidence: shared by the admin commands (their
// --json output and the {before, after} of their audit events, gateway/admin/model_json.h and
// request_view.h) and by the client export (audit/export.h), as session_json is for sessions, so
// a client's archive describes a grant or a request exactly as the bastion's own views do.
#include <nlohmann/json.hpp>
#include <string>

#include "authz/access_request.h"
#include "authz/model.h"

namespace bastion::audit {

// grant_state: "revoked", "expired", "pending" or "active" at `now`.
std::string grant_state(const authz::Grant& g, Seconds now);

// grant_json: id, operator, server, login, ops (array), not_before, not_after, revoked,
// revoked_at, state (at now), reason, granted_by, created_at, emergency (a break-glass grant).
nlohmann::json grant_json(const authz::Grant& g, Seconds now);

// approvals_json: [{approver, as, at, reason}], in the order given.
nlohmann::json approvals_json(const authz::AccessRequest& r);

// request_record_json: a request as stored: id, operator, server, client, login, ops, duration
// (seconds), from, reason, needs, status, created_at, lapses_at, approvals, decided_by, decided_at,
// decision_reason, grant_id. The state shown to people (read off the grant) is the caller's.
nlohmann::json request_record_json(const authz::AccessRequest& r);

}  // namespace bastion::audit
