#pragma once
// SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, the version OpenSSH
// speaks): packet types, status codes, open flags and file attributes, and how
// to read the parts the audit needs through a ByteCursor. Nothing here keeps
// state; audit/sftp_parser.h does.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "audit/byte_cursor.h"

namespace bastion::audit::sftp {

// Packet types of version 3 (draft-02 §3).
enum PacketType : std::uint8_t {
  kInit = 1,
  kVersion = 2,
  kOpen = 3,
  kClose = 4,
  kRead = 5,
  kWrite = 6,
  kLstat = 7,
  kFstat = 8,
  kSetstat = 9,
  kFsetstat = 10,
  kOpendir = 11,
  kReaddir = 12,
  kRemove = 13,
  kMkdir = 14,
  kRmdir = 15,
  kRealpath = 16,
  kStat = 17,
  kRename = 18,
  kReadlink = 19,
  kSymlink = 20,
  kStatus = 101,
  kHandle = 102,
  kData = 103,
  kName = 104,
  kAttrs = 105,
  kExtended = 200,
  kExtendedReply = 201,
};

inline constexpr std::uint32_t kProtocolVersion = 3;
inline constexpr std::uint32_t kStatusOk = 0;
// kMaxHandleLength: draft-02 §3 caps handles at 256 bytes (OpenSSH's are 4).
inline constexpr std::size_t kMaxHandleLength = 256;

// is_request says whether `type` is one a client sends (INIT, OPEN … SYMLINK,
// EXTENDED).
bool is_request(std::uint8_t type);
// is_response says whether `type` is one a server sends (VERSION, STATUS …
// ATTRS, EXTENDED_REPLY).
bool is_response(std::uint8_t type);

// status_name returns "ok", "eof", "no_such_file", "permission_denied",
// "failure", "bad_message", "no_connection", "connection_lost",
// "op_unsupported", or "unknown" for other codes.
std::string status_name(std::uint32_t code);

// open_flags returns the names of the SSH_FXF_* bits set in pflags ("read",
// "write", "append", "creat", "trunc", "excl"), in that order; unknown bits are
// left out (the raw value is kept too).
nlohmann::json open_flags(std::uint32_t pflags);

// get_attrs reads an ATTRS structure (draft-02 §5) and sets out to a JSON
// object of the fields present ("size", "uid", "gid", "permissions" in octal
// text, "atime", "mtime", "extended" count). Returns false if the structure is
// cut short; the cursor is then left anywhere inside it.
bool get_attrs(ByteCursor &cur, nlohmann::json &out);

// get_handle reads a handle string; returns false if it is missing or longer
// than kMaxHandleLength.
bool get_handle(ByteCursor &cur, std::string_view &out);

}  // namespace bastion::audit::sftp
