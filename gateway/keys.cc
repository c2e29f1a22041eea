#include "gateway/keys.h"

#include "audit/byte_cursor.h"
#include "authz/db.h"
#include "gateway/openssh_key.h"

#include <sys/stat.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bastion::gateway {
namespace fs = std::filesystem;

KeyPaths default_key_paths(const std::string& db_location, const std::string& key_dir) {
  const auto file = db::Database::file_of(db_location);
  fs::path dir = !key_dir.empty() ? fs::path(key_dir) : file ? fs::path(*file).parent_path() : fs::path(kPostgresKeyDir);
  if (dir.empty()) dir = ".";
  return {(dir / "host_ed25519_key").string(), (dir / "egress_ed25519_key").string(),
          (dir / "egress_ca_ed25519_key").string(), (dir / "audit_checkpoint_ed25519_key").string(),
          (dir / "data_master_key").string()};
}

Result<std::string> public_key_line(ssh_key key) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) return Error{"cannot export public key"};
  SshCharPtr owned(b64);
  return std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + b64;
}

std::string fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != 0) return "(unknown)";
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  if (fp == nullptr) return "(unknown)";
  SshCharPtr owned(fp);
  return fp;
}

Status ensure_key(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return ok_status();
  ssh_key raw = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK) return Error{"cannot generate an ed25519 key"};
  KeyPtr key(raw);
  // The umask makes the file 0600 from its creation: never a moment where it is readable.
  mode_t old = umask(077);
  int rc = ssh_pki_export_privkey_file(key.get(), nullptr, nullptr, nullptr, path.c_str());
  umask(old);
  if (rc != SSH_OK) return Error{"cannot write private key " + path};
  chmod(path.c_str(), 0600);
  auto line = public_key_line(key.get());
  if (!line) return line.error();
  std::ofstream pub(path + ".pub", std::ios::trunc);
  pub << *line << " bastion\n";
  if (!pub.flush()) return Error{"cannot write public key " + path + ".pub"};
  return ok_status();
}

Result<KeyPtr> import_private_key(std::string& text) {
  ssh_key raw = nullptr;
  const int rc = ssh_pki_import_privkey_base64(text.c_str(), nullptr, nullptr, nullptr, &raw);
  ::explicit_bzero(text.data(), text.size());
  text.clear();
  if (rc != SSH_OK) return Error{"the bastion's egress key cannot be read"};
  return KeyPtr(raw);
}

Status attach_certificate(ssh_key key, const std::string& certificate_line) {
  std::istringstream in(certificate_line);
  std::string type, b64;
  in >> type >> b64;
  const enum ssh_keytypes_e kt = ssh_key_type_from_name(type.c_str());
  if (kt != SSH_KEYTYPE_ED25519_CERT01 || b64.empty()) return Error{"the monitor's certificate is not an ed25519 certificate"};
  // libssh attaches any certificate to any key: check that it certifies this one (its third field,
  // PROTOCOL.certkeys, is the certified public key) against the key's own public blob.
  auto blob = unbase64(b64);
  if (!blob) return Error{"the monitor's certificate does not decode"};
  audit::ByteCursor cert_in(*blob);
  std::string_view cert_type, nonce, certified;
  char* own_b64 = nullptr;
  if (!cert_in.get_string(cert_type) || !cert_in.get_string(nonce) || !cert_in.get_string(certified) ||
      ssh_pki_export_pubkey_base64(key, &own_b64) != SSH_OK)
    return Error{"the monitor's certificate does not decode"};
  SshCharPtr owned(own_b64);
  auto own_blob = unbase64(own_b64);
  if (!own_blob) return Error{"the key the monitor's certificate came with does not export"};
  audit::ByteCursor own_in(*own_blob);
  std::string_view own_type, own_key;
  if (!own_in.get_string(own_type) || !own_in.get_string(own_key) || own_key != certified)
    return Error{"the monitor's certificate is not for the key it came with"};
  ssh_key raw = nullptr;
  if (ssh_pki_import_cert_base64(b64.c_str(), kt, &raw) != SSH_OK) return Error{"the monitor's certificate does not decode"};
  KeyPtr cert(raw);
  if (ssh_pki_copy_cert_to_privkey(cert.get(), key) != SSH_OK)
    return Error{"the monitor's certificate cannot be attached to its key"};
  return ok_status();
}

Result<KeyPtr> load_private_key(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Error{"private key " + path + " does not exist; run `bastionctl init`"};
  if ((st.st_mode & 077) != 0) {
    std::ostringstream msg;
    msg << "private key " << path << " is accessible by group or others (mode " << std::oct << (st.st_mode & 0777)
        << "); run chmod 600 " << path;
    return Error{msg.str()};
  }
  ssh_key raw = nullptr;
  if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
    return Error{"cannot read private key " + path};
  return KeyPtr(raw);
}

Result<KeyPtr> parse_public_key_line(const std::string& line) {
  std::istringstream in(line);
  std::string type, b64;
  in >> type >> b64;
  if (type.empty() || b64.empty()) return Error{"public key must be 'TYPE BASE64 [comment]'"};
  enum ssh_keytypes_e kt = ssh_key_type_from_name(type.c_str());
  if (kt == SSH_KEYTYPE_UNKNOWN) return Error{"unknown key type '" + type + "'"};
  ssh_key raw = nullptr;
  if (ssh_pki_import_pubkey_base64(b64.c_str(), kt, &raw) != SSH_OK)
    return Error{"public key of type " + type + " does not decode"};
  return KeyPtr(raw);
}

}  // namespace bastion::gateway
