#include "gateway/address_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <sstream>

namespace bastion::gateway {

Result<std::vector<AddressRange>> parse_address_ranges(const std::vector<std::string>& items, const std::string& option) {
  std::vector<AddressRange> out;
  for (const auto& given : items) {
    std::stringstream in(given);
    for (std::string item; std::getline(in, item, ',');) {
      const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
      if (b == std::string::npos) continue;
      item = item.substr(b, e - b + 1);
      const auto slash = item.find('/');
      const std::string addr = item.substr(0, slash);
      AddressRange r;
      r.text = item;
      if (inet_pton(AF_INET, addr.c_str(), r.bytes) == 1) r.family = AF_INET;
      else if (inet_pton(AF_INET6, addr.c_str(), r.bytes) == 1) r.family = AF_INET6;
      const int max_bits = r.family == AF_INET ? 32 : 128;
      r.prefix = max_bits;
      bool ok = r.family != 0;
      if (ok && slash != std::string::npos) {
        const std::string bits = item.substr(slash + 1);
        ok = !bits.empty() && bits.size() <= 3 && bits.find_first_not_of("0123456789") == std::string::npos &&
             std::stoi(bits) <= max_bits;
        if (ok) r.prefix = std::stoi(bits);
      }
      if (!ok) return Error{"--" + option + ": '" + item + "' is not an IPv4/IPv6 address or CIDR range"};
      out.push_back(r);
    }
  }
  return out;
}

bool in_ranges(const std::vector<AddressRange>& ranges, const std::string& address) {
  unsigned char v4[4], v6[16];
  bool is_v4 = inet_pton(AF_INET, address.c_str(), v4) == 1;
  const bool is_v6 = !is_v4 && inet_pton(AF_INET6, address.c_str(), v6) == 1;
  if (is_v6 && IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(v6))) {
    std::memcpy(v4, v6 + 12, 4);
    is_v4 = true;
  }
  if (!is_v4 && !is_v6) return false;
  const int family = is_v4 ? AF_INET : AF_INET6;
  const unsigned char* bytes = is_v4 ? v4 : v6;
  for (const auto& r : ranges) {
    if (r.family != family) continue;
    int bits = r.prefix, i = 0;
    bool match = true;
    for (; bits >= 8 && match; bits -= 8, ++i) match = bytes[i] == r.bytes[i];
    if (match && bits > 0) {
      const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
      match = (bytes[i] & mask) == (r.bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace bastion::gateway
