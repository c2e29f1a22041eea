#include "authz/ban_subject.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

namespace bastion::authz {
namespace {

// The longest text inet_pton could accept ("ffff:…:255.255.255.255"); anything longer is no address,
// and the bound keeps the copy below small whatever a caller passes.
constexpr std::size_t kMaxAddressText = INET6_ADDRSTRLEN;

std::string ntop(int family, const void* bytes) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  return inet_ntop(family, bytes, buf.data(), buf.size()) != nullptr ? std::string(buf.data()) : std::string();
}

// Parsed: an address read from text; ipv4 for a plain or IPv4-mapped one.
struct Parsed {
  bool ipv4 = false;
  std::string subject;
};

std::optional<Parsed> parse_address(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  const std::string z(text);  // inet_pton needs a NUL-terminated string; an embedded NUL fails it below
  if (z.find('\0') != std::string::npos) return std::nullopt;
  in_addr v4{};
  if (inet_pton(AF_INET, z.c_str(), &v4) == 1) return Parsed{true, ntop(AF_INET, &v4)};
  in6_addr v6{};
  if (inet_pton(AF_INET6, z.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) return Parsed{true, ntop(AF_INET, &v6.s6_addr[12])};
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), std::uint8_t{0});
  return Parsed{false, ntop(AF_INET6, &v6) + "/64"};
}

}  // namespace

std::string source_subject(std::string_view address) {
  auto p = parse_address(address);
  return p ? p->subject : std::string(address);
}

Result<std::string> ban_subject_of(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return source_subject(text);
  const std::string_view length = text.substr(slash + 1);
  auto p = parse_address(text.substr(0, slash));
  if (!p || length.empty() || length.size() > 3 || length.find_first_not_of("0123456789") != std::string_view::npos)
    return Error{"'" + std::string(text) + "' is neither an address, an address/prefix nor an account name"};
  const std::string_view wanted = p->ipv4 ? "32" : "64";
  if (length != wanted)
    return Error{"'" + std::string(text) + "': bans are placed per IPv6 /64 and per IPv4 address, never on a /" +
                 std::string(length) + " (see `bans list`)"};
  return p->subject;
}

bool is_network_subject(std::string_view subject) { return subject.find('/') != std::string_view::npos; }

}  // namespace bastion::authz
