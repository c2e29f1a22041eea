#pragma once
// gpg: opening a client's encrypted export (OpenPGP, audit/openpgp.h) the way the client would, with
// the stock GnuPG and nothing of the bastion's.
#include <string>

#include "tests/e2e/harness/process.h"

namespace bastion::e2e {

// gpg_decrypt runs `gpg --decrypt` on `message` (written to a file under dir) with `passphrase` on
// its standard input, in a GNUPGHOME of its own under dir (its agent stopped afterwards). out: the
// clear bytes; err: gpg's messages.
RunResult gpg_decrypt(const std::string& dir, const std::string& message, const std::string& passphrase);

}  // namespace bastion::e2e
