// sessions kill: an officer ends a live session. The request is recorded on the session row; the
// session's own process polls for it and cuts the session within a second (gateway/).
#include <charconv>
#include <ostream>

#include "authz/decide.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

std::int64_t session_id(const po::variables_map& vm) {
  const auto& text = vm["ID"].as<std::string>();
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    throw UsageError("session ID must be a positive number, not '" + text + "'");
  }
  return id;
}

nlohmann::json session_json(const audit::SessionRow& s, const std::optional<audit::KillRequest>& kill) {
  return {{"id", s.id},
          {"operator", s.operator_name},
          {"server", s.server},
          {"login", s.login},
          {"status", s.status},
          {"kill_requested_by", kill ? nlohmann::json(kill->by) : nlohmann::json(nullptr)},
          {"kill_requested_at", kill ? nlohmann::json(iso8601(kill->at)) : nlohmann::json(nullptr)}};
}

}  // namespace

int sessions_kill(const Args& args, CommandContext& ctx) {
  CommandLine cl("sessions kill", "ID", "End a live session: its process cuts it within a second.");
  cl.positional("ID");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto id = session_id(*vm);
  const auto session = ctx.sessions.find(id);
  if (!session) return refuse(ctx, "no session " + std::to_string(id));
  const Seconds now = ctx.clock.now();
  const auto before = session_json(*session, ctx.sessions.kill_request(id));
  if (auto st = ctx.sessions.request_kill(id, ctx.actor, now); !st) return refuse(ctx, st.error().message);
  const auto after = session_json(*session, ctx.sessions.kill_request(id));
  ChangeRecord record{"admin.session.kill", session->server, before, after};
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(*vm)) {
    print_json(ctx, after);
  } else {
    ctx.out << "session " << id << " (" << session->operator_name << " as " << session->login << " on "
            << session->server << "): kill requested at " << authz::format_utc(now)
            << "; it ends within a second\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
