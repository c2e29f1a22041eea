// Fuzz target for gateway/config.cc: the input is bastiond's --config file. Besides not crashing,
// whatever parses must respect the documented bounds, parse the same way twice, and compare equal
// to itself on reload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/config.h"

namespace {

using namespace bastion::gateway;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> argv = {"bastiond", "--config", "/fuzz/bastion.conf"};
  auto read = [&](const std::string&) -> bastion::Result<std::string> { return text; };
  auto c = parse_daemon_config(argv, read);
  if (!c.ok()) {
    check(!c.error().message.empty());
    return 0;
  }
  if (c->help) return 0;
  check(!c->settings.db_path.empty() && !c->settings.state_dir.empty());
  check(c->preauth.max_total >= 1 && c->preauth.max_per_source >= 1);
  check(c->bans.source_failures >= 1 && c->bans.account_failures >= 1);
  check(c->settings.login_grace_seconds >= 1 && c->settings.auth.max_attempts >= 1);
  check(c->settings.idle_timeout_seconds == 0 || c->settings.idle_warning_seconds < c->settings.idle_timeout_seconds);
  check(c->bans.source_max_ban >= c->bans.source_first_ban);
  auto again = parse_daemon_config(argv, read);
  check(again.ok() && again->values == c->values);
  DaemonConfig next = *again;
  ReloadPlan plan = plan_reload(*c, next);
  check(plan.changed.empty() && plan.needs_restart.empty());
  return 0;
}
