// settings show | set: bastion-wide settings, stored in the database so that bastionctl and every
// bastiond process sharing it apply the same values. Today: max-grant-duration.
#include <ostream>

#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

constexpr std::string_view kMaxGrant = "max-grant-duration";

nlohmann::json settings_json(CommandContext& ctx) {
  return {{std::string(kMaxGrant), ctx.store.max_grant_duration().count()}};
}

}  // namespace

int settings_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("settings show", "", "Show the bastion-wide settings (durations in seconds).");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  if (wants_json(*vm)) {
    print_json(ctx, settings_json(ctx));
  } else {
    ctx.out << kMaxGrant << " = " << ctx.store.max_grant_duration().count() << "s\n";
  }
  return kExitOk;
}

int settings_set(const Args& args, CommandContext& ctx) {
  CommandLine cl("settings set", "max-grant-duration D",
                 "Set the longest window `grant add` accepts (e.g. 8h, 7d; between 1m and 366d). Existing grants "
                 "keep their windows.");
  cl.positional("NAME").positional("VALUE");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  if (name != kMaxGrant) throw UsageError("unknown setting '" + name + "' (known: max-grant-duration)");
  const auto d = parse_duration((*vm)["VALUE"].as<std::string>());
  if (!d) throw UsageError(d.error().message);
  const auto before = settings_json(ctx);
  if (auto st = ctx.store.set_max_grant_duration(*d); !st) return refuse(ctx, st.error().message);
  const auto after = settings_json(ctx);
  if (auto ev = record_change(ctx, {"admin.settings.set", "", before, after}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, after);
  } else {
    ctx.out << kMaxGrant << " = " << d->count() << "s\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
