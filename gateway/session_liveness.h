#pragma once
// Session liveness: whether the process that serves a session row still runs. A row names its
// process by pid and by that process's start time, because pids are reused: a pid that now belongs
// to another process (started later) means the session's own process is gone.
#include <cstdint>

namespace bastion::gateway {

// process_start_ticks returns the start time of process pid in clock ticks since boot
// (/proc/PID/stat field 22), or 0 if there is no such process or it cannot be read.
std::int64_t process_start_ticks(int pid);

// session_process_alive says whether the process (pid, pid_start) still runs. pid_start 0 (a row
// written before start times were kept) falls back to "some process has that pid"; a zombie
// counts as gone.
bool session_process_alive(int pid, std::int64_t pid_start);

}  // namespace bastion::gateway
