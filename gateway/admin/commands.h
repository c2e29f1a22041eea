#pragma once
// The admin command set: ONE implementation, run by `bastionctl` on the host and (later) by
// officers over SSH (`ssh officer@bastion grant add …`). Nothing here touches a terminal or the
// process environment; everything comes in through CommandContext.
#include <iosfwd>
#include <string>
#include <vector>

#include "authz/clock.h"
#include "authz/model.h"
#include "authz/store.h"
#include "gateway/keys.h"

namespace bastion::gateway::admin {

// Exit statuses of run_command, as the shell sees them.
constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;  // a refusal or failure; the reason is one line on ctx.err
constexpr int kExitUsage = 2;    // the command line itself is wrong

struct CommandContext {
  authz::Store& store;
  const Clock& clock;
  std::ostream& out;
  std::ostream& err;
  std::string actor = "bastionctl";  // recorded as granted_by; "bastionctl" for the local root
  authz::Role actor_role = authz::Role::Officer;
  KeyPaths keys;                     // where the egress key lives (egress-key)
  std::string program = "bastionctl";  // prefix of error lines
};

// run_command runs one command ("grant", "add", "--operator", …). Returns an exit status above;
// output goes to ctx.out, a single "<program>: <reason>" line to ctx.err on failure.
int run_command(const std::vector<std::string>& args, CommandContext& ctx);

// print_command_list writes the synopsis of every command, one per line (for --help).
void print_command_list(std::ostream& out, std::string_view program);

}  // namespace bastion::gateway::admin
