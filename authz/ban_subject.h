#pragma once
// Ban subjects of source addresses: what failures and bans of a peer address are counted under.
// One attacker owns a whole IPv6 /64 (every LAN and most hosting plans hand one out, and SLAAC
// privacy addresses rotate inside it), so an IPv6 address counts as its /64; an IPv4 address
// counts as itself, also when a dual-stack listener sees it IPv4-mapped ("::ffff:203.0.113.7").
// Pure text in, text out: the guard, the listener's ban cache and `bans list|lift` all go through
// here, so they always agree on the subject.
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::authz {

// source_subject returns the subject under which failures and bans of `address` (as inet_ntop
// prints a peer: "203.0.113.7", "2001:db8::1", "::ffff:203.0.113.7") count:
//   "203.0.113.7"          -> "203.0.113.7"
//   "::ffff:203.0.113.7"   -> "203.0.113.7"
//   "2001:db8:0:1:a:b:c:d" -> "2001:db8:0:1::/64"
// Text that is not an IP address is returned unchanged (it then only ever matches itself).
std::string source_subject(std::string_view address);

// ban_subject_of reads what an officer typed to name a ban (`bans lift X`): an address in any of
// the forms above, an IPv6 /64 ("2001:db8::/64"), an IPv4 address with /32, or else an account
// name, returned unchanged. Returns the subject as bans are stored under it, or an error for a
// prefix bans are never placed on ("2001:db8::/48") or a malformed one.
Result<std::string> ban_subject_of(std::string_view text);

// is_network_subject: the subject names an IPv6 /64 rather than one address.
bool is_network_subject(std::string_view subject);

}  // namespace bastion::authz
