// Tests for gateway/sandbox.cc: the production enter_sandbox() runs in a forked child, which then
// tries what an attacker holding the network process would try. Each forbidden act must fail or
// kill the child (SIGSYS from the seccomp filter); what libssh and the proxy loop need must still
// work, shown by a real SSH session (an OpenSSH client against a sandboxed libssh server) and a
// real libssh client session (against OpenSSH's sshd).
#include "gateway/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "authz/db.h"
#include "gateway/egress_ca.h"
#include "gateway/keys.h"
#include "gateway/ssh_options.h"
#include "gateway/ssh_ptr.h"

// Under ASan/UBSan the sandboxed child cannot host the sanitizer runtime: it maps terabytes of
// shadow memory (over the data limit) and writes its reports to files (open is killed). The
// sandbox is proven by the plain build's run of these tests; the sanitized suite skips them.
#ifdef BASTION_SANITIZED
#define SKIP_UNDER_SANITIZERS() GTEST_SKIP() << "the sandbox cannot host the sanitizer runtime"
#else
#define SKIP_UNDER_SANITIZERS() static_cast<void>(0)
#endif

namespace bastion::gateway {
namespace {

namespace fs = std::filesystem;

// TempDir: a fresh directory, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/bastion-sandbox-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// options_for_this_test: the production defaults, except that a root test run has its own empty
// chroot directory and, where bastion-net is not installed, runs as `nobody`.
SandboxOptions options_for(const TempDir& dir) {
  SandboxOptions o;
  o.empty_root = dir.path + "/empty";
  if (geteuid() == 0 && !check_preauth_user(o.preauth_user).ok()) o.preauth_user = "nobody";
  ::chmod(dir.path.c_str(), 0755);  // the chroot's parent must let the dropped account through
  return o;
}

// Child: the outcome of a forked child, and what it wrote to its report pipe.
struct Child {
  int status = 0;
  std::string said;
  bool killed_by(int sig) const { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string describe() const {
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status)) + ", said: " + said;
    return "exit " + std::to_string(WEXITSTATUS(status)) + ", said: " + said;
  }
};

void say(int fd, const std::string& text) {
  if (::write(fd, text.data(), text.size()) < 0) _exit(90);
}

// run_sandboxed forks; the child enters the production sandbox, writes "sandboxed: <report>\n" to
// `report`, then runs `body` (which may write more to `report`) and exits with what body returns.
// The child never returns into the test framework.
Child run_sandboxed(const SandboxOptions& options, const std::function<int(int report)>& body) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return Child{-1, "pipe failed"};
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    auto report = enter_sandbox(options);
    if (!report) {
      say(pipefd[1], "enter_sandbox failed: " + report.error().message + "\n");
      _exit(91);
    }
    say(pipefd[1], "sandboxed: " + report->describe() + "\n");
    _exit(body(pipefd[1]));
  }
  ::close(pipefd[1]);
  Child c;
  char buf[512];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) c.said.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  ::waitpid(pid, &c.status, 0);
  return c;
}

bool entered(const Child& c) { return c.said.rfind("sandboxed: ", 0) == 0; }

// expect_killed_after_entering: the child got into the sandbox, then the forbidden call killed it
// before it could report having made it.
void expect_killed_after_entering(const Child& c, const char* act) {
  EXPECT_TRUE(entered(c)) << act << ": " << c.describe();
  EXPECT_TRUE(c.killed_by(SIGSYS)) << act << " was not killed by the seccomp filter: " << c.describe();
  EXPECT_EQ(c.said.find("SURVIVED"), std::string::npos) << act << ": " << c.describe();
}

// expect_refused_after_entering: the child got into the sandbox, and the read-only access either
// failed (the filter answers a read-only openat with EACCES: libssh's client reads known_hosts files
// it cannot be told not to read) or killed it (a library's stat() of the path first, for one); it
// never read anything.
void expect_refused_after_entering(const Child& c, const char* act) {
  EXPECT_TRUE(entered(c)) << act << ": " << c.describe();
  if (!c.killed_by(SIGSYS)) {
    EXPECT_TRUE(c.exited_ok()) << act << ": " << c.describe();
    EXPECT_NE(c.said.find("refused: " + std::string(std::strerror(EACCES))), std::string::npos) << act << ": " << c.describe();
  }
  EXPECT_EQ(c.said.find("SURVIVED"), std::string::npos) << act << ": " << c.describe();
}

TEST(Sandbox, ReportSaysWhichLayersApply) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const SandboxOptions o = options_for(dir);
  Child c = run_sandboxed(o, [](int) { return 0; });
  ASSERT_TRUE(c.exited_ok()) << c.describe();
  if (geteuid() == 0) {
    EXPECT_NE(c.said.find("sandboxed as " + o.preauth_user + " in " + o.empty_root), std::string::npos) << c.said;
  } else {
    EXPECT_NE(c.said.find("unprivileged: no uid change, no chroot"), std::string::npos) << c.said;
  }
  EXPECT_NE(c.said.find("no_new_privs, rlimits, seccomp"), std::string::npos) << c.said;
}

TEST(Sandbox, AsRootTheProcessRunsAsThePreauthUserInTheEmptyRoot) {
  SKIP_UNDER_SANITIZERS();
  if (geteuid() != 0) GTEST_SKIP() << "needs root: unprivileged, the uid change and chroot are skipped by design";
  TempDir dir;
  const SandboxOptions o = options_for(dir);
  // Probe before the sandbox: where "/" is and who we are, as the kernel sees it afterwards.
  Child c = run_sandboxed(o, [](int report) {
    say(report, "uid=" + std::to_string(getuid()) + " euid=" + std::to_string(geteuid()) + "\n");
    return 0;
  });
  ASSERT_TRUE(c.exited_ok()) << c.describe();
  const std::string expected_uid = std::to_string(getpwnam(o.preauth_user.c_str())->pw_uid);
  EXPECT_NE(c.said.find("uid=" + expected_uid + " euid=" + expected_uid), std::string::npos) << c.said;
}

TEST(Sandbox, RefusesANonEmptyOrForeignChrootDirectory) {
  SKIP_UNDER_SANITIZERS();
  if (geteuid() != 0) GTEST_SKIP() << "the chroot is entered only as root";
  TempDir dir;
  SandboxOptions o = options_for(dir);
  ASSERT_TRUE(prepare_empty_root(o.empty_root).ok());
  { std::FILE* f = std::fopen((o.empty_root + "/passwd").c_str(), "w"); std::fclose(f); }
  Child c = run_sandboxed(o, [](int) { return 0; });
  EXPECT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 91) << c.describe();
  EXPECT_NE(c.said.find("must be empty"), std::string::npos) << c.said;
  fs::remove(o.empty_root + "/passwd");
  ::chmod(o.empty_root.c_str(), 0777);
  EXPECT_FALSE(prepare_empty_root(o.empty_root).ok());
}

TEST(Sandbox, OpeningTheDatabaseFileIsRefused) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const std::string db_path = dir.path + "/bastion.db";
  ASSERT_TRUE(db::Database::open(db_path, true).ok());
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    if (rc == SQLITE_OK && sqlite3_prepare_v2(raw, "SELECT count(*) FROM operators", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      say(report, "SURVIVED: read the operators table\n");
    if (rc != SQLITE_OK) say(report, "refused: " + std::string(std::strerror(sqlite3_system_errno(raw))) + "\n");
    return 0;
  });
  expect_refused_after_entering(c, "opening the database");
}

TEST(Sandbox, ReadingTheEgressKeyIsRefused) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const std::string key_path = dir.path + "/egress_ed25519_key";
  ssh_key raw = nullptr;
  ASSERT_EQ(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw), SSH_OK);
  KeyPtr key(raw);
  ASSERT_EQ(ssh_pki_export_privkey_file(key.get(), nullptr, nullptr, nullptr, key_path.c_str()), SSH_OK);
  ::chmod(key_path.c_str(), 0600);
  ASSERT_TRUE(load_private_key(key_path).ok());  // readable before the sandbox
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    if (load_private_key(key_path).ok()) say(report, "SURVIVED: loaded the egress key\n");
    errno = 0;
    if (::open(key_path.c_str(), O_RDONLY | O_CLOEXEC) < 0) say(report, "refused: " + std::string(std::strerror(errno)) + "\n");
    return 0;
  });
  expect_refused_after_entering(c, "reading the egress key");
}

TEST(Sandbox, ReadingTheEgressCaIsRefused) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const std::string ca_path = dir.path + "/egress_ca_ed25519_key";
  ASSERT_TRUE(ensure_egress_ca(ca_path).ok());
  ASSERT_TRUE(load_egress_ca(ca_path).ok());  // readable before the sandbox
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    if (load_egress_ca(ca_path).ok()) say(report, "SURVIVED: loaded the egress CA\n");
    errno = 0;
    if (::open(ca_path.c_str(), O_RDONLY | O_CLOEXEC) < 0) say(report, "refused: " + std::string(std::strerror(errno)) + "\n");
    return 0;
  });
  expect_refused_after_entering(c, "reading the egress CA");
}

TEST(Sandbox, OpeningEtcPasswdIsRefused) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  Child c = run_sandboxed(options_for(dir), [](int report) {
    if (::open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0) say(report, "SURVIVED: opened /etc/passwd\n");
    else say(report, "refused: " + std::string(std::strerror(errno)) + "\n");
    return 0;
  });
  expect_refused_after_entering(c, "open(/etc/passwd)");
}

TEST(Sandbox, OpeningAFileForWritingKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const std::string path = dir.path + "/evidence";
  { std::ofstream(path) << "recorded"; }
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    if (::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC) >= 0) say(report, "SURVIVED: opened a file for writing\n");
    return 0;
  });
  expect_killed_after_entering(c, "open(O_WRONLY)");
}

TEST(Sandbox, CreatingAFileKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const std::string path = dir.path + "/dropped";
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    if (::creat(path.c_str(), 0600) >= 0) say(report, "SURVIVED: created a file\n");
    return 0;
  });
  expect_killed_after_entering(c, "creat()");
  EXPECT_FALSE(fs::exists(path));
}

TEST(Sandbox, ExecveKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  Child c = run_sandboxed(options_for(dir), [](int report) {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, environ);
    say(report, "SURVIVED: execve returned\n");
    return 0;
  });
  expect_killed_after_entering(c, "execve");
}

TEST(Sandbox, PtraceKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  const pid_t parent = getpid();
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    if (::ptrace(PTRACE_ATTACH, parent, nullptr, nullptr) == 0) say(report, "SURVIVED: attached to the parent\n");
    say(report, "SURVIVED: ptrace returned\n");
    return 0;
  });
  expect_killed_after_entering(c, "ptrace");
}

TEST(Sandbox, ANewSocketKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  Child c = run_sandboxed(options_for(dir), [](int report) {
    if (::socket(AF_INET, SOCK_STREAM, 0) >= 0) say(report, "SURVIVED: made a socket\n");
    return 0;
  });
  expect_killed_after_entering(c, "socket");
}

TEST(Sandbox, ConnectOnASocketMadeBeforeKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  // Even a socket that exists already cannot be pointed anywhere: the monitor connects upstream.
  TempDir dir;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int unconnected = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    if (::connect(unconnected, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
      say(report, "SURVIVED: connected out\n");
    say(report, "SURVIVED: connect returned\n");
    return 0;
  });
  ::close(unconnected);
  ::close(listener);
  expect_killed_after_entering(c, "connect");
}

TEST(Sandbox, ForkKillsTheProcess) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  Child c = run_sandboxed(options_for(dir), [](int report) {
    const pid_t p = ::fork();
    if (p == 0) _exit(0);
    say(report, "SURVIVED: fork returned\n");
    return 0;
  });
  expect_killed_after_entering(c, "fork");
}

TEST(Sandbox, WhatTheProxyLoopNeedsStillWorks) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  // The peer's bytes wait in the socket before the child starts, as the operator's first packet may.
  ASSERT_EQ(::write(pair[0], "ping", 4), 4);
  Child c = run_sandboxed(options_for(dir), [&](int report) {
    ::close(pair[0]);
    pollfd p{pair[1], POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return 10;
    char buf[64];
    const ssize_t n = ::read(pair[1], buf, sizeof buf);
    if (n <= 0) return 11;
    // Memory: several MiB, touched, grown and freed, as libssh's buffers and the proxy do.
    std::string big(8u << 20, 'x');
    big.resize(24u << 20, 'y');
    void* block = std::malloc(16u << 20);
    if (block == nullptr) return 12;
    std::memset(block, 1, 16u << 20);
    std::free(block);
    timespec now{};
    if (::clock_gettime(CLOCK_REALTIME, &now) != 0 || ::clock_gettime(CLOCK_MONOTONIC, &now) != 0) return 13;
    const timespec nap{0, 1000000};
    ::nanosleep(&nap, nullptr);
    unsigned char random[32];
    if (::getrandom(random, sizeof random, 0) != sizeof random) return 14;
    const std::string reply = "echo:" + std::string(buf, static_cast<std::size_t>(n)) + ":" + std::to_string(big.size());
    if (::write(pair[1], reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) return 15;
    say(report, "proxy ok\n");
    return 0;
  });
  ::close(pair[1]);
  ASSERT_TRUE(c.exited_ok()) << c.describe();
  EXPECT_NE(c.said.find("proxy ok"), std::string::npos) << c.said;
  char buf[64] = {};
  const ssize_t n = ::read(pair[0], buf, sizeof buf - 1);
  ::close(pair[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "echo:ping:" + std::to_string(24u << 20));
}

// generate_key writes a fresh ed25519 private key to `path` (mode 0600) and returns it loaded.
KeyPtr generate_key(const std::string& path) {
  ssh_key raw = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK) return nullptr;
  KeyPtr key(raw);
  if (ssh_pki_export_privkey_file(key.get(), nullptr, nullptr, nullptr, path.c_str()) != SSH_OK) return nullptr;
  ::chmod(path.c_str(), 0600);
  return key;
}

// serve_one_exec: the server side of one SSH connection, from the first byte on: key exchange,
// "none" authentication, one session channel, one exec request answered with a line, exit status
// 0, EOF and close. Returns 0 when all of it happened; the report pipe says how far it got.
int serve_one_exec(ssh_session s, int report) {
  if (ssh_handle_key_exchange(s) != SSH_OK) {
    say(report, std::string("key exchange failed: ") + ssh_get_error(s) + "\n");
    return 20;
  }
  say(report, std::string("kex ok: ") + ssh_get_cipher_in(s) + "\n");
  ssh_channel channel = nullptr;
  for (;;) {
    MessagePtr m(ssh_message_get(s));
    if (!m) {
      say(report, std::string("connection ended early: ") + ssh_get_error(s) + "\n");
      return 21;
    }
    const int type = ssh_message_type(m.get());
    const int subtype = ssh_message_subtype(m.get());
    if (type == SSH_REQUEST_AUTH && subtype == SSH_AUTH_METHOD_NONE) {
      ssh_message_auth_reply_success(m.get(), 0);
      say(report, "auth ok\n");
    } else if (type == SSH_REQUEST_CHANNEL_OPEN && subtype == SSH_CHANNEL_SESSION && channel == nullptr) {
      channel = ssh_message_channel_request_open_reply_accept(m.get());
    } else if (type == SSH_REQUEST_CHANNEL && subtype == SSH_CHANNEL_REQUEST_EXEC && channel != nullptr) {
      const std::string command = ssh_message_channel_request_command(m.get());
      ssh_message_channel_request_reply_success(m.get());
      const std::string line = "sandboxed server ran: " + command + "\n";
      ssh_channel_write(channel, line.data(), static_cast<uint32_t>(line.size()));
      ssh_channel_request_send_exit_status(channel, 0);
      ssh_channel_send_eof(channel);
      ssh_channel_close(channel);
      break;
    } else {
      ssh_message_reply_default(m.get());
    }
  }
  // Wait for the client to close its side (it disconnects once it has the exit status).
  // Until then, keep answering its packets: a disconnect sent first would race the exit status.
  ssh_blocking_flush(s, 5000);
  while (MessagePtr m{ssh_message_get(s)}) ssh_message_reply_default(m.get());
  ssh_channel_free(channel);
  ssh_disconnect(s);
  say(report, "served\n");
  return 0;
}

// loopback_listener: a TCP socket listening on 127.0.0.1 at a free port.
int loopback_listener(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return fd;
}

TEST(Sandbox, ARealOpenSshClientCompletesASessionWithASandboxedLibsshServer) {
  SKIP_UNDER_SANITIZERS();
  TempDir dir;
  // What the network process holds before it is sandboxed: the host key in an ssh_bind with the
  // project's algorithm policy, and the accepted socket (no byte of it read yet).
  auto host_key = load_private_key([&] {
    generate_key(dir.path + "/host_ed25519_key");
    return dir.path + "/host_ed25519_key";
  }());
  ASSERT_TRUE(host_key.ok()) << host_key.error().message;
  BindPtr bind(ssh_bind_new());
  ASSERT_EQ(ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_IMPORT_KEY, host_key->release()), SSH_OK);
  auto policy = set_bind_algorithms(bind.get(), AlgorithmPolicy::standard(), "ssh-ed25519");
  ASSERT_TRUE(policy.ok()) << policy.error().message;

  int port = 0;
  const int listener = loopback_listener(port);
  ASSERT_GE(listener, 0);
  const std::string command = "timeout 30 ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                              "-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 -p " + std::to_string(port) +
                              " probe@127.0.0.1 'uptime please' 2>&1";
  std::FILE* client = ::popen(command.c_str(), "r");
  ASSERT_NE(client, nullptr);
  pollfd p{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 15000), 1) << "the ssh client did not connect";
  const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  ASSERT_GE(conn, 0);
  SessionPtr session(ssh_new());
  ASSERT_EQ(ssh_bind_accept_fd(bind.get(), session.get(), conn), SSH_OK) << ssh_get_error(bind.get());

  Child c = run_sandboxed(options_for(dir), [&](int report) { return serve_one_exec(session.get(), report); });
  session.reset();  // the parent's copy of the descriptor: the child alone spoke on it
  std::string out;
  char buf[256];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, client)) > 0;) out.append(buf, n);
  const int client_status = ::pclose(client);

  EXPECT_TRUE(c.exited_ok()) << c.describe();
  EXPECT_TRUE(entered(c)) << c.describe();
  EXPECT_NE(c.said.find("auth ok"), std::string::npos) << c.said;
  EXPECT_NE(c.said.find("served"), std::string::npos) << c.said;
  EXPECT_EQ(out, "sandboxed server ran: uptime please\n");
  EXPECT_TRUE(WIFEXITED(client_status) && WEXITSTATUS(client_status) == 0) << out;
}

}  // namespace
}  // namespace bastion::gateway
