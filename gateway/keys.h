#pragma once
// The bastion's own keys: its SSH host key (what operators see) and its egress key (what it uses
// to log in to servers). Both ed25519, created by `bastionctl init` beside the database, mode 0600.
#include <string>

#include "authz/result.h"
#include "gateway/ssh_ptr.h"

namespace bastion::gateway {

struct KeyPaths {
  std::string host_key;    // private key; ".pub" beside it
  std::string egress_key;  // private key; ".pub" beside it
  std::string egress_ca;   // the egress certificate authority (gateway/egress_ca.h)
  std::string checkpoint_key;  // signs the audit checkpoints (gateway/checkpoint_key.h)
  std::string master_key;      // wraps each client's data key (audit/data_keys.h)
};

// default_key_paths: "<dir of db>/host_ed25519_key", "<dir of db>/egress_ed25519_key",
// "<dir of db>/egress_ca_ed25519_key", "<dir of db>/audit_checkpoint_ed25519_key" and
// "<dir of db>/data_master_key". A PostgreSQL database (a postgresql:// location) has no directory:
// its keys are in kPostgresKeyDir. A key_dir given (--key-dir) is used instead of either.
inline constexpr const char* kPostgresKeyDir = "/etc/bastion";
KeyPaths default_key_paths(const std::string& db_location, const std::string& key_dir = "");

// ensure_key creates an ed25519 key pair at path (0600, .pub 0644) unless one exists.
Status ensure_key(const std::string& path);

// load_private_key refuses a key file that is group- or world-accessible, as sshd does.
Result<KeyPtr> load_private_key(const std::string& path);

// import_private_key reads a private key from memory (OpenSSH format), as the monitor hands it to
// the network process; `text` is wiped afterwards.
Result<KeyPtr> import_private_key(std::string& text);

// attach_certificate imports a certificate line ("ssh-ed25519-cert-v01@openssh.com AAAA… [comment]")
// and attaches it to `key`, its private half, for a certificate login.
Status attach_certificate(ssh_key key, const std::string& certificate_line);

// public_key_line: "ssh-ed25519 AAAA…" of a key.
Result<std::string> public_key_line(ssh_key key);

// fingerprint: "SHA256:…" as OpenSSH prints it.
std::string fingerprint(ssh_key key);

// parse_public_key_line parses "type base64 [comment]".
Result<KeyPtr> parse_public_key_line(const std::string& line);

}  // namespace bastion::gateway
