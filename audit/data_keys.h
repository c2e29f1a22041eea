#pragma once
// Data keys: what makes each client's recordings unreadable to anyone without that client's key,
// and every copy of them unreadable once the key is destroyed (issue 20, points 2 and 3;
// DESIGN.md rule 10).
//
//   master key        32 random bytes in a file outside the database (data_master_key beside it
//                     unless configured; mode 0600; made by `bastionctl init`). Read by the
//                     privileged side only: a connection's monitor when it opens a recording,
//                     bastionctl, bastion-web for its player. Never by a network process.
//   client data key   32 random bytes per client, made when its first recording is opened (or by
//                     `client keys --create`), stored only wrapped under the master key
//                     (XChaCha20-Poly1305, bound to its key id and client) in client_data_keys.
//   stream key        per recording file: KDF(client data key, the file's random salt)
//                     (audit/sealed_stream.h). The one key the sandboxed writer ever holds.
//
// Shredding a client (client shred, or the retention purge at contract end + grace) deletes its
// wrapped key: neither the database nor the master key, nor both together from then on, can open
// any copy of its recordings. A backup of the database taken before the shred still holds the
// wrapped key: hence the master key is never backed up together with the database (README, Keys).
#include <optional>
#include <string>
#include <vector>

#include "audit/data_key_store.h"
#include "audit/recording_sink.h"
#include "audit/sealed_stream.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

inline constexpr const char* kMasterKeyFileName = "data_master_key";

// ensure_master_key creates the master key file at `path` (0600, exclusively) unless a file is
// there. Returns whether it created one.
Result<bool> ensure_master_key(const std::string& path);

// check_master_key_file checks that the master key file exists and only its owner may access it,
// without reading its bytes (bastiond's listener, whose memory every connection inherits, never does).
Status check_master_key_file(const std::string& path);

// load_master_key reads the master key, refusing a missing file (naming the command that makes
// one), a file group or others can access, and a malformed one.
Result<SecretKey> load_master_key(const std::string& path);

// list_client_keys: every client's key, by client name. Throws db::DbError.
std::vector<ClientKeyInfo> list_client_keys(db::Database& db);
std::optional<ClientKeyInfo> find_client_key(db::Database& db, const std::string& client);
std::optional<ClientKeyInfo> find_key_by_id(db::Database& db, const std::string& key_id);

// destroyed_text: "the data of client acme was destroyed on 2026-12-06T19:41:47Z by officer (key k-…)".
std::string destroyed_text(const ClientKeyInfo& k);

// ensure_client_key makes the client's data key unless it has one; refuses a client whose key was
// destroyed (its contract is over: nothing more of it is recorded).
Result<ClientKeyInfo> ensure_client_key(db::Database& db, const SecretKey& master, const std::string& client,
                                        Seconds now);

// unwrap_client_key returns the data key named key_id; an Error if it is unknown, destroyed (saying
// when and by whom), or does not open under this master key.
Result<SecretKey> unwrap_client_key(db::Database& db, const SecretKey& master, const std::string& key_id);

// sealing_key_for: the key of one new recording of `client`'s server — its data key made if need be,
// a fresh salt, the stream key derived from both.
Result<SealingKey> sealing_key_for(db::Database& db, const SecretKey& master, const std::string& client, Seconds now);

// destroy_client_key deletes the client's wrapped key (DataKeyStore::erase_wrapped: on SQLite its
// bytes are overwritten in the database file) and records when and by whom, inside the caller's transaction
// (which also appends the event that says so). Refuses a client without a key or one already
// destroyed. Throws db::DbError.
Result<ClientKeyInfo> destroy_client_key(db::Database& db, const std::string& client, Seconds now,
                                         const std::string& by);

// scrub_after_destroy, once that transaction committed: drops the copies of the wrapped key the
// engine still holds (DataKeyStore::scrub: SQLite's write-ahead log; PostgreSQL's dead row version,
// by VACUUM FULL). Returns false if that could not be done now (see there).
bool scrub_after_destroy(db::Database& db);

// key_lookup: a KeyLookup (audit/sealed_stream.h) over this database and master key, both of which
// must outlive it.
KeyLookup key_lookup(db::Database& db, const SecretKey& master);

// RecordingText: a recording file as its reader needs it, decrypted in memory if sealed.
struct RecordingText {
  std::string bytes;      // the recording's own format (asciicast, exec records)
  bool sealed = false;
  SealedState state = SealedState::Complete;  // of the sealed stream; Complete for a plain file
  std::string detail;     // where a sealed stream was cut short or altered
};

// read_recording reads the file at path; if it is sealed, unseals it with a key found by
// `lookup` (which may be empty: a plain file needs none; a sealed one is then refused). An Error
// for a file that cannot be read, a sealed file whose key is unknown or destroyed, and a sealed
// stream altered anywhere (naming where).
Result<RecordingText> read_recording(const std::string& path, const KeyLookup& lookup);

}  // namespace bastion::audit
