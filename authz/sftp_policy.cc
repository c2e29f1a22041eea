#include "authz/sftp_policy.h"

#include <algorithm>

#include "authz/operation.h"
#include "authz/text.h"

namespace bastion::authz {
namespace {

constexpr std::size_t kMaxShown = 200;

std::string shown(std::string_view path) {
  std::string out = "'" + escape_unprintable(path.substr(0, kMaxShown));
  if (path.size() > kMaxShown) out += "…";
  return out + "'";
}

bool is_transfer_entry(const CatalogueEntry& e) {
  // A stray pattern on a transfer entry predates the direction/path columns (authz/schema.cc,
  // migration 7): such an entry allows nothing until an officer re-creates it.
  return (e.type == OpType::Sftp || e.type == OpType::Scp) && e.pattern.empty();
}

bool may_upload(const CatalogueEntry& e) { return e.direction != TransferLimit::Download; }
bool may_download(const CatalogueEntry& e) { return e.direction != TransferLimit::Upload; }

bool within(const CatalogueEntry& e, std::string_view path) {
  return e.path.empty() || (!path.empty() && path.front() == '/' && path_glob_match(e.path, path));
}

// symlink_destination: where a symlink with this target, made at `link`, points, as far as the
// text says: an absolute target as written, a relative one joined to the link's directory.
std::string symlink_destination(std::string_view target, std::string_view link) {
  if (!target.empty() && target.front() == '/') return std::string(target);
  const auto slash = link.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? std::string_view{} : link.substr(0, slash + 1);
  return std::string(dir) + std::string(target);
}

// paths_of: the paths a request must keep within the pattern (a symlink's target resolved).
std::vector<std::string> paths_of(const SftpRequest& r) {
  std::vector<std::string> out(r.paths.begin(), r.paths.end());
  if (r.access == SftpAccess::Symlink && r.paths.size() == 2) out[0] = symlink_destination(r.paths[0], r.paths[1]);
  return out;
}

// why_not says why one entry does not allow the request, or "" if it does.
std::string why_not(const CatalogueEntry& e, const SftpRequest& r) {
  const std::string name = "entry '" + e.name + "'";
  if (!is_transfer_entry(e)) return name + " is not a transfer entry";
  switch (r.access) {
    case SftpAccess::Home:
    case SftpAccess::Info: return "";
    case SftpAccess::Look: break;
    case SftpAccess::Read:
      if (!may_download(e)) return name + " allows " + describe_transfer_limit(e);
      break;
    case SftpAccess::Write:
      if (!may_upload(e)) return name + " allows " + describe_transfer_limit(e);
      break;
    case SftpAccess::ReadWrite:
      if (!may_upload(e) || !may_download(e)) return name + " allows " + describe_transfer_limit(e);
      break;
    case SftpAccess::Remove:
    case SftpAccess::Rename:
    case SftpAccess::Symlink:
    case SftpAccess::Hardlink:
      if (e.type != OpType::Sftp) return name + " is an scp entry: scp never removes, renames or links files";
      if (!may_upload(e)) return name + " allows " + describe_transfer_limit(e);
      break;
  }
  for (const std::string& p : paths_of(r)) {
    if (within(e, p)) continue;
    if (p.empty() || p.front() != '/') {
      return shown(p) + " is a relative path: name the absolute path (" + name + " allows only paths under " +
             e.path + ")";
    }
    return name + " allows only paths matching " + e.path + (r.access == SftpAccess::Symlink ? " (a link's target too)" : "");
  }
  return "";
}

}  // namespace

std::string describe_transfer_limit(const CatalogueEntry& e) {
  std::string out = e.direction == TransferLimit::Both ? "both directions" : std::string(to_string(e.direction)) + " only";
  return out + (e.path.empty() ? ", any path" : ", under " + e.path);
}

bool sftp_gate_needed(std::span<const CatalogueEntry> entries) {
  return std::none_of(entries.begin(), entries.end(), [](const CatalogueEntry& e) {
    return e.type == OpType::Sftp && is_transfer_entry(e) && e.direction == TransferLimit::Both && e.path.empty();
  });
}

std::optional<std::string> sftp_refusal(std::span<const CatalogueEntry> entries, const SftpRequest& r) {
  std::string subject = std::string(r.what);
  for (std::size_t i = 0; i < r.paths.size(); ++i) subject += (i == 0 ? " of " : " to ") + shown(r.paths[i]);
  for (std::string_view p : r.paths) {
    if (p.find('\0') != std::string_view::npos) return subject + " refused: a path holds a NUL byte";
  }
  std::string reasons;
  for (const CatalogueEntry& e : entries) {
    const std::string why = why_not(e, r);
    if (why.empty()) return std::nullopt;
    reasons += (reasons.empty() ? "" : "; ") + why;
  }
  if (reasons.empty()) reasons = "no transfer entry lets this channel run";
  return subject + " refused: " + reasons;
}

}  // namespace bastion::authz
