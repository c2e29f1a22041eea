#pragma once
// Address ranges an option names: "192.0.2.10/32,2001:db8::/64" (--proxy-protocol-from,
// --egress-source-address), parsed once and matched against peer addresses.
#include <string>
#include <vector>

#include "authz/result.h"

namespace bastion::gateway {

// AddressRange: one address or CIDR range.
struct AddressRange {
  int family = 0;                // AF_INET or AF_INET6
  unsigned char bytes[16] = {};  // the address as given (4 or 16 bytes used)
  int prefix = 0;                // bits; the whole address when none was given
  std::string text;              // as given, without surrounding spaces
};

// parse_address_ranges reads each item (a repeated option's values), each a comma-separated list;
// an error names `option` and the item that is not an IPv4/IPv6 address or CIDR range.
Result<std::vector<AddressRange>> parse_address_ranges(const std::vector<std::string>& items, const std::string& option);

// in_ranges: `address` (as inet_ntop prints a peer; an IPv4-mapped IPv6 address counts as its
// IPv4 address) is inside one of `ranges`.
bool in_ranges(const std::vector<AddressRange>& ranges, const std::string& address);

}  // namespace bastion::gateway
