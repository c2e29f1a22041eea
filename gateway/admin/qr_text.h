#pragma once
// qr_text renders text as a QR code for a terminal, two module rows per line with UTF-8 half blocks
// (as `qrencode -t UTF8`): light modules are drawn, so it reads on the usual dark background.
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::gateway::admin {

Result<std::string> qr_text(std::string_view text);

}  // namespace bastion::gateway::admin
