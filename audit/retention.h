#pragma once
// Retention: applies each client's contract terms (audit/client_terms.h) to the evidence.
//
//   recordings older than recording_retention_days (by their end) — file and row deleted; the
//     session row stays, its `reason` gains a note "recordings purged <when> (<N>-day retention)";
//   events about the client's servers or sessions older than event_retention_days — deleted;
//   access requests to the client's servers (authz/access_request.h), with their approvals, once
//     decided and ended before the event retention (the events that tell their story go at the
//     same time): denied, cancelled and lapsed ones by their decision, approved ones by the end of
//     their grant (its not_after, or its revocation if earlier). A pending request, or one whose
//     grant is still live or yet to start, is never purged;
//   once contract_end + grace_days has passed — every session, recording and event of the client
//     is destroyed, and every request of theirs that has ended (same rule, with no age).
//
// Each run appends ONE `retention.purge` event (actor: who ran it) stating what it destroyed:
//   {"clients": {NAME: {"recordings": n, "events": n, "sessions": n, "requests": n, "contract_ended": bool}},
//    "recordings": [{"id", "session_id", "path"}], "sessions": [ids], "events": n, "requests": [ids],
//    "session_events": [ids of sessions whose session.start/end/recovered events were deleted],
//    "purged_events": [{"from": A, "to": B, "last_hash": H}, …]}
// purged_events are the maximal runs of consecutive deleted event ids with the hash of each run's
// last event: the anchors from which verify_audit (audit/verify.h) checks the surviving chain;
// recordings, sessions and session_events tell it which missing evidence was destroyed on purpose.
// The purge event is appended and the rows deleted in one transaction, so the database never holds
// a deletion without its anchor. Files are unlinked after the commit (a crash in between leaves an
// orphan file, never a row without its file).
#include <cstdint>
#include <string>
#include <vector>

#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

struct ClientPurge {
  std::string client;
  std::int64_t recordings = 0;
  std::int64_t events = 0;
  std::int64_t sessions = 0;
  std::int64_t requests = 0;  // access requests, with their approvals
  bool contract_ended = false;
  // data_key_destroyed: the id of the client's data key this run destroyed (contract end + grace
  // passed): every copy of its recordings, wherever it is, is unreadable from now on.
  std::string data_key_destroyed{};
};

struct PurgedRecording {
  std::int64_t id = 0;
  std::int64_t session_id = 0;
  std::string path;
};

struct PurgeReport {
  std::int64_t purge_event_id = 0;  // the retention.purge event written by this run
  std::vector<ClientPurge> clients;  // only clients something was destroyed of
  std::vector<PurgedRecording> recordings;
  std::vector<std::int64_t> sessions;
  std::vector<std::int64_t> requests;
  std::int64_t events = 0;
  // problems: files that could not be deleted after their rows were (each names the file and why).
  std::vector<std::string> problems;
};

// purge applies every client's terms as of clock.now(). Recording files are deleted only if they
// lie inside recordings_dir (a row pointing elsewhere is reported, never followed). Throws
// db::DbError if the database cannot be read or written; nothing is deleted then.
PurgeReport purge(db::Database& db, const Clock& clock, const std::string& recordings_dir,
                  const std::string& actor = "retention");

// SweepReport: what sweep_purged_recordings removed, and what it could not.
struct SweepReport {
  std::vector<std::string> deleted;   // the files removed
  std::vector<std::string> problems;  // each names the file and why it is still there
};

// sweep_purged_recordings removes from recordings_dir the files of recordings that any earlier
// purge destroyed (the "recordings" of every retention.purge event) and that are still there.
// Several nodes on one database (README, "Running several bastions") each write recordings into a
// directory of their own, and a purge run on one node deletes the rows of every node's recordings
// but can unlink only the files it can reach: each node sweeps its own directory after its own
// purge runs (gateway/housekeeping.cc), so a file outlives its row by at most one purge interval.
// A file that a recordings row still names, or that lies in the directory of a live session, is
// left alone (SQLite reuses the id of a deleted newest row, so a new session may own the path of a
// purged one). Throws db::DbError if the database cannot be read.
SweepReport sweep_purged_recordings(db::Database& db, const std::string& recordings_dir);

}  // namespace bastion::audit
