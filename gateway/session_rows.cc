// Session rows: closing a channel's recording and handing the end of its session to the monitor,
// which seals and digests the recording and writes the row and the closing event (retrying a
// locked database, spooling meanwhile: gateway/monitor.cc).
#include <spdlog/spdlog.h>

#include "audit/closing_spool.h"
#include "gateway/net_session.h"

namespace bastion::gateway {

void NetSession::close_session_row(ChannelBridge& b, std::string_view status) {
  // What this process saw; the monitor adds the times, the names and the digest.
  audit::ClosingWrites w;
  w.session_id = b.session_id;
  w.channel = b.number();
  w.exit_status = b.exit_status();
  w.status = std::string(status);
  w.reason = b.end_reason();
  b.session_id = 0;
  if (auto recorder = b.take_recorder()) {
    // Finishing the format is cheap (the trailer of an exec recording); the fsync and the digest
    // are the monitor's, on a thread of its own.
    auto summary = recorder->close();
    if (summary) {
      w.recording = std::move(*summary);
    } else {
      w.recording_error = summary.error().message;
      spdlog::error("session {}: closing the recording failed: {}", w.session_id, w.recording_error);
    }
  }
  std::string record = audit::encode_spool_record(w);
  if (!record.empty() && record.back() == '\n') record.pop_back();
  auto r = monitor_.ask(monitor::close_session(static_cast<std::uint64_t>(w.session_id), std::move(record)));
  if (!r) {
    monitor_gone_ = true;
    spdlog::error("session {}: the monitor is gone; it closes the session itself", w.session_id);
    return;
  }
  if (r->message.type != monitor::Type::Verdict || r->message.numbers[0] != monitor::kOk)
    spdlog::error("session {}: the monitor refused its closing", w.session_id);
}

}  // namespace bastion::gateway
