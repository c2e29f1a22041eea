#pragma once
// Housekeeping: the daemon's own duties beside accepting connections — closing the session rows
// of session processes that died without closing them (audit/session_recovery.h: from their
// closing spool, or from their recordings), applying retention once a day, and signing the audit
// chain's checkpoints (audit/checkpoint.h).
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "authz/clock.h"
#include "gateway/notifier.h"
#include "gateway/session_process.h"

namespace bastion::gateway {

class Housekeeping {
 public:
  Housekeeping(const DaemonSettings& settings, const Clock& clock) : settings_(settings), clock_(clock) {}

  // close_sessions_of recovers the live sessions of a session process killed by a signal (the
  // reason names it), with a session.recovered event each stating its recording's digest as the
  // kill left the file. A database locked meanwhile leaves them to the sweep of tick().
  void close_sessions_of(int pid, int wait_status);
  // close_stale_sessions: at start-up, live rows whose process is gone (the daemon itself was
  // stopped or crashed) are recovered the same way.
  void close_stale_sessions();
  // tick writes this node's heartbeat every node_timeout / 6 (5 s by default) and, then, ends the
  // live sessions of nodes whose heartbeat is older than node_timeout (audit/node_store.h); runs
  // retention when it is due: at start and then every `purge_interval`, in a forked
  // child so that the accept loop never waits on it; and every 30 s records the end of bans that
  // ran out (ban.expired), so each is on record within half a minute even if nobody logs in, and
  // recovers live rows whose process is gone (a database locked when they were reaped).
  void tick();
  // checkpoint writes a signed checkpoint of the audit chain now (`why` is logged), in a forked
  // child: the listener never holds the checkpoint key, so no connection forked from it inherits
  // it. With `wait`, returns once it is written (start and stop); returns false, after logging
  // why, if it was not.
  bool checkpoint(const std::string& why, bool wait);
  // record appends an event about the daemon itself (start, reload, stop), actor "bastiond", or
  // about a connection it closed before SSH (`source`: its "ADDRESS:PORT").
  // Returns false, after logging why, if it could not be written.
  bool record(const std::string& kind, nlohmann::json details, const std::string& source = "");

  std::chrono::seconds purge_interval{24 * 3600};
  // notify: the access-request webhook; tick() runs the notifier in a child of its own every two
  // seconds while none is running, so a slow receiver delays notifications, never the listener.
  NotifySettings notify;
  // Checkpoints: tick() writes one when checkpoint_events events were appended since the last, or
  // checkpoint_every passed; and copies to the sinks those bastionctl wrote (it has no sinks).
  std::int64_t checkpoint_events = 1000;
  std::chrono::seconds checkpoint_every{300};

 private:
  // recover_sessions closes every live session whose process is gone and that satisfies `match`.
  void recover_sessions(const std::function<bool(int row_pid)>& match, const std::string& why);
  void start_notifier();
  void check_checkpoints();
  void heartbeat();
  const DaemonSettings& settings_;
  const Clock& clock_;
  std::chrono::steady_clock::time_point next_purge_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_expiry_check_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_notify_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_checkpoint_check_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_beat_ = std::chrono::steady_clock::now();
  Seconds started_at_ = clock_.now();
  bool beat_failing_ = false;  // logged once per outage, not at every beat
  // Since when this node's beats have gone through without a break: it judges the others only once
  // that is a whole timeout, so that after an outage of the database (every heartbeat stopped) no
  // node takes the others for dead before they could beat again.
  std::optional<std::chrono::steady_clock::time_point> beating_since_;
  int notifier_pid_ = 0;    // the running notifier child; 0 when none
  int checkpoint_pid_ = 0;  // the running checkpoint child; 0 when none
};

}  // namespace bastion::gateway
