#pragma once
// SqliteRequestStore: the tables access_requests and request_approvals and the approvals columns
// of servers and clients (authz/schema.cc, migration 10). It shares its database connection with
// the other stores and the event log, so a transition and its audit event commit together inside
// Store::begin_change().
#include "authz/db.h"
#include "authz/request_store.h"

namespace bastion::authz {

class SqliteRequestStore final : public RequestStore {
 public:
  explicit SqliteRequestStore(db::DatabasePtr db) : db_(std::move(db)) {}

  static constexpr std::chrono::seconds kDefaultPendingTtl = std::chrono::hours(24);

  AccessRequest add(const NewRequest& r) override;
  std::optional<AccessRequest> find(std::int64_t id) override;
  std::optional<AccessRequest> find_by_grant(std::int64_t grant_id) override;
  std::vector<AccessRequest> list() override;
  void add_approval(std::int64_t request_id, const Approval& a) override;
  Status set_approved(std::int64_t request_id, std::int64_t grant_id) override;
  Status set_ended(std::int64_t request_id, RequestStatus status, std::string_view by, Seconds at,
                   std::string_view reason) override;
  std::vector<AccessRequest> lapse_due(Seconds now) override;

  ApprovalPolicy policy_for(std::int64_t server_id) override;
  std::optional<ApprovalPolicy> server_policy(std::string_view server) override;
  std::optional<ApprovalPolicy> client_policy(std::string_view client) override;
  Status set_server_policy(std::string_view server, std::optional<ApprovalPolicy> p) override;
  Status set_client_policy(std::string_view client, std::optional<ApprovalPolicy> p) override;

  std::chrono::seconds pending_ttl() override;
  Status set_pending_ttl(std::chrono::seconds d) override;

  // The id of the last audit event the webhook notifier has dealt with (setting "notify-cursor");
  // nullopt before notifications were ever on (gateway/notifier.h).
  std::optional<std::int64_t> notify_cursor();
  void set_notify_cursor(std::int64_t event_id);

 private:
  std::vector<AccessRequest> query(std::string_view where, std::optional<std::int64_t> arg);
  void load_approvals(AccessRequest& r);
  std::optional<std::int64_t> integer_setting(std::string_view name);
  void set_integer_setting(std::string_view name, std::int64_t value);
  db::DatabasePtr db_;
};

}  // namespace bastion::authz
