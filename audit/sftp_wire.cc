#include "audit/sftp_wire.h"

#include <array>
#include <cstdio>

namespace bastion::audit::sftp {
namespace {

// ATTRS flag bits (draft-02 §5).
constexpr std::uint32_t kAttrSize = 0x00000001;
constexpr std::uint32_t kAttrUidGid = 0x00000002;
constexpr std::uint32_t kAttrPermissions = 0x00000004;
constexpr std::uint32_t kAttrAcModTime = 0x00000008;
constexpr std::uint32_t kAttrExtended = 0x80000000;

std::string octal(std::uint32_t mode) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%o", mode);
  return buf.data();
}

// skip_extended_attrs reads `count` name/value string pairs; a hostile count
// fails as soon as the bytes run out, so it costs at most one iteration per 8
// bytes of input.
bool skip_extended_attrs(ByteCursor &cur, std::uint32_t count) {
  std::string_view name, value;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!cur.get_string(name) || !cur.get_string(value)) return false;
  }
  return true;
}

}  // namespace

bool is_request(std::uint8_t type) { return type == kInit || (type >= kOpen && type <= kSymlink) || type == kExtended; }

bool is_response(std::uint8_t type) {
  return type == kVersion || (type >= kStatus && type <= kAttrs) || type == kExtendedReply;
}

std::string status_name(std::uint32_t code) {
  static constexpr std::array<const char *, 9> kNames = {
      "ok",          "eof",           "no_such_file",    "permission_denied", "failure",
      "bad_message", "no_connection", "connection_lost", "op_unsupported"};
  return code < kNames.size() ? kNames[code] : "unknown";
}

nlohmann::json open_flags(std::uint32_t pflags) {
  static constexpr std::array<std::pair<std::uint32_t, const char *>, 6> kFlags = {
      {{0x01, "read"}, {0x02, "write"}, {0x04, "append"}, {0x08, "creat"}, {0x10, "trunc"}, {0x20, "excl"}}};
  nlohmann::json names = nlohmann::json::array();
  for (const auto &[bit, name] : kFlags) {
    if (pflags & bit) names.push_back(name);
  }
  return names;
}

bool get_attrs(ByteCursor &cur, nlohmann::json &out) {
  out = nlohmann::json::object();
  std::uint32_t flags = 0;
  if (!cur.get_u32_be(flags)) return false;
  if (flags & kAttrSize) {
    std::uint64_t size = 0;
    if (!cur.get_u64_be(size)) return false;
    out["size"] = size;
  }
  if (flags & kAttrUidGid) {
    std::uint32_t uid = 0, gid = 0;
    if (!cur.get_u32_be(uid) || !cur.get_u32_be(gid)) return false;
    out["uid"] = uid;
    out["gid"] = gid;
  }
  if (flags & kAttrPermissions) {
    std::uint32_t mode = 0;
    if (!cur.get_u32_be(mode)) return false;
    out["permissions"] = octal(mode);
  }
  if (flags & kAttrAcModTime) {
    std::uint32_t atime = 0, mtime = 0;
    if (!cur.get_u32_be(atime) || !cur.get_u32_be(mtime)) return false;
    out["atime"] = atime;
    out["mtime"] = mtime;
  }
  if (flags & kAttrExtended) {
    std::uint32_t count = 0;
    if (!cur.get_u32_be(count) || !skip_extended_attrs(cur, count)) return false;
    out["extended"] = count;
  }
  return true;
}

bool get_handle(ByteCursor &cur, std::string_view &out) {
  return cur.get_string(out) && out.size() <= kMaxHandleLength;
}

}  // namespace bastion::audit::sftp
