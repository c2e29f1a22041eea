// verify_checkpoints: the chain in the database against the signed checkpoints kept off the host
// (audit/verify.h, "Checkpoints").
#include <algorithm>
#include <map>

#include "audit/purge_anchors.h"
#include "audit/sql_checkpoint_store.h"
#include "audit/verify.h"
#include "authz/text.h"

namespace bastion::audit {
namespace {

using Kind = VerifyFinding::Kind;

std::string short_hash(const std::string& h) { return h.size() > 16 ? h.substr(0, 16) + "…" : h; }

// name: "checkpoint 7 (events.jsonl line 12, signed 2026-12-06T03:00:00Z on bastion1)".
std::string name(const SourcedCheckpoint& s) {
  return "checkpoint " + std::to_string(s.checkpoint.seq) + " (" + s.where + ", signed " +
         iso8601_utc(s.checkpoint.at) + " on " + s.checkpoint.node + ")";
}

class CheckpointChecker {
 public:
  CheckpointChecker(db::Database& db, const CheckpointEvidence& evidence, VerifyReport& report)
      : store_(db), evidence_(evidence), report_(report), anchors_(load_anchors(db)) {
    report_.newest_event = store_.chain_head().id;
  }

  void run() {
    for (const auto& line : evidence_.unreadable)
      find(Kind::UnreadableCheckpoint, 0, 0, line + " (it says it is a checkpoint but cannot be read as one)");
    for (const auto* s : authentic()) check_against_chain(*s);
    report_truncation();
    report_gaps();
  }

 private:
  void find(Kind kind, std::int64_t event, std::int64_t seq, std::string message) {
    if (report_.findings.size() < kMaxFindings) report_.findings.push_back({kind, event, 0, 0, std::move(message), seq});
  }

  // authentic: the checkpoints signed by the given key, by number, each number once; the others
  // are reported.
  std::vector<const SourcedCheckpoint*> authentic() {
    std::map<std::int64_t, const SourcedCheckpoint*> by_seq;
    for (const auto& s : evidence_.checkpoints) {
      const Checkpoint& c = s.checkpoint;
      if (c.key != evidence_.fingerprint) {
        find(Kind::ForgedCheckpoint, c.event_id, c.seq,
             name(s) + " names the signing key " + c.key + ", not the key given (" + evidence_.fingerprint + ")");
        continue;
      }
      if (!checkpoint_signature_valid(c, evidence_.public_key)) {
        find(Kind::ForgedCheckpoint, c.event_id, c.seq,
             name(s) + " has a signature that does not verify with key " + evidence_.fingerprint +
                 ": it was forged, or altered after it was signed");
        continue;
      }
      auto [it, added] = by_seq.emplace(c.seq, &s);
      if (!added && canonical_checkpoint(it->second->checkpoint) != canonical_checkpoint(c))
        find(Kind::ForgedCheckpoint, c.event_id, c.seq,
             "two different checkpoints are numbered " + std::to_string(c.seq) + " (" + it->second->where + " and " +
                 s.where + "), both validly signed: the signing key has been used by someone else");
    }
    std::vector<const SourcedCheckpoint*> out;
    for (const auto& [seq, s] : by_seq) out.push_back(s);
    return out;
  }

  std::optional<std::string> stored_hash(std::int64_t id) { return store_.event_hash(id); }

  void confirm(const SourcedCheckpoint& s) {
    ++report_.checkpoints;
    confirmed_ = std::max(confirmed_, s.checkpoint.event_id);
  }

  void check_against_chain(const SourcedCheckpoint& s) {
    const Checkpoint& c = s.checkpoint;
    report_.newest_checkpoint = c;
    if (c.event_id == 0) return confirm(s);
    if (c.event_id > report_.newest_event) {
      if (truncated_ == nullptr || c.event_id > truncated_->checkpoint.event_id) truncated_ = &s;
      return;
    }
    const std::string id = std::to_string(c.event_id);
    const auto hash = stored_hash(c.event_id);
    if (!hash) {
      if (anchors_.covers(c.event_id, c.event_id)) {
        // Purged by retention: the anchor holds the hash of the last event of each run only.
        // Inside a run, nothing is left to compare with: the checkpoint neither confirms nor refutes.
        const auto anchored = anchors_.hash_of(c.event_id);
        if (!anchored) return;
        if (*anchored == c.event_hash) return confirm(s);
        find(Kind::RewrittenChain, c.event_id, c.seq,
             "the chain was rewritten under " + name(s) + ": the retention purge records event " + id + "'s hash as " +
                 short_hash(*anchored) + ", the checkpoint signed " + short_hash(c.event_hash));
        return;
      }
      find(Kind::TruncatedChain, c.event_id, c.seq,
           "event " + id + ", which " + name(s) + " signed, is missing from the database (deleted without a retention purge)");
      return;
    }
    if (*hash == c.event_hash) return confirm(s);
    find(Kind::RewrittenChain, c.event_id, c.seq,
         "the chain was rewritten under " + name(s) + ": event " + id + "'s hash is " + short_hash(*hash) +
             " in the database, the checkpoint signed " + short_hash(c.event_hash) + "; the rewrite starts after event " +
             std::to_string(confirmed_) + " (the newest event an earlier checkpoint confirms) and at or before event " + id);
  }

  void report_truncation() {
    if (truncated_ == nullptr) return;
    const Checkpoint& c = truncated_->checkpoint;
    const std::int64_t first = report_.newest_event + 1;
    find(Kind::TruncatedChain, first, c.seq,
         "the newest events were deleted: " + name(*truncated_) + " saw the chain up to event " +
             std::to_string(c.event_id) + ", but the database ends at event " + std::to_string(report_.newest_event) +
             ": events " + std::to_string(first) + " to " + std::to_string(c.event_id) +
             " are missing (and any written after that checkpoint)");
  }

  void report_gaps() {
    std::vector<const SourcedCheckpoint*> seen;
    for (const auto& s : evidence_.checkpoints)
      if (s.checkpoint.key == evidence_.fingerprint && checkpoint_signature_valid(s.checkpoint, evidence_.public_key))
        seen.push_back(&s);
    std::sort(seen.begin(), seen.end(), [](auto* a, auto* b) { return a->checkpoint.seq < b->checkpoint.seq; });
    for (std::size_t i = 1; i < seen.size(); ++i) {
      const auto from = seen[i - 1]->checkpoint.seq + 1, to = seen[i]->checkpoint.seq - 1;
      if (from > to) continue;
      const std::string which = from == to ? "checkpoint " + std::to_string(from) + " is"
                                           : "checkpoints " + std::to_string(from) + " to " + std::to_string(to) + " are";
      find(Kind::MissingCheckpoint, 0, from,
           which + " missing: the files hold " + name(*seen[i - 1]) + " and then " + name(*seen[i]) +
               " (a line was removed, or a sink lost it)");
    }
  }

  SqlCheckpointStore store_;
  const CheckpointEvidence& evidence_;
  VerifyReport& report_;
  const PurgeAnchors anchors_;
  std::int64_t confirmed_ = 0;                     // the newest event id a checkpoint confirmed so far
  const SourcedCheckpoint* truncated_ = nullptr;   // the one that names the highest missing event
};

}  // namespace

void verify_checkpoints(db::Database& db, const CheckpointEvidence& evidence, VerifyReport& report) {
  CheckpointChecker(db, evidence, report).run();
}

}  // namespace bastion::audit
