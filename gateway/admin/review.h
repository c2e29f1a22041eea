#pragma once
// Shared plumbing of the review commands (sessions, audit, client, purge, export): IDs, time
// filters, and the rule that a client reviewer sees only their own client's sessions and events.
#include <cstdint>
#include <optional>
#include <string>

#include "audit/session_query.h"
#include "audit/session_store.h"
#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {

// positive_id parses a positive integer ID, or throws UsageError naming `what`.
std::int64_t positive_id(const std::string& text, std::string_view what);

// time_filter returns the parsed --NAME time option, if given; throws UsageError if malformed.
std::optional<Seconds> time_filter(const po::variables_map& vm, const char* name);

// string_option returns the --NAME option's value, or "" if not given.
std::string string_option(const po::variables_map& vm, const char* name);

// database returns ctx.db, or throws db::DbError if this context has no database open.
db::Database& database(const CommandContext& ctx);

// reviewed_client: for a client reviewer their client, for officers `requested` (may be empty:
// all clients). A reviewer asking for another client is refused with a sentence saying so.
Result<std::string> reviewed_client(const CommandContext& ctx, const std::string& requested);

// visible_session returns session id if ctx may see it. A reviewer asking for another client's
// session gets the same refusal whether or not it exists: "session N is not one of your client's
// sessions".
Result<audit::SessionRow> visible_session(const CommandContext& ctx, std::int64_t id);

// session_json (audit/session_query.h) is the JSON shape of a session row.
using audit::session_json;

}  // namespace bastion::gateway::admin
