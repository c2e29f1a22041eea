#include "gateway/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "audit/byte_cursor.h"

namespace bastion::gateway::proxy {
namespace {

constexpr std::string_view kSignature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr std::string_view kV1Signature = "PROXY ";

// Families and transports (the high and low nibbles of the 14th byte).
constexpr int kUnspec = 0, kInet = 1, kInet6 = 2, kUnix = 3;
constexpr int kStream = 1;

std::string address_text(int family, std::string_view raw) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, raw.data(), buf, sizeof buf);
  return buf;
}

// Elapsed-time budget of one read: what is left of the deadline, in whole milliseconds for poll().
using SteadyClock = std::chrono::steady_clock;
int left_ms(SteadyClock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - SteadyClock::now()).count();
  return static_cast<int>(std::max<long long>(left, 0));
}

constexpr std::string_view kClosedEarly = "the proxy closed the connection before a complete PROXY header";

// read_exactly appends n bytes to out within the deadline, never more (what follows is SSH); on
// failure, out holds what did arrive.
Status read_exactly(int fd, std::size_t n, std::string& out, SteadyClock::time_point end) {
  std::size_t have = out.size();
  out.resize(have + n);
  auto fail = [&](std::string why) -> Status {
    out.resize(have);
    return Error{std::move(why)};
  };
  while (n > 0) {
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, left_ms(end));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return fail(std::string("poll: ") + std::strerror(errno));
    if (rc == 0) return fail("no complete PROXY header within the deadline");
    ssize_t got = recv(fd, out.data() + have, n, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return fail(std::string("read: ") + std::strerror(errno));
    if (got == 0) return fail(std::string(kClosedEarly));
    have += static_cast<std::size_t>(got);
    n -= static_cast<std::size_t>(got);
  }
  return ok_status();
}

// Fixed: the fixed part of a v2 header, read through the cursor.
struct Fixed {
  std::uint8_t ver_cmd = 0, fam = 0;
  std::size_t len = 0;
};

Result<Fixed> read_fixed(audit::ByteCursor& c) {
  if (c.rest().substr(0, kV1Signature.size()) == kV1Signature)
    return Error{"a PROXY v1 (text) header; only v2 (send-proxy-v2) is accepted"};
  if (!c.skip_expected(kSignature)) return Error{"no PROXY v2 signature"};
  Fixed f;
  std::uint16_t len = 0;
  if (!c.get_u8(f.ver_cmd) || !c.get_u8(f.fam) || !c.get_u16_be(len)) return Error{"truncated PROXY v2 header"};
  if ((f.ver_cmd >> 4) != 2) return Error{"PROXY protocol version " + std::to_string(f.ver_cmd >> 4) + " (only 2)"};
  if ((f.ver_cmd & 0x0f) > 1) return Error{"unknown PROXY v2 command " + std::to_string(f.ver_cmd & 0x0f)};
  if (len > kMaxPayload)
    return Error{"PROXY v2 header of " + std::to_string(len) + " bytes after the fixed part (at most " +
                 std::to_string(kMaxPayload) + ")"};
  f.len = len;
  return f;
}

}  // namespace

Result<std::size_t> payload_length(std::string_view fixed) {
  audit::ByteCursor c(fixed.substr(0, kFixedSize));
  auto f = read_fixed(c);
  if (!f) return f.error();
  return f->len;
}

Result<Header> parse_header(std::string_view bytes) {
  audit::ByteCursor c(bytes);
  auto fixed = read_fixed(c);
  if (!fixed) return fixed.error();
  if (c.remaining() != fixed->len)
    return Error{"PROXY v2 header announces " + std::to_string(fixed->len) + " bytes, " +
                 std::to_string(c.remaining()) + " present"};
  const std::uint8_t ver_cmd = fixed->ver_cmd, fam = fixed->fam;
  Header h;
  if ((ver_cmd & 0x0f) == 0) {  // LOCAL: the proxy's own connection; whatever follows is ignored
    h.local = true;
    return h;
  }
  const int family = fam >> 4;
  if (family == kUnspec || family == kUnix)
    return Error{family == kUnspec ? "PROXY v2 header without a client address (AF_UNSPEC)"
                                   : "PROXY v2 header with a UNIX socket address"};
  if (family != kInet && family != kInet6) return Error{"unknown PROXY v2 address family " + std::to_string(family)};
  if ((fam & 0x0f) != kStream) return Error{"PROXY v2 header for a transport other than TCP"};
  const std::size_t addr_len = family == kInet ? 4 : 16;
  const int af = family == kInet ? AF_INET : AF_INET6;
  std::string_view src, dst;
  std::uint16_t sport = 0, dport = 0;
  if (!c.get_bytes(addr_len, src) || !c.get_bytes(addr_len, dst) || !c.get_u16_be(sport) || !c.get_u16_be(dport))
    return Error{"PROXY v2 header shorter than its addresses"};
  h.source_address = address_text(af, src);
  h.destination_address = address_text(af, dst);
  h.source_port = sport;
  h.destination_port = dport;
  while (!c.empty()) {
    std::uint8_t type = 0;
    std::uint16_t tlv_len = 0;
    std::string_view value;
    if (!c.get_u8(type) || !c.get_u16_be(tlv_len) || !c.get_bytes(tlv_len, value))
      return Error{"PROXY v2 TLV longer than the header"};
    ++h.tlvs;
  }
  return h;
}

bool looks_like_header(std::string_view first) {
  if (first.empty()) return false;
  auto prefix_of = [&](std::string_view sig) { return sig.substr(0, first.size()) == first.substr(0, sig.size()); };
  return prefix_of(kSignature) || prefix_of(kV1Signature);
}

Result<Header> read_header(int fd, std::chrono::milliseconds deadline) {
  const auto end = SteadyClock::now() + deadline;
  std::string bytes;
  if (auto st = read_exactly(fd, kFixedSize, bytes, end); !st) {
    // Closed before its first byte: a connect-only health check, nothing to serve.
    if (bytes.empty() && st.error().message == kClosedEarly) {
      Header probe;
      probe.local = probe.probe = true;
      return probe;
    }
    return st.error();
  }
  auto len = payload_length(bytes);
  if (!len) return len.error();
  if (auto st = read_exactly(fd, *len, bytes, end); !st) return st.error();
  return parse_header(bytes);
}

bool sniff_forged(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  while ((rc = poll(&p, 1, static_cast<int>(wait.count()))) < 0 && errno == EINTR) {
  }
  if (rc <= 0) return false;
  char buf[kSignature.size()];
  ssize_t got;
  while ((got = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT)) < 0 && errno == EINTR) {
  }
  return got > 0 && looks_like_header(std::string_view(buf, static_cast<std::size_t>(got)));
}

}  // namespace bastion::gateway::proxy
