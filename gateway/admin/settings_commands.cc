// settings show | set: bastion-wide settings, stored in the database so that bastionctl and every
// bastiond process sharing it apply the same values: max-grant-duration, and pending-ttl (how
// long an access request waits for its approvals before it lapses).
#include <ostream>

#include "authz/sqlite_request_store.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

constexpr std::string_view kMaxGrant = "max-grant-duration";
constexpr std::string_view kPendingTtl = "pending-ttl";

nlohmann::json settings_json(CommandContext& ctx) {
  return {{std::string(kMaxGrant), ctx.store.max_grant_duration().count()},
          {std::string(kPendingTtl), authz::SqliteRequestStore(ctx.db).pending_ttl().count()}};
}

}  // namespace

int settings_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("settings show", "", "Show the bastion-wide settings (durations in seconds).");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  if (wants_json(*vm)) {
    print_json(ctx, settings_json(ctx));
  } else {
    ctx.out << kMaxGrant << " = " << ctx.store.max_grant_duration().count() << "s\n"
            << kPendingTtl << " = " << authz::SqliteRequestStore(ctx.db).pending_ttl().count() << "s\n";
  }
  return kExitOk;
}

int settings_set(const Args& args, CommandContext& ctx) {
  CommandLine cl("settings set", "max-grant-duration D | pending-ttl D",
                 "max-grant-duration: the longest window `grant add` accepts (e.g. 8h, 7d; between 1m and 366d); "
                 "existing grants keep their windows. pending-ttl: how long an access request waits for its "
                 "approvals before it lapses (between 5m and 30d; default 24h); requests already made keep theirs.");
  cl.positional("NAME").positional("VALUE");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  if (name != kMaxGrant && name != kPendingTtl) {
    throw UsageError("unknown setting '" + name + "' (known: max-grant-duration, pending-ttl)");
  }
  const auto d = parse_duration((*vm)["VALUE"].as<std::string>());
  if (!d) throw UsageError(d.error().message);
  const auto before = settings_json(ctx);
  const auto st = name == kMaxGrant ? ctx.store.set_max_grant_duration(*d)
                                    : authz::SqliteRequestStore(ctx.db).set_pending_ttl(*d);
  if (!st) return refuse(ctx, st.error().message);
  const auto after = settings_json(ctx);
  if (auto ev = record_change(ctx, {"admin.settings.set", "", before, after}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, after);
  } else {
    ctx.out << name << " = " << d->count() << "s\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
