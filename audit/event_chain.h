#pragma once
// The hash chain of the audit trail (DESIGN.md rule 7): how one stored event is serialised for
// hashing, and its JSON form for sinks and exports. Shared by the writer (sqlite_event_log.cc) and
// the verifier (verify.cc), so the two can never disagree about what was hashed.
//
// Canonical form (version 1). The hash of event E is
//
//   hash(E) = lowercase hex SHA-256 of the UTF-8 bytes of the compact JSON array
//
//   ["bastion.event.v1",<prev_hash>,<id>,<at>,<kind>,<actor>,<source>,<server>,<session_id>,<details>]
//
// where prev_hash is the hash of the event with the next lower id ("" for the first event ever
// written), id is the row id, at is unix seconds UTC, session_id is an integer or null, and details
// is a JSON object. The array is written with no whitespace at all; object members are sorted by
// key (bytewise, UTF-8); integers in decimal without exponent; strings escape only '"', '\' and the
// control characters below U+0020 (\b \f \n \r \t, others as \u00xx with lowercase hex), every
// other character is written as its raw UTF-8 bytes. This is exactly nlohmann::json::dump() of the
// array, which an independent checker can reproduce with, in Python,
//   json.dumps(arr, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
// as long as details hold only strings, integers, booleans, null, arrays and objects (the bastion
// never puts floating-point numbers in details).
//
// Every string is valid UTF-8 by construction: append() replaces ill-formed sequences in untrusted
// text (a user name sent by an attacker) with U+FFFD before it is stored and hashed, so what is
// stored is what is hashed, byte for byte.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "audit/event_log.h"
#include "authz/db.h"
#include "authz/text.h"

namespace bastion::audit {

inline constexpr const char* kCanonicalEventVersion = "bastion.event.v1";

// canonical_event returns the canonical serialisation above of `e` with the given id and prev_hash.
std::string canonical_event(std::int64_t id, const std::string& prev_hash, const Event& e);

// event_hash returns hash(E) as defined above.
std::string event_hash(std::int64_t id, const std::string& prev_hash, const Event& e);

// well_formed returns `e` with every string (fields and inside details) turned into valid UTF-8.
Event well_formed(const Event& e);

// compact_details returns details as stored in the events table: compact JSON, keys sorted.
std::string compact_details(const nlohmann::json& details);

// event_json is the JSON object of a stored event for sinks, `audit list --json` and exports:
// {"id", "at" (ISO 8601 UTC), "at_unix", "kind", "actor", "source", "server", "session_id",
//  "details", "prev_hash", "hash"}.
nlohmann::json event_json(const StoredEvent& e);

// iso8601_utc (authz/text.h) renders "2026-11-23T14:00:00Z".
using bastion::iso8601_utc;

// kEventColumns: the columns of `events`, in the order read_event_row reads them. Every reader of
// the table selects exactly these, so the writer's reader and the verifier's cannot drift apart.
inline constexpr std::string_view kEventColumns =
    "id, at, kind, actor, source, server, session_id, details, prev_hash, hash";

// EventRow: one stored event as read. details_text is the column exactly as stored (what the hash
// covers, and what verification compares); stored.event.details is it parsed, or the raw text as
// a JSON string when it is not JSON (only a tampered row holds such).
struct EventRow {
  StoredEvent stored;
  std::string details_text;
};

// read_event_row reads the current row of a statement that selected kEventColumns.
EventRow read_event_row(const db::Statement& q);

}  // namespace bastion::audit
