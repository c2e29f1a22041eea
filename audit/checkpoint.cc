#include "audit/checkpoint.h"

#include <sodium.h>

#include <cstdlib>
#include <fstream>

#include "audit/event_chain.h"
#include "audit/sql_checkpoint_store.h"
#include "authz/text.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kSignatureBytes = crypto_sign_BYTES;

void sodium_ready() {
  // Fails only without a random source; verification needs none, but libsodium wants init first.
  if (sodium_init() < 0) std::abort();
}

std::string to_base64(std::string_view bytes) {
  sodium_ready();
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> from_base64(std::string_view text) {
  sodium_ready();
  std::string out(text.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

Status emit_one(const EventSinks& sinks, const Checkpoint& c) {
  return emit_line_to_sinks(sinks, checkpoint_line(c));
}

// member returns j[name] if it has the JSON type `is`, else nullptr.
const Json* member(const Json& j, const char* name, bool (Json::*is)() const noexcept) {
  const auto it = j.find(name);
  if (it == j.end() || !((*it).*is)()) return nullptr;
  return &*it;
}

}  // namespace

std::string canonical_checkpoint(const Checkpoint& c) {
  return Json::array({kCheckpointFormat, c.seq, c.event_id, c.event_hash, to_unix(c.at), c.node, c.key}).dump();
}

namespace {
template <typename J>
J checkpoint_object(const Checkpoint& c) {
  return {{"type", "checkpoint"}, {"format", kCheckpointFormat}, {"seq", c.seq},
          {"event_id", c.event_id}, {"event_hash", c.event_hash}, {"at", iso8601_utc(c.at)},
          {"at_unix", to_unix(c.at)}, {"node", c.node}, {"key", c.key}, {"signature", c.signature}};
}
}  // namespace

Json checkpoint_json(const Checkpoint& c) { return checkpoint_object<Json>(c); }

std::string checkpoint_line(const Checkpoint& c) { return checkpoint_object<nlohmann::ordered_json>(c).dump(); }

Result<std::optional<Checkpoint>> parse_checkpoint_line(std::string_view line) {
  const auto brace = line.find('{');
  if (brace == std::string_view::npos) return std::optional<Checkpoint>{};
  const Json j = Json::parse(line.substr(brace), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    // A line that names itself a checkpoint but is no JSON is reported, not skipped: cutting a
    // line short must not make a checkpoint vanish silently.
    if (line.find("\"checkpoint\"") != std::string_view::npos || line.find(kCheckpointFormat) != std::string_view::npos)
      return Error{"it mentions a checkpoint but is not a JSON object"};
    return std::optional<Checkpoint>{};
  }
  const Json* type = member(j, "type", &Json::is_string);
  if (type == nullptr || type->get<std::string>() != "checkpoint") return std::optional<Checkpoint>{};
  const Json* format = member(j, "format", &Json::is_string);
  if (format == nullptr || format->get<std::string>() != kCheckpointFormat)
    return Error{std::string("its format is not ") + kCheckpointFormat};
  const Json* seq = member(j, "seq", &Json::is_number_integer);
  const Json* event_id = member(j, "event_id", &Json::is_number_integer);
  const Json* event_hash = member(j, "event_hash", &Json::is_string);
  const Json* at = member(j, "at_unix", &Json::is_number_integer);
  const Json* node = member(j, "node", &Json::is_string);
  const Json* key = member(j, "key", &Json::is_string);
  const Json* signature = member(j, "signature", &Json::is_string);
  if (!seq || !event_id || !event_hash || !at || !node || !key || !signature)
    return Error{"it lacks one of seq, event_id, event_hash, at_unix, node, key, signature (or one has the wrong type)"};
  Checkpoint c{seq->get<std::int64_t>(), event_id->get<std::int64_t>(), event_hash->get<std::string>(),
               from_unix(at->get<std::int64_t>()), node->get<std::string>(), key->get<std::string>(),
               signature->get<std::string>()};
  if (c.seq < 1) return Error{"its seq is not a positive number"};
  if (c.event_id < 0) return Error{"its event_id is negative"};
  return std::optional<Checkpoint>{std::move(c)};
}

bool checkpoint_signature_valid(const Checkpoint& c, const std::array<unsigned char, 32>& public_key) {
  const auto sig = from_base64(c.signature);
  if (!sig || sig->size() != kSignatureBytes) return false;
  const std::string message = canonical_checkpoint(c);
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     public_key.data()) == 0;
}

bool has_sinks(const EventSinks& sinks) { return !sinks.json_lines_path.empty() || sinks.syslog; }

WrittenCheckpoint write_checkpoint(db::Database& db, const CheckpointSigner& signer, const std::string& node,
                                   Seconds now, const EventSinks& sinks) {
  WrittenCheckpoint w;
  Checkpoint& c = w.checkpoint;
  {
    db::Database::Transaction tx(db);
    SqlCheckpointStore store(db);
    const ChainHead head = store.chain_head();
    c.event_id = head.id;
    c.event_hash = head.hash;
    c.seq = store.last_seq() + 1;
    c.at = now;
    c.node = node;
    c.key = signer.fingerprint;
    c.signature = to_base64(signer.sign(canonical_checkpoint(c)));
    store.add(c);
    tx.commit();
  }
  if (!has_sinks(sinks)) return w;
  if (auto st = emit_one(sinks, c); !st) {
    w.sink_error = st.error().message;
    return w;
  }
  SqlCheckpointStore(db).mark_emitted(c.seq, now);
  w.emitted = true;
  return w;
}

Result<int> emit_pending_checkpoints(db::Database& db, const EventSinks& sinks, Seconds now) {
  SqlCheckpointStore store(db);
  int n = 0;
  for (const auto& c : store.unemitted()) {
    if (auto st = emit_one(sinks, c); !st) return Error{"checkpoint " + std::to_string(c.seq) + ": " + st.error().message};
    store.mark_emitted(c.seq, now);
    ++n;
  }
  return n;
}

bool checkpoints_pending(db::Database& db) { return SqlCheckpointStore(db).any_unemitted(); }

std::optional<std::string> checkpoint_due(db::Database& db, std::int64_t every_events, std::chrono::seconds every,
                                          Seconds now) {
  SqlCheckpointStore store(db);
  const auto last = store.newest();
  if (!last) return "no checkpoint yet";
  const std::int64_t covered = last->event_id;
  const Seconds at = last->at;
  const std::int64_t events = store.chain_head().id - covered;
  if (every_events > 0 && events >= every_events) return std::to_string(events) + " events since the last checkpoint";
  if (now - at >= every) return std::to_string((now - at).count()) + " s since the last checkpoint";
  return std::nullopt;
}

std::vector<Checkpoint> list_checkpoints(db::Database& db) { return SqlCheckpointStore(db).all(); }

Status read_checkpoint_file(const std::string& path, CheckpointEvidence& evidence) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read the checkpoint file " + path};
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    const std::string where = path + " line " + std::to_string(number);
    auto parsed = parse_checkpoint_line(line);
    if (!parsed) {
      evidence.unreadable.push_back(where + ": " + parsed.error().message);
    } else if (*parsed) {
      evidence.checkpoints.push_back({std::move(**parsed), where});
    }
  }
  if (in.bad()) return Error{"cannot read the checkpoint file " + path};
  return ok_status();
}

}  // namespace bastion::audit
