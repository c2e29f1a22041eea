#pragma once
// export_client: everything the bastion holds about one client, for the client to take away
// (reversibility at the end of a contract, or a review on their side), as a .tar.gz:
//
//   sessions.json                  array of the client's sessions, oldest first, each with its
//                                  recordings (id, channel, kind, sha256, bytes, file name)
//   events.json                    array of the events about its servers and sessions, oldest first,
//                                  with their chain hashes (audit/event_chain.h)
//   grants.json                    array of the grants on its servers, oldest first (audit/access_json.h);
//                                  "emergency": true marks one given without its approval (break-glass)
//   requests.json                  array of the access requests to its servers, with their approvals
//   recordings/<session>/<file>    each recording file: decrypted (in memory) in an archive built in
//                                  memory for the client (build_client_export); as recorded — sealed
//                                  ones still encrypted, "encrypted": true in sessions.json — in an
//                                  archive written to a path of the bastion host (export_client), so
//                                  that nothing decrypted is ever written to its disk
//
// Nothing of any other client is read into the archive.
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sealed_stream.h"
#include "audit/unique_fd.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

struct ExportReport {
  std::int64_t sessions = 0;
  std::int64_t events = 0;
  std::int64_t recordings = 0;
  std::int64_t grants = 0;
  std::int64_t emergency_grants = 0;
  std::int64_t requests = 0;
};

// export_client writes the archive to out_path (which must not exist). Refuses an unknown client;
// a recording file that cannot be read fails the export (it names the recording), and the
// partial archive is removed.
Result<ExportReport> export_client(const db::DatabasePtr& db, const std::string& client, const std::string& out_path);

// BuiltExport: a complete archive in an anonymous memory file (memfd: kernel pages, not the
// process's heap), for a front that sends it itself (an SSH channel, a web download).
struct BuiltExport {
  UniqueFd memory;
  std::uint64_t bytes = 0;
  ExportReport report;

  // read_at: up to `len` bytes of the archive from `offset` into buf (0 at the end).
  Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t len) const;
  // copy_to writes the whole archive to out in 64 KiB pieces.
  Status copy_to(std::ostream& out) const;
};

// build_client_export builds the archive of export_client in memory. Nothing leaves the process:
// the caller records the export, then sends it, so no byte goes out of an unrecorded export.
// Sealed recordings are opened with `lookup` (audit/data_keys.h); without one they go in as recorded.
Result<BuiltExport> build_client_export(const db::DatabasePtr& db, const std::string& client,
                                        const KeyLookup& lookup = {});

// encrypt_export: the archive `clear` as an OpenPGP message under `passphrase` (audit/openpgp.h),
// in a new memory file, for the client to take away (`gpg -d FILE > export.tar.gz`). The literal
// packet is named `file_name`, dated `mtime`. The passphrase is the caller's to check and wipe.
Result<BuiltExport> encrypt_export(const BuiltExport& clear, std::string_view passphrase, std::string_view file_name,
                                   std::uint32_t mtime);

}  // namespace bastion::audit
