#include "gateway/housekeeping.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "audit/checkpoint.h"
#include "audit/node_store.h"
#include "audit/retention.h"
#include "audit/session_recovery.h"
#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/text.h"
#include "gateway/bans.h"
#include "gateway/checkpoint_key.h"
#include "gateway/session_liveness.h"

namespace bastion::gateway {
// recover_sessions opens its own connection: the listener holds none between events, so forked
// children never inherit one. It waits at most kSweepBusyWait for a locked database (the accept
// loop runs on this thread); rows it could not close now are retried at the next tick.
void Housekeeping::recover_sessions(const std::function<bool(int)>& match, const std::string& why) {
  constexpr std::chrono::milliseconds kSweepBusyWait{250};
  try {
    auto db = db::Database::open(settings_.db_path, false);
    if (!db) {
      spdlog::error("cannot recover sessions ({}): {}", why, db.error().message);
      return;
    }
    (*db)->set_busy_timeout(kSweepBusyWait);
    // Only this node's rows: another node's processes are not on this host (a node that died is
    // found by its heartbeat instead, heartbeat()). A row naming no node is from before nodes were.
    auto gone = [&](const audit::SessionRow& row) {
      return (row.node.empty() || row.node == settings_.node) && match(row.pid) &&
             !session_process_alive(row.pid, row.pid_start);
    };
    const auto report =
        audit::recover_sessions(*db, settings_.state_dir + "/recordings", settings_.sinks, clock_, gone, why);
    for (const auto& r : report.recovered)
      spdlog::warn("session {} recovered from its {} ({} s late): {}", r.session_id, r.from, r.late_seconds, why);
    for (const auto& p : report.problems) spdlog::error("session recovery: {} (retried later)", p);
  } catch (const db::DbError& e) {
    spdlog::error("cannot recover sessions ({}): {}", why, e.what());
  }
}

bool Housekeeping::record(const std::string& kind, nlohmann::json details, const std::string& source) {
  try {
    auto db = db::Database::open(settings_.db_path, false);
    if (!db) {
      spdlog::error("audit event {} lost: {}", kind, db.error().message);
      return false;
    }
    audit::Event ev{clock_.now(), kind, "bastiond", source, "", std::nullopt, std::move(details)};
    if (auto st = audit::open_event_log(*db, settings_.sinks)->append(ev); !st) {
      spdlog::error("audit event {} lost: {}", kind, st.error().message);
      return false;
    }
    return true;
  } catch (const db::DbError& e) {
    spdlog::error("audit event {} lost: {}", kind, e.what());
    return false;
  }
}

void Housekeeping::close_sessions_of(int pid, int wait_status) {
  if (pid == notifier_pid_) notifier_pid_ = 0;
  if (pid == checkpoint_pid_) checkpoint_pid_ = 0;
  // A process that exits normally has closed its own rows, or waited long for a database that
  // would not take its closing writes and left them in its spool: the sweep of tick() replays that
  // (not done here, so that no ordinary exit costs the accept loop a database connection).
  if (!WIFSIGNALED(wait_status)) return;
  // "killed by signal 9 (SIGKILL: Killed)": the number and name an operator of the host greps for.
  const int sig = WTERMSIG(wait_status);
  const char* abbrev = sigabbrev_np(sig);
  recover_sessions([pid](int row_pid) { return row_pid == pid; },
                   "session process killed by signal " + std::to_string(sig) + " (" +
                       (abbrev != nullptr ? "SIG" + std::string(abbrev) + ": " : std::string()) + strsignal(sig) + ")");
}

void Housekeeping::close_stale_sessions() {
  recover_sessions([](int) { return true; }, "session process gone when bastiond started");
}

void Housekeeping::start_notifier() {
  pid_t pid = fork();
  if (pid < 0) {
    spdlog::error("notifier: cannot fork: {}", std::strerror(errno));
    return;
  }
  if (pid > 0) {
    notifier_pid_ = pid;
    return;
  }
  int rc = 0;
  try {
    auto db = db::Database::open(settings_.db_path, false);
    if (!db) throw db::DbError(db.error().message);
    auto events = audit::open_event_log(*db, settings_.sinks);
    notify_pending(*db, *events, notify, clock_);
  } catch (const db::DbError& e) {
    spdlog::error("notifier: {}", e.what());
    rc = 1;
  }
  _exit(rc);
}

namespace {

// write_checkpoint_now: the body of the checkpoint child. Copies pending checkpoints to the sinks,
// then, unless `why` is empty, signs and writes a new one. Returns the exit status.
int write_checkpoint_now(const DaemonSettings& settings, const Clock& clock, const std::string& why) {
  try {
    auto db = db::Database::open(settings.db_path, false);
    if (!db) throw db::DbError(db.error().message);
    if (audit::has_sinks(settings.sinks)) {
      auto sent = audit::emit_pending_checkpoints(**db, settings.sinks, clock.now());
      if (!sent) spdlog::error("audit checkpoints not copied to the sinks (retried later): {}", sent.error().message);
      else if (*sent > 0) spdlog::info("{} audit checkpoint(s) written elsewhere copied to the sinks", *sent);
    }
    if (why.empty()) return 0;
    auto key = load_checkpoint_key(settings.checkpoint_key_path);
    if (!key) {
      spdlog::error("audit checkpoint not written: {}", key.error().message);
      return 1;
    }
    const auto written = audit::write_checkpoint(**db, checkpoint_signer(*key), settings.node, clock.now(), settings.sinks);
    spdlog::info("audit checkpoint {} written ({}): chain up to event {}", written.checkpoint.seq, why,
                 written.checkpoint.event_id);
    if (!written.sink_error.empty())
      spdlog::error("audit checkpoint {} is in the database but not yet in the sinks (retried later): {}",
                    written.checkpoint.seq, written.sink_error);
    return 0;
  } catch (const db::DbError& e) {
    spdlog::error("audit checkpoint not written ({}): {}", why, e.what());
    return 1;
  }
}

}  // namespace

bool Housekeeping::checkpoint(const std::string& why, bool wait) {
  pid_t pid = fork();
  if (pid < 0) {
    spdlog::error("audit checkpoint: cannot fork: {}", std::strerror(errno));
    return false;
  }
  if (pid == 0) _exit(write_checkpoint_now(settings_, clock_, why));
  if (!wait) {
    checkpoint_pid_ = pid;
    return true;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// check_checkpoints looks, on the accept loop's thread, at whether a checkpoint is due or one
// waits for the sinks; the work itself is done in a child.
void Housekeeping::check_checkpoints() {
  constexpr std::chrono::milliseconds kBusyWait{250};
  std::optional<std::string> due;
  bool pending = false;
  try {
    auto db = db::Database::open(settings_.db_path, false);
    if (!db) {
      spdlog::error("audit checkpoint check: {}", db.error().message);
      return;
    }
    (*db)->set_busy_timeout(kBusyWait);
    due = audit::checkpoint_due(**db, checkpoint_events, checkpoint_every, clock_.now());
    pending = audit::has_sinks(settings_.sinks) && audit::checkpoints_pending(**db);
  } catch (const db::DbError& e) {
    spdlog::error("audit checkpoint check: {} (retried later)", e.what());
    return;
  }
  if (due || pending) checkpoint(due.value_or(""), false);
}

// heartbeat: this node's beat, then the others' checked. Its own connection, like every duty of
// the listener; a database out of reach is logged once, when it goes and when it comes back.
void Housekeeping::heartbeat() {
  constexpr std::chrono::milliseconds kBusyWait{250};
  try {
    auto db = db::Database::open(settings_.db_path, false);
    if (!db) throw db::DbError(db.error().message, true);
    (*db)->set_busy_timeout(kBusyWait);
    audit::beat(**db, settings_.node, static_cast<int>(::getpid()), started_at_, clock_.now());
    if (beat_failing_) spdlog::warn("node {}: heartbeat written again; the database answers", settings_.node);
    beat_failing_ = false;
    const auto now = std::chrono::steady_clock::now();
    if (!beating_since_) beating_since_ = now;
    const std::chrono::seconds timeout(settings_.node_timeout_seconds);
    if (now - *beating_since_ < timeout) return;
    const auto lost = audit::end_sessions_of_lost_nodes(**db, settings_.sinks, settings_.node, clock_.now(), timeout);
    for (const auto& l : lost.ended)
      spdlog::warn("session {} of node {} ended as aborted: no heartbeat from that node since {}", l.session_id, l.node,
                   format_utc(l.last_heartbeat));
    if (!lost.sink_error.empty()) spdlog::error("session.aborted events not copied to a sink: {}", lost.sink_error);
  } catch (const db::DbError& e) {
    if (!beat_failing_) spdlog::error("node {}: heartbeat not written (retried): {}", settings_.node, e.what());
    beat_failing_ = true;
    beating_since_.reset();
  }
}

void Housekeeping::tick() {
  auto now = std::chrono::steady_clock::now();
  if (now >= next_beat_) {
    next_beat_ = now + std::chrono::seconds(std::max(1, settings_.node_timeout_seconds / 6));
    heartbeat();
  }
  if (checkpoint_pid_ == 0 && now >= next_checkpoint_check_) {
    next_checkpoint_check_ = now + std::chrono::seconds(2);
    check_checkpoints();
  }
  if (!notify.url.empty() && notifier_pid_ == 0 && now >= next_notify_) {
    next_notify_ = now + std::chrono::seconds(2);
    start_notifier();
  }
  if (now >= next_expiry_check_) {
    next_expiry_check_ = now + std::chrono::seconds(30);
    recover_sessions([](int) { return true; }, "session process gone (found by the recovery sweep)");
    try {
      if (auto db = db::Database::open(settings_.db_path, false)) {
        for (const auto& b : record_expiries(*db, settings_.sinks, clock_.now()))
          spdlog::info("{} {}: ban {} ran out at {}", authz::to_string(b.kind), b.subject, b.id,
                       format_utc(b.until));
      }
    } catch (const db::DbError& e) {
      spdlog::error("the end of expired bans could not be recorded: {}", e.what());
    }
  }
  if (now < next_purge_) return;
  next_purge_ = now + purge_interval;
  pid_t pid = fork();
  if (pid < 0) {
    spdlog::error("retention: cannot fork: {}", std::strerror(errno));
    return;
  }
  if (pid > 0) return;
  int rc = 0;
  try {
    auto db = db::Database::open(settings_.db_path, false);
    if (!db) throw db::DbError(db.error().message);
    const std::string recordings = settings_.state_dir + "/recordings";
    auto report = audit::purge(**db, clock_, recordings, "bastiond");
    spdlog::info("retention: purge done (event {}, {} recordings, {} sessions removed)", report.purge_event_id,
                 report.recordings.size(), report.sessions.size());
    // Files of recordings another node's purge destroyed, in this node's own directory.
    auto swept = audit::sweep_purged_recordings(**db, recordings);
    if (!swept.deleted.empty())
      spdlog::info("retention: {} recording files purged elsewhere removed from {}", swept.deleted.size(), recordings);
    for (const auto& problem : report.problems) spdlog::error("retention: {}", problem);
    for (const auto& problem : swept.problems) spdlog::error("retention: {}", problem);
  } catch (const db::DbError& e) {
    spdlog::error("retention: purge failed: {}", e.what());
    rc = 1;
  }
  _exit(rc);
}

}  // namespace bastion::gateway
