#include "gateway/admin/enrolment.h"

#include <ostream>

#include "authz/totp.h"
#include "gateway/admin/command_line.h"
#include "gateway/admin/qr_text.h"

namespace bastion::gateway::admin {

std::string otpauth_uri_of(const std::string& name, const std::string& secret) {
  return authz::otpauth_uri("Bastion", name, secret);
}

void print_enrolment_json(CommandContext& ctx, const std::string& name, const std::string& secret,
                          const std::string& web_link) {
  nlohmann::json j = {{"name", name}, {"totp_secret", secret}, {"otpauth_uri", otpauth_uri_of(name, secret)}};
  if (!web_link.empty()) j["web_enrolment_url"] = web_link;
  print_json(ctx, j);
}

void print_enrolment_text(CommandContext& ctx, const std::string& name, const std::string& secret) {
  const std::string uri = otpauth_uri_of(name, secret);
  ctx.out << "TOTP secret: " << secret << "\n"
          << "otpauth URI: " << uri << "\n";
  if (auto qr = qr_text(uri)) ctx.out << "\n" << *qr << "\n";
  ctx.out << "Give the secret to " << name << " over a trusted channel; it is not shown again.\n";
}

}  // namespace bastion::gateway::admin
