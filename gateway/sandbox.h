#pragma once
// The sandbox of the network process: the process that parses bytes from strangers (libssh's
// server side, the upstream client side and the proxy loop) holds the host key and nothing else of
// value, and after enter_sandbox() it can no longer reach anything else either: no path can be
// opened, no program run, no process traced, no socket made, no process forked.
//
// WHEN TO CALL: in the forked per-connection network process, after ssh_init(), after the host key
// is loaded into the ssh_bind (it is the one secret this process holds, as in OpenSSH's sshd-auth)
// and after every descriptor it needs (the accepted peer socket, the socketpair to its monitor) is
// open, and BEFORE the first byte from the peer is read. Anything it needs later (a recording file,
// the upstream TCP socket) the monitor opens and passes over the socketpair (SCM_RIGHTS).
//
// When bastiond runs as root, the process first drops to the `--preauth-user` account (default
// bastion-net) and chroots to an empty root-owned directory; when it runs unprivileged (tests, the
// demo, systemd's User=bastion) those two steps are impossible and skipped, and the report says so.
// no_new_privs, the rlimits and the seccomp filter apply in both cases.
#include <sys/resource.h>

#include <cstdint>
#include <string>

#include "authz/result.h"

namespace bastion::gateway {

inline constexpr const char* kDefaultPreauthUser = "bastion-net";

struct SandboxOptions {
  // The account the network process runs as when bastiond is root.
  std::string preauth_user = kDefaultPreauthUser;
  // The directory it is chrooted to when bastiond is root: must exist (prepare_empty_root makes
  // it), belong to root, be writable by nobody else, and be empty.
  std::string empty_root;
  // Descriptors the process may still receive after it is sandboxed (SCM_RIGHTS from the monitor),
  // above the highest one open when the sandbox is entered. poll() refuses more descriptors than
  // RLIMIT_NOFILE, so the limit is "what is open now, plus this".
  int extra_descriptors = 32;
  // Bound on the process's data segment and private mappings (RLIMIT_DATA): a pre-auth memory
  // exhaustion bug costs this much at most. 0 leaves it unbounded (the sanitizer builds, whose
  // shadow memory alone is terabytes of address space, are measured in tests/sanitizers).
  std::uint64_t max_data_bytes = std::uint64_t{512} << 20;
  // The sanitized build (ASan + UBSan + LeakSanitizer): its runtime maps terabytes of shadow
  // memory, writes reports to files, and checks leaks at exit from a cloned, ptrace-ing helper —
  // none of which the seccomp filter, the data limit, the process limit or a non-dumpable process
  // allows. There the network process gets no_new_privs, the uid change and the chroot only, and the
  // report says so; the plain build, which ships, is the one whose filter the tests prove.
  bool for_sanitizers = false;
};

// SandboxReport: which layers are in force. `describe()` is one line for the log, e.g.
// "sandboxed as bastion-net in /var/lib/bastion/empty; no_new_privs, rlimits, seccomp" or
// "unprivileged: no uid change, no chroot; no_new_privs, rlimits, seccomp".
struct SandboxReport {
  bool uid_changed = false;
  bool chrooted = false;
  bool no_new_privs = false;
  bool rlimits = false;
  bool seccomp = false;
  bool sanitizer_build = false;  // seccomp and the resource limits left out (SandboxOptions::for_sanitizers)
  std::string user;  // the account it runs as after the sandbox
  std::string root;  // the chroot directory, if any
  std::string describe() const;
};

// enter_sandbox applies every layer it can, in the order that keeps each step possible: uid/gid
// and chroot (root only), no_new_privs, rlimits, then the seccomp filter, which from then on kills
// the whole process (SIGSYS) on any system call not in its allow-list. Returns an error — and the
// caller must then end the connection without reading a byte — if any layer that should apply
// could not be applied; it never leaves a half-sandboxed process reporting success.
Result<SandboxReport> enter_sandbox(const SandboxOptions& options);

// check_preauth_user is bastiond's start-up check: when it runs as root, the --preauth-user
// account must exist and must not be root. Unprivileged, it checks nothing (the account is unused).
Status check_preauth_user(const std::string& user);

// prepare_empty_root creates `path` (mode 0755, owned by root) if it is missing and checks that it
// is a root-owned directory writable by nobody else, with nothing in it. Only meaningful as root.
Status prepare_empty_root(const std::string& path);

// empty_root_for: the chroot directory bastiond uses, under its state directory.
std::string empty_root_for(const std::string& state_dir);

}  // namespace bastion::gateway
