#include "tests/e2e/harness/proc_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bastion::e2e {
namespace {

namespace fs = std::filesystem;

// parent_of reads field 4 of /proc/PID/stat; the command name (field 2) is in parentheses and may
// itself hold spaces and parentheses, so fields are counted from the last ')'.
std::optional<pid_t> parent_of(const std::string& pid_dir) {
  std::ifstream in(pid_dir + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  long long ppid = 0;
  if (!(rest >> state >> ppid)) return std::nullopt;
  return static_cast<pid_t>(ppid);
}

// kib_field reads "Name:   123 kB" from a /proc status-like file.
std::optional<long long> kib_field(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::istringstream v(line.substr(name.size() + 1));
    long long kib = 0;
    if (v >> kib) return kib;
  }
  return std::nullopt;
}

}  // namespace

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    auto ppid = parent_of(entry.path().string());
    if (ppid && *ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

std::optional<int> open_fd_count(pid_t pid) {
  std::error_code ec;
  fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return std::nullopt;
  int n = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n;
}

std::optional<long long> rss_kib(pid_t pid) { return kib_field("/proc/" + std::to_string(pid) + "/status", "VmRSS"); }

std::optional<long long> pss_kib(pid_t pid) {
  return kib_field("/proc/" + std::to_string(pid) + "/smaps_rollup", "Pss");
}

std::vector<std::string> open_files(pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(e.path(), link_ec);
    if (!link_ec) out.push_back(target.string());
  }
  return out;
}

bool maps_mention(pid_t pid, const std::string& text) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(in, line);)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

std::optional<bool> memory_holds(pid_t pid, const std::string& needle) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream maps(proc + "/maps");
  const int mem = ::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (!maps || mem < 0 || needle.empty()) {
    if (mem >= 0) ::close(mem);
    return std::nullopt;
  }
  bool readable_any = false, found = false;
  std::string region;
  for (std::string line; !found && std::getline(maps, line);) {
    unsigned long long begin = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %4s", &begin, &end, perms) != 3) continue;
    if (perms[0] != 'r' || perms[1] != 'w' || end <= begin || end - begin > (1ULL << 30)) continue;
    region.resize(static_cast<std::size_t>(end - begin));
    const ssize_t n = ::pread(mem, region.data(), region.size(), static_cast<off_t>(begin));
    if (n <= 0) continue;
    readable_any = true;
    found = std::string_view(region.data(), static_cast<std::size_t>(n)).find(needle) != std::string_view::npos;
  }
  ::close(mem);
  if (!readable_any) return std::nullopt;
  return found;
}

}  // namespace bastion::e2e
