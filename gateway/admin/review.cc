#include "gateway/admin/review.h"

#include <charconv>

#include "audit/session_facts.h"
#include "audit/session_query.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {

std::int64_t positive_id(const std::string& text, std::string_view what) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    throw UsageError(std::string(what) + " ID must be a positive number, not '" + text + "'");
  }
  return id;
}

std::optional<Seconds> time_filter(const po::variables_map& vm, const char* name) {
  if (vm.count(name) == 0) return std::nullopt;
  auto t = parse_time(vm[name].as<std::string>());
  if (!t) throw UsageError(std::string("--") + name + ": " + t.error().message);
  return *t;
}

std::string string_option(const po::variables_map& vm, const char* name) {
  return vm.count(name) == 0 ? std::string() : vm[name].as<std::string>();
}

db::Database& database(const CommandContext& ctx) {
  if (!ctx.db) throw db::DbError("no database is open for this command");
  return *ctx.db;
}

Result<std::string> reviewed_client(const CommandContext& ctx, const std::string& requested) {
  if (ctx.actor_role == authz::Role::Officer) return requested;
  if (!requested.empty() && requested != ctx.actor_client) {
    return Error{"you review the servers of " + ctx.actor_client + " only, not those of " + requested};
  }
  return ctx.actor_client;
}

Result<audit::SessionRow> visible_session(const CommandContext& ctx, std::int64_t id) {
  const std::string refusal = "session " + std::to_string(id) + " is not one of your client's sessions";
  auto session = ctx.sessions.find(id);
  if (ctx.actor_role == authz::Role::Officer) {
    if (!session) return Error{"no session " + std::to_string(id) + " (see `sessions list`)"};
    return *session;
  }
  // The chained client (audit/session_query.h), never the row's: an edited row moves nothing.
  if (!session || audit::chained_client_of(database(ctx), id).value_or("") != ctx.actor_client) {
    return Error{refusal};
  }
  return *session;
}


}  // namespace bastion::gateway::admin
