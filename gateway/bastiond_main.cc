// bastiond: the bastion daemon. Listens, forks one session process per connection.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include "authz/db.h"
#include "gateway/bans.h"
#include "gateway/housekeeping.h"
#include "gateway/keys.h"
#include "gateway/listener.h"
#include "gateway/session_process.h"
#include "gateway/upstream.h"

namespace po = boost::program_options;
using namespace bastion;
using namespace bastion::gateway;

namespace {

std::atomic<bool> g_stop{false};
void on_stop_signal(int) { g_stop.store(true); }

struct Options {
  std::string config;
  std::string listen = "0.0.0.0:2222";
  DaemonSettings settings;
  PreAuthLimits preauth;
  authz::BanPolicy bans;
  std::string log_level = "info";
  int purge_interval_hours = 24;
};

// BanMinutes reads a duration option given in whole minutes into a policy field.
struct BanMinutes {
  int source_window = 15, source_ban = 30, source_max_ban = 24 * 60, account_window = 60, account_lock = 60;
};

int usage_error(const std::string& msg) {
  std::cerr << "bastiond: " << msg << "\n";
  return 2;
}

// parse_options reads the command line, then the config file for anything not given there.
std::optional<int> parse_options(int argc, char** argv, Options& o) {
  BanMinutes m;
  po::options_description desc("bastiond — the Bastion SSH gateway daemon\n\nOptions");
  desc.add_options()("help,h", "show this help")
      ("config,c", po::value(&o.config), "configuration file (key = value, same names as the options)")
      ("listen", po::value(&o.listen)->default_value(o.listen), "address to listen on, HOST:PORT ([V6]:PORT); port 0 picks a free one")
      ("db", po::value(&o.settings.db_path), "database file (created by `bastionctl --db FILE init`)")
      ("state-dir", po::value(&o.settings.state_dir), "directory for recordings and runtime files")
      ("host-key", po::value(&o.settings.host_key_path), "host private key (default: beside the database)")
      ("egress-key", po::value(&o.settings.egress_key_path), "egress private key (default: beside the database)")
      ("login-grace", po::value(&o.settings.login_grace_seconds)->default_value(60), "seconds to complete authentication")
      ("max-auth-tries", po::value(&o.settings.auth.max_attempts)->default_value(6), "failed attempts before disconnect")
      ("max-startups", po::value(&o.preauth.max_total)->default_value(o.preauth.max_total), "unauthenticated connections at once; more are closed on accept")
      ("max-startups-per-source", po::value(&o.preauth.max_per_source)->default_value(o.preauth.max_per_source), "unauthenticated connections at once from one address")
      ("ban-source-failures", po::value(&o.bans.source_failures)->default_value(o.bans.source_failures), "failed authentications from one address that ban it …")
      ("ban-source-window", po::value(&m.source_window)->default_value(m.source_window), "… within this many minutes")
      ("ban-source-minutes", po::value(&m.source_ban)->default_value(m.source_ban), "length of a first ban of an address; each further one doubles")
      ("ban-source-max-minutes", po::value(&m.source_max_ban)->default_value(m.source_max_ban), "longest ban of an address")
      ("lock-account-failures", po::value(&o.bans.account_failures)->default_value(o.bans.account_failures), "failed authentications on one account that lock it …")
      ("lock-account-window", po::value(&m.account_window)->default_value(m.account_window), "… within this many minutes")
      ("lock-account-minutes", po::value(&m.account_lock)->default_value(m.account_lock), "length of an account lock")
      ("connect-timeout", po::value(&o.settings.upstream.connect_timeout_seconds)->default_value(10), "seconds to reach a server")
      ("recording-cap", po::value(&o.settings.recording_cap_bytes)->default_value(o.settings.recording_cap_bytes),
       "bytes of an exec/scp/rsync/sftp recording stored at most (0 = no cap); the rest is counted and hashed")
      ("events-json", po::value(&o.settings.sinks.json_lines_path), "also append every audit event to this JSON lines file (for a SIEM)")
      ("syslog", po::bool_switch(&o.settings.sinks.syslog), "also send every audit event to syslog (auth events under AUTHPRIV)")
      ("purge-interval", po::value(&o.purge_interval_hours)->default_value(24), "hours between retention runs (the first runs at start)")
      ("log-level", po::value(&o.log_level)->default_value("info"), "trace, debug, info, warn, error");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("config")) {
      std::ifstream in(vm["config"].as<std::string>());
      if (!in) return usage_error("cannot read configuration file " + vm["config"].as<std::string>());
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  using Positive = std::pair<const char*, int>;
  for (auto [name, value] : std::initializer_list<Positive>{
           {"max-startups", o.preauth.max_total}, {"max-startups-per-source", o.preauth.max_per_source},
                              {"ban-source-failures", o.bans.source_failures}, {"ban-source-window", m.source_window},
                              {"ban-source-minutes", m.source_ban}, {"ban-source-max-minutes", m.source_max_ban},
                              {"lock-account-failures", o.bans.account_failures}, {"lock-account-window", m.account_window},
                              {"lock-account-minutes", m.account_lock}, {"login-grace", o.settings.login_grace_seconds},
                              {"max-auth-tries", o.settings.auth.max_attempts}}) {
    if (value < 1) return usage_error(std::string("--") + name + " must be at least 1");
  }
  using std::chrono::minutes;
  o.bans.source_window = minutes(m.source_window);
  o.bans.source_first_ban = minutes(m.source_ban);
  o.bans.source_max_ban = minutes(std::max(m.source_max_ban, m.source_ban));
  o.bans.account_window = minutes(m.account_window);
  o.bans.account_lock = minutes(m.account_lock);
  if (o.settings.db_path.empty()) return usage_error("--db FILE is required (or db = FILE in --config)");
  if (o.settings.state_dir.empty()) return usage_error("--state-dir DIR is required (or state-dir = DIR in --config)");
  auto keys = default_key_paths(o.settings.db_path);
  if (o.settings.host_key_path.empty()) o.settings.host_key_path = keys.host_key;
  if (o.settings.egress_key_path.empty()) o.settings.egress_key_path = keys.egress_key;
  return std::nullopt;
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
  ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_CIPHERS_C_S, kCiphers);
  ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_CIPHERS_S_C, kCiphers);
  ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_KEY_EXCHANGE, kKex);
  ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_HMAC_C_S, kMacs);
  ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_HMAC_S_C, kMacs);
  if (ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, host_key_algorithms.c_str()) != SSH_OK)
    return Error{"cannot restrict host key algorithms to " + host_key_algorithms};
  return bind;
}

// check_private: the database holds TOTP secrets and the audit trail; like the private keys, it
// must not be readable or writable by anyone but the daemon's own user.
Status check_private(const std::string& path) {
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

Status check_startup(const DaemonSettings& s) {
  if (auto st = check_private(s.db_path); !st) return st;
  // Fail closed at start: an unreadable database means nobody could get in anyway.
  auto db = db::Database::open(s.db_path, false);
  if (!db) return db.error();
  if (auto k = load_private_key(s.egress_key_path); !k) return k.error();
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

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (auto rc = parse_options(argc, argv, o)) return *rc;
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ bastiond[%P] %l: %v", spdlog::pattern_time_type::utc);
  umask(077);
  ssh_init();

  auto addr = parse_listen(o.listen);
  if (!addr) return usage_error(addr.error().message);
  if (auto st = check_startup(o.settings); !st) {
    std::cerr << "bastiond: " << st.error().message << "\n";
    return 1;
  }
  auto bind = make_bind(o.settings);
  if (!bind) {
    std::cerr << "bastiond: " << bind.error().message << "\n";
    return 1;
  }
  auto listener = Listener::bind(addr->first, addr->second);
  if (!listener) {
    std::cerr << "bastiond: " << listener.error().message << "\n";
    return 1;
  }
  if (auto st = write_port_file(o.settings.state_dir, listener->port()); !st) {
    std::cerr << "bastiond: " << st.error().message << "\n";
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  spdlog::info("listening on {}:{} (database {}, state {})", addr->first, listener->port(), o.settings.db_path,
               o.settings.state_dir);
  ssh_bind raw_bind = bind->get();
  const DaemonSettings& settings = o.settings;
  const Clock& clock = process_clock();
  if (auto shift = test_clock_shift())
    spdlog::warn("TEST CLOCK in use (BASTION_TEST_CLOCK_FILE, shift {} s): this build is for tests only", shift->count());
  DatabaseBanGuard guard(o.settings.db_path, o.settings.sinks, o.bans, clock);
  o.settings.auth.guard = &guard;
  o.settings.auth.on_authenticated = leave_preauth;
  SourceBanCache banned(o.settings.db_path, clock);
  Housekeeping housekeeping(settings, clock);
  housekeeping.purge_interval = std::chrono::hours(o.purge_interval_hours);
  housekeeping.close_stale_sessions();
  Listener::Hooks hooks{[&](int pid, int status) { housekeeping.close_sessions_of(pid, status); },
                        [&] { housekeeping.tick(); },
                        [&](const std::string& address) { return banned.banned(address); }};
  // The listener's cache may be up to a second old: the session process asks the database once
  // more before any SSH work, and closes a banned source's connection the same way.
  auto handler = [&](int fd, const Peer& peer) {
    if (auto ban = guard.source_ban(peer.address)) {
      spdlog::info("{}: closed before SSH: {}", peer.to_string(), authz::refusal_text(*ban));
      close(fd);
      return 1;
    }
    return serve_connection(fd, peer, raw_bind, settings);
  };
  listener->serve(handler, g_stop, hooks, o.preauth);
  spdlog::info("stopping");
  ssh_finalize();
  return 0;
}
