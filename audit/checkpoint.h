#pragma once
// Signed checkpoints of the audit chain (DESIGN.md rule 7, issue 20). The hash chain alone is
// unkeyed: whoever can write the database can drop the newest events, or rewrite every event from
// some point on with fresh hashes, and the chain still links. A checkpoint is the bastion's signed
// statement "the chain ended at event E, whose hash is H, at time T, on node N"; copies of it sent
// off the host (the JSON lines sink, syslog) let `audit verify --checkpoints` show truncation
// (E is gone), rewriting (E's hash is no longer H) and a removed checkpoint (a gap in the numbers).
//
// Canonical form (version 1). A checkpoint's signature is the pure Ed25519 signature (RFC 8032,
// libsodium crypto_sign_detached) of the UTF-8 bytes of the compact JSON array
//
//   ["bastion.checkpoint.v1",<seq>,<event_id>,<event_hash>,<at>,<node>,<key>]
//
// seq: the checkpoint's number, 1, 2, 3… with no gap, in the order written; event_id: the id of
// the newest event when it was written (0 for an empty chain); event_hash: that event's hash
// (audit/event_chain.h; "" for 0); at: unix seconds UTC; node: the host name of the writer; key:
// the signing key's fingerprint as OpenSSH prints it ("SHA256:…"). Serialised as the event chain's
// canonical form is (no whitespace, integers in decimal, JSON string escapes), which Python
// reproduces with json.dumps(arr, separators=(",", ":"), ensure_ascii=False). The signature is
// carried as standard padded base64 of its 64 bytes.
//
// Line form (the JSON lines sink, syslog, `audit checkpoint --json`): one JSON object
//   {"type":"checkpoint","format":"bastion.checkpoint.v1","seq":…,"event_id":…,"event_hash":…,
//    "at":"2026-12-06T03:00:00Z","at_unix":…,"node":…,"key":"SHA256:…","signature":"…"}
// Event lines of the same file have no "type" member, so the two never mix up.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/event_sinks.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

inline constexpr const char* kCheckpointFormat = "bastion.checkpoint.v1";

struct Checkpoint {
  std::int64_t seq = 0;
  std::int64_t event_id = 0;
  std::string event_hash;
  Seconds at{};
  std::string node;
  std::string key;        // fingerprint of the signing key
  std::string signature;  // base64 of the 64-byte Ed25519 signature of canonical_checkpoint()
};

// canonical_checkpoint returns the bytes that are signed (the array above).
std::string canonical_checkpoint(const Checkpoint& c);

// checkpoint_json returns the object of the line form above; checkpoint_line the line itself, its
// members in the order shown (so a line cut short still starts by saying what it was).
nlohmann::json checkpoint_json(const Checkpoint& c);
std::string checkpoint_line(const Checkpoint& c);

// parse_checkpoint_line reads one line of a sink file. The JSON object starts at the line's first
// '{' (so a syslog line with its prefix works as well as a JSON lines one). Returns nullopt for a
// line that is not a checkpoint (an event, anything else); an Error naming the fault for a line
// that says it is a checkpoint ("type":"checkpoint") but is not a well-formed one.
Result<std::optional<Checkpoint>> parse_checkpoint_line(std::string_view line);

// checkpoint_signature_valid: whether c.signature is the signature of canonical_checkpoint(c) by
// the Ed25519 key `public_key`.
bool checkpoint_signature_valid(const Checkpoint& c, const std::array<unsigned char, 32>& public_key);

// CheckpointSigner: what writes a checkpoint needs of the key, and nothing more. sign returns the
// raw 64-byte signature of `bytes`. The key itself stays with whoever built the signer
// (gateway/checkpoint_key.h), so this module never holds a private key.
struct CheckpointSigner {
  std::string fingerprint;
  std::function<std::string(std::string_view bytes)> sign;
};

// write_checkpoint signs the current chain head and stores the checkpoint, numbered after the last
// one, in one BEGIN IMMEDIATE transaction (so two writers never take the same number or sign a
// head that moved). Then it copies it to `sinks` if any is configured, and marks it emitted; a
// sink that cannot be written leaves it to emit_pending_checkpoints (the error is returned, the
// checkpoint is stored all the same). Throws db::DbError when the database cannot be written.
struct WrittenCheckpoint {
  Checkpoint checkpoint;
  bool emitted = false;
  std::string sink_error;  // why it was not copied to the sinks, if one failed
};
WrittenCheckpoint write_checkpoint(db::Database& db, const CheckpointSigner& signer, const std::string& node,
                                   Seconds now, const EventSinks& sinks);

// has_sinks: whether any sink takes checkpoints (the JSON lines file or syslog).
bool has_sinks(const EventSinks& sinks);

// emit_pending_checkpoints copies to `sinks` every stored checkpoint not yet copied (written by
// bastionctl, or whose sink failed), oldest first, marking each. Returns how many; an Error names
// the sink that failed (those after it stay pending). Throws db::DbError.
Result<int> emit_pending_checkpoints(db::Database& db, const EventSinks& sinks, Seconds now);

// checkpoints_pending: whether a stored checkpoint waits to be copied to the sinks.
bool checkpoints_pending(db::Database& db);

// checkpoint_due: why a checkpoint is due now (nullopt if none is): no checkpoint yet, at least
// `every_events` events since the last one, or at least `every` since it was written.
std::optional<std::string> checkpoint_due(db::Database& db, std::int64_t every_events, std::chrono::seconds every,
                                          Seconds now);

// list_checkpoints: the stored checkpoints, by seq. Throws db::DbError.
std::vector<Checkpoint> list_checkpoints(db::Database& db);

// CheckpointEvidence: the checkpoints `audit verify --checkpoints` reads from files kept off the
// host, and the public key they must be signed with.
struct SourcedCheckpoint {
  Checkpoint checkpoint;
  std::string where;  // "FILE line N"
};
struct CheckpointEvidence {
  std::vector<SourcedCheckpoint> checkpoints;
  std::vector<std::string> unreadable;  // "FILE line N: why", lines that claim to be checkpoints
  std::array<unsigned char, 32> public_key{};
  std::string fingerprint;  // of public_key
};

// read_checkpoint_file adds the checkpoints of one sink file to `evidence`. Error: the file cannot
// be read.
Status read_checkpoint_file(const std::string& path, CheckpointEvidence& evidence);

}  // namespace bastion::audit
