#include "gateway/admin/web_enrolment.h"

#include "authz/text.h"
#include "authz/web_account_store.h"
#include "authz/web_password.h"
#include "authz/web_session_policy.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/review.h"

namespace bastion::gateway::admin {
namespace {

std::string portal_link(std::string base, std::string_view path, const std::string& token) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(path) + token;
}

constexpr const char* kOperatorsHaveNoPortal = ": the web portal is for client reviewers and officers";

}  // namespace

Result<std::string> issue_web_enrolment(CommandContext& ctx, const authz::Operator& who, const std::string& portal_url) {
  if (who.role == authz::Role::Operator) {
    return Error{"operator " + who.name + " has role operator" + kOperatorsHaveNoPortal};
  }
  const Seconds now = ctx.clock.now();
  const Seconds expires = now + authz::kWebEnrolmentLife;
  const std::string token = authz::new_web_token();
  authz::WebAccountStore(ctx.db).add_enrolment(who.id, authz::token_hash(token), now, expires);
  if (auto st = record_change(ctx, {"admin.operator.web_enrol", "", nullptr,
                                    {{"operator", who.name}, {"expires", iso8601_utc(expires)}}});
      !st) {
    return st.error();
  }
  return portal_link(portal_url, "/enrol/", token);
}

Result<std::string> issue_web_login_link(CommandContext& ctx, const authz::Operator& who, const std::string& portal_url) {
  if (who.role == authz::Role::Operator) return Error{"account " + who.name + " has role operator" + kOperatorsHaveNoPortal};
  if (who.disabled) return Error{"account " + who.name + " is disabled"};
  const Seconds now = ctx.clock.now();
  const Seconds expires = now + authz::kWebLoginLinkLife;
  const std::string token = authz::new_web_token();
  authz::WebAccountStore(ctx.db).add_login_link(who.id, authz::token_hash(token), now, expires);
  audit::Event e{now, "web.login_link.issued", who.name, ctx.source, "", std::nullopt,
                 {{"operator", who.name}, {"expires", iso8601_utc(expires)}}};
  if (auto st = ctx.events.append(e); !st) return st.error();
  return portal_link(portal_url, "/login/", token);
}

}  // namespace bastion::gateway::admin
