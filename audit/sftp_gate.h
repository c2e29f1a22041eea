#pragma once
// SftpGate: the per-request limit of an SFTP channel that runs under catalogue entries limited to a
// direction or a path (issue 13; the decision itself is authz/sftp_policy.h).
//
// The operator's bytes are re-framed into whole SFTP v3 packets (at most SftpLimits::max_packet_length
// each, read only through ByteCursor). Each request is classified and decided: an allowed one is
// passed on to the server byte for byte; a refused one is NOT: the gate answers it itself with an
// SSH_FX_PERMISSION_DENIED status carrying the request id and the reason, and reports an
// "sftp.refused" event {request, paths, reason} to its sink.
//
// The server's bytes pass through unchanged and unbuffered; the gate only follows where their
// packets begin and end, and reads the replies it needs: the HANDLE answering an allowed OPEN or
// OPENDIR, so that READ, WRITE, READDIR, FSETSTAT and the other handle requests are checked against
// how their handle was opened (a WRITE on a handle opened for reading is refused), and VERSION
// (only version 3 is gated). Its own answers are slipped in between the server's packets.
//
// Fail closed: malformed input from either side, a packet over the limit, more outstanding opens
// or open handles than the limits, or an event that cannot be written returns an error, after
// which the channel must end (the gate accepts nothing more).
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sftp_parser.h"
#include "authz/model.h"
#include "authz/result.h"

namespace bastion::audit {

using SftpGateSink = std::function<Status(const std::string& kind, nlohmann::json details)>;

class SftpGate {
 public:
  // entries: the catalogue entries the channel runs under (authz::Allow::transfer_entries).
  SftpGate(std::vector<authz::CatalogueEntry> entries, SftpGateSink sink, SftpLimits limits = {});
  ~SftpGate();
  SftpGate(const SftpGate&) = delete;
  SftpGate& operator=(const SftpGate&) = delete;

  // from_operator consumes bytes the operator sent and appends to `forward` every whole request
  // packet that may reach the server, in order; refused ones queue an answer (see answers_waiting).
  // Bytes of an incomplete packet stay inside until the rest arrives.
  Status from_operator(std::string_view bytes, std::string& forward);

  // from_server consumes bytes the server sent and appends them to `out` unchanged, with the
  // queued answers placed where one of the server's packets ends.
  Status from_server(std::string_view bytes, std::string& out);

  // take_answers appends the queued answers to `out` if the server's stream is between packets
  // (call it when the server has nothing to send); else they wait for the end of its packet.
  void take_answers(std::string& out);

  // answers_waiting: bytes of answers not yet taken. The caller stops reading from the operator
  // while they pile up (the operator is not reading), which keeps memory bounded.
  std::size_t answers_waiting() const;

  // take_notices appends one line per refusal since the last call ("bastion: open of '/etc/shadow'
  // refused: …\n"), for the operator's stderr: OpenSSH's sftp and scp print only "Permission
  // denied" of a status, while ssh shows the channel's stderr.
  void take_notices(std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bastion::audit
