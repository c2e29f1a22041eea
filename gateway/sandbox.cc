#include "gateway/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <pwd.h>
#include <seccomp.h>

// libseccomp's SCMP_A0…SCMP_A5 argument macros are C99 compound literals that leave datum_b to be
// zeroed; clang warns about both in C++ (g++ does not). The code relies on exactly that zeroing.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wc99-extensions"
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace bastion::gateway {
namespace {

std::string errno_text() { return std::strerror(errno); }

struct SeccompRelease {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using SeccompPtr = std::unique_ptr<void, SeccompRelease>;

// highest_open_descriptor: the largest descriptor number open now, read from /proc/self/fd before
// the sandbox forbids opening it. Without /proc (a chroot entered earlier), probes with fcntl.
int highest_open_descriptor() {
  int highest = 2;
  if (DIR* d = opendir("/proc/self/fd")) {
    const int own = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const int fd = std::atoi(e->d_name);
      if (fd != own && fd > highest) highest = fd;
    }
    closedir(d);
    return highest;
  }
  for (int fd = 0; fd < 4096; ++fd)
    if (fcntl(fd, F_GETFD) != -1) highest = fd;
  return highest;
}

Status set_limit(int resource, rlim_t value, const char* name) {
  rlimit lim{value, value};
  if (setrlimit(resource, &lim) != 0) return Error{std::string("cannot set ") + name + ": " + errno_text()};
  return ok_status();
}

// apply_rlimits: no core files (a core of this process holds the host key and session bytes), no
// new processes, a bounded descriptor table and a bounded data segment. RLIMIT_FSIZE stays as it
// is: the process writes recordings to descriptors its monitor opens for it, and a file size limit
// would kill it with SIGXFSZ mid-session; that it creates no file at all is the seccomp filter's job.
Status apply_rlimits(const SandboxOptions& o) {
  if (auto st = set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE"); !st) return st;
  if (auto st = set_limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC"); !st) return st;
  const rlim_t files = static_cast<rlim_t>(highest_open_descriptor() + 1 + std::max(o.extra_descriptors, 0));
  if (auto st = set_limit(RLIMIT_NOFILE, files, "RLIMIT_NOFILE"); !st) return st;
  if (o.max_data_bytes != 0)
    if (auto st = set_limit(RLIMIT_DATA, static_cast<rlim_t>(o.max_data_bytes), "RLIMIT_DATA"); !st) return st;
  return ok_status();
}

// Rule: one allowed system call, optionally only with the argument comparisons given.
struct Rule {
  int syscall;
  std::vector<scmp_arg_cmp> args;
};

// allow_list: every system call the network process may make once sandboxed, and who needs it.
// Found by running a real libssh server session (key exchange with the project's algorithms,
// authentication, a channel, exec, exit status) and a libssh client session under strace -f -c and
// under this filter (tests/gateway/sandbox_test.cc); anything else kills the process.
std::vector<Rule> allow_list() {
  const scmp_datum_t self = static_cast<scmp_datum_t>(getpid());
  const scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
  return {
      // Moving bytes: libssh reads and writes the peer socket (recv/send are recvfrom/sendto on
      // x86-64), the proxy loop and recording writes use read/write/writev; the monitor's
      // socketpair carries passed descriptors (recvmsg/sendmsg).
      {SCMP_SYS(read), {}}, {SCMP_SYS(write), {}}, {SCMP_SYS(readv), {}}, {SCMP_SYS(writev), {}},
      {SCMP_SYS(pread64), {}}, {SCMP_SYS(pwrite64), {}},
      {SCMP_SYS(recvfrom), {}}, {SCMP_SYS(sendto), {}}, {SCMP_SYS(recvmsg), {}}, {SCMP_SYS(sendmsg), {}},
      {SCMP_SYS(shutdown), {}}, {SCMP_SYS(close), {}},
      // Recordings are flushed as they go (DESIGN.md rule 6).
      {SCMP_SYS(fsync), {}}, {SCMP_SYS(fdatasync), {}}, {SCMP_SYS(lseek), {}},
      // Waiting: libssh's ssh_poll and the proxy loop use poll(); ppoll/epoll for the event loop.
      {SCMP_SYS(poll), {}}, {SCMP_SYS(ppoll), {}}, {SCMP_SYS(epoll_wait), {}}, {SCMP_SYS(epoll_pwait), {}},
      {SCMP_SYS(epoll_ctl), {}},
      // Descriptor flags: libssh makes sockets non-blocking (F_GETFL/F_SETFL) and sets TCP_NODELAY
      // and reads SO_ERROR; FIONREAD sizes a read. None of these reaches a path.
      {SCMP_SYS(fcntl), {SCMP_A1(SCMP_CMP_EQ, F_GETFL)}}, {SCMP_SYS(fcntl), {SCMP_A1(SCMP_CMP_EQ, F_SETFL)}},
      {SCMP_SYS(fcntl), {SCMP_A1(SCMP_CMP_EQ, F_GETFD)}}, {SCMP_SYS(fcntl), {SCMP_A1(SCMP_CMP_EQ, F_SETFD)}},
      {SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_EQ, FIONREAD)}}, {SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_EQ, FIONBIO)}},
      {SCMP_SYS(getsockopt), {}}, {SCMP_SYS(setsockopt), {}}, {SCMP_SYS(getpeername), {}},
      {SCMP_SYS(getsockname), {}},
      // fstat of an open descriptor (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH) since 2.33;
      // stdio calls it on first use of a stream). Only the AT_EMPTY_PATH form is allowed.
      {SCMP_SYS(fstat), {}}, {SCMP_SYS(newfstatat), {SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)}},
      // Memory: malloc (brk, mmap for large blocks, mremap for realloc, madvise when trimming);
      // never a mapping or protection change that makes memory executable.
      {SCMP_SYS(brk), {}}, {SCMP_SYS(mmap), {no_exec}}, {SCMP_SYS(mprotect), {no_exec}}, {SCMP_SYS(munmap), {}},
      {SCMP_SYS(mremap), {}}, {SCMP_SYS(madvise), {}},
      // Locks (libcrypto and libstdc++ use futexes even in one thread).
      {SCMP_SYS(futex), {}},
      // Time: timeouts, keepalives and recording timestamps (clock_gettime is normally the vDSO and
      // needs no system call; the fallback does).
      {SCMP_SYS(clock_gettime), {}}, {SCMP_SYS(gettimeofday), {}}, {SCMP_SYS(nanosleep), {}},
      {SCMP_SYS(clock_nanosleep), {}},
      // Randomness for key exchange, nonces and padding (libcrypto's DRBG reseeds from getrandom).
      {SCMP_SYS(getrandom), {}},
      // Identity, for logs and the self-only signal rules below; reading ids changes nothing.
      {SCMP_SYS(getpid), {}}, {SCMP_SYS(gettid), {}}, {SCMP_SYS(getuid), {}}, {SCMP_SYS(geteuid), {}},
      {SCMP_SYS(getgid), {}}, {SCMP_SYS(getegid), {}},
      // Signals: handlers may be (re)installed and masks changed; a signal may be sent only to this
      // process itself (raise(), abort(): "cannot happen" aborts loudly, even here).
      {SCMP_SYS(rt_sigaction), {}}, {SCMP_SYS(rt_sigprocmask), {}}, {SCMP_SYS(rt_sigreturn), {}},
      {SCMP_SYS(kill), {SCMP_A0(SCMP_CMP_EQ, self)}}, {SCMP_SYS(tgkill), {SCMP_A0(SCMP_CMP_EQ, self)}},
      {SCMP_SYS(restart_syscall), {}},
      // The login grace timer (sshd's LoginGraceTime) is cancelled once the operator authenticated.
      {SCMP_SYS(alarm), {}}, {SCMP_SYS(setitimer), {}},
      // Leaving.
      {SCMP_SYS(exit), {}}, {SCMP_SYS(exit_group), {}},
  };
}

Status install_seccomp() {
  SeccompPtr ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) return Error{"cannot create the seccomp filter (out of memory)"};
  for (const Rule& r : allow_list()) {
    const int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ALLOW, r.syscall, static_cast<unsigned>(r.args.size()),
                                          r.args.empty() ? nullptr : r.args.data());
    if (rc != 0) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r.syscall);
      std::string what = name != nullptr ? name : std::to_string(r.syscall);
      std::free(name);
      return Error{"cannot add seccomp rule for " + what + ": " + std::strerror(-rc)};
    }
  }
  // Read-only opens fail with EACCES instead of killing: libssh's client reads its known_hosts files
  // during every key exchange to order host key algorithms, whatever the options say (the host key
  // is checked against the registered one, so nothing is lost when that read fails). A read-only
  // open in the chroot finds nothing; one that could create, truncate or write anything still kills.
  const scmp_arg_cmp read_only = SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE, 0);
  if (const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1, read_only); rc != 0)
    return Error{std::string("cannot add seccomp rule for openat: ") + std::strerror(-rc)};
  // no_new_privs is set separately (and checked); libseccomp must not silently set it for us.
  if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0) != 0) return Error{"cannot configure the seccomp filter"};
  if (const int rc = seccomp_load(ctx.get()); rc != 0)
    return Error{std::string("cannot install the seccomp filter: ") + std::strerror(-rc)};
  return ok_status();
}

// become drops every group and both ids to the account, irrevocably (setres*: real, effective
// and saved), and checks root cannot be regained. Takes ids looked up before the chroot hid
// /etc/passwd.
Status become(const std::string& user, uid_t uid, gid_t gid) {
  if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
    return Error{"cannot switch the network process to " + user + ": " + errno_text()};
  if (setuid(0) == 0 || seteuid(0) == 0) return Error{"switched to " + user + " but root could be regained"};
  return ok_status();
}

Status enter_root(const std::string& dir) {
  if (auto st = prepare_empty_root(dir); !st) return st;
  if (chroot(dir.c_str()) != 0 || chdir("/") != 0)
    return Error{"cannot chroot the network process to " + dir + ": " + errno_text()};
  return ok_status();
}

}  // namespace

std::string SandboxReport::describe() const {
  std::string s = uid_changed ? "sandboxed as " + user + (chrooted ? " in " + root : std::string(", no chroot"))
                              : std::string("unprivileged: no uid change, no chroot");
  std::string layers;
  for (auto [on, name] : {std::pair{no_new_privs, "no_new_privs"}, {rlimits, "rlimits"}, {seccomp, "seccomp"}})
    if (on) layers += std::string(layers.empty() ? "" : ", ") + name;
  return s + "; " + (layers.empty() ? "no other layer" : layers) +
         (sanitizer_build ? " (sanitized or profiling build: no seccomp filter, no resource limits)" : "");
}

std::string empty_root_for(const std::string& state_dir) { return state_dir + "/empty"; }

Status check_preauth_user(const std::string& user) {
  if (geteuid() != 0) return ok_status();
  if (user.empty()) return Error{"--preauth-user must name an account"};
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr)
    return Error{"--preauth-user " + user + ": no such account; the network process runs as it when bastiond is root. "
                 "Create it: useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin " +
                 user};
  if (pw->pw_uid == 0) return Error{"--preauth-user " + user + " is root; name an unprivileged account"};
  return ok_status();
}

Status prepare_empty_root(const std::string& path) {
  if (path.empty()) return Error{"no directory given for the network process's chroot"};
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return Error{"cannot create the empty chroot directory " + path + ": " + errno_text()};
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return Error{"cannot inspect " + path + ": " + errno_text()};
  if (!S_ISDIR(st.st_mode)) return Error{path + " must be a directory (the network process's empty chroot)"};
  if (st.st_uid != 0 || (st.st_mode & 022) != 0)
    return Error{path + " must belong to root and be writable by nobody else (the network process's chroot); run: "
                 "chown root:root " + path + " && chmod 0755 " + path};
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return Error{"cannot list " + path + ": " + errno_text()};
  bool empty = true;
  while (dirent* e = readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  closedir(d);
  if (!empty) return Error{path + " must be empty (it is the network process's whole view of the file system)"};
  return ok_status();
}

Result<SandboxReport> enter_sandbox(const SandboxOptions& options) {
  // Recordings are sealed in this process (audit/sealed_stream.h): libsodium probes the CPU and
  // finds its random source (getrandom, or /dev/urandom) now, while it still may.
  if (sodium_init() < 0) return Error{"libsodium cannot start (no random source)"};
  SandboxReport report;
  report.user = options.preauth_user;
  if (geteuid() == 0) {
    // Order: chroot needs root, so it comes before the uid change; the account is looked up
    // (getpwnam reads /etc/passwd) before the chroot hides it.
    if (auto st = check_preauth_user(options.preauth_user); !st) return st.error();
    const passwd* pw = getpwnam(options.preauth_user.c_str());
    if (pw == nullptr) return Error{"--preauth-user " + options.preauth_user + ": no such account"};
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    if (auto st = enter_root(options.empty_root); !st) return st.error();
    report.chrooted = true;
    report.root = options.empty_root;
    if (auto st = become(options.preauth_user, uid, gid); !st) return st.error();
    report.uid_changed = true;
  } else if (passwd* me = getpwuid(geteuid())) {
    report.user = me->pw_name;
  } else {
    report.user = "uid " + std::to_string(geteuid());
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error{"cannot set no_new_privs: " + errno_text()};
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return Error{"no_new_privs did not stick"};
  report.no_new_privs = true;
  if (options.for_sanitizers) {
    report.sanitizer_build = true;
    return report;
  }
  // Nothing of value in a core dump, and none written even if a limit below fails.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Error{"cannot make the process non-dumpable: " + errno_text()};
  if (auto st = apply_rlimits(options); !st) return st.error();
  report.rlimits = true;
  if (auto st = install_seccomp(); !st) return st.error();
  report.seccomp = true;
  return report;
}

}  // namespace bastion::gateway
