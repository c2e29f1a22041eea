#include "gateway/session_liveness.h"

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace bastion::gateway {
namespace {

struct ProcStat {
  char state = '?';
  std::int64_t start_ticks = 0;
};

// read_stat reads state (field 3) and starttime (field 22) of /proc/PID/stat. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses: fields are counted from
// the LAST ')'.
bool read_stat(int pid, ProcStat& out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int n = 3; n <= 22 && rest >> field; ++n) {
    if (n == 3) out.state = field.empty() ? '?' : field[0];
    if (n == 22) {
      const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out.start_ticks);
      return ec == std::errc{} && end == field.data() + field.size();
    }
  }
  return false;
}

}  // namespace

std::int64_t process_start_ticks(int pid) {
  ProcStat st;
  return pid > 0 && read_stat(pid, st) ? st.start_ticks : 0;
}

bool session_process_alive(int pid, std::int64_t pid_start) {
  if (pid <= 0) return false;
  ProcStat st;
  if (!read_stat(pid, st)) return ::kill(pid, 0) == 0 || errno == EPERM;  // no /proc: the pid alone
  if (st.state == 'Z' || st.state == 'X') return false;
  return pid_start == 0 || st.start_ticks == pid_start;
}

}  // namespace bastion::gateway
