#pragma once
// The admin command set: ONE implementation, run by `bastionctl` on the host and (later) by
// officers over SSH (`ssh officer@bastion grant add …`). Nothing here touches a terminal or the
// process environment; everything comes in through CommandContext.
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event_log.h"
#include "audit/event_sinks.h"
#include "audit/export.h"
#include "audit/session_store.h"
#include "authz/clock.h"
#include "authz/db.h"
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
  // Every change is an audit event (admin.<noun>.<verb>, details {before, after}), appended in the
  // same database transaction as the change: if the event cannot be written, nothing changes.
  audit::EventLog& events;
  audit::SessionStore& sessions;
  std::string actor = "bastionctl";  // recorded as granted_by; "bastionctl" for the local root
  authz::Role actor_role = authz::Role::Officer;
  std::string actor_client{};  // Role::Client: the client whose servers the account may review
  std::string source{};        // the actor's address over SSH ("203.0.113.7:51234"); empty locally
  bool remote = false;         // over SSH: no command may name a path on the bastion host

  // sees_client: officers see everything; a client reviewer only its own client's servers.
  bool sees_client(std::string_view client) const {
    return actor_role == authz::Role::Officer || (actor_role == authz::Role::Client && client == actor_client);
  }
  KeyPaths keys;                     // where the egress key lives (egress-key)
  std::string program = "bastionctl";  // prefix of error lines
  // Review and retention commands (sessions list/play/export, audit, client, purge, export) query
  // the database directly; the same connection as store, sessions and events.
  db::DatabasePtr db;
  std::string recordings_dir;     // purge: the daemon's STATE_DIR/recordings; files elsewhere are never deleted
  bool out_is_terminal = false;   // sessions play: replay with timing on a terminal, else the raw .cast
  // web-login: where people reach bastion-web ("https://bastion.example.com:8443"), from bastiond's
  // --portal-url; empty: not configured, and web-login says so.
  std::string portal_url{};
  // audit checkpoint: the daemon's sinks, where a checkpoint goes at once (over SSH). bastionctl has
  // none: its checkpoints wait in the database until bastiond copies them to its sinks.
  audit::EventSinks sinks{};
  // Over SSH, the first line of the channel's standard input when the command reads one (`export`:
  // the passphrase of the archive, never on its command line); nullopt when none was read. The
  // command wipes what it took from it; the front wipes the rest.
  std::optional<std::string> input_line{};
};

// run_command runs one command ("grant", "add", "--operator", …). Returns an exit status above;
// output goes to ctx.out, a single "<program>: <reason>" line to ctx.err on failure.
int run_command(const std::vector<std::string>& args, CommandContext& ctx);

// prepare_client_export: `export --client C` for a front that sends the archive itself (the SSH
// front's standard output, bastion-web's download): the rule of who may export what (officers any
// client, a client reviewer her own), the passphrase's policy (audit/openpgp.h), the archive built
// in memory and encrypted under the passphrase (OpenPGP, what `gpg -d` opens), and the
// admin.client.export event recorded (with the cipher and S2K, never the passphrase), in that order,
// before the caller sends a byte. Error: why not (nothing recorded or sent). The caller wipes the
// passphrase.
Result<audit::BuiltExport> prepare_client_export(CommandContext& ctx, const std::string& client,
                                                 std::string_view passphrase);

// is_admin_command: the first word names a command of the set ("grant", "sessions", …), so the
// SSH front can answer an operator who typed one with the role rule instead of a target error.
bool is_admin_command(std::string_view first_word);

// is_operator_command: the first word names a command operators may run ("request"); the SSH front
// runs these for an operator who gave no target instead of reading them as one.
bool is_operator_command(std::string_view first_word);

// print_command_list writes the synopsis of every command, one per line (for --help).
void print_command_list(std::ostream& out, std::string_view program);

}  // namespace bastion::gateway::admin
