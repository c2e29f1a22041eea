// Fuzz target for audit/sftp_gate.cc (libFuzzer). Run: scripts/fuzz sftp_gate
//
// The input is a script of steps as for sftp_parser_fuzz: [control byte][length byte][bytes]; bit 0
// of the control byte picks the direction (0 operator→server, 1 server→operator), the other bits a
// piece size. Seeds in corpus/sftp_gate are SFTP conversations in that form.
//
// Properties, besides never reading out of bounds or crashing:
//  1. Splitting does not matter: each step fed whole or in pieces of 1 + (control >> 1) bytes gives
//     the very same forwarded bytes, bytes to the operator, events and verdict.
//  2. What is forwarded to the server is whole packets, each one a packet the operator sent.
//  3. The server's bytes reach the operator, none removed: what the operator gets is exactly the
//     server's bytes plus the gate's answers (PERMISSION_DENIED packets, one per refusal event).
//  4. Once the gate has refused the stream, it accepts nothing more.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "audit/byte_cursor.h"
#include "audit/sftp_gate.h"

namespace {

using namespace bastion;
using namespace bastion::audit;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Step {
  bool to_client;
  std::size_t piece;
  std::string_view bytes;
};

std::vector<Step> steps_of(std::string_view input) {
  std::vector<Step> steps;
  ByteCursor cur(input);
  std::uint8_t control = 0, length = 0;
  std::string_view bytes;
  while (cur.get_u8(control) && cur.get_u8(length)) {
    if (!cur.get_bytes(length, bytes)) bytes = cur.rest();
    steps.push_back({(control & 1) != 0, 1 + static_cast<std::size_t>(control >> 1), bytes});
    if (bytes.size() < length) break;
  }
  return steps;
}

std::vector<authz::CatalogueEntry> entries() {
  authz::CatalogueEntry down;
  down.name = "www";
  down.type = authz::OpType::Sftp;
  down.direction = authz::TransferLimit::Download;
  down.path = "/srv/www/**";
  authz::CatalogueEntry up;
  up.name = "up";
  up.type = authz::OpType::Scp;
  up.direction = authz::TransferLimit::Upload;
  up.path = "/up/*";
  return {down, up};
}

// packets splits whole length-prefixed packets; false if the bytes are not exactly that.
bool packets(std::string_view bytes, std::vector<std::string_view>& out) {
  ByteCursor cur(bytes);
  while (!cur.empty()) {
    std::uint32_t n = 0;
    std::string_view body;
    if (!cur.get_u32_be(n) || !cur.get_bytes(n, body)) return false;
    out.emplace_back(bytes.data() + cur.offset() - n - 4, n + 4);
  }
  return true;
}

struct Outcome {
  std::string forwarded, to_operator, server_bytes, operator_packets;
  std::vector<std::string> events;
  std::size_t answer_bytes = 0;  // the STATUS packets the gate made
  std::size_t waiting = 0;       // of which not yet placed
  bool failed = false;
};

Outcome run(const std::vector<Step>& steps, const SftpLimits& limits, bool in_pieces) {
  Outcome o;
  SftpGate gate(
      entries(),
      [&o](const std::string& kind, nlohmann::json details) -> Status {
        o.events.push_back(kind + details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        const std::string bastion_prefix = "bastion: ";
        o.answer_bytes += 21 + bastion_prefix.size() + std::min<std::size_t>(details["reason"].get<std::string>().size(), 512);
        return ok_status();
      },
      limits);
  for (const Step& s : steps) {
    const std::size_t piece = in_pieces ? s.piece : s.bytes.size() + 1;
    for (std::size_t i = 0; i < s.bytes.size() && !o.failed; i += piece) {
      const std::string_view part = s.bytes.substr(i, piece);
      const Status st = s.to_client ? gate.from_server(part, o.to_operator) : gate.from_operator(part, o.forwarded);
      if (!st) {
        // The call that refused the stream may have passed whole requests before the bad one: they
        // came from this part too.
        if (!s.to_client) o.operator_packets.append(part);
        o.failed = true;
        std::string ignored;
        check(!gate.from_operator("", ignored).ok() && !gate.from_server("", ignored).ok());  // 4
        break;
      }
      if (s.to_client) o.server_bytes.append(part);
      else o.operator_packets.append(part);
    }
    if (o.failed) break;
  }
  o.waiting = gate.answers_waiting();
  return o;
}

// check_forwarded: property 2.
void check_forwarded(const Outcome& o) {
  std::vector<std::string_view> fwd, sent;
  check(packets(o.forwarded, fwd));
  std::string_view all = o.operator_packets;
  std::vector<std::string_view> whole;
  ByteCursor cur(all);
  for (;;) {
    std::uint32_t n = 0;
    std::string_view body;
    ByteCursor probe = cur;
    if (!probe.get_u32_be(n) || !probe.get_bytes(n, body)) break;
    sent.emplace_back(all.data() + cur.offset(), n + 4);
    cur = probe;
  }
  std::size_t j = 0;
  for (std::string_view p : fwd) {
    while (j < sent.size() && sent[j] != p) ++j;
    check(j < sent.size());
    ++j;
  }
}

// check_server_bytes: property 3, by length: the gate adds exactly its answers (a STATUS packet of
// 4 + 1 + 4 + 4 + 4 + message + 4 bytes each) to the server's bytes, and removes nothing.
void check_server_bytes(const Outcome& o) {
  if (o.failed) return;
  check(o.to_operator.size() + o.waiting == o.server_bytes.size() + o.answer_bytes);
}

bool same(const Outcome& a, const Outcome& b) {
  return a.forwarded == b.forwarded && a.to_operator == b.to_operator && a.events == b.events && a.failed == b.failed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<Step> steps = steps_of(std::string_view(reinterpret_cast<const char*>(data), size));
  for (const SftpLimits& limits : {SftpLimits{}, SftpLimits{64, 3, 2}}) {
    const Outcome whole = run(steps, limits, false);
    check(same(whole, run(steps, limits, true)));
    check_forwarded(whole);
    check_server_bytes(whole);
  }
  return 0;
}
