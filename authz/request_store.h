#pragma once
// RequestStore: the persistence of access requests, their approvals, the per-server and
// per-client approval policies and the pending TTL (authz/access_request.h has the rules; the
// admin commands record each transition as an audit event in the same transaction).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authz/access_request.h"
#include "authz/result.h"

namespace bastion::authz {

struct NewRequest {
  std::int64_t operator_id = 0;
  std::int64_t server_id = 0;
  std::string login;
  std::vector<std::string> ops;
  std::chrono::seconds duration{};
  std::optional<Seconds> from;
  std::string reason;
  ApprovalPolicy needs;
  Seconds created_at{};
  Seconds lapses_at{};
};

class RequestStore {
 public:
  virtual ~RequestStore() = default;

  // add stores a pending request (already checked by check_request) and returns it with its id.
  virtual AccessRequest add(const NewRequest& r) = 0;
  virtual std::optional<AccessRequest> find(std::int64_t id) = 0;
  // find_by_grant: the request whose last approval created that grant.
  virtual std::optional<AccessRequest> find_by_grant(std::int64_t grant_id) = 0;
  // list returns every request, oldest first (callers filter by may_see and state).
  virtual std::vector<AccessRequest> list() = 0;

  // add_approval records one approval (check_approval said which slot); the schema refuses a
  // second approval of one slot or by one person, whatever the caller checked.
  virtual void add_approval(std::int64_t request_id, const Approval& a) = 0;
  // set_approved marks a pending request approved with the grant its last approval created.
  virtual Status set_approved(std::int64_t request_id, std::int64_t grant_id) = 0;
  // set_ended marks a pending request denied, cancelled or lapsed by `by` at `at`.
  virtual Status set_ended(std::int64_t request_id, RequestStatus status, std::string_view by, Seconds at,
                           std::string_view reason) = 0;
  // lapse_due marks lapsed every pending request whose lapses_at is not after `now`, and returns
  // them as they are now.
  virtual std::vector<AccessRequest> lapse_due(Seconds now) = 0;

  // Approval policy: a server's own, else its client's, else officer approval alone.
  virtual ApprovalPolicy policy_for(std::int64_t server_id) = 0;
  virtual std::optional<ApprovalPolicy> server_policy(std::string_view server) = 0;
  virtual std::optional<ApprovalPolicy> client_policy(std::string_view client) = 0;
  // set_server_policy / set_client_policy: nullopt returns to the default; refused for an unknown
  // (or removed) server or client.
  virtual Status set_server_policy(std::string_view server, std::optional<ApprovalPolicy> p) = 0;
  virtual Status set_client_policy(std::string_view client, std::optional<ApprovalPolicy> p) = 0;

  // How long a request may wait for its decision (setting "pending-ttl", default 24 h, between
  // 5 minutes and 30 days).
  virtual std::chrono::seconds pending_ttl() = 0;
  virtual Status set_pending_ttl(std::chrono::seconds d) = 0;
};

using RequestStorePtr = std::unique_ptr<RequestStore>;

}  // namespace bastion::authz
