#pragma once
// OpenPGP symmetric encryption (RFC 4880) of a client's export, so that the archive leaves the
// bastion encrypted under a passphrase the client chose and opens with a stock tool and nothing of
// the bastion's:  gpg -d acme-export-2026-12-07.tar.gz.gpg > export.tar.gz
//
// The message written is, in order:
//   Symmetric-Key Encrypted Session Key packet (tag 3, version 4): AES-256 (algorithm 9), the key
//     derived from the passphrase by an iterated and salted S2K (type 3) over SHA-256 (hash 8),
//     8 random salt bytes, coded count 0xff (65 011 712 bytes hashed); no encrypted session key, so
//     the S2K output is the message key.
//   Sym. Encrypted Integrity Protected Data packet (tag 18, version 1), in partial body lengths of
//     64 KiB so that it streams: AES-256 in CFB mode (IV zero) over
//       16 random bytes, their last 2 repeated,
//       a Literal Data packet (tag 11, binary, the archive's name, its own partial lengths),
//       the Modification Detection Code packet (tag 19): SHA-1 of all the plaintext before it,
//       its own two header bytes included.
// Every packet uses the new header format.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::audit {

// The parameters an audit event records of an encrypted export (never the passphrase).
struct PgpParameters {
  static constexpr const char* kCipher = "AES-256 (OpenPGP algorithm 9), CFB, integrity protected (SEIPD v1 + MDC)";
  static constexpr const char* kS2k = "iterated+salted (type 3), SHA-256, 65011712 bytes hashed";
  static constexpr std::uint8_t kCodedCount = 0xff;
  static constexpr std::uint64_t kHashedBytes = 65011712;  // (16 + (0xff & 15)) << ((0xff >> 4) + 6)
};

// check_export_passphrase: the passphrase a client chooses for an export. Refused, with the reason
// (which never repeats it): fewer than 12 characters, more than 1024 bytes, control characters.
Status check_export_passphrase(std::string_view passphrase);

// A source of the clear bytes: fills up to len bytes of buf, 0 at the end.
using PgpSource = std::function<Result<std::size_t>(char* buf, std::size_t len)>;
// A sink of the encrypted message's bytes.
using PgpSink = std::function<Status(std::string_view bytes)>;

// pgp_encrypt writes the whole OpenPGP message of `source`'s bytes, under `passphrase` (which the
// caller checked and wipes), the literal packet named `file_name` (at most 255 bytes) and dated
// `mtime` (Unix seconds). Derived keys and the plaintext buffers are wiped before it returns.
Status pgp_encrypt(const PgpSource& source, std::string_view passphrase, std::string_view file_name,
                   std::uint32_t mtime, const PgpSink& sink);

// wipe_string overwrites the bytes of s (OPENSSL_cleanse, which the optimiser keeps) and empties it.
void wipe_string(std::string& s);

}  // namespace bastion::audit
