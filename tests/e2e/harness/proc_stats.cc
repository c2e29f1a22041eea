#include "tests/e2e/harness/proc_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>
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

namespace {

// touched_runs: the runs of pages of [begin, end) the process has touched (resident or swapped out,
// from /proc/PID/pagemap), as [first, last) byte ranges; nullopt if the pagemap cannot be read.
// A page never touched reads as zeros and cannot hold a key's bytes.
std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> touched_runs(int pagemap, std::uint64_t begin,
                                                                                std::uint64_t end) {
  constexpr std::uint64_t kPresent = 1ULL << 63, kSwapped = 1ULL << 62;
  const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
  std::vector<std::uint64_t> entries(4096);
  for (std::uint64_t at = begin; at < end;) {
    const std::uint64_t pages = std::min<std::uint64_t>(entries.size(), (end - at) / page);
    if (pages == 0) break;
    const ssize_t n = ::pread(pagemap, entries.data(), pages * sizeof(std::uint64_t),
                              static_cast<off_t>(at / page * sizeof(std::uint64_t)));
    if (n != static_cast<ssize_t>(pages * sizeof(std::uint64_t))) return std::nullopt;
    for (std::uint64_t i = 0; i < pages; ++i, at += page) {
      if ((entries[i] & (kPresent | kSwapped)) == 0) continue;
      if (!runs.empty() && runs.back().second == at) runs.back().second = at + page;
      else runs.emplace_back(at, at + page);
    }
  }
  return runs;
}

}  // namespace

std::optional<bool> memory_holds(pid_t pid, const std::string& needle) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream maps(proc + "/maps");
  const int mem = ::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  const int pagemap = ::open((proc + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
  auto done = [&](std::optional<bool> answer) {
    if (mem >= 0) ::close(mem);
    if (pagemap >= 0) ::close(pagemap);
    return answer;
  };
  if (!maps || mem < 0 || pagemap < 0 || needle.empty()) return done(std::nullopt);
  bool readable_any = false;
  // Read in chunks, each overlapping the last by the needle's length less one, so that a copy
  // across a chunk's end is still found.
  constexpr std::uint64_t kChunk = 8ULL << 20;
  std::string chunk;
  for (std::string line; std::getline(maps, line);) {
    unsigned long long begin = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %4s", &begin, &end, perms) != 3) continue;
    // Over 1 GiB: a sanitizer's reservations (shadow, allocator space: terabytes, whose page map
    // alone would take minutes to read), never a plain build's.
    if (perms[0] != 'r' || perms[1] != 'w' || end <= begin || end - begin > (1ULL << 30)) continue;
    auto runs = touched_runs(pagemap, begin, end);
    if (!runs) continue;
    for (const auto& [first, last] : *runs) {
      for (std::uint64_t at = first; at < last;) {
        const std::uint64_t size = std::min<std::uint64_t>(kChunk, last - at);
        chunk.resize(static_cast<std::size_t>(size));
        const ssize_t n = ::pread(mem, chunk.data(), chunk.size(), static_cast<off_t>(at));
        if (n <= 0) break;
        readable_any = true;
        if (std::string_view(chunk.data(), static_cast<std::size_t>(n)).find(needle) != std::string_view::npos)
          return done(true);
        if (static_cast<std::uint64_t>(n) < size || at + size >= last) break;
        at += size - std::min<std::uint64_t>(size - 1, needle.size() - 1);
      }
    }
  }
  return done(readable_any ? std::optional<bool>(false) : std::nullopt);
}

}  // namespace bastion::e2e
