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
int operator_key_remove(const Args& args, CommandContext& ctx);
int operator_totp_reset(const Args& args, CommandContext& ctx);
int operator_show(const Args& args, CommandContext& ctx);
int operator_web_enrol(const Args& args, CommandContext& ctx);
int web_cert(const Args& args, CommandContext& ctx);
int web_login(const Args& args, CommandContext& ctx);

int server_add(const Args& args, CommandContext& ctx);
int server_list(const Args& args, CommandContext& ctx);
int server_show(const Args& args, CommandContext& ctx);
int server_set_kind(const Args& args, CommandContext& ctx);
int server_set_host_key(const Args& args, CommandContext& ctx);
int server_set_env(const Args& args, CommandContext& ctx);
int server_remove(const Args& args, CommandContext& ctx);
int catalogue_add(const Args& args, CommandContext& ctx);
int catalogue_list(const Args& args, CommandContext& ctx);
int catalogue_remove(const Args& args, CommandContext& ctx);
int who_has_access(const Args& args, CommandContext& ctx);

int grant_add(const Args& args, CommandContext& ctx);
int grant_revoke(const Args& args, CommandContext& ctx);
int grant_list(const Args& args, CommandContext& ctx);
int grant_show(const Args& args, CommandContext& ctx);

int egress_key(const Args& args, CommandContext& ctx);
int egress_ca_show(const Args& args, CommandContext& ctx);
int egress_ca_rotate(const Args& args, CommandContext& ctx);
int egress_ca_remove(const Args& args, CommandContext& ctx);
int server_set_egress(const Args& args, CommandContext& ctx);
int sessions_show(const Args& args, CommandContext& ctx);

int sessions_kill(const Args& args, CommandContext& ctx);
int settings_show(const Args& args, CommandContext& ctx);
int settings_set(const Args& args, CommandContext& ctx);

// Review, retention and export (session_commands.cc, audit_commands.cc, client_commands.cc).
int sessions_list(const Args& args, CommandContext& ctx);
int sessions_play(const Args& args, CommandContext& ctx);
int sessions_export(const Args& args, CommandContext& ctx);
int audit_list(const Args& args, CommandContext& ctx);
int audit_verify(const Args& args, CommandContext& ctx);
int audit_checkpoint(const Args& args, CommandContext& ctx);
int audit_checkpoint_key(const Args& args, CommandContext& ctx);
int audit_export(const Args& args, CommandContext& ctx);
int client_set(const Args& args, CommandContext& ctx);
int client_list(const Args& args, CommandContext& ctx);
// Data keys (data_key_commands.cc).
int client_keys(const Args& args, CommandContext& ctx);
int client_shred(const Args& args, CommandContext& ctx);
int recording_decrypt(const Args& args, CommandContext& ctx);
int master_key(const Args& args, CommandContext& ctx);
int purge_now(const Args& args, CommandContext& ctx);
int export_command(const Args& args, CommandContext& ctx);

// Brute-force bans (ban_commands.cc).
int bans_list(const Args& args, CommandContext& ctx);
int bans_lift(const Args& args, CommandContext& ctx);

// Access on request (request_commands.cc, request_policy_commands.cc).
int request_add(const Args& args, CommandContext& ctx);
int request_list(const Args& args, CommandContext& ctx);
int request_show(const Args& args, CommandContext& ctx);
int request_cancel(const Args& args, CommandContext& ctx);
int request_approve(const Args& args, CommandContext& ctx);
int request_deny(const Args& args, CommandContext& ctx);
int server_set_approvals(const Args& args, CommandContext& ctx);
int client_set_approvals(const Args& args, CommandContext& ctx);

}  // namespace bastion::gateway::admin
