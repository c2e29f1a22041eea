#pragma once
// bastiond's configuration: the command line, then the --config file for anything the command line
// does not set (same names, `key = value`). Parsed once at start and again on SIGHUP; a reload that
// fails to parse changes nothing.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "authz/bans.h"
#include "authz/result.h"
#include "gateway/listener.h"
#include "gateway/address_range.h"
#include "gateway/session_process.h"

namespace bastion::gateway {

struct DaemonConfig {
  std::string config_path;
  std::string listen = "0.0.0.0:2222";
  std::string run_as;  // --user: drop to this account after binding the port
  // --preauth-user: the account the sandboxed network process runs as when bastiond is root
  // (gateway/sandbox.h); bastiond refuses to start as root if it does not exist.
  std::string preauth_user = "bastion-net";
  DaemonSettings settings;
  PreAuthLimits preauth;
  authz::BanPolicy bans;
  std::string log_level = "info";
  int purge_interval_hours = 24;
  // Signed audit checkpoints (audit/checkpoint.h): every this many events, and at least every
  // this many minutes.
  int checkpoint_events = 1000;
  int checkpoint_minutes = 5;
  int stop_grace_seconds = 20;
  // Access-request webhook (gateway/notifier.h): --notify-url, --notify-secret-file.
  std::string notify_url;
  std::string notify_secret_file;
  // --egress-source-address, as given (comma-separated); parsed into settings.egress_source_addresses.
  std::string egress_source_addresses;
  // --key-dir: where the keys are when their own options do not say (gateway/keys.h).
  std::string key_dir;
  // --proxy-protocol-from, as given (repeatable, each comma-separated), and parsed: the proxies
  // whose connections must begin with a PROXY v2 header naming the client (gateway/proxy_protocol.h).
  std::vector<std::string> proxy_protocol_from;
  std::vector<AddressRange> trusted_proxies;
  bool help = false;
  // Every option as given or defaulted, rendered as text: what a reload compares.
  std::map<std::string, std::string> values;
};

// ReadFile returns the text of the configuration file at `path`.
using ReadFile = std::function<Result<std::string>(const std::string& path)>;

// parse_daemon_config reads argv (argv[0] is the program name) and, if it names one, the --config
// file through read_file. Errors are one line a person can act on.
Result<DaemonConfig> parse_daemon_config(const std::vector<std::string>& argv, const ReadFile& read_file);
// read_text_file: the ReadFile bastiond uses.
Result<std::string> read_text_file(const std::string& path);
std::string daemon_help();

// These options are read once, at start: a reload that changes them keeps the old value and says
// the new one waits for a restart.
const std::vector<std::string>& restart_only_options();

// ReloadPlan: what a reload changes, and what it cannot.
struct ReloadPlan {
  std::vector<std::string> changed;         // "name: old -> new", applied to new connections
  std::vector<std::string> needs_restart;   // "name: old -> new", not applied
};
// plan_reload compares two configurations and makes `next` keep `current`'s restart-only values.
ReloadPlan plan_reload(const DaemonConfig& current, DaemonConfig& next);

}  // namespace bastion::gateway
