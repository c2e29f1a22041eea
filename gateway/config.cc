#include "gateway/config.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <boost/program_options.hpp>

#include "gateway/admin/command_line.h"
#include "gateway/checkpoint_key.h"
#include "gateway/keys.h"
#include "gateway/notifier.h"

namespace bastion::gateway {
namespace po = boost::program_options;
namespace {

// parse_source_addresses: "192.0.2.7,2001:db8::/64" → each an address or CIDR range sshd's
// source-address option accepts, as given; anything else is refused with its text.
Result<std::vector<std::string>> parse_source_addresses(const std::string& text) {
  auto ranges = parse_address_ranges({text}, "egress-source-address");
  if (!ranges) return ranges.error();
  std::vector<std::string> out;
  for (const auto& r : *ranges) out.push_back(r.text);
  return out;
}

// Minutes: the ban and lock durations, given in whole minutes on the command line.
struct Minutes {
  int source_window = 15, source_ban = 30, source_max_ban = 24 * 60, account_window = 60, account_lock = 60;
};

po::options_description describe(DaemonConfig& c, Minutes& m) {
  DaemonSettings& s = c.settings;
  po::options_description desc("bastiond — the Bastion SSH gateway daemon\n\nOptions");
  desc.add_options()("help,h", po::bool_switch(&c.help), "show this help")
      ("config,c", po::value(&c.config_path), "configuration file (key = value, same names as the options); re-read on SIGHUP")
      ("listen", po::value(&c.listen)->default_value(c.listen), "address to listen on, HOST:PORT ([V6]:PORT); port 0 picks a free one")
      ("user", po::value(&c.run_as), "when started as root: bind the port, then run as this unprivileged account")
      ("preauth-user", po::value(&c.preauth_user)->default_value(c.preauth_user), "when started as root: the account the sandboxed network process (libssh, before and after authentication) runs as; must exist")
      ("db", po::value(&s.db_path), "database: a file (SQLite, created by `bastionctl --db FILE init`) or a postgresql:// URL")
      ("state-dir", po::value(&s.state_dir), "directory for recordings and runtime files")
      ("node", po::value(&s.node), "this bastion's name among the nodes sharing one database (default: the host name); letters, digits, '.', '_', '-'")
      ("node-timeout", po::value(&s.node_timeout_seconds)->default_value(s.node_timeout_seconds), "seconds without a heartbeat after which another node's live sessions are ended as aborted")
      ("db-grace", po::value(&s.db_grace_seconds)->default_value(s.db_grace_seconds), "seconds running sessions go on while the database cannot be reached (logins are refused meanwhile)")
      ("access-poll", po::value(&s.access_poll_seconds)->default_value(s.access_poll_seconds), "PostgreSQL: seconds between reads of the access version by live checks when no change notice came (a notice, or notices not heard, reads it at the next check, once a second)")
      ("key-dir", po::value(&c.key_dir), "directory of the keys below (default: beside the database; /etc/bastion for PostgreSQL)")
      ("host-key", po::value(&s.host_key_path), "host private key (default: beside the database)")
      ("egress-key", po::value(&s.egress_key_path), "egress private key of servers in key mode (default: beside the database)")
      ("egress-ca", po::value(&s.egress_ca_path), "egress certificate authority key (default: beside the database)")
      ("checkpoint-key", po::value(&s.checkpoint_key_path), "audit checkpoint signing key (default: beside the database; made by `bastionctl audit checkpoint-key`)")
      ("master-key", po::value(&s.master_key_path), "master key that wraps each client's data key, under which recordings are encrypted (default: data_master_key beside the database; made by `bastionctl init`)")
      ("checkpoint-events", po::value(&c.checkpoint_events)->default_value(c.checkpoint_events), "write a signed audit checkpoint after this many events …")
      ("checkpoint-minutes", po::value(&c.checkpoint_minutes)->default_value(c.checkpoint_minutes), "… and at least this often (minutes); also at start and at stop")
      ("egress-source-address", po::value(&c.egress_source_addresses), "the bastion's addresses (or CIDR ranges, comma-separated) as servers see them: each egress certificate is valid only from there")
      ("proxy-protocol-from", po::value(&c.proxy_protocol_from)->composing(), "addresses or CIDR ranges (repeatable, comma-separated) of TCP proxies (HAProxy send-proxy-v2) whose connections must start with a PROXY v2 header naming the operator's address; a PROXY header from anyone else is refused")
      ("login-grace", po::value(&s.login_grace_seconds)->default_value(s.login_grace_seconds), "seconds to complete authentication")
      ("max-auth-tries", po::value(&s.auth.max_attempts)->default_value(6), "failed attempts before disconnect")
      ("max-startups", po::value(&c.preauth.max_total)->default_value(c.preauth.max_total), "unauthenticated connections at once; more are closed on accept")
      ("max-startups-per-source", po::value(&c.preauth.max_per_source)->default_value(c.preauth.max_per_source), "unauthenticated connections at once from one address")
      ("max-sessions-per-operator", po::value(&s.max_sessions_per_operator)->default_value(s.max_sessions_per_operator), "live proxied sessions one operator may hold at once, over all connections (0 = no cap)")
      ("idle-timeout", po::value(&s.idle_timeout_seconds)->default_value(s.idle_timeout_seconds), "seconds without a byte either way before a connection is closed (0 = never)")
      ("idle-warning", po::value(&s.idle_warning_seconds)->default_value(s.idle_warning_seconds), "seconds before the idle cut that the operator is warned")
      ("client-alive-interval", po::value(&s.alive_interval_seconds)->default_value(s.alive_interval_seconds), "seconds between keepalive probes to a silent operator (0 = none)")
      ("client-alive-count-max", po::value(&s.alive_count_max)->default_value(s.alive_count_max), "probes left unanswered before the connection is dropped as dead")
      ("stop-grace", po::value(&c.stop_grace_seconds)->default_value(c.stop_grace_seconds), "on SIGTERM: seconds live sessions may go on before they are cut")
      ("ban-source-failures", po::value(&c.bans.source_failures)->default_value(c.bans.source_failures), "failed authentications from one address that ban it …")
      ("ban-source-window", po::value(&m.source_window)->default_value(m.source_window), "… within this many minutes")
      ("ban-source-minutes", po::value(&m.source_ban)->default_value(m.source_ban), "length of a first ban of an address; each further one doubles")
      ("ban-source-max-minutes", po::value(&m.source_max_ban)->default_value(m.source_max_ban), "longest ban of an address")
      ("lock-account-failures", po::value(&c.bans.account_failures)->default_value(c.bans.account_failures), "failed authentications on one account that lock it …")
      ("lock-account-window", po::value(&m.account_window)->default_value(m.account_window), "… within this many minutes")
      ("lock-account-minutes", po::value(&m.account_lock)->default_value(m.account_lock), "length of an account lock")
      ("connect-timeout", po::value(&s.upstream.connect_timeout_seconds)->default_value(10), "seconds to reach a server")
      ("recording-cap", po::value(&s.recording_cap_bytes)->default_value(s.recording_cap_bytes),
       "bytes of an exec/scp/rsync/sftp recording stored at most (0 = no cap); the rest is counted and hashed")
      ("events-json", po::value(&s.sinks.json_lines_path), "also append every audit event to this JSON lines file (for a SIEM)")
      ("syslog", po::bool_switch(&s.sinks.syslog), "also send every audit event to syslog (auth events under AUTHPRIV)")
      ("notify-url", po::value(&c.notify_url), "access requests: POST each transition, signed, to this http:// URL")
      ("notify-secret-file", po::value(&c.notify_secret_file), "access requests: file holding the HMAC-SHA256 key of the webhook signature")
      ("portal-url", po::value(&s.portal_url), "the web portal's public address (https://HOST[:PORT]), the base of the one-time links `ssh NAME@bastion web-login` prints")
      ("purge-interval", po::value(&c.purge_interval_hours)->default_value(c.purge_interval_hours), "hours between retention runs (the first runs at start)")
      ("log-level", po::value(&c.log_level)->default_value(c.log_level), "trace, debug, info, warn, error");
  return desc;
}

std::string render(const boost::any& v) {
  if (const auto* s = boost::any_cast<std::string>(&v)) return *s;
  if (const auto* i = boost::any_cast<int>(&v)) return std::to_string(*i);
  if (const auto* b = boost::any_cast<bool>(&v)) return *b ? "true" : "false";
  if (const auto* u = boost::any_cast<std::uint64_t>(&v)) return std::to_string(*u);
  if (const auto* list = boost::any_cast<std::vector<std::string>>(&v)) {
    std::string out;
    for (const auto& item : *list) out += (out.empty() ? "" : ",") + item;
    return out;
  }
  return "?";
}

// check_ranges: every count and duration must make sense; a typo must not silently disable a
// protection.
Status check_ranges(const DaemonConfig& c, const Minutes& m) {
  using Bound = std::tuple<const char*, long long, long long>;  // name, value, smallest allowed
  const DaemonSettings& s = c.settings;
  for (auto [name, value, least] : std::initializer_list<Bound>{
           {"max-startups", c.preauth.max_total, 1}, {"max-startups-per-source", c.preauth.max_per_source, 1},
           {"ban-source-failures", c.bans.source_failures, 1}, {"ban-source-window", m.source_window, 1},
           {"ban-source-minutes", m.source_ban, 1}, {"ban-source-max-minutes", m.source_max_ban, 1},
           {"lock-account-failures", c.bans.account_failures, 1}, {"lock-account-window", m.account_window, 1},
           {"lock-account-minutes", m.account_lock, 1}, {"login-grace", s.login_grace_seconds, 1},
           {"max-auth-tries", s.auth.max_attempts, 1}, {"connect-timeout", s.upstream.connect_timeout_seconds, 1},
           {"purge-interval", c.purge_interval_hours, 1}, {"client-alive-count-max", s.alive_count_max, 1},
           {"max-sessions-per-operator", s.max_sessions_per_operator, 0}, {"idle-timeout", s.idle_timeout_seconds, 0},
           {"idle-warning", s.idle_warning_seconds, 0}, {"client-alive-interval", s.alive_interval_seconds, 0},
           {"stop-grace", c.stop_grace_seconds, 0}, {"checkpoint-events", c.checkpoint_events, 1},
           {"checkpoint-minutes", c.checkpoint_minutes, 1}, {"node-timeout", s.node_timeout_seconds, 2},
           {"db-grace", s.db_grace_seconds, 0}, {"access-poll", s.access_poll_seconds, 1}}) {
    if (value < least) return Error{std::string("--") + name + " must be at least " + std::to_string(least)};
  }
  if (s.idle_timeout_seconds > 0 && s.idle_warning_seconds >= s.idle_timeout_seconds)
    return Error{"--idle-warning (" + std::to_string(s.idle_warning_seconds) + " s) must be shorter than --idle-timeout (" +
                 std::to_string(s.idle_timeout_seconds) + " s)"};
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end())
    return Error{"--log-level must be one of trace, debug, info, warn, error (not '" + c.log_level + "')"};
  return ok_status();
}

// check_node_name: a node's name is shown in session lists and logs, and keyed on in the
// database: a short word.
Status check_node_name(const std::string& name) {
  if (name.size() > 64) return Error{"--node must be at most 64 characters"};
  for (unsigned char ch : name) {
    if (std::isalnum(ch) == 0 && ch != '.' && ch != '_' && ch != '-')
      return Error{"--node may hold only letters, digits, '.', '_' and '-' (not '" + name + "')"};
  }
  return ok_status();
}

// check_portal_url: the portal's address is printed to people as the start of a link: https only
// (bastion-web serves nothing else), printable, no spaces or quotes, no query or fragment.
Status check_portal_url(const std::string& url) {
  if (url.empty()) return ok_status();
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0 || url.size() == kScheme.size())
    return Error{"--portal-url must be an https:// address, e.g. https://bastion.example.com:8443"};
  if (url.size() > 512) return Error{"--portal-url is longer than 512 characters"};
  for (unsigned char ch : url) {
    if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\'' || ch == '<' || ch == '>' || ch == '\\' || ch == '?' ||
        ch == '#')
      return Error{"--portal-url may hold only printable ASCII, without spaces, quotes, <, >, ?, # or backslash"};
  }
  return ok_status();
}

}  // namespace

Result<DaemonConfig> parse_daemon_config(const std::vector<std::string>& argv, const ReadFile& read_file) {
  DaemonConfig c;
  Minutes m;
  auto desc = describe(c, m);
  po::variables_map vm;
  try {
    std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("config")) {
      const auto path = vm["config"].as<std::string>();
      auto text = read_file(path);
      if (!text) return text.error();
      std::istringstream in(*text);
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return Error{admin::option_error_text(e)};
  } catch (const std::exception& e) {  // boost::bad_lexical_cast and friends from odd values
    return Error{std::string("invalid configuration: ") + e.what()};
  }
  if (c.help) return c;
  if (auto st = check_ranges(c, m); !st) return st.error();
  using std::chrono::minutes;
  c.bans.source_window = minutes(m.source_window);
  c.bans.source_first_ban = minutes(m.source_ban);
  c.bans.source_max_ban = minutes(std::max(m.source_max_ban, m.source_ban));
  c.bans.account_window = minutes(m.account_window);
  c.bans.account_lock = minutes(m.account_lock);
  if (c.preauth_user.empty()) return Error{"--preauth-user must name an account"};
  if (c.preauth_user == "root") return Error{"--preauth-user root is refused: name an unprivileged account (bastion-net)"};
  if (c.settings.db_path.empty()) return Error{"--db FILE|URL is required (or db = FILE|URL in --config)"};
  if (c.settings.state_dir.empty()) return Error{"--state-dir DIR is required (or state-dir = DIR in --config)"};
  if (!c.notify_url.empty()) {
    if (auto url = parse_http_url(c.notify_url); !url) return url.error();
    if (c.notify_secret_file.empty()) return Error{"--notify-url needs --notify-secret-file (the signature key)"};
  }
  if (auto st = check_portal_url(c.settings.portal_url); !st) return st.error();
  if (c.settings.node.empty()) c.settings.node = node_name();
  if (auto st = check_node_name(c.settings.node); !st) return st.error();
  auto keys = default_key_paths(c.settings.db_path, c.key_dir);
  if (c.settings.host_key_path.empty()) c.settings.host_key_path = keys.host_key;
  if (c.settings.egress_key_path.empty()) c.settings.egress_key_path = keys.egress_key;
  if (c.settings.egress_ca_path.empty()) c.settings.egress_ca_path = keys.egress_ca;
  if (c.settings.checkpoint_key_path.empty()) c.settings.checkpoint_key_path = keys.checkpoint_key;
  if (c.settings.master_key_path.empty()) c.settings.master_key_path = keys.master_key;
  auto sources = parse_source_addresses(c.egress_source_addresses);
  if (!sources) return sources.error();
  c.settings.egress_source_addresses = std::move(*sources);
  auto proxies = parse_address_ranges(c.proxy_protocol_from, "proxy-protocol-from");
  if (!proxies) return proxies.error();
  c.trusted_proxies = std::move(*proxies);
  c.settings.stop_grace_seconds = c.stop_grace_seconds;
  for (const auto& [name, value] : vm) c.values[name] = render(value.value());
  c.values["host-key"] = c.settings.host_key_path;
  c.values["egress-key"] = c.settings.egress_key_path;
  c.values["egress-ca"] = c.settings.egress_ca_path;
  c.values["checkpoint-key"] = c.settings.checkpoint_key_path;
  c.values["master-key"] = c.settings.master_key_path;
  return c;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read configuration file " + path};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{"cannot read configuration file " + path};
  return text.str();
}

std::string daemon_help() {
  DaemonConfig c;
  Minutes m;
  std::ostringstream out;
  out << describe(c, m);
  return out.str();
}

const std::vector<std::string>& restart_only_options() {
  static const std::vector<std::string> kNames = {"listen", "user", "preauth-user", "db", "state-dir", "node", "key-dir", "host-key", "egress-key", "egress-ca", "checkpoint-key", "master-key", "config"};
  return kNames;
}

ReloadPlan plan_reload(const DaemonConfig& current, DaemonConfig& next) {
  ReloadPlan plan;
  std::map<std::string, std::string> names;
  for (const auto& [k, v] : current.values) names[k];
  for (const auto& [k, v] : next.values) names[k];
  const auto& fixed = restart_only_options();
  for (const auto& [name, unused] : names) {
    auto a = current.values.count(name) ? current.values.at(name) : "(unset)";
    auto b = next.values.count(name) ? next.values.at(name) : "(unset)";
    if (a == b) continue;
    std::string line = name + ": " + a + " -> " + b;
    if (std::find(fixed.begin(), fixed.end(), name) != fixed.end()) plan.needs_restart.push_back(line);
    else plan.changed.push_back(line);
  }
  // What waits for a restart stays as it is now.
  next.config_path = current.config_path;
  next.listen = current.listen;
  next.run_as = current.run_as;
  next.preauth_user = current.preauth_user;
  next.settings.db_path = current.settings.db_path;
  next.settings.state_dir = current.settings.state_dir;
  next.settings.node = current.settings.node;
  next.settings.host_key_path = current.settings.host_key_path;
  next.settings.egress_key_path = current.settings.egress_key_path;
  next.settings.egress_ca_path = current.settings.egress_ca_path;
  next.settings.checkpoint_key_path = current.settings.checkpoint_key_path;
  next.settings.master_key_path = current.settings.master_key_path;
  for (const auto& name : fixed) {
    if (current.values.count(name)) next.values[name] = current.values.at(name);
    else next.values.erase(name);
  }
  return plan;
}

}  // namespace bastion::gateway
