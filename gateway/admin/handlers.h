#pragma once
// One function per admin command; run_command (commands.cc) dispatches to them by name.
// Each parses its own arguments (after the command words) and returns an exit status.
#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {

int operator_add(const Args& args, CommandContext& ctx);
int operator_list(const Args& args, CommandContext& ctx);
int operator_disable(const Args& args, CommandContext& ctx);
int operator_enable(const Args& args, CommandContext& ctx);
int operator_key_add(const Args& args, CommandContext& ctx);

int server_add(const Args& args, CommandContext& ctx);
int server_list(const Args& args, CommandContext& ctx);
int catalogue_add(const Args& args, CommandContext& ctx);
int catalogue_list(const Args& args, CommandContext& ctx);

int grant_add(const Args& args, CommandContext& ctx);
int grant_revoke(const Args& args, CommandContext& ctx);
int grant_list(const Args& args, CommandContext& ctx);
int grant_show(const Args& args, CommandContext& ctx);

int egress_key(const Args& args, CommandContext& ctx);

}  // namespace bastion::gateway::admin
