#pragma once
// The egress certificate authority: the ed25519 key with which the bastion signs a short-lived
// certificate for each of its upstream logins (gateway/ssh_certificate.h), so that no standing
// private key opens client servers and each server's log names the person.
//
// Files, beside the database unless configured otherwise (mode 0600, read only by the privileged
// side — the listener's monitors and bastionctl — never by a network process):
//   egress_ca_ed25519_key          the current CA (OpenSSH format), ".pub" beside it
//   egress_ca_ed25519_key.retired  public keys of earlier CAs, one line each with when they were
//                                  retired: servers keep trusting them during a transition, until
//                                  an officer removes them. Their private halves are destroyed at
//                                  rotation: nothing is ever signed with a retired CA.
#include <string>
#include <vector>

#include "authz/clock.h"
#include "authz/result.h"
#include "gateway/openssh_key.h"

namespace bastion::gateway {

struct CaPublicKey {
  std::string line;         // "ssh-ed25519 AAAA… bastion-egress-ca"
  std::string fingerprint;  // "SHA256:…"
  bool current = false;
  std::string retired_at;   // "2026-12-06T02:30:00Z" for a retired one
};

// ensure_egress_ca creates the CA key at `path` unless it exists (0600 from creation, .pub 0644).
Status ensure_egress_ca(const std::string& path);

// load_egress_ca reads the current CA, refusing a file group or others can read (as sshd does).
Result<Ed25519Key> load_egress_ca(const std::string& path);

// egress_ca_keys: the current CA first, then the retired ones still trusted, oldest first.
Result<std::vector<CaPublicKey>> egress_ca_keys(const std::string& path);

// rotate_egress_ca makes `fresh` the current CA; the old one's public key joins the retired list
// (with `now`) and its private key is destroyed. Returns the new current key.
Result<CaPublicKey> rotate_egress_ca(const std::string& path, const Ed25519Key& fresh, Seconds now);

// describe_ca: the public description of a CA key.
CaPublicKey describe_ca(const Ed25519Key& key, bool current);

// remove_retired_ca drops a retired CA (by fingerprint) from the list servers are told to trust.
// The current one cannot be removed: rotate first.
Result<CaPublicKey> remove_retired_ca(const std::string& path, const std::string& fingerprint);

// trusted_ca_file: what a server's TrustedUserCAKeys file holds (every key of egress_ca_keys).
std::string trusted_ca_file(const std::vector<CaPublicKey>& keys);

}  // namespace bastion::gateway
