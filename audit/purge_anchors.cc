#include "audit/purge_anchors.h"

#include <nlohmann/json.hpp>

#include "audit/sql_evidence_store.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

// add_runs reads one purge event's "purged_events"; runs that do not end before the purge event
// itself, or are malformed, are ignored (they cannot excuse anything).
void add_runs(PurgeAnchors& anchors, std::int64_t purge_id, const std::string& details_text) {
  const Json details = Json::parse(details_text, nullptr, false);
  if (!details.is_object() || !details.contains("purged_events") || !details["purged_events"].is_array()) return;
  for (const auto& run : details["purged_events"]) {
    if (!run.is_object() || !run.contains("from") || !run.contains("to") || !run.contains("last_hash")) continue;
    if (!run["from"].is_number_integer() || !run["to"].is_number_integer() || !run["last_hash"].is_string()) continue;
    const auto from = run["from"].get<std::int64_t>(), to = run["to"].get<std::int64_t>();
    if (from < 1 || to < from || to >= purge_id) continue;
    anchors.add(from, to, run["last_hash"].get<std::string>());
  }
}

}  // namespace

PurgeAnchors load_anchors(db::Database& db) {
  PurgeAnchors anchors;
  for (const auto& [id, details] : SqlEvidenceStore(db).purge_events()) add_runs(anchors, id, details);
  anchors.seal();
  return anchors;
}

}  // namespace bastion::audit
