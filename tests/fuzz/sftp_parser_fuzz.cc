// Fuzz target for audit/sftp_parser.cc (libFuzzer). Run: scripts/fuzz sftp_parser
//
// The input is a script of steps, each [control byte][length byte][that many
// bytes]: bit 0 of the control byte picks the direction (0 operator→server, 1
// server→operator), the other bits a piece size. Seeds in corpus/sftp_parser are real
// sftp/sftp-server conversations in that form.
//
// Properties, besides never reading out of bounds or crashing:
//  1. Splitting does not matter: feeding each step whole, or in pieces of 1 +
//  (control >> 1) bytes,
//     gives the very same operations.
//  2. Every operation has a documented kind; "sftp.unparseable" comes at most
//  once and is last.
//  3. Every operation's details serialise (ill-formed UTF-8 replaced, as the
//  event log does).
//  4. The same holds under tiny limits, where the bounds on tracked state are
//  reached quickly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/byte_cursor.h"
#include "audit/sftp_parser.h"

namespace {

using namespace bastion::audit;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Step {
  SftpDirection direction;
  std::size_t piece;
  std::string_view bytes;
};

std::vector<Step> steps_of(std::string_view input) {
  std::vector<Step> steps;
  ByteCursor cur(input);
  std::uint8_t control = 0, length = 0;
  std::string_view bytes;
  while (cur.get_u8(control) && cur.get_u8(length)) {
    if (!cur.get_bytes(length, bytes)) bytes = cur.rest();  // a last, short step still counts
    steps.push_back({(control & 1) ? SftpDirection::ToClient : SftpDirection::ToServer,
                     1 + static_cast<std::size_t>(control >> 1), bytes});
    if (bytes.size() < length) break;
  }
  return steps;
}

std::vector<std::string> run(const std::vector<Step> &steps, const SftpLimits &limits, bool in_pieces) {
  SftpParser parser(limits);
  std::vector<SftpOperation> ops;
  auto take = [&ops](std::vector<SftpOperation> more) {
    for (auto &op : more) ops.push_back(std::move(op));
  };
  for (const Step &s : steps) {
    const std::size_t piece = in_pieces ? s.piece : s.bytes.size() + 1;
    for (std::size_t i = 0; i < s.bytes.size(); i += piece) take(parser.feed(s.direction, s.bytes.substr(i, piece)));
  }
  take(parser.finish());
  check(parser.unparseable() == (!ops.empty() && ops.back().kind == "sftp.unparseable"));

  static const std::set<std::string> kKinds = {
      "sftp.open",    "sftp.close",   "sftp.opendir", "sftp.remove", "sftp.rename",   "sftp.mkdir",      "sftp.rmdir",
      "sftp.setstat", "sftp.symlink", "sftp.link",    "sftp.copy",   "sftp.extended", "sftp.unparseable"};
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    check(kKinds.count(ops[i].kind) == 1);
    check(ops[i].kind != "sftp.unparseable" || i + 1 == ops.size());
    check(ops[i].details.is_object());
    shown.push_back(ops[i].kind + ops[i].details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return shown;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::vector<Step> steps = steps_of(std::string_view(reinterpret_cast<const char *>(data), size));
  for (const SftpLimits &limits : {SftpLimits{}, SftpLimits{64, 3, 2}}) {
    check(run(steps, limits, false) == run(steps, limits, true));
  }
  return 0;
}
