#pragma once
// Target names: parsed from untrusted bytes (the SSH user name and the exec command line).
#include <optional>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::gateway {

struct Target {
  std::string login;
  std::string server;
};

struct UserSpec {
  std::string operator_name;
  std::optional<Target> target;  // set for "alice+root+web1"
};

// parse_user accepts "alice" or "alice+root+web1". Operator names: [a-z_][a-z0-9_.-]{0,31};
// logins: [A-Za-z0-9_][A-Za-z0-9_.-]{0,31}; servers: [A-Za-z0-9][A-Za-z0-9.-]{0,62}. Anything else
// (empty parts, extra '+', control bytes, over-long) is an error naming what is wrong.
Result<UserSpec> parse_user(std::string_view user);

struct CommandTarget {
  Target target;
  std::string command;  // the rest of the line after the target word, may be empty (shell)
};

// parse_command_target accepts "root@web1" or "root@web1 <command…>" (first word is the target).
Result<CommandTarget> parse_command_target(std::string_view line);

bool valid_operator_name(std::string_view s);
bool valid_login(std::string_view s);
bool valid_server_name(std::string_view s);

}  // namespace bastion::gateway
