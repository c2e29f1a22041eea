#include "web/session_evidence.h"

#include "audit/verify.h"

namespace bastion::web {

SessionEvidence session_evidence(db::Database& db, std::int64_t session_id) {
  SessionEvidence e;
  for (const auto& f : audit::verify_session(db, session_id).findings) {
    if (f.session_id != session_id) continue;
    if (f.recording_id != 0) {
      e.recordings.emplace(f.recording_id, f.message);  // the first finding stays
    } else if (e.session.empty()) {
      e.session = f.message;
    }
  }
  return e;
}

}  // namespace bastion::web
