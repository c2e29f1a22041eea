#include "gateway/egress_ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "authz/text.h"

namespace bastion::gateway {
namespace {

constexpr std::string_view kComment = "bastion-egress-ca";

std::string retired_path(const std::string& path) { return path + ".retired"; }

Status write_ca(const std::string& path, const Ed25519Key& key) {
  std::string text = openssh_private_key(key);
  auto st = write_key_file(path, text, 0600, true);
  std::fill(text.begin(), text.end(), '\0');
  if (!st) return st;
  return write_key_file(path + ".pub", public_line(key.public_key, kComment) + "\n", 0644, true);
}

CaPublicKey describe(const std::array<unsigned char, 32>& pk, bool current, std::string retired_at = "") {
  return {public_line(pk, kComment), blob_fingerprint(public_blob(pk)), current, std::move(retired_at)};
}

// Retired: one line "ssh-ed25519 BASE64 retired=ISO8601".
Result<std::vector<CaPublicKey>> read_retired(const std::string& path) {
  std::vector<CaPublicKey> keys;
  struct stat st {};
  if (::stat(retired_path(path).c_str(), &st) != 0) return keys;
  auto text = read_key_file(retired_path(path));
  if (!text) return text.error();
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string type, b64, note;
    words >> type >> b64 >> note;
    auto blob = unbase64(b64);
    if (type != "ssh-ed25519" || !blob || note.rfind("retired=", 0) != 0)
      return Error{retired_path(path) + " has a line that is not \"ssh-ed25519 BASE64 retired=TIME\": repair or remove it"};
    keys.push_back({type + " " + b64 + " " + std::string(kComment), blob_fingerprint(*blob), false, note.substr(8)});
  }
  return keys;
}

Status write_retired(const std::string& path, const std::vector<CaPublicKey>& keys) {
  std::string text;
  for (const auto& k : keys) {
    std::istringstream words(k.line);
    std::string type, b64;
    words >> type >> b64;
    text += type + " " + b64 + " retired=" + k.retired_at + "\n";
  }
  return write_key_file(retired_path(path), text, 0644, true);
}

}  // namespace

Status ensure_egress_ca(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return ok_status();
  return write_ca(path, generate_ed25519(std::string(kComment)));
}

Result<Ed25519Key> load_egress_ca(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Error{"the egress CA key " + path + " does not exist; run `bastionctl init` (it adds what is missing)"};
  if ((st.st_mode & 077) != 0)
    return Error{"the egress CA key " + path + " is accessible by group or others; run chmod 600 " + path};
  auto text = read_key_file(path);
  if (!text) return text.error();
  auto key = parse_openssh_private_key(*text);
  std::fill(text->begin(), text->end(), '\0');
  if (!key) return Error{"the egress CA key " + path + " cannot be used: " + key.error().message};
  return key;
}

Result<std::vector<CaPublicKey>> egress_ca_keys(const std::string& path) {
  auto ca = load_egress_ca(path);
  if (!ca) return ca.error();
  auto retired = read_retired(path);
  if (!retired) return retired.error();
  std::vector<CaPublicKey> keys{describe(ca->public_key, true)};
  keys.insert(keys.end(), retired->begin(), retired->end());
  return keys;
}

CaPublicKey describe_ca(const Ed25519Key& key, bool current) { return describe(key.public_key, current); }

Result<CaPublicKey> rotate_egress_ca(const std::string& path, const Ed25519Key& fresh, Seconds now) {
  auto old = load_egress_ca(path);
  if (!old) return old.error();
  auto retired = read_retired(path);
  if (!retired) return retired.error();
  retired->push_back(describe(old->public_key, false, iso8601_utc(now)));
  // The retired list first: if the rotation stops half-way, servers are told to trust both.
  if (auto st = write_retired(path, *retired); !st) return st.error();
  if (auto st = write_ca(path, fresh); !st) return st.error();
  return describe(fresh.public_key, true);
}

Result<CaPublicKey> remove_retired_ca(const std::string& path, const std::string& fingerprint) {
  auto keys = egress_ca_keys(path);
  if (!keys) return keys.error();
  if (keys->front().fingerprint == fingerprint)
    return Error{fingerprint + " is the current egress CA: rotate first (`bastionctl egress-ca rotate`)"};
  std::vector<CaPublicKey> kept;
  std::optional<CaPublicKey> removed;
  for (std::size_t i = 1; i < keys->size(); ++i) {
    if ((*keys)[i].fingerprint == fingerprint) removed = (*keys)[i];
    else kept.push_back((*keys)[i]);
  }
  if (!removed) return Error{"no retired egress CA has fingerprint " + fingerprint + " (see `bastionctl egress-ca`)"};
  if (auto st = write_retired(path, kept); !st) return st.error();
  return *removed;
}

std::string trusted_ca_file(const std::vector<CaPublicKey>& keys) {
  std::string text;
  for (const auto& k : keys) text += k.line + "\n";
  return text;
}

}  // namespace bastion::gateway
