// audit list | verify | export: the hash-chained audit trail (audit/sqlite_event_log.h,
// audit/verify.h). Client reviewers list and export the events of their own client only.
#include <ostream>

#include "audit/event_chain.h"
#include "audit/sqlite_event_log.h"
#include "audit/verify.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/review.h"
#include "gateway/admin/table.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

std::string session_text(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "-"; }

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

Json verify_json(const audit::VerifyReport& r) {
  Json findings = Json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"event_id", f.event_id ? Json(f.event_id) : Json(nullptr)},
                        {"recording_id", f.recording_id ? Json(f.recording_id) : Json(nullptr)},
                        {"session_id", f.session_id ? Json(f.session_id) : Json(nullptr)},
                        {"message", f.message}});
  }
  return {{"intact", r.intact()},
          {"events", r.events},
          {"purged_events", r.purged_events},
          {"recordings", r.recordings},
          {"sessions", r.sessions},
          {"findings", findings}};
}

// event_filter builds the filter shared by list and export from the options both declare.
Result<audit::EventFilter> event_filter(const CommandContext& ctx, const po::variables_map& vm) {
  auto client = reviewed_client(ctx, "");
  if (!client) return client.error();
  audit::EventFilter f;
  f.since = time_filter(vm, "since");
  f.until = time_filter(vm, "until");
  f.server = string_option(vm, "server");
  f.actor = string_option(vm, "actor");
  f.kind = string_option(vm, "kind");
  f.client = *client;
  return f;
}

void add_filter_options(CommandLine& cl) {
  cl.options()("since", po::value<std::string>()->value_name("T"), "at or after T")(
      "until", po::value<std::string>()->value_name("T"), "before T")(
      "server", po::value<std::string>()->value_name("S"), "about this server")(
      "actor", po::value<std::string>()->value_name("A"), "by this account")(
      "kind", po::value<std::string>()->value_name("K"), "of this kind or its sub-kinds (\"auth\": auth.*)");
}

}  // namespace

int audit_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit list", "[--since T] [--until T] [--server S] [--actor A] [--kind K] [--limit N]",
                 "List audit events, oldest first (client reviewers: their own client's only).");
  add_filter_options(cl);
  cl.options()("limit", po::value<std::size_t>()->value_name("N"), "only the N most recent");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto f = event_filter(ctx, *vm);
  if (!f) return refuse(ctx, f.error().message);
  if (vm->count("limit") != 0) f->limit = (*vm)["limit"].as<std::size_t>();
  Json all = Json::array();
  Table table({"ID", "AT", "KIND", "ACTOR", "SOURCE", "SERVER", "SESSION", "DETAILS"});
  for (const auto& e : audit::list_events(database(ctx), *f)) {
    all.push_back(audit::event_json(e));
    table.add({std::to_string(e.id), audit::iso8601_utc(e.event.at), e.event.kind, or_dash(e.event.actor),
               or_dash(e.event.source), or_dash(e.event.server), session_text(e.event.session_id),
               e.event.details.dump()});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int audit_verify(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit verify", "",
                 "Check the audit hash chain event by event, and every recording and session row against what its "
                 "chained events state.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto report = audit::verify_audit(database(ctx));
  if (wants_json(*vm)) print_json(ctx, verify_json(report));
  if (!report.intact()) {
    const auto more = report.findings.size() - 1;
    return refuse(ctx, "audit trail NOT intact: " + report.findings.front().message +
                           (more == 0 ? "" : " (and " + std::to_string(more) + " more finding(s); see --json)"));
  }
  if (!wants_json(*vm)) {
    ctx.out << "audit trail intact: " << report.events << " events, " << report.recordings << " recordings, "
            << report.sessions << " sessions verified";
    if (report.purged_events > 0) ctx.out << " (" << report.purged_events << " purged events anchored)";
    ctx.out << "\n";
  }
  return kExitOk;
}

int audit_export(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit export", "[--since T] [--until T] [--server S] [--actor A] [--kind K]",
                 "Write audit events as JSON lines (one object per line, oldest first), for a SIEM or an archive.");
  add_filter_options(cl);
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto f = event_filter(ctx, *vm);
  if (!f) return refuse(ctx, f.error().message);
  for (const auto& e : audit::list_events(database(ctx), *f)) ctx.out << audit::event_json(e).dump() << "\n";
  return kExitOk;
}

}  // namespace bastion::gateway::admin
