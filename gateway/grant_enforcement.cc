// Grant enforcement: once a second, each running channel is asked whether it may go on (DESIGN.md
// rule 4); the answer comes from authz::why_not_live, decide()'s own rules and words.
#include "authz/liveness.h"
#include "gateway/net_session.h"

namespace bastion::gateway {

// enforce_grants ends running channels whose grant was revoked or expired, whose account was
// disabled or the key it authenticated with removed, whose server was removed or made shared, or
// that an officer killed (DESIGN.md rule 4). A database that cannot be read ends them too: fail
// closed.
void NetSession::enforce_grants() {
  auto now = clock_.now();
  for (auto& b : bridges_) {
    if (b->state() != ChannelBridge::State::Running || !b->grant_id) continue;
    std::string why;
    try {
      why = end_reason(*b, now);
    } catch (const db::DbError& e) {
      why = std::string("the bastion database cannot be read (") + e.what() + ")";
    }
    if (why.empty()) continue;
    b->cut(why + "; session ended");
    (void)record("session.cut", who_.spec.target ? who_.spec.target->server : "", b->session_id,
                 {{"reason", why}, {"grant", *b->grant_id}});
  }
}

// end_reason says why a running channel must end now, or "" if it may go on.
std::string NetSession::end_reason(const ChannelBridge& b, Seconds now) {
  if (auto kill = sessions_.kill_request(b.session_id))
    return "session " + std::to_string(b.session_id) + " was ended by " + kill->by + " at " +
           authz::format_utc(kill->at);
  const auto grant = store_.find_grant(*b.grant_id);
  const auto who = store_.find_operator(who_.who.name);
  const auto server = grant ? store_.find_server(grant->server_name) : std::nullopt;
  const auto keys = who ? store_.keys_of(who->id) : std::vector<authz::OperatorKey>{};
  const auto why = authz::why_not_live({*b.grant_id, grant ? &*grant : nullptr, who ? &*who : nullptr,
                                        server ? &*server : nullptr, keys, who_.key_fingerprint, now});
  return why.value_or("");
}

}  // namespace bastion::gateway
