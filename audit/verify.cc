#include "audit/verify.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "audit/event_chain.h"
#include "audit/fd_io.h"
#include "audit/purge_anchors.h"
#include "audit/session_facts.h"
#include "audit/sha256.h"
#include "audit/sql_evidence_store.h"
#include "audit/unique_fd.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

struct Row {
  std::int64_t id = 0;
  Event event;
  std::string details_text, prev_hash, hash;
};

Row read_row(EventRow e) {
  return Row{e.stored.id, std::move(e.stored.event), std::move(e.details_text), std::move(e.stored.prev_hash),
             std::move(e.stored.hash)};
}

std::string id_text(std::int64_t id) { return std::to_string(id); }

// ChainWalker checks rows in id order: each one's content against its hash, and its link to the row
// before it (or to the purge anchor of the gap before it). Its findings name session_id (0 for the
// walk of the whole chain, the session for verify_session).
class ChainWalker {
 public:
  ChainWalker(const PurgeAnchors& anchors, VerifyReport& report, std::int64_t session_id = 0)
      : anchors_(anchors), report_(report), session_id_(session_id) {}

  void check(const Row& r) {
    ++report_.events;
    check_link(r);
    check_content(r);
    follow(r.id, r.hash);
  }

  // follow: the next row checked comes after the row `id` with `hash` (0 and "": the first row).
  void follow(std::int64_t id, std::string hash) {
    previous_id_ = id;
    previous_hash_ = std::move(hash);
  }

  // check_link: whether r links to the row followed (an event of the session altered and re-hashed
  // breaks the link of the row after it).
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

 private:
  void find(VerifyFinding::Kind kind, std::int64_t id, std::string message) {
    if (report_.findings.size() < kMaxFindings)
      report_.findings.push_back({kind, id, 0, session_id_, std::move(message), 0});
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

  const PurgeAnchors& anchors_;
  VerifyReport& report_;
  std::int64_t session_id_ = 0;
  std::int64_t previous_id_ = 0;
  std::string previous_hash_;
};

void verify_events(db::Database& db, EvidenceStore& store, VerifyReport& report) {
  const PurgeAnchors anchors = load_anchors(db);
  report.purged_events = anchors.count();
  ChainWalker walker(anchors, report);
  store.each_event([&](EventRow&& e) { walker.check(read_row(std::move(e))); });
}

// recording_digest returns the SHA-256 of the regular file at path (not following a final link).
Result<std::string> recording_digest(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error{errno_text("cannot open " + path)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
  return sha256_hex_of_fd(fd.get());
}

// Findings collects findings up to kMaxFindings.
struct Findings {
  VerifyReport& report;
  void add(VerifyFinding::Kind kind, std::int64_t event, std::int64_t recording, std::int64_t session,
           std::string message) {
    if (report.findings.size() < kMaxFindings)
      report.findings.push_back({kind, event, recording, session, std::move(message), 0});
  }
};

std::string recording_name(std::int64_t id, std::int64_t session, const std::string& path) {
  return (id != 0 ? "recording " + id_text(id) + " of session " : "the recording of session ") + id_text(session) +
         " (" + path + ")";
}

// check_file compares a recording file's digest with the one it must have (`source` names where
// that digest comes from).
void check_file(Findings& out, std::int64_t id, std::int64_t session, const std::string& path,
                const std::string& expected, const std::string& source) {
  const std::string which = recording_name(id, session, path);
  auto digest = recording_digest(path);
  if (!digest) {
    out.add(VerifyFinding::Kind::MissingRecording, 0, id, session, which + " cannot be checked: " + digest.error().message);
  } else if (*digest != expected) {
    out.add(VerifyFinding::Kind::AlteredRecording, 0, id, session,
            which + " was altered: its SHA-256 is " + *digest + ", " +
                (expected.empty() ? "but no digest was stored" : "not the " + source + " " + expected));
  }
}

// EvidenceChecker checks session and recording rows against what the chain states of them: every
// session (verify_audit), or one, given the chained facts, rows and purges of that session only
// (verify_session): the same checks, hence the same findings about it.
class EvidenceChecker {
 public:
  EvidenceChecker(db::Database& db, EvidenceStore& store, VerifyReport& report)
      : EvidenceChecker(report, chained_sessions(db), purged_evidence(db), store.recording_facts(std::nullopt),
                        std::nullopt) {}

  EvidenceChecker(VerifyReport& report, std::map<std::int64_t, ChainedSession> chained, PurgedEvidence purged,
                  std::vector<RecordingFacts> recordings, std::optional<std::int64_t> only_session)
      : out_{report},
        chained_(std::move(chained)),
        purged_(std::move(purged)),
        recordings_(std::move(recordings)),
        only_session_(only_session) {
    for (const auto& r : recordings_) by_path_[{r.session_id, r.path}] = &r;
  }

  void check_recordings() {
    for (const auto& [session, facts] : chained_)
      for (const auto& claim : facts.recordings) check_claim(session, claim);
    for (const auto& row : recordings_) {
      ++out_.report.recordings;
      if (claimed(row)) continue;
      if (purged_.session_events.count(row.session_id) != 0) {
        check_file(out_, row.id, row.session_id, row.path, row.sha256, "stored");
      } else {
        out_.add(VerifyFinding::Kind::UnanchoredRecording, 0, row.id, row.session_id,
                 recording_name(row.id, row.session_id, row.path) +
                     " is stated by no chained session.end event: its row was added or edited afterwards");
      }
    }
  }

  void check_sessions(EvidenceStore& store) {
    std::set<std::int64_t> rows;
    for (const SessionRow& row : store.session_rows(only_session_)) {
      ++out_.report.sessions;
      rows.insert(row.id);
      check_session(row);
    }
    for (const auto& [id, facts] : chained_) {
      if (facts.start && rows.count(id) == 0 && purged_.sessions.count(id) == 0)
        out_.add(VerifyFinding::Kind::UnanchoredSession, facts.start->event_id, 0, id,
                 "session " + id_text(id) + " started (event " + id_text(facts.start->event_id) +
                     ") but its row is gone (deleted without a retention purge)");
    }
  }

 private:
  bool claimed(const RecordingFacts& row) const {
    const auto it = chained_.find(row.session_id);
    if (it == chained_.end()) return false;
    return std::any_of(it->second.recordings.begin(), it->second.recordings.end(),
                       [&](const ChainedRecording& c) { return c.path == row.path; });
  }

  void check_claim(std::int64_t session, const ChainedRecording& claim) {
    if (purged_.recordings.count({session, claim.path}) != 0 || purged_.sessions.count(session) != 0) return;
    const std::string stated = " stated by event " + id_text(claim.event_id);
    const auto found = by_path_.find({session, claim.path});
    const RecordingFacts* row = found == by_path_.end() ? nullptr : found->second;
    if (row == nullptr) {
      out_.add(VerifyFinding::Kind::MissingRecording, claim.event_id, 0, session,
               recording_name(0, session, claim.path) + stated + " has no recordings row (deleted)");
    } else if (row->sha256 != claim.sha256) {
      out_.add(VerifyFinding::Kind::AlteredRecording, claim.event_id, row->id, session,
               recording_name(row->id, session, claim.path) + " row holds SHA-256 " + row->sha256 + ", not the " +
                   claim.sha256 + stated + " (the row was edited)");
    }
    check_file(out_, row ? row->id : 0, session, claim.path, claim.sha256, "chained (event " + id_text(claim.event_id) + ")");
  }

  void differs(std::int64_t session, std::int64_t event, const std::string& what, const std::string& row,
               const std::string& chained) {
    out_.add(VerifyFinding::Kind::AlteredSession, event, 0, session,
             "session " + id_text(session) + " was altered: its row says " + what + " '" + row + "', its chained event " +
                 id_text(event) + " says '" + chained + "'");
  }

  void check_session(const SessionRow& row) {
    const std::int64_t id = row.id;
    const bool excused = purged_.session_events.count(id) != 0;
    const auto it = chained_.find(id);
    const ChainedSession none;
    const ChainedSession& facts = it == chained_.end() ? none : it->second;
    if (!facts.start) {
      if (!excused)
        out_.add(VerifyFinding::Kind::UnanchoredSession, 0, 0, id,
                 "session " + id_text(id) + " (" + row.operator_name + " on " + row.server +
                     ") has no chained session.start event: its row was added afterwards, or its start was never recorded");
    } else {
      const ChainedStart& s = *facts.start;
      if (row.operator_name != s.operator_name) differs(id, s.event_id, "operator", row.operator_name, s.operator_name);
      if (row.server != s.server) differs(id, s.event_id, "server", row.server, s.server);
      if (s.login && row.login != *s.login) differs(id, s.event_id, "login", row.login, *s.login);
      const std::string row_grant = row.grant_id ? id_text(*row.grant_id) : "none";
      const std::string chained_grant = s.grant ? id_text(*s.grant) : "none";
      if (s.grant_stated && row_grant != chained_grant) differs(id, s.event_id, "grant", row_grant, chained_grant);
      if (s.client && row.client != *s.client) differs(id, s.event_id, "client", row.client, *s.client);
      if (s.started_at && to_unix(row.start) != *s.started_at)
        differs(id, s.event_id, "start", iso8601_utc(row.start), iso8601_utc(from_unix(*s.started_at)));
    }
    const std::string& status = row.status;
    if (facts.ends.empty()) {
      if (status != "live" && !excused)
        out_.add(VerifyFinding::Kind::UnanchoredSession, 0, 0, id,
                 "session " + id_text(id) + " is " + status + " in its row, but no chained event states its end");
      return;
    }
    const ChainedEnd& e = facts.ends.front();
    if (status == "live") {
      out_.add(VerifyFinding::Kind::AlteredSession, e.event_id, 0, id,
               "session " + id_text(id) + " is live in its row, but event " + id_text(e.event_id) + " (" + e.kind +
                   ") ended it");
      return;
    }
    if (e.status && status != *e.status) differs(id, e.event_id, "status", status, *e.status);
    const std::string row_end = row.end ? iso8601_utc(*row.end) : "none";
    if (e.ended_at && row_end != iso8601_utc(from_unix(*e.ended_at)))
      differs(id, e.event_id, "end", row_end, iso8601_utc(from_unix(*e.ended_at)));
  }

  Findings out_;
  std::map<std::int64_t, ChainedSession> chained_;
  PurgedEvidence purged_;
  std::vector<RecordingFacts> recordings_;
  std::optional<std::int64_t> only_session_;
  std::map<std::pair<std::int64_t, std::string>, const RecordingFacts*> by_path_;  // into recordings_
};

// verify_session_events checks each event of the session: its content against its hash, its link
// to the event before it and the link of the event after it to it (so an event of the session
// altered and re-hashed is found), each link once.
void verify_session_events(db::Database& db, EvidenceStore& store, std::int64_t session_id, VerifyReport& report) {
  const PurgeAnchors anchors = load_anchors(db);
  ChainWalker walker(anchors, report, session_id);
  std::vector<Row> events;
  for (EventRow& e : store.events_of_session(session_id)) events.push_back(read_row(std::move(e)));
  const auto event_next_to = [&](std::int64_t id, bool before) -> std::optional<Row> {
    auto e = store.event_next_to(id, before);
    if (!e) return std::nullopt;
    return read_row(std::move(*e));
  };
  std::set<std::int64_t> linked;  // rows whose link to the row before them was checked
  for (const Row& e : events) {
    ++report.events;
    if (linked.insert(e.id).second) {
      const auto before = event_next_to(e.id, true);
      walker.follow(before ? before->id : 0, before ? before->hash : "");
      walker.check_link(e);
    }
    walker.check_content(e);
    if (const auto after = event_next_to(e.id, false); after && linked.insert(after->id).second) {
      walker.follow(e.id, e.hash);
      walker.check_link(*after);
    }
  }
}

}  // namespace

VerifyReport verify_audit(db::Database& db, const CheckpointEvidence* checkpoints) {
  VerifyReport report;
  SqlEvidenceStore store(db);
  verify_events(db, store, report);
  if (checkpoints != nullptr) verify_checkpoints(db, *checkpoints, report);
  EvidenceChecker evidence(db, store, report);
  evidence.check_recordings();
  evidence.check_sessions(store);
  return report;
}

VerifyReport verify_session(db::Database& db, std::int64_t session_id) {
  VerifyReport report;
  SqlEvidenceStore store(db);
  verify_session_events(db, store, session_id, report);
  std::map<std::int64_t, ChainedSession> chained;
  if (auto facts = chained_session(db, session_id)) chained.emplace(session_id, std::move(*facts));
  EvidenceChecker evidence(report, std::move(chained), purged_evidence(db), store.recording_facts(session_id),
                           session_id);
  evidence.check_recordings();
  evidence.check_sessions(store);
  return report;
}

}  // namespace bastion::audit
