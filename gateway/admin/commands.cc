// run_command: the dispatch table of the admin command set, and the one place where failures
// become exit statuses (usage 2, refusal 1) and one-line messages.
#include "gateway/admin/commands.h"

#include <array>
#include <ostream>

#include "authz/db.h"
#include "gateway/admin/handlers.h"

namespace bastion::gateway::admin {
namespace {

using Handler = int (*)(const Args&, CommandContext&);

struct CommandEntry {
  std::vector<std::string_view> words;
  std::string_view synopsis;
  Handler run;
};

// Every command here changes or reveals access policy, so all of them are for security officers;
// client reviewers will get their own (sessions, audit) entries.
const std::array<CommandEntry, 14> kCommands{{
    {{"operator", "add"}, "NAME --key FILE [--role operator|officer|client] [--client C]", operator_add},
    {{"operator", "list"}, "", operator_list},
    {{"operator", "disable"}, "NAME", operator_disable},
    {{"operator", "enable"}, "NAME", operator_enable},
    {{"operator", "key", "add"}, "NAME --key FILE", operator_key_add},
    {{"server", "add"}, "NAME --host H --port P --client C --kind dedicated|shared --host-key KEY", server_add},
    {{"server", "list"}, "", server_list},
    {{"catalogue", "add"}, "SERVER OP --type shell|exec|sftp|scp|rsync|forward [--pattern P]", catalogue_add},
    {{"catalogue", "list"}, "SERVER", catalogue_list},
    {{"grant", "add"}, "--operator O --server S --login L --ops OP[,OP…] (--for D | --until T) [--from T] --reason TEXT",
     grant_add},
    {{"grant", "revoke"}, "ID", grant_revoke},
    {{"grant", "list"}, "", grant_list},
    {{"grant", "show"}, "ID", grant_show},
    {{"egress-key"}, "", egress_key},
}};

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

int run_command(const Args& args, CommandContext& ctx) {
  const CommandEntry* command = find_command(args);
  if (command == nullptr) return unknown_command(args, ctx);
  const std::string name = joined(command->words);
  if (ctx.actor_role != authz::Role::Officer) {
    return refuse(ctx, "'" + name + "' is for security officers; " + ctx.actor + " is not one");
  }
  const Args rest(args.begin() + static_cast<std::ptrdiff_t>(command->words.size()), args.end());
  try {
    return command->run(rest, ctx);
  } catch (const UsageError& e) {
    return usage_error(ctx, e.what(), name);
  } catch (const db::DbError& e) {
    // Rule 5: a database that cannot be read or written refuses, visibly.
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
