// bastion-web: the client's window (issue 18). HTTPS only; reads and writes the bastion database
// through the same stores and command rules as bastionctl and the SSH front.
#include <signal.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <string>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "audit/data_keys.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "gateway/keys.h"
#include "web/portal.h"

namespace {

namespace po = boost::program_options;

struct Options {
  std::string db, cert, key, listen, json_log, master_key, key_dir;
  std::string player_dir = BASTION_PLAYER_DIR;
  int port = 8443;
  int threads = 8;
};

httplib::Server* g_server = nullptr;

// read_file: the whole (small) file, or "" if it cannot be read.
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void on_stop(int) {
  if (g_server != nullptr) g_server->stop();  // only flips a flag and shuts the listening socket
}

int parse(int argc, char** argv, Options& o) {
  po::options_description opts("bastion-web options (also KEY = VALUE lines in --config)");
  std::string config;
  opts.add_options()("help,h", "show this help")("config", po::value(&config)->value_name("FILE"), "configuration file")(
      "db", po::value(&o.db)->value_name("FILE|URL"),
      "the bastion database: a file (SQLite) or a postgresql:// URL, as bastiond's (required)")(
      "key-dir", po::value(&o.key_dir)->value_name("DIR"),
      "the directory of the bastion's keys (default: beside the database; /etc/bastion for PostgreSQL)")(
      "master-key", po::value(&o.master_key)->value_name("FILE"),
      "the master key of the clients' data keys, to play encrypted recordings (default: data_master_key in the key "
      "directory)")(
      "cert", po::value(&o.cert)->value_name("FILE"), "TLS certificate chain, PEM (required)")(
      "key", po::value(&o.key)->value_name("FILE"), "TLS private key, PEM (required)")(
      "listen", po::value(&o.listen)->default_value("127.0.0.1")->value_name("ADDR"), "address to listen on")(
      "port", po::value(&o.port)->default_value(8443)->value_name("N"), "TCP port (0: any free port, printed)")(
      "threads", po::value(&o.threads)->default_value(8)->value_name("N"), "requests served at once")(
      "json-log", po::value(&o.json_log)->value_name("FILE"), "also append each audit event here (JSON lines)")(
      "player-dir", po::value(&o.player_dir)->value_name("DIR"),
      "asciinema-player's bundle (asciinema-player.min.js and .css), served by the portal itself");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
    if (!config.empty()) {
      std::ifstream in(config);
      if (!in) {
        std::cerr << "bastion-web: cannot read " << config << "\n";
        return 2;
      }
      po::store(po::parse_config_file(in, opts), vm);
      po::notify(vm);
    }
  } catch (const po::error& e) {
    std::cerr << "bastion-web: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (vm.count("help") != 0) {
    std::cout << "usage: bastion-web --db FILE|URL --cert FILE --key FILE [--listen ADDR] [--port N]\n\n" << opts;
    return 0;
  }
  const std::pair<const char*, const std::string*> required[] = {{"--db", &o.db}, {"--cert", &o.cert}, {"--key", &o.key}};
  for (const auto& [name, value] : required) {
    if (value->empty()) {
      std::cerr << "bastion-web: " << name << " is required (see --help)\n";
      return 2;
    }
  }
  if (o.threads < 1 || o.threads > 256) {
    std::cerr << "bastion-web: --threads must be between 1 and 256\n";
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = parse(argc, argv, o); rc >= 0) return rc;
  httplib::SSLServer svr(o.cert.c_str(), o.key.c_str());
  if (!svr.is_valid()) {
    std::cerr << "bastion-web: the TLS certificate " << o.cert << " or key " << o.key
              << " cannot be loaded (missing, unreadable or not a matching PEM pair)\n";
    return 1;
  }
  // Fail closed at start, as bastiond: a database that cannot be opened (a file missing or not
  // initialised, a PostgreSQL server out of reach or refusing the account) means nobody could sign in.
  // Each request opens its own connection afterwards (web/request_scope.h).
  if (auto db = bastion::db::Database::open(o.db, false); !db) {
    std::cerr << "bastion-web: " << db.error().message << "\n";
    return 1;
  }
  bastion::web::PortalSettings settings;
  settings.db_path = o.db;
  settings.master_key_path =
      o.master_key.empty() ? bastion::gateway::default_key_paths(o.db, o.key_dir).master_key : o.master_key;
  // Without the master key the portal still lists sessions, but plays no recording: said at start,
  // rather than only on the first player page.
  if (auto st = bastion::audit::check_master_key_file(settings.master_key_path); !st) {
    spdlog::error("{}: recordings cannot be played (give --key-dir or --master-key)", st.error().message);
  }
  settings.sinks.json_lines_path = o.json_log;
  settings.player_js = read_file(o.player_dir + "/asciinema-player.min.js");
  settings.player_css = read_file(o.player_dir + "/asciinema-player.css");
  if (settings.player_js.empty() || settings.player_css.empty()) {
    spdlog::error("asciinema-player is not in {}: recordings can be downloaded but not played", o.player_dir);
  }
  const bastion::Clock& clock = bastion::process_clock();
  bastion::web::Portal portal(settings, clock);
  portal.install(svr);
  const int threads = o.threads;
  // httplib takes ownership of the queue it is handed (its API wants a bare pointer).
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  // cpp-httplib writes a response's headers and body separately; with Nagle's algorithm on, the
  // body then waits for the browser's delayed ACK (40 ms on Linux) on every keep-alive response.
  svr.set_tcp_nodelay(true);
  svr.set_read_timeout(10);
  svr.set_write_timeout(30);
  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.listen);
  } else if (!svr.bind_to_port(o.listen, port)) {
    port = -1;
  }
  if (port <= 0) {
    std::cerr << "bastion-web: cannot listen on " << o.listen << ":" << o.port << "\n";
    return 1;
  }
  g_server = &svr;
  struct sigaction sa{};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Tests and scripts/demo read this line for the port.
  std::cout << "bastion-web listening on https://" << o.listen << ":" << port << std::endl;
  spdlog::info("bastion-web serving database {} on {}:{}", bastion::db::Database::shown(o.db),
               o.listen, port);
  svr.listen_after_bind();
  spdlog::info("bastion-web stopped");
  return 0;
}
