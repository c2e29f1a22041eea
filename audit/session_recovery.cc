#include "audit/session_recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

#include "audit/closing_spool.h"
#include "audit/sha256.h"
#include "audit/sqlite_session_store.h"
#include "audit/unique_fd.h"

namespace bastion::audit {
namespace {

namespace fs = std::filesystem;

// channel_of parses "<n>-pty.cast" / "<n>-exec.rec" (the names of audit/file_recorder.cc).
std::optional<std::pair<int, std::string>> channel_of(const std::string& name) {
  for (const auto& [suffix, kind] : {std::pair{"-pty.cast", "asciicast"}, std::pair{"-exec.rec", "exec"}}) {
    const std::string_view s(suffix);
    if (name.size() <= s.size() || name.compare(name.size() - s.size(), s.size(), s) != 0) continue;
    int channel = -1;
    const char* end = name.data() + name.size() - s.size();
    const auto [p, ec] = std::from_chars(name.data(), end, channel);
    if (ec == std::errc{} && p == end && channel >= 0) return std::pair{channel, std::string(kind)};
  }
  return std::nullopt;
}

struct FileFacts {
  std::string sha256;
  Seconds modified{};
};

std::optional<FileFacts> file_facts(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  auto digest = sha256_hex_of_fd(fd.get());
  if (!digest) return std::nullopt;
  return FileFacts{*digest, from_unix(st.st_mtim.tv_sec)};
}

// from_recordings builds the closing writes of a row nothing was spooled for.
ClosingWrites from_recordings(const SessionRow& row, const std::string& dir, Seconds now, const std::string& why) {
  ClosingWrites w{row.id, 0, row.start, now, std::nullopt, "aborted", why, std::nullopt, "",
                  row.operator_name, row.source, row.server};
  if (auto found = recording_in_directory(dir, row.id)) {
    w.channel = found->first;
    if (auto facts = file_facts(found->second.path)) w.ended_at = std::max(row.start, std::min(now, facts->modified));
    w.recording = std::move(found->second);
  }
  return w;
}

}  // namespace

std::optional<std::pair<int, RecordingSummary>> recording_in_directory(const std::string& recordings_dir,
                                                                       std::int64_t session_id) {
  std::error_code ec;
  std::optional<std::pair<int, std::string>> best;
  std::string best_path;
  for (const auto& e : fs::directory_iterator(recordings_dir + "/" + std::to_string(session_id), ec)) {
    auto c = channel_of(e.path().filename().string());
    if (!c || (best && best->first <= c->first)) continue;
    best = c;
    best_path = e.path().string();
  }
  if (!best) return std::nullopt;
  auto facts = file_facts(best_path);
  if (!facts) return std::nullopt;
  RecordingSummary r;
  r.path = best_path;
  r.kind = best->second;
  r.sha256 = facts->sha256;
  return std::pair{best->first, std::move(r)};
}

RecoveryReport recover_sessions(const db::DatabasePtr& db, const std::string& recordings_dir, const EventSinks& sinks,
                                const Clock& clock, const std::function<bool(const SessionRow&)>& gone,
                                const std::string& why) {
  RecoveryReport report;
  SqliteSessionStore store(db);
  for (const auto& row : store.live_rows()) {
    if (!gone(row)) continue;
    const Seconds now = clock.now();
    const std::string spool = spool_path(recordings_dir, row.id);
    auto spooled = read_spool(spool);
    if (!spooled) report.problems.push_back("session " + std::to_string(row.id) + ": " + spooled.error().message);
    const bool from_spool = spooled && spooled->has_value() && (*spooled)->session_id == row.id;
    ClosingWrites w = from_spool ? **spooled : from_recordings(row, recordings_dir, now, why);
    if (from_spool && !w.recording) {
      // The seal failed before the digest was known: take it from the file as it is.
      if (auto found = recording_in_directory(recordings_dir, row.id)) {
        w.channel = found->first;
        w.recording = std::move(found->second);
      }
    }
    const long long late = std::max<long long>(0, to_unix(now) - to_unix(w.ended_at));
    const nlohmann::json extra = {{"recovered_from", from_spool ? "spool" : "recordings"},
                                  {"late_seconds", late},
                                  {"pid", row.pid},
                                  {"why", why}};
    auto applied = apply_closing(db, w, sinks, now, "session.recovered", extra);
    if (!applied) {
      report.problems.push_back("session " + std::to_string(row.id) + ": " + applied.error().message);
      // A sink error comes after the commit: the row is closed all the same. Otherwise the database
      // is locked or failing: the next rows would wait for it just as long, so they wait for the
      // next sweep instead.
      if (auto again = store.find(row.id); !again || again->status == "live") break;
    }
    ::unlink(spool.c_str());
    report.recovered.push_back({row.id, from_spool ? "spool" : "recordings", late});
  }
  return report;
}

}  // namespace bastion::audit
