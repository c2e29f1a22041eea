// SqliteStore: SQL for the access model. Checks run inside the same BEGIN IMMEDIATE transaction as
// the write they guard, so no other process can slip a change in between.
#include "authz/sqlite_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <span>
#include <string>

#include "authz/decide.h"
#include "authz/env_policy.h"
#include "authz/sqlite_rows.h"

namespace bastion::authz {
namespace {

using db::Statement;
using namespace sqlite_rows;  // NOLINT(google-build-using-namespace): the store's own helpers

constexpr std::array<std::string_view, 6> kAcceptedKeyTypes{
    "ssh-ed25519",         "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "ssh-rsa",             "sk-ssh-ed25519@openssh.com",
};

// ---------------------------------------------------------------- text helpers

bool has_control_bytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// Catalogue entry names end up comma-joined in grants.ops and typed on command lines.
bool valid_entry_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.';
  });
}


// ---------------------------------------------------------------- key parsing

// Cursor reads untrusted bytes with bounds checks (the BoringSSL CBS idea, reduced to what we need).
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> b) : b_(b) {}
  // get_string reads an SSH wire string (big-endian u32 length, then bytes); false on overrun.
  bool get_string(std::string_view& out) {
    if (b_.size() < 4) return false;
    const std::uint32_t n = (std::uint32_t{b_[0]} << 24) | (std::uint32_t{b_[1]} << 16) |
                            (std::uint32_t{b_[2]} << 8) | std::uint32_t{b_[3]};
    b_ = b_.subspan(4);
    if (n > b_.size()) return false;
    out = std::string_view(reinterpret_cast<const char*>(b_.data()), n);
    b_ = b_.subspan(n);
    return true;
  }

 private:
  std::span<const std::uint8_t> b_;
};

// decode_base64 accepts only canonical base64 (length a multiple of 4, '=' only as final padding).
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 16384) return std::nullopt;
  const std::size_t pad = in.ends_with("==") ? 2 : in.ends_with('=') ? 1 : 0;
  const auto body = in.substr(0, in.size() - pad);
  const bool alphabet_ok = std::all_of(body.begin(), body.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '+' || c == '/';
  });
  if (!alphabet_ok) return std::nullopt;
  std::vector<std::uint8_t> out(in.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

// sha256_fingerprint: "SHA256:" + unpadded base64 of SHA-256(blob), as OpenSSH prints it.
std::string sha256_fingerprint(std::span<const std::uint8_t> blob) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (EVP_Digest(blob.data(), blob.size(), md.data(), &md_len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(SHA-256) failed");  // cannot happen with a working libcrypto
  }
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> b64{};
  const int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(md_len));
  std::string text(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
  while (text.ends_with('=')) text.pop_back();
  return "SHA256:" + text;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// next_word splits off the first whitespace-delimited word of s.
std::string_view next_word(std::string_view& s) {
  const auto end = s.find_first_of(" \t");
  const auto word = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
  return word;
}

std::string accepted_types() {
  std::string out;
  for (auto t : kAcceptedKeyTypes) out += (out.empty() ? "" : ", ") + std::string(t);
  return out;
}

// ensure_client adds a client row unless it exists; clients are created implicitly, by the first
// server or client account that names them.
void ensure_client(db::Database& db, std::string_view name) {
  db.prepare("INSERT INTO clients(name) VALUES (?) ON CONFLICT DO NOTHING").bind(1, name).step();
}

// check_name_not_retired refuses the name of a removed server: its grants and sessions still
// name it, and a new server under the same name would make that history ambiguous.
Status check_name_not_retired(db::Database& db, std::string_view name) {
  auto q = db.prepare("SELECT removed_at FROM servers WHERE name = ? AND removed_at IS NOT NULL");
  q.bind(1, name);
  if (!q.step()) return ok_status();
  return Error{"the name " + std::string(name) + " belonged to a server removed at " +
               format_utc(from_unix(q.col_int(0))) + "; names are not reused, so choose another"};
}

// ---------------------------------------------------------------- validation

Status check_new_operator(const NewOperator& op) {
  if (op.name.empty()) return Error{"operator name is empty"};
  if (op.totp_secret.empty()) return Error{"operator " + quoted(op.name) + " needs a TOTP secret"};
  if (op.role == Role::Client && op.client.empty()) {
    return Error{"a client account needs --client: the client whose servers " + quoted(op.name) + " may review"};
  }
  if (op.role != Role::Client && !op.client.empty()) {
    return Error{"--client only applies to role client; " + quoted(op.name) + " would be an " + to_string(op.role)};
  }
  return ok_status();
}

Status check_new_server(const Server& s) {
  if (s.name.empty()) return Error{"server name is empty"};
  if (s.host.empty()) return Error{"server " + s.name + " needs a host"};
  if (s.port < 1 || s.port > 65535) return Error{"port " + std::to_string(s.port) + " is not between 1 and 65535"};
  if (s.client.empty()) return Error{"server " + s.name + " needs a client (the customer it belongs to)"};
  if (s.host_key.empty()) return Error{"server " + s.name + " needs its pinned host key"};
  for (const auto& n : s.allowed_env)
    if (auto why = unallowable_env_name(n)) return Error{"cannot allow " + *why};
  return ok_status();
}

bool valid_forward_pattern(std::string_view p) {
  const auto colon = p.rfind(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == p.size()) return false;
  const auto port = p.substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  const int n = std::stoi(std::string(port));
  return n >= 1 && n <= 65535;
}

// kMaxPathPattern: Linux's PATH_MAX; a longer pattern matches no path a server accepts.
constexpr std::size_t kMaxPathPattern = 4096;

// check_transfer_limits: only scp, rsync and sftp entries carry a direction or a path, and a path
// pattern is absolute (a relative one would be resolved by the server against a home directory
// the bastion does not know) and has no ".." segment (path_glob_match never lets one match).
Status check_transfer_limits(const CatalogueEntry& e) {
  const bool transfer = e.type == OpType::Scp || e.type == OpType::Rsync || e.type == OpType::Sftp;
  if (!transfer && (e.direction != TransferLimit::Both || !e.path.empty())) {
    return Error{"--direction and --path only apply to scp, rsync and sftp entries, not " +
                 std::string(to_string(e.type))};
  }
  if (e.path.empty()) return ok_status();
  if (has_control_bytes(e.path)) return Error{"the path pattern contains control characters"};
  if (e.path.front() != '/') return Error{"path pattern " + quoted(e.path) + " is not absolute: start it with '/'"};
  if (e.path.size() > kMaxPathPattern) {
    return Error{"the path pattern is longer than " + std::to_string(kMaxPathPattern) + " bytes"};
  }
  const std::string padded = "/" + e.path + "/";
  if (padded.find("/../") != std::string::npos) {
    return Error{"path pattern " + quoted(e.path) + " has a '..' segment: write the directory it means"};
  }
  return ok_status();
}

Status check_new_entry(const CatalogueEntry& e) {
  if (!valid_entry_name(e.name)) {
    return Error{"operation name " + quoted(e.name) + " is not valid: use letters, digits, '_', '-', '.' (at most 64)"};
  }
  const bool needs_pattern = e.type == OpType::Exec || e.type == OpType::Forward;
  if (needs_pattern && e.pattern.empty()) {
    return Error{std::string(to_string(e.type)) + " entries need --pattern (" +
                 (e.type == OpType::Exec ? "the allowed command line" : "the allowed host:port") + ")"};
  }
  if (!needs_pattern && !e.pattern.empty()) {
    return Error{"--pattern only applies to exec and forward entries, not " + std::string(to_string(e.type))};
  }
  if (has_control_bytes(e.pattern)) return Error{"the pattern contains control characters"};
  if (e.type == OpType::Forward && !valid_forward_pattern(e.pattern)) {
    return Error{"forward pattern " + quoted(e.pattern) + " is not host:port (port 1-65535)"};
  }
  return check_transfer_limits(e);
}

std::string catalogue_names(const std::vector<CatalogueEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  return names.empty() ? "empty; add entries with `catalogue add`" : join(names, ", ");
}

// normalised_ops drops duplicates, keeping the officer's order.
std::vector<std::string> normalised_ops(const std::vector<std::string>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) {
    if (std::find(out.begin(), out.end(), op) == out.end()) out.push_back(op);
  }
  return out;
}

}  // namespace

// ==================================================================== key line

Result<OperatorKey> parse_authorized_key(std::string_view line) {
  std::string_view rest = trim(line);
  if (rest.empty()) return Error{"the key is empty; expected \"ssh-ed25519 AAAA… comment\""};
  if (has_control_bytes(rest)) return Error{"the key line contains control characters (one key per line)"};
  if (rest.starts_with("-----BEGIN")) return Error{"this is a private key: give the public key (the .pub file)"};
  const std::string_view type = next_word(rest);
  if (std::find(kAcceptedKeyTypes.begin(), kAcceptedKeyTypes.end(), type) == kAcceptedKeyTypes.end()) {
    if (type.find('=') != std::string_view::npos) {
      return Error{"authorized_keys options (from=, command=, …) are not accepted; give just \"type base64 [comment]\""};
    }
    return Error{"unsupported key type " + quoted(type) + " (accepted: " + accepted_types() + ")"};
  }
  const std::string_view b64 = next_word(rest);
  if (b64.empty()) return Error{"the " + std::string(type) + " key has no key data after its type"};
  const auto blob = decode_base64(b64);
  if (!blob) return Error{"the key data of this " + std::string(type) + " key is not valid base64"};
  std::string_view inner_type;
  if (!Cursor(*blob).get_string(inner_type)) return Error{"the key data is truncated: it does not hold a key"};
  if (inner_type != type) {
    return Error{"the key data is a " + quoted(inner_type) + " key but the line says " + quoted(type)};
  }
  return OperatorKey{0, 0, std::string(type), std::string(b64), std::string(rest), sha256_fingerprint(*blob)};
}

// ==================================================================== SqliteStore

const Clock& SqliteStore::default_clock() {
  return process_clock();
}

SqliteStore::SqliteStore(db::DatabasePtr db, const Clock& clock) : db_(std::move(db)), clock_(clock) {}

StorePtr open_sqlite_store(db::DatabasePtr db) { return std::make_unique<SqliteStore>(std::move(db)); }

// ---------------------------------------------------------------- operators

Result<Operator> SqliteStore::add_operator(const NewOperator& op) {
  if (auto st = check_new_operator(op); !st) return st.error();
  db::Database::Transaction tx(*db_);
  if (find_operator(op.name)) return Error{"operator " + quoted(op.name) + " already exists"};
  if (op.role == Role::Client) ensure_client(*db_, op.client);
  auto ins = db_->prepare(
      "INSERT INTO operators(name, role, client, totp_secret, created_at) VALUES (?, ?, ?, ?, ?)");
  ins.bind(1, op.name).bind(2, to_string(op.role)).bind(4, op.totp_secret).bind(5, to_unix(clock_.now()));
  if (op.role == Role::Client) {
    ins.bind(3, op.client);
  } else {
    ins.bind(3, std::nullopt);
  }
  ins.step();
  auto added = find_operator(op.name);
  tx.commit();
  return *added;
}

std::optional<Operator> SqliteStore::find_operator(std::string_view name) {
  auto s = db_->prepare(std::string(kOperatorColumns) + " WHERE name = ?");
  s.bind(1, name);
  return read_one<Operator>(s, read_operator);
}

std::vector<Operator> SqliteStore::list_operators() {
  auto s = db_->prepare(std::string(kOperatorColumns) + " ORDER BY name");
  return read_all<Operator>(s, read_operator);
}

Status SqliteStore::set_operator_disabled(std::string_view name, bool disabled) {
  auto s = db_->prepare("UPDATE operators SET disabled = ? WHERE name = ?");
  s.bind(1, std::int64_t{disabled ? 1 : 0}).bind(2, name).step();
  if (db_->changes() != 1) return Error{"unknown operator " + quoted(name)};
  return ok_status();
}

Result<OperatorKey> SqliteStore::add_key(std::string_view operator_name, std::string_view authorized_key_line) {
  auto key = parse_authorized_key(authorized_key_line);
  if (!key) return key.error();
  db::Database::Transaction tx(*db_);
  auto who = find_operator(operator_name);
  if (!who) return Error{"unknown operator " + quoted(operator_name)};
  auto dup = db_->prepare(
      "SELECT o.name FROM operator_keys k JOIN operators o ON o.id = k.operator_id WHERE k.type = ? AND k.base64 = ?");
  dup.bind(1, key->type).bind(2, key->base64);
  if (dup.step()) {
    return Error{"key " + key->fingerprint + " is already registered to operator " + quoted(dup.col_text(0))};
  }
  key->id = db_->prepare("INSERT INTO operator_keys(operator_id, type, base64, comment, fingerprint) VALUES (?, ?, ?, ?, ?) RETURNING id")
      .bind(1, who->id)
      .bind(2, key->type)
      .bind(3, key->base64)
      .bind(4, key->comment)
      .bind(5, key->fingerprint)
      .returned_id();
  key->operator_id = who->id;
  tx.commit();
  return key;
}

std::vector<OperatorKey> SqliteStore::keys_of(std::int64_t operator_id) {
  auto s = db_->prepare(std::string(kKeyColumns) + " WHERE operator_id = ? ORDER BY id");
  s.bind(1, operator_id);
  return read_all<OperatorKey>(s, read_key);
}

bool SqliteStore::consume_totp_step(std::int64_t operator_id, std::int64_t step) {
  // One statement, so the compare and the write are atomic across processes: of two connections
  // racing with the same code, exactly one sees changes() == 1.
  db_->prepare("UPDATE operators SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?")
      .bind(1, step)
      .bind(2, operator_id)
      .bind(3, step)
      .step();
  return db_->changes() == 1;
}

// ---------------------------------------------------------------- servers and catalogues

Result<Server> SqliteStore::add_server(const Server& s) {
  if (auto st = check_new_server(s); !st) return st.error();
  db::Database::Transaction tx(*db_);
  if (find_server(s.name)) return Error{"server " + s.name + " already exists"};
  if (auto st = check_name_not_retired(*db_, s.name); !st) return st.error();
  ensure_client(*db_, s.client);
  const std::int64_t id =
      db_->prepare("INSERT INTO servers(name, host, port, client, kind, host_key, created_at, allowed_env, egress)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
      .bind(1, s.name)
      .bind(2, s.host)
      .bind(3, std::int64_t{s.port})
      .bind(4, s.client)
      .bind(5, to_string(s.kind))
      .bind(6, s.host_key)
      .bind(7, to_unix(clock_.now()))
      .bind(8, join(s.allowed_env, ","))
      .bind(9, to_string(s.egress))
      .returned_id();
  Server added = s;
  added.id = id;
  tx.commit();
  return added;
}

std::optional<Server> SqliteStore::find_server(std::string_view name) {
  auto s = db_->prepare(std::string(kServerColumns) + " WHERE name = ? AND " + std::string(kLiveServer));
  s.bind(1, name);
  return read_one<Server>(s, read_server);
}

std::vector<Server> SqliteStore::list_servers() {
  auto s = db_->prepare(std::string(kServerColumns) + " WHERE " + std::string(kLiveServer) + " ORDER BY name");
  return read_all<Server>(s, read_server);
}

Result<CatalogueEntry> SqliteStore::add_catalogue_entry(std::string_view server_name, const CatalogueEntry& e) {
  if (auto st = check_new_entry(e); !st) return st.error();
  db::Database::Transaction tx(*db_);
  auto server = find_server(server_name);
  if (!server) return Error{"unknown server " + quoted(server_name)};
  auto dup = db_->prepare("SELECT 1 FROM catalogue WHERE server_id = ? AND name = ?");
  dup.bind(1, server->id).bind(2, e.name);
  if (dup.step()) return Error{server->name + " already has a catalogue entry " + quoted(e.name)};
  const std::int64_t id =
      db_->prepare(
             "INSERT INTO catalogue(server_id, name, type, pattern, direction, path) VALUES (?, ?, ?, ?, ?, ?) "
             "RETURNING id")
      .bind(1, server->id)
      .bind(2, e.name)
      .bind(3, to_string(e.type))
      .bind(4, e.pattern)
      .bind(5, to_string(e.direction))
      .bind(6, e.path)
      .returned_id();
  CatalogueEntry added = e;
  added.id = id;
  added.server_id = server->id;
  tx.commit();
  return added;
}

std::vector<CatalogueEntry> SqliteStore::catalogue_of(std::int64_t server_id) {
  auto s = db_->prepare(std::string(kEntryColumns) + " WHERE server_id = ? ORDER BY name");
  s.bind(1, server_id);
  return read_all<CatalogueEntry>(s, read_entry);
}

// ---------------------------------------------------------------- grants

Status SqliteStore::check_grant(const NewGrant& g, const Operator* who, const Server* server) {
  if (who == nullptr) return Error{"unknown operator " + quoted(g.operator_name)};
  if (g.granted_by == who->name) {
    return Error{"you cannot grant access to yourself: another officer must grant it to " + quoted(who->name)};
  }
  if (who->disabled) return Error{"operator " + quoted(who->name) + " is disabled: run `operator enable " + who->name + "` first"};
  if (who->role != Role::Operator) {
    return Error{quoted(who->name) + " is an account of role " + to_string(who->role) +
                 ": only role operator can be granted access"};
  }
  if (server == nullptr) return Error{"unknown server " + quoted(g.server_name)};
  if (server->kind == ServerKind::Shared) {
    return Error{"server " + server->name + " is registered as shared: shared servers can never be granted"};
  }
  if (g.login.empty()) return Error{"the grant needs a login (the account on " + server->name + ")"};
  if (g.reason.empty()) return Error{"the grant needs a reason (it is kept as evidence)"};
  const auto catalogue = catalogue_of(server->id);
  if (g.ops.empty()) {
    return Error{"the grant names no operation (catalogue of " + server->name + ": " + catalogue_names(catalogue) + ")"};
  }
  for (const auto& op : g.ops) {
    const bool known = std::any_of(catalogue.begin(), catalogue.end(), [&](const auto& e) { return e.name == op; });
    if (!known) {
      return Error{"operation " + quoted(op) + " is not in the catalogue of " + server->name + " (catalogue: " +
                   catalogue_names(catalogue) + ")"};
    }
  }
  if (g.not_after <= g.not_before) {
    return Error{"grant window is empty: --until (" + format_utc(g.not_after) + ") is not after --from (" +
                 format_utc(g.not_before) + ")"};
  }
  if (const auto max = max_grant_duration(); g.not_after - g.not_before > max) {
    return Error{"grant window of " + format_span(g.not_after - g.not_before) + " is longer than the maximum of " +
                 format_span(max) + "; grant less and renew it when needed"};
  }
  if (g.not_after <= clock_.now()) {
    return Error{"grant window ends at " + format_utc(g.not_after) + ", which is already past"};
  }
  return ok_status();
}

Result<Grant> SqliteStore::add_grant(const NewGrant& g) {
  NewGrant grant = g;
  grant.ops = normalised_ops(g.ops);
  db::Database::Transaction tx(*db_);
  const auto who = find_operator(grant.operator_name);
  const auto server = find_server(grant.server_name);
  if (auto st = check_grant(grant, who ? &*who : nullptr, server ? &*server : nullptr); !st) return st.error();
  const std::int64_t id = db_->prepare(
         "INSERT INTO grants(operator_id, server_id, login, ops, not_before, not_after, reason, granted_by,"
         " created_at, emergency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
      .bind(1, who->id)
      .bind(2, server->id)
      .bind(3, grant.login)
      .bind(4, join(grant.ops, ","))
      .bind(5, to_unix(grant.not_before))
      .bind(6, to_unix(grant.not_after))
      .bind(7, grant.reason)
      .bind(8, grant.granted_by)
      .bind(9, to_unix(clock_.now()))
      .bind(10, std::int64_t{grant.emergency ? 1 : 0})
      .returned_id();
  auto added = find_grant(id);
  tx.commit();
  return *added;
}

Status SqliteStore::revoke_grant(std::int64_t id, Seconds at) {
  db::Database::Transaction tx(*db_);
  const auto g = find_grant(id);
  if (!g) return Error{"no grant with id " + std::to_string(id)};
  if (g->revoked_at) return Error{"grant " + std::to_string(id) + " was already revoked at " + format_utc(*g->revoked_at)};
  db_->prepare("UPDATE grants SET revoked_at = ? WHERE id = ?").bind(1, to_unix(at)).bind(2, id).step();
  tx.commit();
  return ok_status();
}

std::optional<Grant> SqliteStore::find_grant(std::int64_t id) {
  auto s = db_->prepare(std::string(kGrantColumns) + " WHERE g.id = ?");
  s.bind(1, id);
  return read_one<Grant>(s, read_grant);
}

std::vector<Grant> SqliteStore::list_grants() {
  auto s = db_->prepare(std::string(kGrantColumns) + " ORDER BY g.id");
  return read_all<Grant>(s, read_grant);
}

std::vector<Grant> SqliteStore::grants_for(std::int64_t operator_id, std::int64_t server_id, std::string_view login) {
  auto s = db_->prepare(std::string(kGrantColumns) +
                        " WHERE g.operator_id = ? AND g.server_id = ? AND g.login = ? ORDER BY g.id");
  s.bind(1, operator_id).bind(2, server_id).bind(3, login);
  return read_all<Grant>(s, read_grant);
}

std::vector<Grant> SqliteStore::grants_of(std::int64_t operator_id) {
  auto s = db_->prepare(std::string(kGrantColumns) + " WHERE g.operator_id = ? ORDER BY g.id");
  s.bind(1, operator_id);
  return read_all<Grant>(s, read_grant);
}

std::vector<Grant> SqliteStore::grants_of_client(std::string_view client) {
  auto s = db_->prepare(std::string(kGrantColumns) + " WHERE s.client = ? ORDER BY g.id");
  s.bind(1, client);
  return read_all<Grant>(s, read_grant);
}

}  // namespace bastion::authz
