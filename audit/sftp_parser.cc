#include "audit/sftp_parser.h"

#include <map>
#include <optional>
#include <utility>

#include "audit/byte_cursor.h"
#include "audit/sftp_wire.h"

namespace bastion::audit {
namespace {

using nlohmann::json;

// What a tracked request was, so that its reply can be turned into an
// operation.
enum class Op { Open, Opendir, Close, Read, Write, Event, Fsetstat, Copy };

struct Pending {
  Op op = Op::Event;
  std::string kind;          // for Op::Event: the operation kind
  std::string handle;        // Close, Read, Write, Fsetstat; Copy: the handle read from
  std::string handle2;       // Copy: the handle written to
  std::uint64_t length = 0;  // Write: data length
  json details = json::object();
};

struct OpenHandle {
  bool directory = false;
  json details;  // path, pflags, flags
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t failed_writes = 0;
};

// Reply: the parts of a server packet that tracking needs.
struct Reply {
  std::uint8_t type = 0;
  std::uint32_t code = 0;         // STATUS
  std::string message;            // STATUS
  std::string_view handle;        // HANDLE
  std::uint64_t data_length = 0;  // DATA
};

// Framer reassembles the length-prefixed packets of one direction from
// arbitrary fragments.
class Framer {
 public:
  void append(std::string_view bytes) {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    buf_.append(bytes);
  }
  // next sets packet to the next complete packet's type and payload (valid
  // until the next append) and returns true; false when none is complete, or —
  // with `refused` set — when the length prefix is zero or over max_length.
  bool next(std::size_t max_length, std::string_view &packet, bool &refused) {
    ByteCursor cur(std::string_view(buf_).substr(pos_));
    std::uint32_t length = 0;
    if (!cur.get_u32_be(length)) return false;
    refused = length == 0 || length > max_length;
    if (refused || !cur.get_bytes(length, packet)) return false;
    pos_ += 4 + std::size_t{length};
    consumed_ += 4 + std::size_t{length};
    return true;
  }
  // offset: bytes of this direction in complete packets so far (where the next
  // packet starts).
  std::uint64_t offset() const { return consumed_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::uint64_t consumed_ = 0;
};

std::string_view direction_name(SftpDirection d) {
  return d == SftpDirection::ToServer ? "operator->server" : "server->operator";
}

json status_of(const Reply &r) {
  json out = json::object();
  if (r.type != sftp::kStatus) {
    out["status"] = "unexpected_reply";
    out["reply_type"] = r.type;
    return out;
  }
  out["status"] = sftp::status_name(r.code);
  if (r.code != sftp::kStatusOk) {
    out["status_code"] = r.code;
    if (!r.message.empty()) out["message"] = r.message;
  }
  return out;
}

json with_status(json details, const Reply &r) {
  details.update(status_of(r));
  return details;
}

}  // namespace

// ---- Request decoding: one function per request shape
// -------------------------------------------

namespace {

// kMaxTextKept bounds each path or name kept while a request is outstanding
// (Linux's PATH_MAX), so that 1024 outstanding requests cost megabytes, not the
// gigabyte their packets could carry.
constexpr std::size_t kMaxTextKept = 4096;

void put_text(Pending &p, const char *key, std::string_view text) {
  if (text.size() > kMaxTextKept) p.details["clipped"] = true;
  p.details[key] = std::string(text.substr(0, kMaxTextKept));
}

bool decode_path(ByteCursor &c, Pending &p) {
  std::string_view path;
  if (!c.get_string(path)) return false;
  put_text(p, "path", path);
  return true;
}

bool decode_path_attrs(ByteCursor &c, Pending &p) {
  json attrs;
  if (!decode_path(c, p) || !sftp::get_attrs(c, attrs)) return false;
  p.details["attrs"] = std::move(attrs);
  return true;
}

bool decode_two_paths(ByteCursor &c, Pending &p, const char *first, const char *second) {
  std::string_view a, b;
  if (!c.get_string(a) || !c.get_string(b)) return false;
  put_text(p, first, a);
  put_text(p, second, b);
  return true;
}

bool decode_handle(ByteCursor &c, Pending &p) {
  std::string_view handle;
  if (!sftp::get_handle(c, handle)) return false;
  p.handle = std::string(handle);
  return true;
}

bool decode_open(ByteCursor &c, Pending &p) {
  std::uint32_t pflags = 0;
  json attrs;
  if (!decode_path(c, p) || !c.get_u32_be(pflags) || !sftp::get_attrs(c, attrs)) return false;
  p.details["pflags"] = pflags;
  p.details["flags"] = sftp::open_flags(pflags);
  if (!attrs.empty()) p.details["attrs"] = std::move(attrs);
  return true;
}

bool decode_read(ByteCursor &c, Pending &p) {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  return decode_handle(c, p) && c.get_u64_be(offset) && c.get_u32_be(length);
}

bool decode_write(ByteCursor &c, Pending &p) {
  std::uint64_t offset = 0;
  std::string_view data;
  if (!decode_handle(c, p) || !c.get_u64_be(offset) || !c.get_string(data)) return false;
  p.length = data.size();
  return true;
}

bool decode_fsetstat(ByteCursor &c, Pending &p) {
  json attrs;
  if (!decode_handle(c, p) || !sftp::get_attrs(c, attrs)) return false;
  p.details["attrs"] = std::move(attrs);
  p.details["handle"] = true;
  return true;
}

bool decode_copy_data(ByteCursor &c, Pending &p) {
  std::string_view from, to;
  std::uint64_t read_offset = 0, length = 0, write_offset = 0;
  if (!sftp::get_handle(c, from) || !c.get_u64_be(read_offset) || !c.get_u64_be(length) || !sftp::get_handle(c, to) ||
      !c.get_u64_be(write_offset)) {
    return false;
  }
  p.op = Op::Copy;
  p.handle = std::string(from);
  p.handle2 = std::string(to);
  p.details = {{"read_offset", read_offset}, {"length", length}, {"write_offset", write_offset}};
  return true;
}

// Extended requests that only read state or flush; their replies make no
// operation.
bool is_read_only_extension(std::string_view name) {
  return name == "statvfs@openssh.com" || name == "fstatvfs@openssh.com" || name == "fsync@openssh.com" ||
         name == "limits@openssh.com" || name == "expand-path@openssh.com" || name == "home-directory" ||
         name == "users-groups-by-id@openssh.com";
}

// decode_extended sets `tracked` to whether the request makes an operation.
bool decode_extended(ByteCursor &c, Pending &p, bool &tracked) {
  std::string_view name;
  if (!c.get_string(name)) return false;
  tracked = !is_read_only_extension(name);
  if (name == "posix-rename@openssh.com") {
    p.kind = "sftp.rename";
    p.details["posix"] = true;
    return decode_two_paths(c, p, "from", "to");
  }
  if (name == "hardlink@openssh.com") {
    p.kind = "sftp.link";
    return decode_two_paths(c, p, "target", "link");
  }
  if (name == "lsetstat@openssh.com") {
    p.kind = "sftp.setstat";
    p.details["nofollow"] = true;
    return decode_path_attrs(c, p);
  }
  if (name == "copy-data") return decode_copy_data(c, p);
  p.kind = "sftp.extended";
  put_text(p, "name", name);
  return true;
}

Pending event(const char *kind) {
  Pending p;
  p.kind = kind;
  return p;
}

// decode_request reads the body (after the request id) of a request of `type`.
// Returns false if it is malformed; sets `tracked` to whether its reply makes
// or changes an operation.
bool decode_request(std::uint8_t type, ByteCursor &c, Pending &p, bool &tracked) {
  tracked = true;
  switch (type) {
    case sftp::kOpen:
      p.op = Op::Open;
      return decode_open(c, p);
    case sftp::kOpendir:
      p.op = Op::Opendir;
      return decode_path(c, p);
    case sftp::kClose:
      p.op = Op::Close;
      return decode_handle(c, p);
    case sftp::kRead:
      p.op = Op::Read;
      return decode_read(c, p);
    case sftp::kWrite:
      p.op = Op::Write;
      return decode_write(c, p);
    case sftp::kRemove:
      p = event("sftp.remove");
      return decode_path(c, p);
    case sftp::kRmdir:
      p = event("sftp.rmdir");
      return decode_path(c, p);
    case sftp::kMkdir:
      p = event("sftp.mkdir");
      return decode_path_attrs(c, p);
    case sftp::kSetstat:
      p = event("sftp.setstat");
      return decode_path_attrs(c, p);
    case sftp::kFsetstat:
      p.op = Op::Fsetstat;
      return decode_fsetstat(c, p);
    case sftp::kRename:
      p = event("sftp.rename");
      return decode_two_paths(c, p, "from", "to");
    case sftp::kSymlink:
      p = event("sftp.symlink");
      return decode_two_paths(c, p, "target", "link");
    case sftp::kExtended:
      p = event("");
      return decode_extended(c, p, tracked);
    default:  // READDIR, STAT, LSTAT, FSTAT, REALPATH, READLINK: read-only,
              // nothing to track
      tracked = false;
      return true;
  }
}

// decode_reply reads the body (after the request id) of a reply of `type`;
// false if malformed.
bool decode_reply(std::uint8_t type, ByteCursor &c, Reply &r) {
  r.type = type;
  std::string_view s;
  switch (type) {
    case sftp::kStatus:
      if (!c.get_u32_be(r.code)) return false;
      if (c.get_string(s)) r.message = std::string(s.substr(0, 1024));  // message and language are
      return true;                                                      // optional in practice
    case sftp::kHandle:
      return sftp::get_handle(c, r.handle);
    case sftp::kData:
      if (!c.get_string(s)) return false;
      r.data_length = s.size();
      return true;
    default:  // NAME, ATTRS, EXTENDED_REPLY: their content makes no operation
      return true;
  }
}

}  // namespace

// ---- State: framing, dispatch and tracking
// -----------------------------------------------------

struct SftpParser::State {
  explicit State(SftpLimits l) : limits(l) {}

  SftpLimits limits;
  Framer framers[2];
  std::map<std::uint32_t, Pending> pending;
  std::map<std::string, OpenHandle> handles;
  bool stopped = false;  // no more parsing: unparseable, or finished
  bool unparseable = false;
  std::vector<SftpOperation> out;

  Framer &framer(SftpDirection d) { return framers[d == SftpDirection::ToServer ? 0 : 1]; }

  void emit(std::string kind, json details) { out.push_back({std::move(kind), std::move(details)}); }

  // fail stops parsing for good and reports why, once; `at` is where the
  // offending packet starts.
  void fail(SftpDirection d, std::uint64_t at, std::string reason) {
    if (stopped) return;
    stopped = unparseable = true;
    emit("sftp.unparseable", {{"direction", direction_name(d)}, {"offset", at}, {"reason", std::move(reason)}});
    pending.clear();
    handles.clear();
    for (Framer &f : framers) f = Framer{};
  }

  void feed(SftpDirection d, std::string_view bytes) {
    if (stopped) return;
    Framer &f = framer(d);
    f.append(bytes);
    std::string_view packet;
    bool refused = false;
    for (std::uint64_t at = f.offset(); f.next(limits.max_packet_length, packet, refused); at = f.offset()) {
      ByteCursor cur(packet);
      if (auto why = on_packet(d, cur)) return fail(d, at, *why);
    }
    if (refused) fail(d, f.offset(), "packet length 0 or over " + std::to_string(limits.max_packet_length));
  }

  // on_packet handles one packet; returns why the stream is unparseable, or
  // nullopt.
  std::optional<std::string> on_packet(SftpDirection d, ByteCursor &cur) {
    std::uint8_t type = 0;
    cur.get_u8(type);  // a packet has at least its type byte: the framer refuses
                       // length 0
    const bool to_server = d == SftpDirection::ToServer;
    if (to_server ? !sftp::is_request(type) : !sftp::is_response(type)) {
      return "packet type " + std::to_string(type) + " is not an SFTP v3 " + (to_server ? "request" : "reply");
    }
    if (type == sftp::kInit || type == sftp::kVersion) return on_version(type, cur);
    std::uint32_t id = 0;
    if (!cur.get_u32_be(id)) return "packet type " + std::to_string(type) + " too short for a request id";
    return to_server ? on_request(type, id, cur) : on_reply(type, id, cur);
  }

  std::optional<std::string> on_version(std::uint8_t type, ByteCursor &cur) {
    std::uint32_t version = 0;
    if (!cur.get_u32_be(version)) return std::string(type == sftp::kInit ? "INIT" : "VERSION") + " without a version";
    if (type == sftp::kVersion && version != sftp::kProtocolVersion) {
      return "the server speaks SFTP version " + std::to_string(version) + "; only version 3 is parsed";
    }
    return std::nullopt;
  }

  std::optional<std::string> on_request(std::uint8_t type, std::uint32_t id, ByteCursor &cur) {
    Pending p;
    bool tracked = false;
    if (!decode_request(type, cur, p, tracked)) return "malformed request of type " + std::to_string(type);
    if (!tracked) return std::nullopt;
    if (pending.count(id) != 0) return "request id " + std::to_string(id) + " reused while outstanding";
    if (pending.size() >= limits.max_outstanding_requests) {
      return "more than " + std::to_string(limits.max_outstanding_requests) + " outstanding requests";
    }
    pending.emplace(id, std::move(p));
    return std::nullopt;
  }

  std::optional<std::string> on_reply(std::uint8_t type, std::uint32_t id, ByteCursor &cur) {
    Reply r;
    if (!decode_reply(type, cur, r)) return "malformed reply of type " + std::to_string(type);
    auto it = pending.find(id);
    if (it == pending.end()) return std::nullopt;  // an untracked (read-only) request's reply
    Pending p = std::move(it->second);
    pending.erase(it);
    return complete(p, r);
  }

  std::optional<std::string> complete(Pending &p, const Reply &r) {
    switch (p.op) {
      case Op::Open:
      case Op::Opendir:
        return opened(p, r);
      case Op::Close:
        closed(p.handle, r);
        return std::nullopt;
      case Op::Read:
        read_done(p, r);
        return std::nullopt;
      case Op::Write:
        write_done(p, r);
        return std::nullopt;
      case Op::Fsetstat:
        p.details["path"] = path_of(p.handle);
        break;
      case Op::Copy:
        p.details["from"] = path_of(p.handle);
        p.details["to"] = path_of(p.handle2);
        emit("sftp.copy", with_status(std::move(p.details), r));
        return std::nullopt;
      case Op::Event:
        break;
    }
    emit(p.op == Op::Fsetstat ? "sftp.setstat" : p.kind, with_status(std::move(p.details), r));
    return std::nullopt;
  }

  std::optional<std::string> opened(Pending &p, const Reply &r) {
    const bool directory = p.op == Op::Opendir;
    const char *kind = directory ? "sftp.opendir" : "sftp.open";
    if (r.type != sftp::kHandle) {
      emit(kind, with_status(std::move(p.details), r));
      return std::nullopt;
    }
    const std::string handle(r.handle);
    if (handles.count(handle) != 0) return "the server returned handle already open";
    if (handles.size() >= limits.max_open_handles) {
      return "more than " + std::to_string(limits.max_open_handles) + " open handles";
    }
    json details = p.details;
    details["status"] = "ok";
    emit(kind, std::move(details));
    handles.emplace(handle, OpenHandle{directory, std::move(p.details)});
    return std::nullopt;
  }

  json path_of(const std::string &handle) const {
    auto it = handles.find(handle);
    if (it == handles.end()) return nullptr;
    return it->second.details.value("path", json(nullptr));
  }

  void read_done(const Pending &p, const Reply &r) {
    auto it = handles.find(p.handle);
    if (it != handles.end() && r.type == sftp::kData) it->second.bytes_read += r.data_length;
  }

  void write_done(const Pending &p, const Reply &r) {
    auto it = handles.find(p.handle);
    if (it == handles.end()) return;
    if (r.type == sftp::kStatus && r.code == sftp::kStatusOk) {
      it->second.bytes_written += p.length;
    } else {
      ++it->second.failed_writes;
    }
  }

  // closed ends a handle whatever the reply: after CLOSE the server has
  // forgotten it either way.
  void closed(const std::string &handle, const Reply &r) {
    auto it = handles.find(handle);
    if (it == handles.end()) return;
    if (!it->second.directory) emit("sftp.close", with_status(close_details(it->second), r));
    handles.erase(it);
  }

  static json close_details(const OpenHandle &h) {
    json d = h.details;
    d.erase("attrs");
    d["bytes_read"] = h.bytes_read;
    d["bytes_written"] = h.bytes_written;
    d["failed_writes"] = h.failed_writes;
    return d;
  }

  void finish() {
    for (const auto &[handle, h] : handles) {
      if (h.directory) continue;
      json d = close_details(h);
      d["status"] = "unclosed";
      emit("sftp.close", std::move(d));
    }
    handles.clear();
    pending.clear();
    stopped = true;
  }
};

SftpParser::SftpParser(SftpLimits limits) : state_(std::make_unique<State>(limits)) {}
SftpParser::~SftpParser() = default;
SftpParser::SftpParser(SftpParser &&) noexcept = default;
SftpParser &SftpParser::operator=(SftpParser &&) noexcept = default;

std::vector<SftpOperation> SftpParser::feed(SftpDirection d, std::string_view bytes) {
  state_->feed(d, bytes);
  return std::exchange(state_->out, {});
}

std::vector<SftpOperation> SftpParser::finish() {
  if (!state_->stopped) state_->finish();
  return std::exchange(state_->out, {});
}

bool SftpParser::unparseable() const { return state_->unparseable; }

}  // namespace bastion::audit
