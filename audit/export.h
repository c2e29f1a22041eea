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
//   recordings/<session>/<file>    each recording file as recorded
//
// Nothing of any other client is read into the archive.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

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

// export_client_to writes the same archive to `out` (an SSH channel, over which an account must
// not name a path on the bastion host): built in an anonymous memory file, then copied; nothing
// is written to `out` unless the archive is complete.
Result<ExportReport> export_client_to(const db::DatabasePtr& db, const std::string& client, std::ostream& out);

}  // namespace bastion::audit
