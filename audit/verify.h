#pragma once
// verify_audit: `audit verify` — checks that the evidence is what was written (DESIGN.md rule 7).
//
// Events. Rows are walked in id order. For each row the hash is recomputed from its content
// (audit/event_chain.h) and compared with the stored one, and its prev_hash is compared with the
// hash of the event with the next lower id. That event is normally the row before it; when ids are
// missing, the gap must have been purged by retention:
//
// Purge anchors. retention (audit/retention.h) never deletes an event without first appending, in
// the same transaction, a `retention.purge` event whose details hold
//   "purged_events": [{"from": A, "to": B, "last_hash": H}, …]
// one entry per maximal run of consecutive ids it deleted, H being the hash of event B. A gap of
// ids before a surviving row R is accepted only if it is covered by such runs, all recorded by
// purge events with ids above them, and then R's prev_hash must equal the last_hash of the run
// ending at R.id - 1. Purge events are themselves in the chain, so forging an anchor means
// altering a chained event, which the walk reports. Retention deletes per client, so runs can sit
// in the middle of the chain as well as at its start.
//
// Sessions. The `sessions` and `recordings` tables are not chained; the session events are
// (audit/session_facts.h). Each session row is checked against them: its operator, server, login,
// grant, client and start against its first session.start, its status and end against its first
// closing event (session.end, session.recovered or session.aborted). A row with no session.start,
// an ended row with no closing event, a live row that a closing event ended, and a session.start
// whose row is gone are reported — unless a retention.purge event says that evidence was destroyed.
//
// Recordings. Every recording digest a closing event states is the truth: the recordings row of
// that session and path must exist and hold the same digest, and the file's SHA-256 must equal it
// (unless retention purged that recording). A recordings row that no closing event states is
// reported, except for sessions whose events retention purged: those are checked file against row.
//
// Checkpoints. A hash chain without a key detects partial edits, not someone who rewrites every
// row from the first altered one on, nor the deletion of the newest events. Given the signed
// checkpoints kept off the host (audit/checkpoint.h) and the public key, verify_audit also checks
// each checkpoint's signature and that the event it names still holds the hash it signed, reports
// the newest events gone (the database ends before the newest checkpoint's event: truncation), a
// chain rewritten under a checkpoint (the hash differs; the rewrite starts after the newest event an
// earlier checkpoint confirms), and checkpoints missing (a gap in their numbers). Events written
// after the newest checkpoint held are covered by none: what checkpoints cannot show.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "authz/db.h"

namespace bastion::audit {

struct VerifyFinding {
  enum class Kind {
    AlteredEvent, MissingEvents, BrokenLink,      // the chain
    MissingRecording, AlteredRecording,           // a recording file or row against its chained digest
    UnanchoredRecording,                          // a recordings row no chained event states
    AlteredSession,                               // a session row disagrees with its chained events
    UnanchoredSession,                            // a session row, or its end, has no chained event
    ForgedCheckpoint,                             // a checkpoint whose signature does not verify
    RewrittenChain,                               // an event's hash differs from the one a checkpoint signed
    TruncatedChain,                               // events a checkpoint saw are gone from the end
    MissingCheckpoint,                            // a gap in the checkpoint numbers
    UnreadableCheckpoint,                         // a line that says it is a checkpoint but is not one
  };
  Kind kind = Kind::AlteredEvent;
  std::int64_t event_id = 0;      // the row found wrong, or the row after missing ones
  std::int64_t recording_id = 0;  // for recording findings
  std::int64_t session_id = 0;    // for recording and session findings
  std::string message;            // one sentence naming the record
  std::int64_t checkpoint = 0;    // for checkpoint findings: its number (0 if none)
};

struct VerifyReport {
  std::int64_t events = 0;          // event rows checked
  std::int64_t purged_events = 0;   // ids accounted for by retention.purge anchors
  std::int64_t recordings = 0;      // recording rows checked
  std::int64_t sessions = 0;        // session rows checked
  std::int64_t checkpoints = 0;          // signed checkpoints checked against the chain
  std::optional<Checkpoint> newest_checkpoint;  // the newest of them whose signature verifies
  std::int64_t newest_event = 0;         // the highest event id in the database
  std::vector<VerifyFinding> findings;  // in id order, events first; at most kMaxFindings
  bool intact() const { return findings.empty(); }
};

inline constexpr std::size_t kMaxFindings = 100;

// verify_audit checks the whole database; with `checkpoints`, against them too. Throws db::DbError
// if the database cannot be read.
VerifyReport verify_audit(db::Database& db, const CheckpointEvidence* checkpoints = nullptr);

// verify_session checks what concerns one session, reading only that: its events (content against
// hash, and the links to and from each of them), its row against its chained start and end, and
// its recordings (rows and files) against the digests its closing events state — the checks of
// verify_audit, so the same findings about that session, each naming it (session_id), chain ones
// included. Not checked: the rest of the chain (an event rewritten with every event after it is
// found only by verify_audit with checkpoints). For the portal's session page: its cost does not
// grow with the database. Throws db::DbError.
VerifyReport verify_session(db::Database& db, std::int64_t session_id);

// verify_checkpoints adds the checkpoint findings above to `report` (called by verify_audit).
void verify_checkpoints(db::Database& db, const CheckpointEvidence& evidence, VerifyReport& report);

}  // namespace bastion::audit
