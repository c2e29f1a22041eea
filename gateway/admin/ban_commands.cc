// bans list | lift: brute-force bans of sources (IPv4 addresses, IPv6 /64s) and account locks
// (authz/bans.h). The daemon places them; officers see them and lift them. A lift is an audit
// event (ban.lift).
#include <ostream>

#include "authz/ban_subject.h"
#include "authz/decide.h"
#include "authz/sqlite_ban_store.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

nlohmann::json ban_json(const authz::Ban& b, Seconds now) {
  return {{"id", b.id},
          {"kind", authz::to_string(b.kind)},
          {"subject", b.subject},
          {"until", iso8601(b.until)},
          {"level", b.level},
          {"reason", b.reason},
          {"created_at", iso8601(b.created_at)},
          {"active", b.active(now)},
          {"lifted_by", b.lifted_by ? nlohmann::json(*b.lifted_by) : nlohmann::json(nullptr)},
          {"lifted_at", b.lifted_at ? nlohmann::json(iso8601(*b.lifted_at)) : nlohmann::json(nullptr)}};
}

std::string state_of(const authz::Ban& b, Seconds now) {
  if (b.lifted_at) return "lifted by " + *b.lifted_by;
  return b.active(now) ? "in force" : "expired";
}

}  // namespace

int bans_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("bans list", "[--all]",
                 "List the bans in force: source addresses refused at connect, accounts locked at login.");
  cl.options()("all", po::bool_switch(), "also the expired and lifted bans");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const Seconds now = ctx.clock.now();
  authz::SqliteBanStore store(ctx.db);
  const auto bans = store.list(now, (*vm)["all"].as<bool>());
  if (wants_json(*vm)) {
    auto rows = nlohmann::json::array();
    for (const auto& b : bans) rows.push_back(ban_json(b, now));
    print_json(ctx, rows);
    return kExitOk;
  }
  if (bans.empty()) {
    ctx.out << "no bans in force\n";
    return kExitOk;
  }
  for (const auto& b : bans) {
    ctx.out << b.id << "  " << authz::to_string(b.kind) << " " << b.subject << "  until " << authz::format_utc(b.until)
            << "  level " << b.level << "  " << state_of(b, now) << "  (" << b.reason << ")\n";
  }
  return kExitOk;
}

int bans_lift(const Args& args, CommandContext& ctx) {
  CommandLine cl("bans lift", "SOURCE|ACCOUNT",
                 "Lift every ban in force on that address or account at once; the next ban of an address "
                 "starts again at the first length. IPv6 sources are banned per /64: any address in it, or "
                 "the prefix as listed (2001:db8::/64), names the ban.");
  cl.positional("SUBJECT");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto named = authz::ban_subject_of((*vm)["SUBJECT"].as<std::string>());
  if (!named) return refuse(ctx, named.error().message);
  const std::string& subject = *named;
  const Seconds now = ctx.clock.now();
  authz::SqliteBanStore store(ctx.db);
  const auto lifted = store.lift(subject, ctx.actor, now);
  if (lifted.empty()) return refuse(ctx, "no ban in force on '" + subject + "' (see `bans list`)");
  auto rows = nlohmann::json::array();
  for (const auto& b : lifted) {
    rows.push_back(ban_json(b, now));
    audit::Event ev{now, "ban.lift", ctx.actor, ctx.source, "", std::nullopt,
                    {{"ban", b.id}, {"kind", authz::to_string(b.kind)}, {"subject", b.subject},
                     {"was_until", iso8601(b.until)}, {"reason", b.reason}}};
    if (auto st = ctx.events.append(ev); !st)
      return refuse(ctx, "the audit event could not be written, so the ban stays: " + st.error().message);
  }
  if (wants_json(*vm)) {
    print_json(ctx, rows);
  } else {
    for (const auto& b : lifted)
      ctx.out << authz::to_string(b.kind) << " " << b.subject << ": ban " << b.id << " lifted (it ran until "
              << authz::format_utc(b.until) << ")\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
