#pragma once
// session_evidence: what the session page states about one session's record and each of its
// recordings — "verified" (nothing found) or the first finding — from audit::verify_session,
// which reads that session's events, row and recordings only: the page costs the same with ten
// sessions or a million, and a finding elsewhere in the database cannot crowd out this one's.
#include <cstdint>
#include <map>
#include <string>

#include "authz/db.h"

namespace bastion::web {

struct SessionEvidence {
  std::string session;                              // "" when nothing was found
  std::map<std::int64_t, std::string> recordings;   // recording id → its first finding
};

// session_evidence: the findings of verify_session, the first per recording and the first about the
// session itself (its row, its events and their links). Throws db::DbError.
SessionEvidence session_evidence(db::Database& db, std::int64_t session_id);

}  // namespace bastion::web
