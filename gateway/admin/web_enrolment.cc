#include "gateway/admin/web_enrolment.h"

#include "authz/text.h"
#include "authz/web_account_store.h"
#include "authz/web_password.h"
#include "authz/web_session_policy.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/review.h"

namespace bastion::gateway::admin {

Result<std::string> issue_web_enrolment(CommandContext& ctx, const authz::Operator& who, const std::string& portal_url) {
  if (who.role == authz::Role::Operator) {
    return Error{"operator " + who.name + " has role operator: the web portal is for client reviewers and officers"};
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
  std::string base = portal_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/enrol/" + token;
}

}  // namespace bastion::gateway::admin
