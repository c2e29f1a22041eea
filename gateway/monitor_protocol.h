#pragma once
// The monitor protocol: what the unprivileged network process of a connection may ask its
// privileged monitor (gateway/monitor.h), and what the monitor answers, over one SOCK_SEQPACKET
// socketpair. One datagram is one message; a descriptor the monitor hands over (a recording file,
// the connected upstream socket) rides on it with SCM_RIGHTS.
//
// Every message is typed and its shape fixed by one table (kShapes in monitor_protocol.cc): a
// type byte, then exactly that type's integers (big-endian u64 each), then exactly its strings
// (big-endian u32 length, then the bytes). There is no version and no optional field: an unknown
// type, a message over kMaxMessageBytes, a field missing, or a byte left over is an error, and the
// monitor ends the connection on it (fail closed, visibly). The bytes are read only through the
// bounds-checked audit::ByteCursor.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/unique_fd.h"
#include "authz/result.h"

namespace bastion::gateway::monitor {

// kMaxMessageBytes bounds one message either way: the largest is an exec command line or an
// event's details, both far below it; anything larger is refused, never truncated.
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;

enum class Type : std::uint8_t {
  // network → monitor. Before authentication:
  UserBind = 9,       // s: user name as sent                                  → Verdict (1 known, 0 unknown, 2 stop)
  KeyCheck = 1,       // n: signed (0: "would you accept it?", 1: libssh verified the signature)
                      // s: user name as sent, public key line ("ssh-ed25519 AAAA…") → Verdict
  TotpCheck = 2,      // s: code                                              → Account | Verdict
  AuthFailure = 10,   // n: unknown user (0|1)  s: user, method, reason (what only libssh saw)  → Verdict
  // After authentication:
  Decide = 3,         // s: server, login, kind (shell|exec|sftp|forward), command, forward host
                      // n: forward port                                      → Decision | Verdict(refused)
  StartSession = 4,   // n: decision id, channel, pty (0|1)  s: what was asked (shown) → Started | Verdict(refused)
  OpenRecording = 5,  // n: session id, channel, pty (0|1), cols, rows  s: term → Recording + fd | Verdict
  Event = 6,          // n: session id (0: none)  s: kind, details (JSON)    → Verdict
  Upstream = 7,       // n: decision id                                     → UpstreamKey + fd | Verdict(refused)
  EgressAgent = 14,   // n: decision id of an upstream in key mode → Verdict + fd: a stream socket on which
                      //    the monitor answers the ssh-agent protocol (gateway/egress_agent.h) for that
                      //    login only, once: the egress key never leaves the monitor
  GrantLive = 8,      // n: session id                                      → Verdict (refused: the reason)
  CloseSession = 11,  // n: session id  s: the closing as the network saw it: one closing-spool record
                      //    (audit/closing_spool.h, without '\n'): status, reason, exit status, the
                      //    recording's counts; the monitor fills in times, names and the digest → Verdict
  Grants = 12,        // (nothing): the operator's current grants, as text  → Text
  Admin = 13,         // s: the command's words (JSON array of strings)     → Text
  AdminWithInput = 15,  // s: the command's words, the first line of the channel's standard input (a
                        //    secret: `export`'s passphrase, never on the command line)   → Text
  // monitor → network
  Verdict = 64,       // n: 1 ok, 0 refused, 2 refused and the connection must end  s: reason (empty when ok)
  Decision = 65,      // n: decision id, grant id, any command (0|1)
                      // s: operation name, command to run, what the network needs to run it (JSON:
                      //    op_type, server {name, client, allowed_env}, transfer_entries [...])
  Started = 66,       // n: session id
  UpstreamKey = 67,   // n: port  s: the private key to log in with (OpenSSH format): in certificate mode an
                      //    ephemeral key, empty in key mode (ask EgressAgent); the server's registered
                      //    host key line, its name, its host; the certificate line ("ssh-ed25519-cert-
                      //    v01@openssh.com AAAA…", empty in key mode)
  Text = 68,          // n: exit status  s: standard output, standard error
  Account = 69,       // n: account id  s: name, role, client (never the TOTP secret)
  Recording = 70,     // n: start time (unix seconds)  s: path of the recording file; the recording's own
                      //    stream key, the client data key's id and the file's salt (audit/data_keys.h),
                      //    all three empty when recordings are not encrypted (no master key configured)
};

// Verdict's first number.
inline constexpr std::uint64_t kRefused = 0;
inline constexpr std::uint64_t kOk = 1;
inline constexpr std::uint64_t kRefusedFinal = 2;

// Message: one decoded message. `numbers` and `strings` have exactly the counts its type's shape
// says (parse refuses anything else; encode of a message that does not is a programming error).
struct Message {
  Type type = Type::Verdict;
  std::vector<std::uint64_t> numbers;
  std::vector<std::string> strings;
};

// is_request says whether a message of type t is one the network process may send (the monitor
// refuses the other direction's types as unexpected).
bool is_request(Type t);
// type_name is a stable lower-case name for t ("decide", "open_recording"), for events and logs.
const char* type_name(Type t);

// encode serialises m. Aborts if m does not have its type's shape: the sender builds messages
// only through the helpers below, so a wrong shape is a bug in this process, not input.
std::string encode(const Message& m);

// parse decodes one datagram; returns an Error naming what is wrong (unknown type, oversized,
// short field, trailing bytes) without reading past `wire`.
Result<Message> parse(std::string_view wire);

// Builders for every message, so that the shapes live in one place.
Message user_bind(std::string user);
Message key_check(std::string user, std::string key_line, bool signed_by_peer = true);
Message totp_check(std::string code);
Message auth_failure(std::string user, std::string method, std::string reason, bool unknown_user);
Message decide(std::string server, std::string login, std::string kind, std::string command,
               std::string forward_host, std::uint64_t forward_port);
Message start_session(std::uint64_t decision_id, std::uint64_t channel, std::string what, bool pty = false);
Message open_recording(std::uint64_t session_id, std::uint64_t channel, bool pty, std::uint64_t cols,
                       std::uint64_t rows, std::string term);
Message event(std::uint64_t session_id, std::string kind, std::string details_json);
Message upstream(std::uint64_t decision_id);
Message egress_agent(std::uint64_t decision_id);
Message grant_live(std::uint64_t session_id);
Message close_session(std::uint64_t session_id, std::string closing_record);
Message grants();
Message admin(const std::vector<std::string>& words);
Message admin_with_input(const std::vector<std::string>& words, std::string input_line);
Message verdict(bool ok, std::string reason);
Message final_refusal(std::string reason);
Message decision(std::uint64_t decision_id, std::uint64_t grant_id, bool any_command, std::string op_name,
                 std::string command, std::string context_json = "{}");
Message started(std::uint64_t session_id);
Message upstream_key(std::string private_key, std::string certificate = "", std::string host_key_line = "",
                     std::string server_name = "", std::string host = "", std::uint64_t port = 0);
Message text(int exit_status, std::string out, std::string err);
Message account(std::uint64_t id, std::string name, std::string role, std::string client);
Message recording(std::uint64_t start_unix, std::string path, std::string stream_key = "", std::string key_id = "",
                  std::string salt = "");

// admin_words decodes an Admin (or AdminWithInput) request's JSON array of strings; an Error if it is
// anything else.
Result<std::vector<std::string>> admin_words(const Message& m);

// Received: a message and the descriptor that came with it (if any).
struct Received {
  Message message;
  audit::UniqueFd fd;
};

// send_message writes m as one datagram on `sock`, with `fd` attached by SCM_RIGHTS when fd >= 0;
// returns an Error if the datagram could not be sent whole.
Status send_message(int sock, const Message& m, int fd = -1);

// kPeerGone is receive_message's error when the other process closed its end: the normal end of
// a connection, not a violation.
inline constexpr std::string_view kPeerGone = "the other process has gone";

// receive_message reads one datagram from `sock` and parses it. Returns an Error on end of stream
// ("the other process has gone"), on a datagram over kMaxMessageBytes (cut by the kernel: MSG_TRUNC),
// on more than one descriptor or control data of another kind, and on any parse error. A
// descriptor that came with a refused message is closed.
Result<Received> receive_message(int sock);

}  // namespace bastion::gateway::monitor
