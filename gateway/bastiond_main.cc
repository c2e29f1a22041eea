// bastiond: the bastion daemon. Listens, forks one session process per connection.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "audit/data_keys.h"
#include "authz/db.h"
#include "gateway/bans.h"
#include "gateway/config.h"
#include "gateway/housekeeping.h"
#include "gateway/checkpoint_key.h"
#include "gateway/egress_ca.h"
#include "gateway/keys.h"
#include "gateway/listener.h"
#include "gateway/proxy_protocol.h"
#include "gateway/sandbox.h"
#include "gateway/session_process.h"
#include "gateway/ssh_options.h"
#include "gateway/upstream.h"

using namespace bastion;
using namespace bastion::gateway;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_reload{false};
void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
  g_stop.store(true);
}
void on_reload_signal(int) { g_reload.store(true); }

int usage_error(const std::string& msg) {
  std::cerr << "bastiond: " << msg << "\n";
  return 2;
}

// signature_algorithms: what the host key can sign with, offered alone (no SHA-1 "ssh-rsa").
std::string signature_algorithms(ssh_key key) {
  if (ssh_key_type(key) == SSH_KEYTYPE_RSA) return "rsa-sha2-512,rsa-sha2-256";
  return ssh_key_type_to_char(ssh_key_type(key));
}

Result<BindPtr> make_bind(const DaemonSettings& s) {
  auto key = load_private_key(s.host_key_path);
  if (!key) return key.error();
  const std::string host_key_algorithms = signature_algorithms(key->get());
  BindPtr bind(ssh_bind_new());
  if (!bind) return Error{"out of memory"};
  // The bind takes ownership of the imported key.
  if (ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_IMPORT_KEY, key->release()) != SSH_OK)
    return Error{"cannot use host key " + s.host_key_path};
  // A list libssh rejects would leave its defaults in force: start-up fails instead.
  if (auto st = set_bind_algorithms(bind.get(), AlgorithmPolicy::standard(), host_key_algorithms); !st)
    return st.error();
  return bind;
}

// check_private: the database holds TOTP secrets and the audit trail; like the private keys, it
// must not be readable or writable by anyone but the daemon's own user. (A PostgreSQL database's
// access is PostgreSQL's: its roles and pg_hba.conf.)
Status check_private(const std::string& location) {
  const auto file = db::Database::file_of(location);
  if (!file) return ok_status();
  const std::string& path = *file;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error{"cannot read database " + path + ": " + std::strerror(errno)};
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error{"database " + path + " is accessible to group or others (mode " + mode +
                 "); it holds TOTP secrets and the audit trail. Run: chmod 600 " + path};
  }
  return ok_status();
}

// check_in_child runs one check of a private key file in a child that reports back over a pipe: the
// listener, whose memory every connection's processes inherit (the network process included), never
// reads a key's bytes, not even once at start. WHAT names the key in the message when the child
// cannot say why it failed.
Status check_in_child(const std::string& what, const std::function<Status()>& check) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error{"cannot check " + what + ": " + std::strerror(errno)};
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Error{"cannot check " + what + ": " + std::strerror(err)};
  }
  if (pid == 0) {
    ::close(fds[0]);
    const Status st = check();
    const std::string why = st ? "" : st.error().message;
    if (!why.empty()) (void)!::write(fds[1], why.data(), why.size());
    _exit(st ? 0 : 1);
  }
  ::close(fds[1]);
  std::string why;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    why.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok_status();
  return Error{why.empty() ? what + " could not be checked" : why};
}

Status check_startup(const DaemonSettings& s) {
  if (auto st = check_private(s.db_path); !st) return st;
  // Fail closed at start: an unreadable database means nobody could get in anyway.
  auto db = db::Database::open(s.db_path, false);
  if (!db) return db.error();
  // The three private keys are checked, each in a child (check_in_child): the egress key and the
  // egress CA open every client server, and only a connection's monitor reads them when it needs them.
  if (auto st = check_in_child("the egress key " + s.egress_key_path, [&]() -> Status {
        auto k = load_private_key(s.egress_key_path);
        return k ? ok_status() : Status{k.error()};
      });
      !st)
    return st;
  if (auto st = check_in_child("the egress CA " + s.egress_ca_path, [&]() -> Status {
        auto ca = load_egress_ca(s.egress_ca_path);
        return ca ? ok_status() : Status{ca.error()};
      });
      !st)
    return st;
  // No checkpoint key, no start (rather than one made here): a key is worth something only once a
  // person has copied its public half off the host, which `bastionctl audit checkpoint-key` asks.
  if (auto st = check_in_child("the audit checkpoint key " + s.checkpoint_key_path, [&]() -> Status {
        auto key = load_checkpoint_key(s.checkpoint_key_path);
        return key ? ok_status() : Status{key.error()};
      });
      !st)
    return st;
  // No master key, no start: every recording is encrypted under it (audit/data_keys.h). Only its
  // presence and mode are checked here; the monitors read it.
  if (auto st = audit::check_master_key_file(s.master_key_path); !st) return st.error();
  std::error_code ec;
  std::filesystem::create_directories(s.state_dir + "/recordings", ec);
  if (ec) return Error{"cannot create state directory " + s.state_dir + ": " + ec.message()};
  chmod(s.state_dir.c_str(), 0700);
  chmod((s.state_dir + "/recordings").c_str(), 0700);
  return ok_status();
}

// write_port_file publishes the bound port (useful with --listen HOST:0).
Status write_port_file(const std::string& state_dir, int port) {
  std::string path = state_dir + "/bastiond.port";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return Error{"cannot write " + tmp};
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Error{"cannot write " + path};
  return ok_status();
}

std::string account_name(uid_t uid) {
  if (passwd* pw = getpwuid(uid)) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

// drop_privileges: with --user, a daemon started as root keeps nothing of root once the port is
// bound — every session process is forked from the unprivileged listener.
Status drop_privileges(const std::string& user) {
  if (user.empty()) {
    if (geteuid() == 0)
      spdlog::warn("running as root: start bastiond with --user bastion (or User=bastion in its systemd unit) so "
                   "that no session process holds root privileges");
    return ok_status();
  }
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr)
    return Error{"--user " + user + ": no such account (create one: useradd --system --home-dir /var/lib/bastion "
                 "--shell /usr/sbin/nologin " + user + ")"};
  if (pw->pw_uid == 0) return Error{"--user " + user + " is root; name an unprivileged account"};
  if (geteuid() != 0) {
    if (geteuid() == pw->pw_uid) return ok_status();  // already that account, e.g. systemd's User=
    return Error{"--user " + user + " needs bastiond to start as root (it runs as " + account_name(geteuid()) + ")"};
  }
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
      setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
    return Error{"cannot switch to user " + user + ": " + std::strerror(errno)};
  if (setuid(0) == 0 || seteuid(0) == 0) return Error{"switched to " + user + " but root could be regained; refusing to run"};
  return ok_status();
}

// The front door (gateway/proxy_protocol.h), in the session process before any SSH work: a
// trusted proxy has kProxyHeaderDeadline to send its whole PROXY v2 header; any other peer, when
// proxies are configured, is watched for kForgedSniff for a first byte that begins one.
constexpr std::chrono::seconds kProxyHeaderDeadline{5};
constexpr std::chrono::milliseconds kForgedSniff{250};

// RecordFn: appends an audit event about a connection closed at the door (kind, details, source).
using RecordFn = std::function<void(const std::string&, nlohmann::json, const std::string&)>;

// front_door returns the peer the connection is served as (the operator named by a trusted
// proxy's header, else the peer itself), or nothing when it must be closed: a trusted proxy
// without a valid v2 header naming an IPv4/IPv6 client (refused, logged, recorded), a LOCAL
// header (the proxy's health check: closed quietly, nobody's failure), or an untrusted peer that
// sends a PROXY header (refused under its own address: it never chooses the address it is seen as).
std::optional<Peer> front_door(int fd, const Peer& peer, const std::vector<AddressRange>& trusted,
                               const RecordFn& record) {
  if (trusted.empty()) return peer;
  if (!in_ranges(trusted, peer.address)) {
    if (!proxy::sniff_forged(fd, kForgedSniff)) return peer;
    spdlog::warn("{}: closed before SSH: PROXY header from an address not in --proxy-protocol-from", peer.to_string());
    record("proxy.refused", {{"reason", "PROXY header from an untrusted address"}, {"trusted", false}}, peer.to_string());
    return std::nullopt;
  }
  auto header = proxy::read_header(fd, kProxyHeaderDeadline);
  if (!header) {
    spdlog::warn("{}: closed before SSH: trusted proxy sent no valid PROXY v2 header: {}", peer.to_string(),
                 header.error().message);
    record("proxy.refused", {{"reason", header.error().message}, {"trusted", true}}, peer.to_string());
    return std::nullopt;
  }
  if (header->local) {
    spdlog::debug("{}: proxy health check ({}), closed", peer.to_string(),
                  header->probe ? "closed before a byte" : "PROXY LOCAL");
    return std::nullopt;
  }
  Peer real{header->source_address, header->source_port};
  spdlog::info("{}: connection via proxy {}", real.to_string(), peer.to_string());
  return real;
}

std::string signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : std::to_string(sig); }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  auto parsed = parse_daemon_config(args, read_text_file);
  if (!parsed) return usage_error(parsed.error().message);
  DaemonConfig cfg = std::move(*parsed);
  if (cfg.help) {
    std::cout << daemon_help() << "\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ bastiond[%P] %l: %v", spdlog::pattern_time_type::utc);
  umask(077);
  ssh_init();
  // OpenSSL's random generators are set up here, once, rather than in every connection's two
  // processes (~60 KiB of heap each, in memory that counts per connection). Each child still draws
  // fresh bytes: OpenSSL 3 reseeds a generator that finds itself in a new process (its fork id,
  // the pid, has changed) before it generates; tests/gateway/fork_random_test.cc checks it.
  if (unsigned char warm[1]; RAND_bytes(warm, 1) != 1) {
    const char* why = ERR_reason_error_string(ERR_get_error());
    std::cerr << "bastiond: OpenSSL's random generator cannot be seeded (" << (why ? why : "no reason given")
              << "); check that the kernel's random source (getrandom, /dev/urandom) is available\n";
    return 1;
  }

  auto addr = parse_listen(cfg.listen);
  if (!addr) return usage_error(addr.error().message);
  // Bind first: a port below 1024 needs root (or CAP_NET_BIND_SERVICE), which --user then drops.
  auto listener = Listener::bind(addr->first, addr->second);
  if (!listener) {
    std::cerr << "bastiond: " << listener.error().message << "\n";
    return 1;
  }
  // Started as root, the network process will run as --preauth-user (gateway/sandbox.h): refuse
  // now, with the command that fixes it, rather than fail every connection later.
  if (auto st = check_preauth_user(cfg.preauth_user); !st) {
    std::cerr << "bastiond: " << st.error().message << "\n";
    return 1;
  }
  if (auto st = drop_privileges(cfg.run_as); !st) {
    std::cerr << "bastiond: " << st.error().message << "\n";
    return 1;
  }
  DaemonSettings& settings = cfg.settings;
  settings.preauth_user = cfg.preauth_user;
  if (auto st = check_startup(settings); !st) {
    std::cerr << "bastiond: " << st.error().message << "\n";
    return 1;
  }
  auto bind = make_bind(settings);
  if (!bind) {
    std::cerr << "bastiond: " << bind.error().message << "\n";
    return 1;
  }
  if (auto st = write_port_file(settings.state_dir, listener->port()); !st) {
    std::cerr << "bastiond: " << st.error().message << "\n";
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = on_reload_signal;
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  spdlog::info("listening on {}:{} as {} (database {}, state {})", addr->first, listener->port(),
               account_name(geteuid()), db::Database::shown(settings.db_path),
               settings.state_dir);
  ssh_bind raw_bind = bind->get();
  const Clock& clock = process_clock();
  if (auto shift = test_clock_shift())
    spdlog::warn("TEST CLOCK in use (shift {} s): this build is for tests only", shift->count());
  std::optional<DatabaseBanGuard> guard;
  guard.emplace(settings.db_path, settings.sinks, cfg.bans, clock);
  settings.auth.guard = &*guard;
  settings.auth.on_authenticated = leave_preauth;
  SourceBanCache banned(settings.db_path, clock);
  Housekeeping housekeeping(settings, clock);
  housekeeping.purge_interval = std::chrono::hours(cfg.purge_interval_hours);
  housekeeping.notify.url = cfg.notify_url;
  housekeeping.notify.secret_file = cfg.notify_secret_file;
  housekeeping.checkpoint_events = cfg.checkpoint_events;
  housekeeping.checkpoint_every = std::chrono::minutes(cfg.checkpoint_minutes);
  housekeeping.close_stale_sessions();
  housekeeping.record("daemon.start", {{"pid", getpid()}, {"user", account_name(geteuid())}, {"node", settings.node},
                                       {"listen", addr->first + ":" + std::to_string(listener->port())},
                                       {"config", cfg.config_path}, {"test_clock", test_clock_shift().has_value()}});
  housekeeping.checkpoint("start", true);

  // reload: SIGHUP re-reads the command line and the configuration file. What parses is applied to
  // connections accepted from now on; live sessions keep the settings they started with (their
  // process has its own copy). A file that does not parse changes nothing.
  auto reload = [&] {
    auto next = parse_daemon_config(args, read_text_file);
    if (!next) {
      spdlog::error("reload refused, the running configuration is kept: {}", next.error().message);
      housekeeping.record("daemon.reload_failed", {{"error", next.error().message}, {"config", cfg.config_path}});
      return;
    }
    ReloadPlan plan = plan_reload(cfg, *next);
    cfg = std::move(*next);
    settings.preauth_user = cfg.preauth_user;
    guard.emplace(settings.db_path, settings.sinks, cfg.bans, clock);
    settings.auth.guard = &*guard;
    settings.auth.on_authenticated = leave_preauth;
    housekeeping.purge_interval = std::chrono::hours(cfg.purge_interval_hours);
    housekeeping.notify.url = cfg.notify_url;
    housekeeping.notify.secret_file = cfg.notify_secret_file;
    housekeeping.checkpoint_events = cfg.checkpoint_events;
    housekeeping.checkpoint_every = std::chrono::minutes(cfg.checkpoint_minutes);
    spdlog::set_level(spdlog::level::from_str(cfg.log_level));
    for (const auto& line : plan.changed) spdlog::info("reload: {}", line);
    for (const auto& line : plan.needs_restart) spdlog::warn("reload: {} (takes effect at the next restart)", line);
    spdlog::info("configuration reloaded: {} change(s); {} live connection(s) untouched", plan.changed.size(),
                 listener->live_children());
    housekeeping.record("daemon.reload", {{"changed", plan.changed}, {"needs_restart", plan.needs_restart},
                                          {"live_connections", listener->live_children()}, {"config", cfg.config_path}});
  };
  Listener::Hooks hooks{[&](int pid, int status) { housekeeping.close_sessions_of(pid, status); },
                        [&] {
                          if (g_reload.exchange(false)) reload();
                          housekeeping.tick();
                        },
                        [&](const std::string& address) { return banned.banned(address); },
                        [&](const std::string& address) { return in_ranges(cfg.trusted_proxies, address); }};
  // The listener's cache may be up to a second old: the session process asks the database once
  // more before any SSH work, and closes a banned source's connection the same way.
  // Behind a trusted proxy, that check is of the operator's address, read from the PROXY header.
  auto handler = [&](int fd, const Peer& accepted) {
    auto door = front_door(fd, accepted, cfg.trusted_proxies,
                           [&](const std::string& kind, nlohmann::json details, const std::string& source) {
                             housekeeping.record(kind, std::move(details), source);
                           });
    if (!door) {
      close(fd);
      return 1;
    }
    const Peer& peer = *door;
    if (auto ban = guard->source_ban(peer.address)) {
      spdlog::info("{}: closed before SSH: {}", peer.to_string(), authz::refusal_text(*ban));
      close(fd);
      return 1;
    }
    return serve_connection(fd, peer, raw_bind, settings);
  };
  listener->serve(handler, g_stop, hooks, cfg.preauth);

  // Stop: no new connection; live sessions get the grace to end, then are cut cleanly.
  const std::string why = signal_name(g_stop_signal.load());
  const int live = listener->live_children();
  spdlog::info("{}: stopping; {} connection(s) live, grace {} s", why, live, cfg.stop_grace_seconds);
  housekeeping.record("daemon.stopping", {{"signal", why}, {"live_connections", live}, {"grace_seconds", cfg.stop_grace_seconds}});
  hooks.on_tick = nullptr;
  auto report = listener->drain(std::chrono::seconds(cfg.stop_grace_seconds), hooks);
  spdlog::info("stopped: {} connection(s) ended within the grace, {} cut after it, {} killed", report.ended,
               report.cut, report.killed);
  housekeeping.record("daemon.stop", {{"ended_within_grace", report.ended}, {"cut_after_grace", report.cut},
                                      {"killed", report.killed}});
  housekeeping.checkpoint("stop", true);
  ssh_finalize();
  return 0;
}
