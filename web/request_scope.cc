#include "web/request_scope.h"

#include "audit/sqlite_event_log.h"

namespace bastion::web {

RequestScope::RequestScope(db::DatabasePtr d, const Clock& clock, const audit::EventSinks& sinks)
    : db(d), store(d, clock), sessions(d), events(audit::open_event_log(d, sinks)), clock_(clock) {}

Result<std::unique_ptr<RequestScope>> RequestScope::open(const std::string& db_path, const Clock& clock,
                                                         const audit::EventSinks& sinks,
                                                         const std::string& master_key_path) {
  auto db = db::Database::open(db_path, false);
  if (!db) return db.error();
  return on(*db, clock, sinks, master_key_path);
}

std::unique_ptr<RequestScope> RequestScope::on(db::DatabasePtr db, const Clock& clock, const audit::EventSinks& sinks,
                                               const std::string& master_key_path) {
  auto scope = std::unique_ptr<RequestScope>(new RequestScope(std::move(db), clock, sinks));
  scope->master_key_path_ = master_key_path;
  return scope;
}

gateway::admin::CommandContext& RequestScope::context(const authz::Operator& who, const std::string& source) {
  gateway::KeyPaths keys;
  keys.master_key = master_key_path_;  // the player decrypts recordings; no other key is the portal's
  ctx_ = std::make_unique<gateway::admin::CommandContext>(gateway::admin::CommandContext{
      .store = store,
      .clock = clock_,
      .out = out,
      .err = err,
      .events = *events,
      .sessions = sessions,
      .actor = who.name,
      .actor_role = who.role,
      .actor_client = who.client,
      .source = source,
      .remote = true,  // like SSH: no command names a path on the host
      .keys = keys,
      .program = "bastion-web",
      .db = db,
      .recordings_dir = {},
      .out_is_terminal = false});
  return *ctx_;
}

}  // namespace bastion::web
