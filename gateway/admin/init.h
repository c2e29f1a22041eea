#pragma once
// init: the bootstrap of a bastion — creates the database and the host and egress keys beside it.
// Not part of run_command: it is the one command that runs before a store exists, and only on the
// host itself, never over SSH.
#include <iosfwd>
#include <string>

#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {

// run_init creates and migrates the database at db_path (refusing one that is already
// initialised), then ensures the keys of `keys`. Returns an exit status of commands.h.
int run_init(const Args& args, const std::string& db_path, const KeyPaths& keys, std::ostream& out,
             std::ostream& err);

}  // namespace bastion::gateway::admin
