#pragma once
// sftp_policy: the per-request decision for an SFTP channel whose catalogue entries limit the
// direction or the paths of transfers (issue 13). Pure: the gate that reads the requests in
// transit (audit/sftp_gate.h) asks, and answers the operator with the reason when refused.
//
// A channel may run under several entries of its grant (decide() hands them all over in
// Allow::transfer_entries): a request passes if any one of them allows it.
//
// What each request is (SftpAccess), and why:
//  - Home: REALPATH of "." or "", expand-path@openssh.com of "~" or "~/…", home-directory. Every
//    client asks where it starts; the answer is a name, never content.
//  - Info: limits@openssh.com, users-groups-by-id@openssh.com: no path at all.
//  - Look: STAT, LSTAT, OPENDIR (and READDIR on its handle), READLINK, REALPATH, statvfs@openssh.com:
//    names and attributes, never content; allowed in either direction, but only within the path.
//  - Read: OPEN that gives a readable handle (SSH_FXF_READ, or no SSH_FXF_WRITE: sftp-server then
//    opens O_RDONLY): file content leaves the server, a download.
//  - Write: OPEN with WRITE, APPEND, CREAT, TRUNC or EXCL (even without WRITE: O_RDONLY|O_TRUNC
//    still empties a file), MKDIR, SETSTAT, FSETSTAT, lsetstat@openssh.com: an upload.
//  - ReadWrite: an OPEN that is both.
//  - Remove (REMOVE, RMDIR), Rename (RENAME, posix-rename@openssh.com: both paths), Symlink,
//    Hardlink (hardlink@openssh.com: both paths): uploads that only an sftp entry allows; OpenSSH's
//    scp in SFTP mode never sends them, so an scp entry refuses them.
//    A symlink's target is checked too: an absolute target as written, a relative one joined to the
//    link's directory; it must lie within the same path pattern, so no link made here points out.
//
// Paths: under an entry with a path pattern, a path must be absolute and match the pattern
// (authz/operation.h path_glob_match: '*' stays in a segment, a ".." segment never matches). A
// relative path is refused: sftp-server resolves it against the login's home directory, which the
// bastion does not know (OpenSSH's sftp client sends absolute paths once it has asked REALPATH ".").
// A path holding a NUL byte is refused everywhere: sftp-server would read it as a C string.
// Symlinks that already exist on the server are followed by the server, beyond anything checked here.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authz/model.h"

namespace bastion::authz {

enum class SftpAccess { Home, Info, Look, Read, Write, ReadWrite, Remove, Rename, Symlink, Hardlink };

struct SftpRequest {
  SftpAccess access = SftpAccess::Info;
  std::string_view what;               // the request, for messages: "open", "remove", "posix-rename"…
  std::vector<std::string_view> paths;  // Rename: from, to; Symlink/Hardlink: target, then the new link
};

// sftp_gate_needed: false when one of the entries is an sftp entry limited in nothing (both
// directions, any path, no stray pattern): then every request is allowed and nothing needs gating.
bool sftp_gate_needed(std::span<const CatalogueEntry> entries);

// sftp_refusal returns nullopt if one of the entries allows the request, else a sentence saying
// what was refused and what the entries allow, e.g. "remove of '/etc/passwd' refused: entry
// 'www' allows upload only, under /srv/www/**".
std::optional<std::string> sftp_refusal(std::span<const CatalogueEntry> entries, const SftpRequest& r);

// describe_transfer_limit renders an entry's limit for messages: "upload only, under /srv/www/**",
// "both directions, any path".
std::string describe_transfer_limit(const CatalogueEntry& e);

}  // namespace bastion::authz
