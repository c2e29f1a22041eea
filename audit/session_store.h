#pragma once
// SessionStore: one row per proxied session and one per recording, linked to it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/recorder.h"
#include "authz/clock.h"
#include "authz/result.h"

namespace bastion::audit {

struct SessionStart {
  std::string operator_name;
  std::string server;
  std::string login;
  std::optional<std::int64_t> grant_id;
  std::string client;
  std::string source;  // "203.0.113.7:51234"
  Seconds start{};
  int pid = 0;
  // max_live caps the operator's live sessions across every connection (0 = no cap): start is
  // refused, with the count, when the operator already has that many.
  int max_live = 0;
  // pid_start: the start time of process pid (clock ticks since boot, 0 if unknown), so that a
  // reused pid is never taken for this session's process (gateway/session_liveness.h).
  std::int64_t pid_start = 0;
  // alive, if set, says whether a live row's process (pid, pid_start) still runs: rows whose
  // process is gone (a crash, closing writes not yet recovered) never count against max_live.
  std::function<bool(int pid, std::int64_t pid_start)> alive = nullptr;
  // node: the bastion serving the session (bastiond --node). alive can only speak of this node's
  // own processes: another node's live rows always count against max_live.
  std::string node{};
};

struct SessionRow {
  std::int64_t id = 0;
  std::string operator_name, server, login, client, source;
  std::optional<std::int64_t> grant_id;
  Seconds start{};
  std::optional<Seconds> end;
  std::optional<int> exit_status;
  std::string status;  // "live" | "closed" | "aborted" | "refused"
  std::string reason;  // why it ended, if not normally
  int pid = 0;
  std::int64_t pid_start = 0;  // see SessionStart
  std::string node;            // see SessionStart; "" for a row from before nodes were named
};

struct RecordingRow {
  std::int64_t id = 0;
  std::int64_t session_id = 0;
  int channel = 0;
  RecordingSummary summary;
  Seconds start{};
  Seconds end{};
};

// KillRequest: an officer asked for a live session to end (`sessions kill`).
struct KillRequest {
  std::string by;
  Seconds at{};
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual Result<std::int64_t> start(const SessionStart& s) = 0;
  virtual Status finish(std::int64_t id, Seconds end, std::optional<int> exit_status, std::string_view status,
                        std::string_view reason) = 0;
  virtual Status add_recording(std::int64_t session_id, int channel, const RecordingSummary& r, Seconds start,
                               Seconds end) = 0;
  virtual std::optional<SessionRow> find(std::int64_t id) = 0;
  virtual std::vector<SessionRow> list() = 0;  // oldest first
  virtual std::vector<RecordingRow> recordings_of(std::int64_t session_id) = 0;
  // request_kill records that `by` asked at `at` for live session id to end; refused (with the
  // reason) if there is no such session, it has ended, or a kill was already requested.
  virtual Status request_kill(std::int64_t id, std::string_view by, Seconds at) = 0;
  // kill_request returns the pending request for session id, if any. The session's own process
  // polls it (at least once a second) and ends the session when one appears.
  virtual std::optional<KillRequest> kill_request(std::int64_t id) = 0;
};
using SessionStorePtr = std::unique_ptr<SessionStore>;

}  // namespace bastion::audit
