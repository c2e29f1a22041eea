// Grant enforcement: once a second, each running channel is asked whether it may go on (DESIGN.md
// rule 4); the monitor answers from authz::why_not_live, decide()'s own rules and words.
#include "gateway/net_session.h"

namespace bastion::gateway {

// enforce_grants ends running channels whose grant was revoked or expired, whose account was
// disabled or the key it authenticated with removed, whose server was removed or made shared, or
// that an officer killed (DESIGN.md rule 4). A database that cannot be read ends them too, and so
// does a monitor that no longer answers: fail closed.
void NetSession::enforce_grants() {
  for (auto& b : bridges_) {
    if (b->state() != ChannelBridge::State::Running || !b->grant_id || b->session_id == 0) continue;
    std::string why;
    auto r = monitor_.ask(monitor::grant_live(static_cast<std::uint64_t>(b->session_id)));
    if (!r) {
      monitor_gone_ = true;
      why = "the bastion can no longer check this session's grant (its monitor is gone)";
    } else if (r->message.type != monitor::Type::Verdict) {
      why = "the bastion can no longer check this session's grant";
    } else if (r->message.numbers[0] != monitor::kOk) {
      why = r->message.strings[0];
    }
    if (why.empty()) continue;
    b->cut(why + "; session ended");
    if (!monitor_gone_) (void)record("session.cut", "", b->session_id, {{"reason", why}, {"grant", *b->grant_id}});
  }
}

}  // namespace bastion::gateway
