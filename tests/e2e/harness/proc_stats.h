#pragma once
// proc_stats: what /proc says about a running process — its children, open descriptors and memory —
// so that tests can show the daemon holds no more of them after a storm than before it.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace bastion::e2e {

// children_of: the live processes whose parent is `parent` (zombies not yet reaped included).
std::vector<pid_t> children_of(pid_t parent);
// open_fd_count: entries in /proc/PID/fd; nullopt if the process is gone.
std::optional<int> open_fd_count(pid_t pid);
// open_files: where each of a process's descriptors points (readlink of /proc/PID/fd/*).
std::vector<std::string> open_files(pid_t pid);
// maps_mention: whether a file whose path contains `text` is mapped into the process.
bool maps_mention(pid_t pid, const std::string& text);
// memory_holds: whether `needle` appears in the process's writable memory (heap, stack, anonymous
// and writable file mappings: where a key's bytes would linger after being read), read through
// /proc/PID/mem; nullopt when that memory cannot be read (not root and not the same user, or the
// process is gone). Only the pages the process has touched are read (/proc/PID/pagemap), and
// regions over 1 GiB (a sanitizer's shadow and allocator reservations) are skipped.
std::optional<bool> memory_holds(pid_t pid, const std::string& needle);
// rss_kib: VmRSS from /proc/PID/status; pss_kib: Pss from /proc/PID/smaps_rollup (KiB); nullopt if
// the process is gone or the field is missing.
std::optional<long long> rss_kib(pid_t pid);
std::optional<long long> pss_kib(pid_t pid);

}  // namespace bastion::e2e
