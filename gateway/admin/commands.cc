// run_command: the dispatch table of the admin command set, and the one place where failures
// become exit statuses (usage 2, refusal 1) and one-line messages.
#include "gateway/admin/commands.h"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "authz/db.h"
#include "gateway/admin/handlers.h"

namespace bastion::gateway::admin {
namespace {

using Handler = int (*)(const Args&, CommandContext&);

// Access: who may run a command, and how. One flag per entry; run_command enforces it in one place.
enum class Access {
  Change,   // officers only; runs in one transaction together with its audit event(s)
  Inspect,  // officers only; reads policy
  Review,   // officers, and client reviewers limited to their own client's servers; reads
  // Access requests: every role, operators included (the only commands they have); the handler
  // applies authz/access_request.h's rules of who may see and decide what. Runs in one
  // transaction with its audit events, like Change, but reading ones record none.
  Request,
  // The web portal's own: client reviewers and officers, for themselves (web-login); an operator
  // is told the portal is not for operators.
  Portal,
};

struct CommandEntry {
  std::vector<std::string_view> words;
  std::string_view synopsis;
  Handler run;
  Access access;
};

const CommandEntry kCommands[] = {
    {{"operator", "add"}, "NAME --key FILE|--web [--role operator|officer|client] [--client C] [--web]", operator_add,
     Access::Change},
    {{"operator", "web-enrol"}, "NAME [--portal-url URL]", operator_web_enrol, Access::Change},
    {{"web-cert"}, "--cert FILE --key FILE [--host NAME] [--days N]", web_cert, Access::Inspect},
    {{"operator", "list"}, "", operator_list, Access::Inspect},
    {{"operator", "show"}, "NAME", operator_show, Access::Inspect},
    {{"operator", "disable"}, "NAME", operator_disable, Access::Change},
    {{"operator", "enable"}, "NAME", operator_enable, Access::Change},
    {{"operator", "key", "add"}, "NAME --key FILE", operator_key_add, Access::Change},
    {{"operator", "key", "remove"}, "NAME FINGERPRINT", operator_key_remove, Access::Change},
    {{"operator", "totp", "reset"}, "NAME", operator_totp_reset, Access::Change},
    {{"server", "add"}, "NAME --host H --port P --client C --kind dedicated|shared --host-key KEY [--egress certificate|key]", server_add,
     Access::Change},
    {{"server", "list"}, "", server_list, Access::Review},
    {{"server", "show"}, "NAME", server_show, Access::Inspect},
    {{"server", "set-kind"}, "NAME dedicated|shared", server_set_kind, Access::Change},
    {{"server", "set-host-key"}, "NAME KEY", server_set_host_key, Access::Change},
    {{"server", "set-env"}, "NAME VAR[,VAR…]|-", server_set_env, Access::Change},
    {{"server", "set-egress"}, "NAME certificate|key", server_set_egress, Access::Change},
    {{"server", "remove"}, "NAME [--force]", server_remove, Access::Change},
    {{"catalogue", "add"}, "SERVER OP --type shell|exec|sftp|scp|rsync|forward [--pattern P]", catalogue_add,
     Access::Change},
    {{"catalogue", "list"}, "SERVER", catalogue_list, Access::Inspect},
    {{"catalogue", "remove"}, "SERVER OP", catalogue_remove, Access::Change},
    {{"grant", "add"},
     "--operator O --server S --login L --ops OP[,OP…] (--for D | --until T) [--from T] --reason TEXT [--emergency]",
     grant_add, Access::Change},
    {{"grant", "revoke"}, "ID", grant_revoke, Access::Change},
    {{"grant", "list"}, "", grant_list, Access::Review},
    {{"grant", "show"}, "ID", grant_show, Access::Inspect},
    {{"who-has-access"}, "SERVER", who_has_access, Access::Inspect},
    {{"sessions", "list"}, "[--server S] [--operator O] [--client C] [--since T] [--until T] [--live]", sessions_list,
     Access::Review},
    {{"sessions", "show"}, "ID", sessions_show, Access::Review},
    {{"sessions", "play"}, "ID [--speed X] [--raw] [--channel N]", sessions_play, Access::Review},
    {{"sessions", "export"}, "ID [--channel N]", sessions_export, Access::Review},
    {{"sessions", "kill"}, "ID", sessions_kill, Access::Change},
    {{"audit", "list"}, "[--since T] [--until T] [--server S] [--actor A] [--kind K] [--limit N]", audit_list,
     Access::Review},
    {{"audit", "verify"}, "[--checkpoints FILE… --key PUB]", audit_verify, Access::Inspect},
    {{"audit", "checkpoint"}, "", audit_checkpoint, Access::Inspect},
    {{"audit", "checkpoint-key"}, "", audit_checkpoint_key, Access::Inspect},
    {{"audit", "export"}, "[--since T] [--until T] [--server S] [--actor A] [--kind K]", audit_export, Access::Review},
    {{"client", "set"},
     "NAME [--recording-retention-days N|never] [--event-retention-days N|never] [--contract-end T|none] [--grace-days N]",
     client_set, Access::Change},
    {{"client", "list"}, "", client_list, Access::Inspect},
    {{"client", "keys"}, "", client_keys, Access::Inspect},
    // shred destroys the key and records client.shred in its own transaction, then scrubs the
    // database's log outside any transaction.
    {{"client", "shred"}, "NAME --confirm", client_shred, Access::Inspect},
    {{"recording", "decrypt"}, "FILE", recording_decrypt, Access::Inspect},
    {{"master-key"}, "", master_key, Access::Inspect},
    // purge and export record their own audit events (purge in the same transaction as its
    // deletions, before it unlinks files), so they run outside run_change's transaction.
    {{"purge"}, "[--recordings-dir DIR]", purge_now, Access::Inspect},
    {{"export"}, "--client C --out FILE.tar.gz", export_command, Access::Review},
    {{"settings", "show"}, "", settings_show, Access::Inspect},
    {{"settings", "set"}, "max-grant-duration D | pending-ttl D", settings_set, Access::Change},
    {{"egress-key"}, "", egress_key, Access::Inspect},
    {{"egress-ca"}, "[--server S]", egress_ca_show, Access::Inspect},
    {{"egress-ca", "rotate"}, "", egress_ca_rotate, Access::Change},
    {{"egress-ca", "remove"}, "FINGERPRINT", egress_ca_remove, Access::Change},
    {{"bans", "list"}, "[--all]", bans_list, Access::Inspect},
    {{"bans", "lift"}, "SOURCE|ACCOUNT", bans_lift, Access::Change},
    {{"web-login"}, "", web_login, Access::Portal},
    {{"request", "add"}, "SERVER --login L --ops OP[,OP…] --for D [--from T] --reason TEXT [--operator O]",
     request_add, Access::Request},
    {{"request", "list"}, "[--pending | --all]", request_list, Access::Request},
    {{"request", "show"}, "ID", request_show, Access::Request},
    {{"request", "cancel"}, "ID [--reason TEXT]", request_cancel, Access::Request},
    {{"request", "approve"}, "ID [--reason TEXT]", request_approve, Access::Request},
    {{"request", "deny"}, "ID --reason TEXT", request_deny, Access::Request},
    {{"server", "set-approvals"}, "NAME officer|client|client,officer|default", server_set_approvals, Access::Change},
    {{"client", "set-approvals"}, "NAME officer|client|client,officer|default", client_set_approvals, Access::Change},
};

std::string joined(const std::vector<std::string_view>& words) {
  std::string out;
  for (auto w : words) out += (out.empty() ? "" : " ") + std::string(w);
  return out;
}

bool starts_with_words(const Args& args, const std::vector<std::string_view>& words) {
  if (args.size() < words.size()) return false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (args[i] != words[i]) return false;
  }
  return true;
}

const CommandEntry* find_command(const Args& args) {
  const CommandEntry* best = nullptr;
  for (const auto& c : kCommands) {
    if (starts_with_words(args, c.words) && (best == nullptr || c.words.size() > best->words.size())) best = &c;
  }
  return best;
}

int usage_error(CommandContext& ctx, std::string_view message, std::string_view command) {
  ctx.err << ctx.program << ": " << (command.empty() ? "" : std::string(command) + ": ") << message << " (see `"
          << ctx.program << " " << (command.empty() ? "" : std::string(command) + " ") << "--help`)\n";
  return kExitUsage;
}

int unknown_command(const Args& args, CommandContext& ctx) {
  if (args.empty()) return usage_error(ctx, "no command given", "");
  std::string subcommands;
  for (const auto& c : kCommands) {
    if (c.words.size() > 1 && c.words[0] == args[0]) {
      subcommands += (subcommands.empty() ? "" : ", ") + joined({c.words.begin() + 1, c.words.end()});
    }
  }
  if (subcommands.empty()) return usage_error(ctx, "unknown command '" + args[0] + "'", "");
  return usage_error(ctx, "'" + args[0] + "' needs one of: " + subcommands, "");
}

}  // namespace

bool is_admin_command(std::string_view first_word) {
  for (const auto& c : kCommands)
    if (!c.words.empty() && c.words[0] == first_word) return true;
  return false;
}

bool is_operator_command(std::string_view first_word) {
  for (const auto& c : kCommands)
    if (c.access == Access::Request && c.words[0] == first_word) return true;
  return false;
}

namespace {

// commands_of: the names of the commands with one of these access flags, for refusals.
std::string commands_of(std::initializer_list<Access> access) {
  std::string out;
  for (const auto& c : kCommands) {
    if (std::find(access.begin(), access.end(), c.access) != access.end()) out += (out.empty() ? "" : ", ") + joined(c.words);
  }
  return out;
}

// check_access: the one place where roles meet commands.
Status check_access(const CommandEntry& command, const CommandContext& ctx) {
  const std::string name = joined(command.words);
  switch (ctx.actor_role) {
    case authz::Role::Officer:
      return ok_status();
    case authz::Role::Operator:
      if (command.access == Access::Request) return ok_status();
      if (command.access == Access::Portal) {
        return Error{"'" + name + "': the web portal is for client reviewers and security officers; operators have "
                     "no portal access (yours: " + commands_of({Access::Request}) + ")"};
      }
      return Error{"'" + name + "' is an officer command; you are an operator (yours: " +
                   commands_of({Access::Request}) + ")"};
    case authz::Role::Client:
      if (ctx.actor_client.empty()) {
        return Error{"client account " + ctx.actor + " names no client; ask an officer to check the account"};
      }
      if (command.access == Access::Review || command.access == Access::Request || command.access == Access::Portal)
        return ok_status();
      return Error{"'" + name + "' is an officer command; you are a client reviewer (yours: " +
                   commands_of({Access::Review, Access::Request, Access::Portal}) + ")"};
  }
  return Error{"unknown role"};
}

// CountingEventLog passes events through and counts those recorded.
class CountingEventLog final : public audit::EventLog {
 public:
  explicit CountingEventLog(audit::EventLog& inner) : inner_(inner) {}
  Status append(const audit::Event& e) override {
    auto st = inner_.append(e);
    if (st) ++recorded_;
    return st;
  }
  int recorded() const { return recorded_; }

 private:
  audit::EventLog& inner_;
  int recorded_ = 0;
};

bool asks_help(const Args& args) {
  return std::any_of(args.begin(), args.end(), [](const auto& a) { return a == "--help" || a == "-h"; });
}

// run_change runs a changing command inside one Store::begin_change(): its writes and its audit
// events commit together, after the handler succeeded; its output is held back until then, so
// nothing claims a change that was rolled back. A change that recorded no event is a bug and is
// refused rather than committed unrecorded (request commands that only read record none).
int run_change(const CommandEntry& command, const Args& rest, CommandContext& ctx) {
  std::ostringstream held;
  CountingEventLog counting(ctx.events);
  CommandContext inner{ctx.store, ctx.clock,      held,       ctx.err,          counting, ctx.sessions,
                       ctx.actor, ctx.actor_role, ctx.actor_client, ctx.source, ctx.remote, ctx.keys, ctx.program,
                       ctx.db,    ctx.recordings_dir, ctx.out_is_terminal, ctx.portal_url, ctx.sinks};
  auto change = ctx.store.begin_change();
  const int rc = command.run(rest, inner);
  if (rc != kExitOk) return rc;
  if ((command.access == Access::Change || command.access == Access::Portal) && counting.recorded() == 0 &&
      !asks_help(rest)) {
    return refuse(ctx, "internal error: '" + joined(command.words) + "' recorded no audit event; nothing was changed");
  }
  change->commit();
  ctx.out << held.str();
  return rc;
}

}  // namespace

int run_command(const Args& args, CommandContext& ctx) {
  const CommandEntry* command = find_command(args);
  if (command == nullptr) return unknown_command(args, ctx);
  const std::string name = joined(command->words);
  if (auto allowed = check_access(*command, ctx); !allowed) return refuse(ctx, allowed.error().message);
  const Args rest(args.begin() + static_cast<std::ptrdiff_t>(command->words.size()), args.end());
  try {
    if (command->access == Access::Change || command->access == Access::Request || command->access == Access::Portal)
      return run_change(*command, rest, ctx);
    return command->run(rest, ctx);
  } catch (const UsageError& e) {
    return usage_error(ctx, e.what(), name);
  } catch (const db::DbError& e) {
    // Rule 5: a database that cannot be read or written refuses, visibly (and a change rolls back).
    return refuse(ctx, std::string("database error: ") + e.what());
  }
}

void print_command_list(std::ostream& out, std::string_view program) {
  out << "commands (each takes --help and --json):\n";
  out << "  " << program << " --db FILE init\n";
  for (const auto& c : kCommands) {
    out << "  " << program << " --db FILE " << joined(c.words) << (c.synopsis.empty() ? "" : " ") << c.synopsis
        << "\n";
  }
}

}  // namespace bastion::gateway::admin
