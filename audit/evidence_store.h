#pragma once
// EvidenceStore: the rows that `audit verify`, retention, the clients' contract terms and the
// sessions review read and prune, beyond the event log's (audit/event_log.h) and the session
// store's (audit/session_store.h) own. The modules above decide (what is altered, what is due,
// whose session it is); this interface only reads and writes rows, so their SQL lives in one
// implementation (audit/sql_evidence_store.h) that runs on SQLite and PostgreSQL alike.
//
// Every method throws db::DbError when the database cannot be read or written.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/client_terms.h"
#include "audit/event_chain.h"
#include "audit/session_store.h"

namespace bastion::audit {

// RecordingFacts: what a recordings row states of its file.
struct RecordingFacts {
  std::int64_t id = 0;
  std::int64_t session_id = 0;
  std::string path;
  std::string sha256;
};

// DatedEvent: an event as retention weighs it (its id, hash, session and kind).
struct DatedEvent {
  std::int64_t id = 0;
  std::string hash;
  std::optional<std::int64_t> session_id;
  std::string kind;
};

// EgressFact: how the bastion logged in to the server for a session: the egress.certificate or
// egress.signature event of its upstream login. A session that reused its connection's upstream
// login (same process, server, login and grant) shares the event of the session that made it.
struct EgressFact {
  std::string kind;  // "egress.certificate" | "egress.signature"
  std::int64_t session_id = 0;  // the session whose upstream login it was
  nlohmann::json details;
};

class EvidenceStore {
 public:
  virtual ~EvidenceStore() = default;

  // --- the clients' contract terms (audit/client_terms.h)
  // client_terms: every client's terms, by name.
  virtual std::vector<ClientTerms> client_terms() = 0;
  virtual std::optional<ClientTerms> client_terms_of(const std::string& client) = 0;
  // write_client_terms stores t on the row of client t.name (which exists).
  virtual void write_client_terms(const ClientTerms& t) = 0;

  // --- the chain and the rows it states (audit/verify.h)
  // each_event calls f with every event, in id order, as they are read (no vector of them all; on
  // PostgreSQL libpq holds the statement's whole result nevertheless).
  virtual void each_event(const std::function<void(EventRow&&)>& f) = 0;
  // events_of_session: the events naming session_id, in id order.
  virtual std::vector<EventRow> events_of_session(std::int64_t session_id) = 0;
  // event_next_to: the event just before (before=true) or after `id` in the chain, if any.
  virtual std::optional<EventRow> event_next_to(std::int64_t id, bool before) = 0;
  // purge_events: every retention.purge event, in id order: its id and its details as stored (the
  // anchors of audit/purge_anchors.h, the evidence of audit/session_facts.h's purged_evidence).
  virtual std::vector<std::pair<std::int64_t, std::string>> purge_events() = 0;
  // recording_facts: every recordings row, or those of one session, in id order.
  virtual std::vector<RecordingFacts> recording_facts(std::optional<std::int64_t> session_id) = 0;
  // session_rows: every sessions row, or one, in id order, with the columns the chain states
  // (operator, server, login, grant, client, start, end, status; the rest left empty).
  virtual std::vector<SessionRow> session_rows(std::optional<std::int64_t> session_id) = 0;

  // --- retention (audit/retention.h). "The sessions of a client" are those whose chained
  // session.start names it (audit/session_facts.h; a start from before clients were stated: its
  // server's client), and, for rows with no chained start at all, those whose own columns do.
  virtual std::vector<std::int64_t> sessions_of_client(const std::string& client) = 0;
  // recordings_of_client_before: the recordings of the client's sessions that ended (or, unended,
  // started) before `before` (unix seconds), in id order.
  virtual std::vector<RecordingFacts> recordings_of_client_before(const std::string& client,
                                                                  std::int64_t before) = 0;
  // events_of_client_before: the events about the client's servers or sessions written before
  // `before`, in id order.
  virtual std::vector<DatedEvent> events_of_client_before(const std::string& client, std::int64_t before) = 0;
  // requests_of_client_ended_before: the access requests to the client's servers that were decided
  // and ended before `before`: by their decision, or an approved one by the end of its grant (its
  // not_after, or its revocation if earlier). A pending one never.
  virtual std::vector<std::int64_t> requests_of_client_ended_before(const std::string& client,
                                                                    std::int64_t before) = 0;
  virtual void delete_recording(std::int64_t id) = 0;
  virtual void delete_event(std::int64_t id) = 0;
  virtual void delete_session(std::int64_t id) = 0;
  // delete_request deletes an access request and its approvals.
  virtual void delete_request(std::int64_t id) = 0;
  // note_on_session appends `note` to the session's reason ("; " between notes).
  virtual void note_on_session(std::int64_t session_id, const std::string& note) = 0;

  // --- the sessions review (audit/session_query.h)
  // server_clients maps each server's name to its client.
  virtual std::map<std::string, std::string> server_clients() = 0;
  // egress_of: the upstream login event of session s (EgressFact), if the trail has one.
  virtual std::optional<EgressFact> egress_of(const SessionRow& s) = 0;
};
using EvidenceStorePtr = std::unique_ptr<EvidenceStore>;

}  // namespace bastion::audit
