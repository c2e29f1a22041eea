#pragma once
// decide: the pure access decision. No I/O, no clock of its own: everything it needs is passed in,
// so it is unit-tested exhaustively (tests/authz/decide_test.cc).
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "authz/model.h"
#include "authz/operation.h"
#include "authz/text.h"

namespace bastion::authz {

struct Allow {
  Grant grant;
  std::string op_name;  // the catalogue entry that allowed it; empty for a connect-time check
  // any_command: that entry is the explicit "any command line" exec entry (pattern "*" alone), so
  // the gateway sends the operator's line as typed instead of its serialisation (Operation).
  bool any_command = false;
  // Sftp: every entry of the grant that lets the channel run (its sftp and scp entries, in the
  // grant's order); each request on the channel must then be allowed by one of them
  // (authz/sftp_policy.h).
  std::vector<CatalogueEntry> transfer_entries;
};
struct Deny {
  std::string reason;  // a sentence a person can act on, e.g. "grant 17 expired at 2026-11-23 14:02 UTC"
};
using Decision = std::variant<Allow, Deny>;

struct DecisionInput {
  const Operator& who;
  const Server& server;
  std::string_view login;
  // op == nullptr asks "may this operator open anything at all on server/login now?" (connect time).
  const Operation* op = nullptr;
  std::span<const Grant> grants;               // grants_for(who, server, login)
  std::span<const CatalogueEntry> catalogue;   // catalogue_of(server)
  Seconds now{};
};

// decide: Deny if the account is disabled or not an operator, the server is shared, no grant is
// for this login, every grant is revoked/not yet valid/expired (the reason names the closest one),
// or no granted catalogue entry matches op. Otherwise Allow with the grant (the one ending last
// among those that match) and its entry: within a grant, a narrower entry is preferred to the "any
// command" one, so a line a specific pattern allows is sent serialised either way.
Decision decide(const DecisionInput& in);

// format_utc (authz/text.h) renders the times in reasons.
using bastion::format_utc;

}  // namespace bastion::authz
