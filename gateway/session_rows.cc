// Session rows: closing a channel's session row with its recording's seal, and retrying the closing
// writes a locked or failing database did not take (spooled meanwhile, audit/closing_spool.h).
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "gateway/net_session.h"

namespace bastion::gateway {

void NetSession::close_session_row(ChannelBridge& b, std::string_view status) {
  Closing c{{b.session_id, b.number(), b.started_at, clock_.now(), b.exit_status(), std::string(status),
             b.end_reason(), std::nullopt, "", who_.who.name, peer_.to_string(),
             who_.spec.target ? who_.spec.target->server : ""},
            {}};
  b.session_id = 0;
  auto recorder = b.take_recorder();
  if (!recorder) {
    finish_row(c, std::nullopt);
    return;
  }
  // The recorder is the thread's alone from here: nothing else touches its file.
  c.sealed = std::async(std::launch::async, [r = std::move(recorder)]() { return r->close(); });
  closing_.push_back(std::move(c));
}

void NetSession::finish_row(Closing& c, std::optional<Result<audit::RecordingSummary>> rec) {
  audit::ClosingWrites& w = c.writes;
  if (rec && *rec) w.recording = std::move(**rec);
  if (rec && !*rec) {
    w.recording_error = rec->error().message;
    spdlog::error("session {}: closing the recording failed: {}", w.session_id, w.recording_error);
  }
  unwritten_.push_back(Unwritten{std::move(w), false});
  // Runs in the loop that moves the other channels' bytes: a locked database stalls them at most
  // this long; then the writes are spooled and tried again each second.
  (void)write_closing(std::chrono::milliseconds(500));
}

bool NetSession::write_closing(std::chrono::milliseconds busy_wait) {
  const std::string dir = settings_.state_dir + "/recordings";
  services_.db->set_busy_timeout(busy_wait);
  std::erase_if(unwritten_, [&](Unwritten& u) {
    const std::int64_t id = u.writes.session_id;
    auto done = audit::apply_closing(services_.db, u.writes, settings_.sinks, clock_.now());
    if (done) {
      if (u.spooled) ::unlink(audit::spool_path(dir, id).c_str());
      return true;
    }
    spdlog::error("session {}: {}", id, done.error().message);
    if (!u.spooled) {
      auto st = audit::append_spool(audit::spool_path(dir, id), u.writes);
      if (!st) spdlog::error("session {}: {}", id, st.error().message);
      u.spooled = static_cast<bool>(st);
    }
    // A sink error comes after the commit: the row is closed then, and the writes are not retried.
    try {
      auto row = sessions_.find(id);
      if (row && row->status != "live") {
        ::unlink(audit::spool_path(dir, id).c_str());
        return true;
      }
    } catch (const db::DbError&) {
    }
    return false;
  });
  services_.db->set_busy_timeout(db::Database::kBusyTimeout);
  return unwritten_.empty();
}

void NetSession::drain_closing() {
  constexpr auto kClosingPatience = std::chrono::seconds(120);
  const auto give_up = Steady::now() + kClosingPatience;
  while (!write_closing(db::Database::kBusyTimeout)) {
    const bool all_spooled = std::all_of(unwritten_.begin(), unwritten_.end(), [](const auto& u) { return u.spooled; });
    if (all_spooled && Steady::now() >= give_up) {
      spdlog::error("{} closing write(s) left to bastiond's recovery sweep in their spool", unwritten_.size());
      return;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void NetSession::reap_closing(bool wait) {
  std::erase_if(closing_, [&](Closing& c) {
    if (!wait && c.sealed.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    finish_row(c, c.sealed.get());
    return true;
  });
}


}  // namespace bastion::gateway
