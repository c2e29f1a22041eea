#pragma once
// The audit checkpoint key: the ed25519 key with which the bastion signs its checkpoints of the
// audit chain (audit/checkpoint.h). Its public half is what a verifier off the host trusts, so it
// must be copied off the host once, by a person, when the key is made: a verifier that takes the
// public key from the host it checks proves nothing.
//
// File, beside the database unless configured otherwise: audit_checkpoint_ed25519_key (OpenSSH
// format, mode 0600), ".pub" beside it (0644). Read only by the privileged side — a child of
// bastiond's listener forked for each checkpoint (and one at start that checks it), the monitor
// when an officer runs `audit checkpoint` over SSH, and bastionctl — never by a network process:
// the listener itself never reads it, so no process forked for a connection inherits it.
#include <array>
#include <string>

#include "audit/checkpoint.h"
#include "authz/result.h"
#include "gateway/openssh_key.h"

namespace bastion::gateway {

inline constexpr const char* kCheckpointKeyComment = "bastion-audit-checkpoint";

// ensure_checkpoint_key creates the key at `path` unless a file is there (0600 from creation, the
// .pub 0644). Returns whether it created one.
Result<bool> ensure_checkpoint_key(const std::string& path);

// load_checkpoint_key reads the private key, refusing a missing file (with the command that makes
// one) and a file group or others can access.
Result<Ed25519Key> load_checkpoint_key(const std::string& path);

// node_name: this host's name, as checkpoints state it.
std::string node_name();

// checkpoint_signer: signs with `key`, which must outlive the signer.
audit::CheckpointSigner checkpoint_signer(const Ed25519Key& key);

// PublicKey: an ed25519 public key read from a line "ssh-ed25519 AAAA… [comment]".
struct PublicKey {
  std::array<unsigned char, 32> key{};
  std::string fingerprint;  // "SHA256:…"
};
// parse_ed25519_public_line reads such a line; anything but one ed25519 key is refused.
Result<PublicKey> parse_ed25519_public_line(const std::string& line);
// read_ed25519_public_file reads the first line of a .pub file.
Result<PublicKey> read_ed25519_public_file(const std::string& path);

}  // namespace bastion::gateway
