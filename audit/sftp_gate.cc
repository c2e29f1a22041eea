#include "audit/sftp_gate.h"

#include <map>
#include <optional>
#include <utility>

#include "audit/byte_cursor.h"
#include "audit/sftp_wire.h"
#include "authz/sftp_policy.h"
#include "authz/text.h"

namespace bastion::audit {
namespace {

using authz::SftpAccess;
using authz::SftpRequest;

// Open flags (draft-02 §6.3).
constexpr std::uint32_t kFxfRead = 0x01;
constexpr std::uint32_t kFxfWrite = 0x02;
constexpr std::uint32_t kFxfChanges = 0x04 | 0x08 | 0x10 | 0x20;  // APPEND, CREAT, TRUNC, EXCL
constexpr std::uint32_t kFxfKnown = kFxfRead | kFxfWrite | kFxfChanges;
constexpr std::uint32_t kStatusPermissionDenied = 3;
// kHeadKept: what the gate keeps of a server packet: length, type, id and a HANDLE's handle.
constexpr std::size_t kHeadKept = 4 + 1 + 4 + 4 + sftp::kMaxHandleLength;
// kMaxAnswerBytes: answers the operator has not read yet; beyond, the operator floods refusals
// without reading, and the channel ends.
constexpr std::size_t kMaxAnswerBytes = 1024 * 1024;
constexpr std::size_t kMaxReasonBytes = 512;
constexpr std::size_t kMaxTextKept = 4096;
// kMaxNoticeBytes: refusal lines waiting for the operator's stderr; more are not shown there (the
// answers and the events still carry every one).
constexpr std::size_t kMaxNoticeBytes = 64 * 1024;

// Handle: how an allowed OPEN or OPENDIR opened it.
struct Handle {
  std::string path;
  bool directory = false;
  bool readable = false;
  bool writable = false;
};

// Verdict of one request: forward it, or answer it with `reason`.
struct Verdict {
  std::optional<std::string> refusal;
  std::optional<Handle> opens;  // an allowed OPEN/OPENDIR: what its HANDLE reply will stand for
  std::string what;
  std::vector<std::string> paths;
};

std::string clip(std::string_view s) { return std::string(s.substr(0, kMaxTextKept)); }

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// permission_denied builds the STATUS packet the bastion answers a refused request with.
std::string permission_denied(std::uint32_t id, std::string_view reason) {
  const std::string message = "bastion: " + std::string(reason.substr(0, kMaxReasonBytes));
  std::string body;
  body.push_back(static_cast<char>(sftp::kStatus));
  put_u32(body, id);
  put_u32(body, kStatusPermissionDenied);
  put_u32(body, static_cast<std::uint32_t>(message.size()));
  body += message;
  put_u32(body, 0);  // language tag: none
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

}  // namespace

struct SftpGate::State {
  State(std::vector<authz::CatalogueEntry> e, SftpGateSink s, SftpLimits l)
      : entries(std::move(e)), sink(std::move(s)), limits(l) {}

  std::vector<authz::CatalogueEntry> entries;
  SftpGateSink sink;
  SftpLimits limits;
  std::string in;                                 // operator bytes of an incomplete packet
  std::map<std::uint32_t, Handle> pending_opens;  // request id → what its HANDLE will stand for
  std::map<std::string, Handle> handles;
  std::string answers;
  std::string notices;  // one line per refusal, for the operator's stderr
  // The server's packet being passed through: its first bytes (up to kHeadKept) and its size.
  std::string head;
  std::uint64_t packet_size = 0;  // 4 + length, once the length is known
  std::uint64_t packet_seen = 0;
  std::string failed;  // set once: nothing more is accepted

  Status fail(std::string why) {
    if (failed.empty()) failed = std::move(why);
    return Error{failed};
  }

  // ---- operator → server

  Status from_operator(std::string_view bytes, std::string& forward) {
    if (!failed.empty()) return Error{failed};
    in.append(bytes);
    std::size_t used = 0;
    for (;;) {
      ByteCursor cur(std::string_view(in).substr(used));
      std::uint32_t length = 0;
      if (!cur.get_u32_be(length)) break;
      if (length == 0 || length > limits.max_packet_length) {
        return fail("the operator sent an SFTP packet of length " + std::to_string(length) + " (limit " +
                    std::to_string(limits.max_packet_length) + ")");
      }
      std::string_view packet;
      if (!cur.get_bytes(length, packet)) break;
      std::optional<std::string> answer;
      if (auto st = on_request(packet, answer); !st) return st;
      if (answer) {
        answers += *answer;
        if (answers.size() > kMaxAnswerBytes) return fail("too many refused SFTP requests left unread");
      } else {
        forward.append(in, used, 4 + std::size_t{length});
      }
      used += 4 + std::size_t{length};
    }
    in.erase(0, used);
    return ok_status();
  }

  // on_request decides one packet (type and body); sets `answer` if it is refused.
  Status on_request(std::string_view packet, std::optional<std::string>& answer) {
    ByteCursor cur(packet);
    std::uint8_t type = 0;
    cur.get_u8(type);  // the framer refuses length 0
    if (!sftp::is_request(type)) return fail("the operator sent SFTP packet type " + std::to_string(type) + ", not a request");
    if (type == sftp::kInit) return ok_status();
    std::uint32_t id = 0;
    if (!cur.get_u32_be(id)) return fail("an SFTP request from the operator has no request id");
    Verdict v;
    if (!decide(type, cur, v)) return fail("malformed SFTP request of type " + std::to_string(type) + " from the operator");
    if (v.refusal) {
      answer = permission_denied(id, *v.refusal);
      if (notices.size() < kMaxNoticeBytes) notices += "bastion: " + v.refusal->substr(0, kMaxReasonBytes) + "\n";
      nlohmann::json paths = nlohmann::json::array();
      for (const auto& p : v.paths) paths.push_back(p);
      auto st = sink("sftp.refused", {{"request", v.what}, {"paths", paths}, {"reason", *v.refusal}, {"id", id}});
      if (!st) return fail("the refusal of an SFTP request could not be recorded: " + st.error().message);
      return ok_status();
    }
    if (v.opens) {
      if (pending_opens.count(id) != 0) return fail("request id " + std::to_string(id) + " reused while its open is outstanding");
      if (pending_opens.size() >= limits.max_outstanding_requests) {
        return fail("more than " + std::to_string(limits.max_outstanding_requests) + " outstanding SFTP opens");
      }
      pending_opens.emplace(id, std::move(*v.opens));
    }
    return ok_status();
  }

  // ask fills v from a path request and asks the policy.
  void ask(Verdict& v, SftpAccess access, std::string what, std::vector<std::string_view> paths) {
    v.what = std::move(what);
    for (std::string_view p : paths) v.paths.push_back(clip(p));
    v.refusal = authz::sftp_refusal(entries, SftpRequest{access, v.what, std::move(paths)});
  }

  // on_handle checks a request on a handle against how it was opened; `need` says what it needs.
  enum class Need { Any, Read, Write, Directory };
  bool on_handle(ByteCursor& cur, Verdict& v, std::string what, Need need) {
    std::string_view h;
    if (!sftp::get_handle(cur, h)) return false;
    check_handle(h, v, std::move(what), need);
    return true;
  }

  void check_handle(std::string_view h, Verdict& v, std::string what, Need need) {
    v.what = std::move(what);
    auto it = handles.find(std::string(h));
    if (it == handles.end()) {
      v.refusal = v.what + " on a handle this channel did not open";
      return;
    }
    const Handle& handle = it->second;
    v.paths.push_back(handle.path);
    const std::string shown = "'" + escape_unprintable(std::string_view(handle.path).substr(0, 200)) + "'";
    switch (need) {
      case Need::Any: break;
      case Need::Read:
        if (handle.directory || !handle.readable) v.refusal = v.what + " on " + shown + ", which was not opened for reading";
        break;
      case Need::Write:
        if (handle.directory || !handle.writable) v.refusal = v.what + " on " + shown + ", which was not opened for writing";
        break;
      case Need::Directory:
        if (!handle.directory) v.refusal = v.what + " on " + shown + ", which is not a directory";
        break;
    }
  }

  bool path_request(ByteCursor& cur, Verdict& v, SftpAccess access, std::string what) {
    std::string_view path;
    if (!cur.get_string(path)) return false;
    if (access == SftpAccess::Look && what == "realpath" && (path.empty() || path == ".")) access = SftpAccess::Home;
    ask(v, access, std::move(what), {path});
    return true;
  }

  bool two_path_request(ByteCursor& cur, Verdict& v, SftpAccess access, std::string what) {
    std::string_view a, b;
    if (!cur.get_string(a) || !cur.get_string(b)) return false;
    ask(v, access, std::move(what), {a, b});
    return true;
  }

  bool open_request(ByteCursor& cur, Verdict& v) {
    std::string_view path;
    std::uint32_t pflags = 0;
    nlohmann::json attrs;
    if (!cur.get_string(path) || !cur.get_u32_be(pflags) || !sftp::get_attrs(cur, attrs)) return false;
    // sftp-server opens O_RDONLY unless WRITE is set, whatever else the flags say.
    const bool readable = (pflags & kFxfRead) != 0 || (pflags & kFxfWrite) == 0;
    const bool changes = (pflags & (kFxfWrite | kFxfChanges)) != 0;
    const SftpAccess access = readable && changes ? SftpAccess::ReadWrite : changes ? SftpAccess::Write : SftpAccess::Read;
    ask(v, access, "open", {path});
    if (!v.refusal && (pflags & ~kFxfKnown) != 0) v.refusal = "open with unknown flags " + std::to_string(pflags);
    if (!v.refusal) v.opens = Handle{std::string(path), false, readable, (pflags & kFxfWrite) != 0};
    return true;
  }

  bool extended_request(ByteCursor& cur, Verdict& v) {
    std::string_view name_view;
    if (!cur.get_string(name_view)) return false;
    const std::string name(name_view);
    if (name == "posix-rename@openssh.com") return two_path_request(cur, v, SftpAccess::Rename, name);
    if (name == "hardlink@openssh.com") return two_path_request(cur, v, SftpAccess::Hardlink, name);
    if (name == "lsetstat@openssh.com") return path_request(cur, v, SftpAccess::Write, name) && attrs_follow(cur);
    if (name == "statvfs@openssh.com") return path_request(cur, v, SftpAccess::Look, name);
    if (name == "fstatvfs@openssh.com" || name == "fsync@openssh.com") return on_handle(cur, v, name, Need::Any);
    if (name == "limits@openssh.com" || name == "users-groups-by-id@openssh.com") {
      ask(v, SftpAccess::Info, name, {});
      return true;
    }
    if (name == "home-directory") {
      ask(v, SftpAccess::Home, name, {});
      return true;
    }
    if (name == "expand-path@openssh.com") {
      std::string_view path;
      if (!cur.get_string(path)) return false;
      const bool home = path.empty() || path == "." || path == "~" || path.substr(0, 2) == "~/";
      ask(v, home ? SftpAccess::Home : SftpAccess::Look, name, {path});
      return true;
    }
    if (name == "copy-data") return copy_data(cur, v);
    v.what = clip(name);
    v.refusal = "extended request '" + escape_for_message(name) + "' is not allowed on a limited transfer";
    return true;
  }

  static std::string escape_for_message(std::string_view s) {
    std::string out;
    for (unsigned char c : s.substr(0, 100)) out += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : "?";
    return out;
  }

  static bool attrs_follow(ByteCursor& cur) {
    nlohmann::json attrs;
    return sftp::get_attrs(cur, attrs);
  }

  // copy-data reads from one handle and writes to another: each must have been opened for that.
  bool copy_data(ByteCursor& cur, Verdict& v) {
    std::string_view from, to;
    std::uint64_t read_offset = 0, length = 0, write_offset = 0;
    if (!sftp::get_handle(cur, from) || !cur.get_u64_be(read_offset) || !cur.get_u64_be(length) ||
        !sftp::get_handle(cur, to) || !cur.get_u64_be(write_offset)) {
      return false;
    }
    check_handle(from, v, "copy-data", Need::Read);
    if (v.refusal) return true;
    Verdict w;
    check_handle(to, w, "copy-data", Need::Write);
    v.refusal = w.refusal;
    v.paths.insert(v.paths.end(), w.paths.begin(), w.paths.end());
    return true;
  }

  // decide classifies the body (after the id) of a request of `type`; false if malformed.
  bool decide(std::uint8_t type, ByteCursor& cur, Verdict& v) {
    switch (type) {
      case sftp::kOpen: return open_request(cur, v);
      case sftp::kClose: return close_request(cur, v);
      case sftp::kRead: return on_handle(cur, v, "read", Need::Read);
      case sftp::kWrite: return on_handle(cur, v, "write", Need::Write);
      case sftp::kLstat: return path_request(cur, v, SftpAccess::Look, "lstat");
      case sftp::kFstat: return on_handle(cur, v, "fstat", Need::Any);
      case sftp::kSetstat: return path_request(cur, v, SftpAccess::Write, "setstat") && attrs_follow(cur);
      case sftp::kFsetstat: return fsetstat(cur, v);
      case sftp::kOpendir:
        if (!path_request(cur, v, SftpAccess::Look, "opendir")) return false;
        if (!v.refusal) v.opens = Handle{v.paths.front(), true, false, false};
        return true;
      case sftp::kReaddir: return on_handle(cur, v, "readdir", Need::Directory);
      case sftp::kRemove: return path_request(cur, v, SftpAccess::Remove, "remove");
      case sftp::kMkdir: return path_request(cur, v, SftpAccess::Write, "mkdir") && attrs_follow(cur);
      case sftp::kRmdir: return path_request(cur, v, SftpAccess::Remove, "rmdir");
      case sftp::kRealpath: return path_request(cur, v, SftpAccess::Look, "realpath");
      case sftp::kStat: return path_request(cur, v, SftpAccess::Look, "stat");
      case sftp::kRename: return two_path_request(cur, v, SftpAccess::Rename, "rename");
      case sftp::kReadlink: return path_request(cur, v, SftpAccess::Look, "readlink");
      case sftp::kSymlink: return two_path_request(cur, v, SftpAccess::Symlink, "symlink");
      case sftp::kExtended: return extended_request(cur, v);
      default: return false;  // is_request() admitted nothing else
    }
  }

  // CLOSE always passes; the handle stops standing for its file now (the server may hand the same
  // handle out again for the next open).
  bool close_request(ByteCursor& cur, Verdict& v) {
    std::string_view h;
    if (!sftp::get_handle(cur, h)) return false;
    v.what = "close";
    handles.erase(std::string(h));
    return true;
  }

  // FSETSTAT changes the file like SETSTAT: an upload of the handle's path.
  bool fsetstat(ByteCursor& cur, Verdict& v) {
    if (!on_handle(cur, v, "fsetstat", Need::Any) || !attrs_follow(cur)) return false;
    if (v.refusal) return true;
    const std::string path = v.paths.front();
    v.refusal = authz::sftp_refusal(entries, SftpRequest{SftpAccess::Write, "fsetstat", {path}});
    return true;
  }

  // ---- server → operator

  Status from_server(std::string_view bytes, std::string& out) {
    if (!failed.empty()) return Error{failed};
    ByteCursor cur(bytes);
    while (!cur.empty()) {
      if (packet_seen < 4) {
        std::string_view part;
        cur.get_bytes(std::min<std::size_t>(4 - packet_seen, cur.remaining()), part);
        take(part, out);
        if (packet_seen < 4) break;
        ByteCursor len(head);
        std::uint32_t length = 0;
        len.get_u32_be(length);
        if (length == 0 || length > limits.max_packet_length) {
          return fail("the server sent an SFTP packet of length " + std::to_string(length));
        }
        packet_size = 4 + std::uint64_t{length};
      }
      std::string_view part;
      cur.get_bytes(static_cast<std::size_t>(std::min<std::uint64_t>(packet_size - packet_seen, cur.remaining())), part);
      take(part, out);
      if (packet_seen == packet_size) {
        if (auto st = on_reply(); !st) return st;
        head.clear();
        packet_seen = packet_size = 0;
        out += std::exchange(answers, {});
      }
    }
    return ok_status();
  }

  void take(std::string_view part, std::string& out) {
    out.append(part);
    if (head.size() < kHeadKept) head.append(part.substr(0, kHeadKept - head.size()));
    packet_seen += part.size();
  }

  // on_reply reads the kept head of a whole server packet.
  Status on_reply() {
    ByteCursor cur(std::string_view(head).substr(4));
    std::uint8_t type = 0;
    std::uint32_t id = 0;
    cur.get_u8(type);
    if (!sftp::is_response(type)) return fail("the server sent SFTP packet type " + std::to_string(type) + ", not a reply");
    if (!cur.get_u32_be(id)) return fail("an SFTP reply from the server is too short");
    if (type == sftp::kVersion) {
      if (id != sftp::kProtocolVersion) return fail("the server speaks SFTP version " + std::to_string(id) + ", not 3");
      return ok_status();
    }
    auto it = pending_opens.find(id);
    if (it == pending_opens.end()) return ok_status();
    Handle opened = std::move(it->second);
    pending_opens.erase(it);
    if (type != sftp::kHandle) return ok_status();  // the open failed
    std::string_view h;
    if (!sftp::get_handle(cur, h)) return fail("malformed SFTP HANDLE reply from the server");
    if (handles.size() >= limits.max_open_handles) {
      return fail("more than " + std::to_string(limits.max_open_handles) + " open SFTP handles");
    }
    handles.insert_or_assign(std::string(h), std::move(opened));
    return ok_status();
  }
};

SftpGate::SftpGate(std::vector<authz::CatalogueEntry> entries, SftpGateSink sink, SftpLimits limits)
    : state_(std::make_unique<State>(std::move(entries), std::move(sink), limits)) {}
SftpGate::~SftpGate() = default;

Status SftpGate::from_operator(std::string_view bytes, std::string& forward) {
  return state_->from_operator(bytes, forward);
}

Status SftpGate::from_server(std::string_view bytes, std::string& out) { return state_->from_server(bytes, out); }

void SftpGate::take_answers(std::string& out) {
  if (state_->packet_seen == 0) out += std::exchange(state_->answers, {});
}

std::size_t SftpGate::answers_waiting() const { return state_->answers.size(); }

void SftpGate::take_notices(std::string& out) { out += std::exchange(state_->notices, {}); }

}  // namespace bastion::audit
