#pragma once
// Event sinks: where each stored audit event is copied after it is in the database (the record of
// truth). A SIEM reads the JSON lines file, syslog carries the events off the host, and
// authentication failures also get one line in OpenSSH's own words so that fail2ban's stock
// `sshd` filter bans brute-forcing addresses (jail: `filter = sshd[_daemon=bastiond]`, or the
// stock filter unchanged when reading the daemon's log file).
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "audit/event_log.h"

namespace bastion::audit {

struct EventSinks {
  // json_lines_path: append one JSON object per line (event_json, which includes the chain hashes,
  // so the SIEM holds an off-host copy of the chain head). Created 0600; empty for none.
  std::string json_lines_path;
  // syslog: syslog(3) every event; auth.* events under facility AUTHPRIV (auth.failure as the
  // fail2ban line, others as JSON), the rest under DAEMON as JSON.
  bool syslog = false;
  // auth_failure_lines: log each auth.failure as `Failed <method> for [invalid user ]<user> from
  // <ip> port <port> ssh2` through auth_failure_logger (by default a logger of its own on stderr,
  // pattern "%Y-%m-%dT%H:%M:%S.%eZ bastiond[%P]: %v", UTC).
  bool auth_failure_lines = true;
  std::shared_ptr<spdlog::logger> auth_failure_logger;
};

// emit_to_sinks copies one stored event to every configured sink. An error names the sink that
// could not be written (syslog(3) has no error channel and never fails here).
Status emit_to_sinks(const EventSinks& sinks, const StoredEvent& e);

// emit_line_to_sinks copies one JSON object that is not an event (a signed checkpoint,
// audit/checkpoint.h) to the JSON lines file and to syslog (facility DAEMON).
Status emit_line_to_sinks(const EventSinks& sinks, const std::string& json);

// fail2ban_line returns the OpenSSH-style line for an auth.failure event, nullopt for other kinds.
// details: "method" ("publickey", "keyboard-interactive", …) and "invalid_user" (true when no such
// account). The user name comes from the network, so anything but [A-Za-z0-9._@+-] becomes '?': a
// name like "x from 198.51.100.1" must not make fail2ban ban someone else.
std::optional<std::string> fail2ban_line(const Event& e);

}  // namespace bastion::audit
