#pragma once
// The TOTP enrolment an account holder needs, shown once: at `operator add` and `operator totp
// reset`. Text: secret, otpauth:// URI and a QR code; --json: {"name", "totp_secret", "otpauth_uri"}.
#include <string>

#include "gateway/admin/commands.h"

namespace bastion::gateway::admin {

// otpauth_uri_of: the otpauth:// URI of this account's secret (issuer "Bastion").
std::string otpauth_uri_of(const std::string& name, const std::string& secret);

// web_link, if not empty, is added as "web_enrolment_url" (operator add --web).
void print_enrolment_json(CommandContext& ctx, const std::string& name, const std::string& secret,
                          const std::string& web_link = "");
// print_enrolment_text writes the secret, the URI, the QR code and the reminder that it is shown once.
void print_enrolment_text(CommandContext& ctx, const std::string& name, const std::string& secret);

}  // namespace bastion::gateway::admin
