#pragma once
// OpenSSH's own key formats for ed25519, read and written by the bastion itself: the private key
// file ("-----BEGIN OPENSSH PRIVATE KEY-----", PROTOCOL.key, unencrypted), the public key blob
// (RFC 8709) and line, and the SHA-256 fingerprint as OpenSSH prints it.
//
// Why not libssh: the monitor signs with the egress CA key and with the egress key itself (agent
// requests, gateway/egress_agent.h), and libssh 0.10 has no public call that signs arbitrary
// bytes. The private key's bytes are read here, signed with by libsodium, and wiped afterwards.
// The file is local and written by `bastionctl init`, but it is still read only through the
// bounds-checked audit::ByteCursor (fuzz target tests/fuzz/openssh_key_fuzz.cc).
#include <array>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::gateway {

// Ed25519Key: one key pair. `secret_key` is libsodium's form (seed || public key). Wiped when
// destroyed; copying is refused so that no stray copy outlives it.
struct Ed25519Key {
  std::array<unsigned char, 32> public_key{};
  std::array<unsigned char, 64> secret_key{};
  std::string comment;

  Ed25519Key() = default;
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;
  Ed25519Key(Ed25519Key&& other) noexcept;
  Ed25519Key& operator=(Ed25519Key&& other) noexcept;
};

// generate_ed25519 makes a fresh key pair from the system's random source.
Ed25519Key generate_ed25519(std::string comment);

// parse_openssh_private_key reads an unencrypted ed25519 key in OpenSSH's format (what ssh-keygen
// and `bastionctl init` write). Refuses, with a sentence, an encrypted key, another key type, more
// than one key, a key whose public and private halves disagree, and any malformed byte.
Result<Ed25519Key> parse_openssh_private_key(std::string_view file_text);

// openssh_private_key writes `key` in OpenSSH's format, armoured, as ssh-keygen would (the check
// integers are random; no passphrase).
std::string openssh_private_key(const Ed25519Key& key);

// public_blob: string "ssh-ed25519", string public key — the wire form of the public key.
std::string public_blob(const std::array<unsigned char, 32>& public_key);
// public_line: "ssh-ed25519 AAAA… comment" (no comment part when `comment` is empty).
std::string public_line(const std::array<unsigned char, 32>& public_key, std::string_view comment = "");
// blob_fingerprint: "SHA256:…" of a public key or certificate blob, as OpenSSH prints it.
std::string blob_fingerprint(std::string_view blob);

// read_key_file: the whole text of a key file (the caller wipes it once parsed).
Result<std::string> read_key_file(const std::string& path);

// write_key_file writes `text` to `path` with mode `mode`, synced. With `replace`, through a
// temporary file renamed over `path` (a crash leaves the old file or the new, never half);
// without, `path` must not exist (O_EXCL, no symlink followed): an existing key is never replaced.
Status write_key_file(const std::string& path, const std::string& text, unsigned mode, bool replace);

// sign_ed25519: the SSH signature blob (string "ssh-ed25519", string 64-byte signature) of `data`.
std::string sign_ed25519(const Ed25519Key& key, std::string_view data);

// base64 (standard alphabet, padded) and its inverse; unbase64 refuses anything but that.
std::string base64(std::string_view bytes);
Result<std::string> unbase64(std::string_view text);

// ssh_wire: appends SSH wire types (RFC 4251 §5) to `out`.
namespace ssh_wire {
void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
void put_string(std::string& out, std::string_view s);
}  // namespace ssh_wire

}  // namespace bastion::gateway
