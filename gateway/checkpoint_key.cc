#include "gateway/checkpoint_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bastion::gateway {
Result<bool> ensure_checkpoint_key(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return false;
  const Ed25519Key key = generate_ed25519(kCheckpointKeyComment);
  std::string text = openssh_private_key(key);
  // The public half first: a private key without its .pub would be one nobody can verify with.
  ::unlink((path + ".pub").c_str());
  if (auto pub = write_key_file(path + ".pub", public_line(key.public_key, kCheckpointKeyComment) + "\n", 0644, false); !pub)
    return pub.error();
  auto st_priv = write_key_file(path, text, 0600, false);
  sodium_memzero(text.data(), text.size());
  if (!st_priv) return st_priv.error();
  return true;
}

Result<Ed25519Key> load_checkpoint_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Error{"the audit checkpoint key " + path +
                 " does not exist; create it with `bastionctl --db DB audit checkpoint-key` and copy its .pub off "
                 "this host (it is what verifies the checkpoints)"};
  if ((st.st_mode & 077) != 0)
    return Error{"the audit checkpoint key " + path + " is accessible by group or others; run chmod 600 " + path};
  auto text = read_key_file(path);
  if (!text) return text.error();
  auto key = parse_openssh_private_key(*text);
  sodium_memzero(text->data(), text->size());
  if (!key) return Error{"the audit checkpoint key " + path + " cannot be used: " + key.error().message};
  return key;
}

std::string node_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

audit::CheckpointSigner checkpoint_signer(const Ed25519Key& key) {
  return {blob_fingerprint(public_blob(key.public_key)), [&key](std::string_view bytes) {
            std::string sig(crypto_sign_BYTES, '\0');
            crypto_sign_ed25519_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                                         reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                                         key.secret_key.data());
            return sig;
          }};
}

Result<PublicKey> parse_ed25519_public_line(const std::string& line) {
  std::istringstream words(line);
  std::string type, b64;
  words >> type >> b64;
  if (type != "ssh-ed25519") return Error{"not an ssh-ed25519 public key line (\"ssh-ed25519 AAAA… [comment]\")"};
  auto blob = unbase64(b64);
  if (!blob) return Error{"the ssh-ed25519 public key is not valid base64"};
  PublicKey k;
  // The blob is string "ssh-ed25519", string key(32): 4 + 11 + 4 + 32 bytes; the key is its tail,
  // accepted only if the whole blob is exactly what that key's blob is.
  if (blob->size() != 51) return Error{"the ssh-ed25519 public key has the wrong length"};
  std::memcpy(k.key.data(), blob->data() + 19, k.key.size());
  if (public_blob(k.key) != *blob) return Error{"the ssh-ed25519 public key is malformed"};
  k.fingerprint = blob_fingerprint(*blob);
  return k;
}

Result<PublicKey> read_ed25519_public_file(const std::string& path) {
  auto text = read_key_file(path);
  if (!text) return text.error();
  auto key = parse_ed25519_public_line(text->substr(0, text->find('\n')));
  if (!key) return Error{path + ": " + key.error().message};
  return key;
}

}  // namespace bastion::gateway
