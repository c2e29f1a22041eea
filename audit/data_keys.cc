#include "audit/data_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "audit/fd_io.h"
#include "audit/recording_reader.h"
#include "audit/sql_data_key_store.h"
#include "audit/unique_fd.h"
#include "authz/text.h"

namespace bastion::audit {
namespace {

// The master key file: one line, this prefix then the key in hex.
constexpr std::string_view kMasterPrefix = "bastion-data-master-key-v1 ";
constexpr std::size_t kWrapNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

std::string to_hex(std::string_view bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  hex.pop_back();
  return hex;
}

// from_hex decodes exactly the whole of `hex`; nullopt if it is not hex.
std::optional<std::string> from_hex(std::string_view hex) {
  std::string bytes(hex.size() / 2, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (hex.size() % 2 != 0 ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), hex.data(), hex.size(), nullptr,
                     &length, &end) != 0 ||
      length != bytes.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return bytes;
}

// wrap_context: what a wrapped key is bound to, so that a wrapped key copied into another row (of
// another client) does not open there.
std::string wrap_context(const std::string& key_id, const std::string& client) {
  return "bastion client data key v1\n" + key_id + "\n" + client;
}

std::string wrap(const SecretKey& master, const SecretKey& key, const std::string& key_id, const std::string& client) {
  const std::string ad = wrap_context(key_id, client);
  std::string out(kWrapNonce + SecretKey::kBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kWrapNonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kWrapNonce, nullptr, key.data(), SecretKey::kBytes,
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
                                             nonce, master.data());
  return to_hex(out);
}

Result<SecretKey> unwrap(const SecretKey& master, const std::string& wrapped_hex, const std::string& key_id,
                         const std::string& client) {
  const auto wrapped = from_hex(wrapped_hex);
  if (!wrapped || wrapped->size() != kWrapNonce + SecretKey::kBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES)
    return Error{"the data key " + key_id + " of client " + client + " is malformed in the database"};
  const std::string ad = wrap_context(key_id, client);
  const auto* nonce = reinterpret_cast<const unsigned char*>(wrapped->data());
  SecretKey key;
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(key.data(), &length, nullptr, nonce + kWrapNonce,
                                                 wrapped->size() - kWrapNonce,
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce,
                                                 master.data()) != 0 ||
      length != SecretKey::kBytes) {
    return Error{"the data key " + key_id + " of client " + client +
                 " does not open under this master key (another bastion's master key, or the row was altered)"};
  }
  return key;
}

std::string new_key_id() {
  std::string raw(8, '\0');
  randombytes_buf(raw.data(), raw.size());
  return "dk-" + to_hex(raw);
}

}  // namespace

// ---- The master key file -------------------------------------------------------------------------

Result<bool> ensure_master_key(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return false;
  if (::sodium_init() < 0) return Error{"libsodium cannot start (no random source)"};
  const SecretKey key = SecretKey::random();
  std::string text = std::string(kMasterPrefix) + to_hex(key.view()) + "\n";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    sodium_memzero(text.data(), text.size());
    return Error{errno_text("cannot create the master key " + path)};
  }
  const bool written = write_all(fd.get(), text) && ::fsync(fd.get()) == 0;
  sodium_memzero(text.data(), text.size());
  if (!written || fd.close() != 0) return Error{errno_text("cannot write the master key " + path)};
  return true;
}

Status check_master_key_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Error{"the master key " + path + " does not exist; `bastionctl --db DB init` makes it (see README, Keys)"};
  if (!S_ISREG(st.st_mode)) return Error{"the master key " + path + " is not a regular file"};
  if ((st.st_mode & 077) != 0)
    return Error{"the master key " + path + " is accessible by group or others; run chmod 600 " + path};
  return ok_status();
}

Result<SecretKey> load_master_key(const std::string& path) {
  if (auto st = check_master_key_file(path); !st) return st.error();
  auto text = read_file(path);
  if (!text) return Error{"the master key cannot be read: " + text.error().message};
  std::string_view line(*text);
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::optional<std::string> raw;
  if (line.substr(0, kMasterPrefix.size()) == kMasterPrefix) raw = from_hex(line.substr(kMasterPrefix.size()));
  sodium_memzero(text->data(), text->size());
  if (!raw || raw->size() != SecretKey::kBytes) return Error{"the master key " + path + " is malformed"};
  auto key = SecretKey::from_bytes(*raw);
  sodium_memzero(raw->data(), raw->size());
  return key;
}

// ---- Client data keys ----------------------------------------------------------------------------

std::vector<ClientKeyInfo> list_client_keys(db::Database& db) { return SqlDataKeyStore(db).list(); }

std::optional<ClientKeyInfo> find_client_key(db::Database& db, const std::string& client) {
  return SqlDataKeyStore(db).find_by_client(client);
}

std::optional<ClientKeyInfo> find_key_by_id(db::Database& db, const std::string& key_id) {
  return SqlDataKeyStore(db).find_by_id(key_id);
}

std::string destroyed_text(const ClientKeyInfo& k) {
  return "the data of client " + k.client + " was destroyed on " +
         (k.destroyed_at ? iso8601_utc(*k.destroyed_at) : std::string("?")) + " by " +
         (k.destroyed_by.empty() ? std::string("?") : k.destroyed_by) + " (its key " + k.key_id +
         " no longer exists: this recording cannot be decrypted by anyone)";
}

Result<ClientKeyInfo> ensure_client_key(db::Database& db, const SecretKey& master, const std::string& client,
                                        Seconds now) {
  if (client.empty()) return Error{"a recording needs its server's client, and this server names none"};
  db::Database::Transaction tx(db);
  if (auto existing = find_client_key(db, client)) {
    if (existing->destroyed()) return Error{destroyed_text(*existing) + "; nothing more of it is recorded"};
    return *existing;
  }
  const SecretKey key = SecretKey::random();
  ClientKeyInfo k{new_key_id(), client, now, std::nullopt, ""};
  SqlDataKeyStore(db).add(k, wrap(master, key, k.key_id, client));
  tx.commit();
  return k;
}

Result<SecretKey> unwrap_client_key(db::Database& db, const SecretKey& master, const std::string& key_id) {
  auto row = SqlDataKeyStore(db).wrapped(key_id);
  if (!row) return Error{"no data key " + key_id + " in this bastion's database (another bastion's recording?)"};
  const ClientKeyInfo& k = row->info;
  if (k.destroyed()) return Error{destroyed_text(k)};
  return unwrap(master, row->wrapped, k.key_id, k.client);
}

Result<SealingKey> sealing_key_for(db::Database& db, const SecretKey& master, const std::string& client, Seconds now) {
  auto info = ensure_client_key(db, master, client, now);
  if (!info) return info.error();
  auto key = unwrap_client_key(db, master, info->key_id);
  if (!key) return key.error();
  SealingKey s{SecretKey{}, info->key_id, random_salt()};
  s.stream_key = derive_stream_key(*key, s.salt);
  return s;
}

Result<ClientKeyInfo> destroy_client_key(db::Database& db, const std::string& client, Seconds now,
                                         const std::string& by) {
  SqlDataKeyStore store(db);
  auto existing = store.find_by_client(client);
  if (!existing) return Error{"client '" + client + "' has no data key (nothing of it was ever recorded encrypted)"};
  if (existing->destroyed()) return Error{destroyed_text(*existing)};
  store.erase_wrapped(existing->key_id, now, by);
  existing->destroyed_at = now;
  existing->destroyed_by = by;
  return *existing;
}

bool scrub_after_destroy(db::Database& db) {
  // The key is already destroyed and recorded: a copy that cannot be dropped now is reported.
  return SqlDataKeyStore(db).scrub();
}

KeyLookup key_lookup(db::Database& db, const SecretKey& master) {
  return [&db, &master](const std::string& key_id) { return unwrap_client_key(db, master, key_id); };
}

// ---- Reading a recording -------------------------------------------------------------------------

Result<RecordingText> read_recording(const std::string& path, const KeyLookup& lookup) {
  auto reader = RecordingReader::open(path, lookup);
  if (!reader) return reader.error();
  RecordingText out;
  out.sealed = reader->sealed();
  for (;;) {
    auto piece = reader->next();
    if (!piece) {
      sodium_memzero(out.bytes.data(), out.bytes.size());
      return piece.error();
    }
    if (piece->empty()) break;
    out.bytes.append(*piece);
  }
  if (!reader->cut().empty()) {
    out.state = SealedState::CutShort;
    out.detail = reader->cut();
  }
  return out;
}

}  // namespace bastion::audit
