#pragma once
// EventLog: the audit trail. Every authentication, session start and end, channel decision, SFTP
// operation, admin action and purge is an Event. Stored events form a hash chain (each carries the
// hash of the one before), and are also emitted to the configured sinks (JSON lines for a SIEM,
// syslog, a fail2ban-matchable line for authentication failures).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "authz/clock.h"
#include "authz/result.h"

namespace bastion::audit {

struct Event {
  Seconds at{};
  // Dotted kinds, e.g. "auth.success", "auth.failure", "session.start", "session.end",
  // "channel.allowed", "channel.refused", "sftp.open", "admin.grant.add", "admin.operator.disable",
  // "retention.purge".
  std::string kind;
  std::string actor;   // the account acting ("alice", "officer1", "bastionctl" for local root)
  std::string source;  // "203.0.113.7:51234", empty for local commands
  std::string server;  // the server concerned, if any
  std::optional<std::int64_t> session_id;
  nlohmann::json details = nlohmann::json::object();  // reason, operation, before/after, byte counts…
};

struct StoredEvent {
  std::int64_t id = 0;
  Event event;
  std::string prev_hash;  // hex SHA-256 of the previous stored event ("" for the first)
  std::string hash;       // hex SHA-256 over prev_hash and this event's canonical content
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // append stores the event at the end of the chain and emits it to the sinks. An error means the
  // event was NOT recorded: the caller refuses or ends what it was doing (DESIGN.md rule 5).
  virtual Status append(const Event& e) = 0;
};
using EventLogPtr = std::unique_ptr<EventLog>;

}  // namespace bastion::audit
