#include "audit/event_chain.h"

#include <ctime>

#include "audit/asciicast.h"
#include "audit/sha256.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

std::string valid_utf8(const std::string& s) {
  Utf8Carry carry;
  std::string out;
  carry.feed(s, out);
  carry.finish(out);
  return out;
}

Json well_formed_details(const Json& details) {
  // dump(replace) substitutes U+FFFD for ill-formed UTF-8 anywhere in keys or values.
  Json parsed = Json::parse(details.dump(-1, ' ', false, Json::error_handler_t::replace));
  if (!parsed.is_object()) return Json{{"value", parsed}};
  return parsed;
}

}  // namespace

std::string canonical_event(std::int64_t id, const std::string& prev_hash, const Event& e) {
  Json array = Json::array({kCanonicalEventVersion, prev_hash, id, static_cast<std::int64_t>(to_unix(e.at)), e.kind,
                            e.actor, e.source, e.server,
                            e.session_id ? Json(*e.session_id) : Json(nullptr), e.details});
  return array.dump();
}

std::string event_hash(std::int64_t id, const std::string& prev_hash, const Event& e) {
  return sha256_hex(canonical_event(id, prev_hash, e));
}

Event well_formed(const Event& e) {
  Event out = e;
  out.kind = valid_utf8(e.kind);
  out.actor = valid_utf8(e.actor);
  out.source = valid_utf8(e.source);
  out.server = valid_utf8(e.server);
  out.details = well_formed_details(e.details);
  return out;
}

std::string compact_details(const nlohmann::json& details) { return details.dump(); }


nlohmann::json event_json(const StoredEvent& s) {
  const Event& e = s.event;
  return {{"id", s.id},
          {"at", iso8601_utc(e.at)},
          {"at_unix", static_cast<std::int64_t>(to_unix(e.at))},
          {"kind", e.kind},
          {"actor", e.actor},
          {"source", e.source},
          {"server", e.server},
          {"session_id", e.session_id ? Json(*e.session_id) : Json(nullptr)},
          {"details", e.details},
          {"prev_hash", s.prev_hash},
          {"hash", s.hash}};
}

EventRow read_event_row(const db::Statement& q) {
  EventRow r;
  StoredEvent& s = r.stored;
  s.id = q.col_int(0);
  s.event.at = from_unix(q.col_int(1));
  s.event.kind = q.col_text(2);
  s.event.actor = q.col_text(3);
  s.event.source = q.col_text(4);
  s.event.server = q.col_text(5);
  if (!q.col_null(6)) s.event.session_id = q.col_int(6);
  r.details_text = q.col_text(7);
  s.event.details = nlohmann::json::parse(r.details_text, nullptr, false);
  if (s.event.details.is_discarded()) s.event.details = r.details_text;
  s.prev_hash = q.col_text(8);
  s.hash = q.col_text(9);
  return r;
}

}  // namespace bastion::audit
