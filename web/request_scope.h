#pragma once
// RequestScope: what one portal request works with — a connection to the bastion database of its
// own for the request's time (httplib serves requests on several threads; a connection is never
// used by two at once: web/database_pool.h),
// the same stores as bastionctl and the SSH front, the audit log, and the admin CommandContext of
// the signed-in account, so that the rules of who sees what are the command set's own
// (gateway/admin/review.h), not a copy.
#include <memory>
#include <sstream>
#include <string>

#include "audit/event_log.h"
#include "audit/event_sinks.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "gateway/admin/commands.h"

namespace bastion::web {

class RequestScope {
 public:
  // open connects to the database at db_path (never creating it). Error: why it cannot be read.
  // master_key_path: where the master key of the clients' data keys is (audit/data_keys.h), for
  // the commands and pages that decrypt recordings.
  static Result<std::unique_ptr<RequestScope>> open(const std::string& db_path, const Clock& clock,
                                                    const audit::EventSinks& sinks,
                                                    const std::string& master_key_path = "");
  // on: the same over a connection already open (the portal's, from its DatabasePool).
  static std::unique_ptr<RequestScope> on(db::DatabasePtr db, const Clock& clock, const audit::EventSinks& sinks,
                                          const std::string& master_key_path = "");

  // context: the command context of `who`, acting from `source` (actor, role and client set).
  gateway::admin::CommandContext& context(const authz::Operator& who, const std::string& source);

  db::DatabasePtr db;
  authz::SqliteStore store;
  audit::SqliteSessionStore sessions;
  audit::EventLogPtr events;
  std::ostringstream out, err;  // what a command would print; the portal renders HTML instead

 private:
  RequestScope(db::DatabasePtr d, const Clock& clock, const audit::EventSinks& sinks);
  const Clock& clock_;
  std::string master_key_path_;
  std::unique_ptr<gateway::admin::CommandContext> ctx_;
};

}  // namespace bastion::web
