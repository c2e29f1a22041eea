#pragma once
// The PROXY protocol v2 (HAProxy's `send-proxy-v2`, doc/proxy-protocol.txt of HAProxy): the binary
// header a TCP load balancer sends before the client's first byte, naming the client's address.
// bastiond believes it only from the proxies it is told to trust (--proxy-protocol-from), reads it
// in the session process (never in the accept loop) with a deadline and a size cap, and parses it
// through the bounds-checked cursor. Anything else that starts like a PROXY header is refused.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "authz/result.h"

namespace bastion::gateway::proxy {

// kFixedSize: the signature (12 bytes), version/command, family/transport, and the length (2).
inline constexpr std::size_t kFixedSize = 16;
// kMaxPayload: what may follow the fixed part: the addresses (at most 216 bytes, AF_UNIX) and the
// TLVs. HAProxy sends far less; a longer header is refused rather than buffered.
inline constexpr std::size_t kMaxPayload = 1024;

// Header: what a valid v2 header says. `local` is the LOCAL command (HAProxy's health checks): no
// client behind it, the addresses are empty. Otherwise `source` is the client as the proxy saw it.
struct Header {
  bool local = false;
  bool probe = false;  // (read_header only) closed before its first byte: a connect-only check
  std::string source_address;  // "203.0.113.7" or "2001:db8::1", as inet_ntop prints it
  int source_port = 0;
  std::string destination_address;
  int destination_port = 0;
  int tlvs = 0;  // type-length-value extensions present (skipped)
};

// payload_length reads the 16-byte fixed part: how many bytes follow it, or why this is not a
// header bastiond accepts (wrong signature, a v1 text header, another version, an unknown command,
// a length over kMaxPayload).
Result<std::size_t> payload_length(std::string_view fixed);

// parse_header reads one whole header (fixed part and exactly the payload it announces). A PROXY
// command must carry a TCP address over IPv4 or IPv6: UNSPEC and UNIX families, datagram transports
// and lengths shorter than their addresses are refused; every TLV must fit in the payload.
Result<Header> parse_header(std::string_view bytes);

// looks_like_header: the bytes a peer sent first begin like a PROXY header, v1 ("PROXY ") or v2
// (its signature); `first` may be shorter than a signature (then its bytes are compared).
bool looks_like_header(std::string_view first);

// read_header reads exactly one header from `fd` (and not a byte of what follows), within
// `deadline`, then parses it. Errors say what went wrong (timeout, closed, malformed).
Result<Header> read_header(int fd, std::chrono::milliseconds deadline);

// sniff_forged: for a peer that is not a trusted proxy: waits up to `wait` for its first bytes and
// says whether they begin like a PROXY header (it is then refused). Consumes nothing (MSG_PEEK).
bool sniff_forged(int fd, std::chrono::milliseconds wait);

}  // namespace bastion::gateway::proxy
