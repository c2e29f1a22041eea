#include "audit/verify.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>

#include "audit/event_chain.h"
#include "audit/fd_io.h"
#include "audit/sha256.h"
#include "audit/unique_fd.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

// PurgeAnchors: the runs of ids that retention.purge events say they deleted.
class PurgeAnchors {
 public:
  void add(std::int64_t from, std::int64_t to, std::string last_hash) {
    runs_.push_back({from, to});
    last_hash_[to] = std::move(last_hash);
  }
  void seal() {
    std::sort(runs_.begin(), runs_.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> merged;
    for (const auto& r : runs_) {
      if (!merged.empty() && r.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    runs_ = std::move(merged);
  }
  // covers: whether every id in [from, to] was purged.
  bool covers(std::int64_t from, std::int64_t to) const {
    return std::any_of(runs_.begin(), runs_.end(), [&](const auto& r) { return r.first <= from && to <= r.second; });
  }
  // hash_of returns the recorded hash of purged event `id`, if a run ended there.
  std::optional<std::string> hash_of(std::int64_t id) const {
    const auto it = last_hash_.find(id);
    if (it == last_hash_.end()) return std::nullopt;
    return it->second;
  }
  std::int64_t count() const {
    std::int64_t n = 0;
    for (const auto& r : runs_) n += r.second - r.first + 1;
    return n;
  }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> runs_;
  std::map<std::int64_t, std::string> last_hash_;
};

// add_runs reads one purge event's "purged_events"; runs that do not end before the purge event
// itself, or are malformed, are ignored (they cannot excuse anything).
void add_runs(PurgeAnchors& anchors, std::int64_t purge_id, const std::string& details_text) {
  const Json details = Json::parse(details_text, nullptr, false);
  if (!details.is_object() || !details.contains("purged_events") || !details["purged_events"].is_array()) return;
  for (const auto& run : details["purged_events"]) {
    if (!run.is_object() || !run.contains("from") || !run.contains("to") || !run.contains("last_hash")) continue;
    if (!run["from"].is_number_integer() || !run["to"].is_number_integer() || !run["last_hash"].is_string()) continue;
    const auto from = run["from"].get<std::int64_t>(), to = run["to"].get<std::int64_t>();
    if (from < 1 || to < from || to >= purge_id) continue;
    anchors.add(from, to, run["last_hash"].get<std::string>());
  }
}

PurgeAnchors load_anchors(db::Database& db) {
  PurgeAnchors anchors;
  auto q = db.prepare("SELECT id, details FROM events WHERE kind = 'retention.purge' ORDER BY id");
  while (q.step()) add_runs(anchors, q.col_int(0), q.col_text(1));
  anchors.seal();
  return anchors;
}

struct Row {
  std::int64_t id = 0;
  Event event;
  std::string details_text, prev_hash, hash;
};

Row read_row(const db::Statement& q) {
  EventRow e = read_event_row(q);
  return Row{e.stored.id, std::move(e.stored.event), std::move(e.details_text), std::move(e.stored.prev_hash),
             std::move(e.stored.hash)};
}

std::string id_text(std::int64_t id) { return std::to_string(id); }

class ChainWalker {
 public:
  ChainWalker(const PurgeAnchors& anchors, VerifyReport& report) : anchors_(anchors), report_(report) {}

  void check(const Row& r) {
    ++report_.events;
    check_link(r);
    check_content(r);
    previous_id_ = r.id;
    previous_hash_ = r.hash;
  }

 private:
  void find(VerifyFinding::Kind kind, std::int64_t id, std::string message) {
    if (report_.findings.size() < kMaxFindings) report_.findings.push_back({kind, id, 0, 0, std::move(message)});
  }

  // expected_prev returns the hash r must link to, or nullopt after reporting why there is none.
  std::optional<std::string> expected_prev(const Row& r) {
    const std::int64_t gap_from = previous_id_ + 1, gap_to = r.id - 1;
    if (gap_from > gap_to) return previous_id_ == 0 ? std::string() : previous_hash_;
    if (!anchors_.covers(gap_from, gap_to)) {
      find(VerifyFinding::Kind::MissingEvents, r.id,
           gap_from == gap_to ? "event " + id_text(gap_from) + " is missing (deleted without a retention purge)"
                              : "events " + id_text(gap_from) + " to " + id_text(gap_to) +
                                    " are missing (deleted without a retention purge)");
      return std::nullopt;
    }
    auto anchored = anchors_.hash_of(gap_to);
    if (!anchored) {
      find(VerifyFinding::Kind::BrokenLink, r.id,
           "event " + id_text(r.id) + " follows purged events but no retention.purge event records the hash of event " +
               id_text(gap_to));
    }
    return anchored;
  }

  void check_link(const Row& r) {
    const auto expected = expected_prev(r);
    if (!expected || r.prev_hash == *expected) return;
    const std::string before = r.id - 1 == previous_id_ ? "event " + id_text(previous_id_) : "the purge anchor";
    find(VerifyFinding::Kind::BrokenLink, r.id,
         "chain broken before event " + id_text(r.id) + ": it links to a hash that is not that of " + before +
             " (that event was altered and re-hashed, or replaced)");
  }

  void check_content(const Row& r) {
    Event e = r.event;
    e.details = Json::parse(r.details_text, nullptr, false);
    const bool parsed = !e.details.is_discarded() && e.details.is_object();
    if (parsed && compact_details(e.details) == r.details_text && event_hash(r.id, r.prev_hash, e) == r.hash) return;
    find(VerifyFinding::Kind::AlteredEvent, r.id,
         "event " + id_text(r.id) + " (" + r.event.kind + ") was altered: its content no longer matches its hash");
  }

  const PurgeAnchors& anchors_;
  VerifyReport& report_;
  std::int64_t previous_id_ = 0;
  std::string previous_hash_;
};

void verify_events(db::Database& db, VerifyReport& report) {
  const PurgeAnchors anchors = load_anchors(db);
  report.purged_events = anchors.count();
  ChainWalker walker(anchors, report);
  auto q = db.prepare(
      "SELECT " + std::string(kEventColumns) + " FROM events ORDER BY id");
  while (q.step()) walker.check(read_row(q));
}

// recording_digest returns the SHA-256 of the regular file at path (not following a final link).
Result<std::string> recording_digest(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error{errno_text("cannot open " + path)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
  return sha256_hex_of_fd(fd.get());
}

void verify_recordings(db::Database& db, VerifyReport& report) {
  auto q = db.prepare("SELECT id, session_id, path, sha256 FROM recordings ORDER BY id");
  while (q.step()) {
    ++report.recordings;
    const std::int64_t id = q.col_int(0), session = q.col_int(1);
    const std::string path = q.col_text(2), stored = q.col_text(3);
    const std::string which = "recording " + id_text(id) + " of session " + id_text(session) + " (" + path + ")";
    auto digest = recording_digest(path);
    if (report.findings.size() >= kMaxFindings) continue;
    if (!digest) {
      report.findings.push_back({VerifyFinding::Kind::MissingRecording, 0, id, session,
                                 which + " cannot be checked: " + digest.error().message});
    } else if (*digest != stored) {
      report.findings.push_back({VerifyFinding::Kind::AlteredRecording, 0, id, session,
                                 which + " was altered: its SHA-256 is " + *digest + ", " +
                                     (stored.empty() ? "but no digest was stored" : "not the stored " + stored)});
    }
  }
}

}  // namespace

VerifyReport verify_audit(db::Database& db) {
  VerifyReport report;
  verify_events(db, report);
  verify_recordings(db, report);
  return report;
}

}  // namespace bastion::audit
