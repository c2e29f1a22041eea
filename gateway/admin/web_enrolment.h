#pragma once
// issue_web_enrolment: a one-time link with which a reviewer sets the password of the web portal
// (web/). Printed by `operator add … --web` and `operator web-enrol`; the database keeps only its
// hash, so it is shown this once.
#include <string>

#include "authz/model.h"
#include "gateway/admin/commands.h"

namespace bastion::gateway::admin {

// kDefaultPortalUrl: where bastion-web listens by default (web/portal_config.h).
inline constexpr const char* kDefaultPortalUrl = "https://localhost:8443";

// issue_web_enrolment stores a link for `who` (a client reviewer or an officer; operators have no
// portal) valid authz::kWebEnrolmentLife, records admin.operator.web_enrol, and returns the URL
// "<portal_url>/enrol/<token>". Refused with the reason for an operator account.
Result<std::string> issue_web_enrolment(CommandContext& ctx, const authz::Operator& who, const std::string& portal_url);

// issue_web_login_link stores a one-time sign-in link for `who` (a client reviewer or an officer)
// valid authz::kWebLoginLinkLife, records web.login_link.issued, and returns the URL
// "<portal_url>/login/<token>". bastion-web signs `who` in with it, once (web/sign_in.h).
// Refused with the reason for an operator account.
Result<std::string> issue_web_login_link(CommandContext& ctx, const authz::Operator& who, const std::string& portal_url);

}  // namespace bastion::gateway::admin
