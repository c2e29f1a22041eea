// bastionctl: the local administration tool. Global options, then `init` or any command of the
// admin command set (gateway/admin/commands.h), run as the local officer "bastionctl".
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "gateway/admin/command_line.h"
#include "gateway/admin/commands.h"
#include "gateway/admin/init.h"
#include "gateway/keys.h"

namespace {

namespace po = boost::program_options;
namespace admin = bastion::gateway::admin;

// Keep in step with project(VERSION) in the top-level CMakeLists.txt.
constexpr const char* kVersion = BASTION_VERSION;

struct Globals {
  std::string db;
  std::string master_key;  // empty: beside the database
  std::string key_dir;     // empty: beside the database (gateway/keys.h)
  bool help = false;
  bool version = false;
};

po::options_description global_options() {
  po::options_description opts("global options");
  opts.add_options()("db", po::value<std::string>()->value_name("FILE|URL"),
                     "the bastion database: a file (SQLite) or a postgresql:// URL (default: $BASTION_DB)")(
      "master-key", po::value<std::string>()->value_name("FILE"),
      "the master key of the clients' data keys (default: data_master_key beside the database)")(
      "key-dir", po::value<std::string>()->value_name("DIR"),
      "the directory of the bastion's keys (default: beside the database; /etc/bastion for PostgreSQL)")(
      "help,h", "show this help")("version", "print the version");
  return opts;
}

// split_globals returns the index of the first word that is not a global option: global options
// come before the command, the command's own options after it.
std::size_t split_globals(int argc, char** argv) {
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    const std::string word = argv[i];
    if (word == "--db" || word == "--master-key" || word == "--key-dir") ++i;  // its value is the next word
    ++i;
  }
  return static_cast<std::size_t>(std::min(i, argc));
}

Globals parse_globals(char** argv, std::size_t end) {
  po::variables_map vm;
  po::store(po::command_line_parser(static_cast<int>(end), argv).options(global_options()).run(), vm);
  Globals g;
  if (vm.count("db") != 0) {
    g.db = vm["db"].as<std::string>();
  } else if (const char* env = std::getenv("BASTION_DB"); env != nullptr) {
    g.db = env;
  }
  if (vm.count("master-key") != 0) g.master_key = vm["master-key"].as<std::string>();
  if (vm.count("key-dir") != 0) g.key_dir = vm["key-dir"].as<std::string>();
  g.help = vm.count("help") != 0;
  g.version = vm.count("version") != 0;
  return g;
}

void print_help() {
  std::cout << "usage: bastionctl --db FILE COMMAND [ARGS…]\n\n"
            << "Administer a Bastion SSH access gateway.\n\n"
            << global_options() << "\n";
  admin::print_command_list(std::cout, "bastionctl");
}

int run(const Globals& g, const std::vector<std::string>& args) {
  auto keys = bastion::gateway::default_key_paths(g.db, g.key_dir);
  if (!g.master_key.empty()) keys.master_key = g.master_key;
  if (args.front() == "init") {
    return admin::run_init({args.begin() + 1, args.end()}, g.db, keys, std::cout, std::cerr);
  }
  auto db = bastion::db::Database::open(g.db, false);
  if (!db) {
    std::cerr << "bastionctl: " << db.error().message << "\n";
    return admin::kExitRefused;
  }
  bastion::authz::SqliteStore store(*db);
  // The same connection for the store, the sessions and the event log: a change and its audit
  // event commit in one transaction (gateway/admin/commands.cc, run_change).
  bastion::audit::SqliteSessionStore sessions(*db);
  const auto events = bastion::audit::open_event_log(*db);
  const bastion::Clock& clock = bastion::process_clock();
  admin::CommandContext ctx{.store = store,
                            .clock = clock,
                            .out = std::cout,
                            .err = std::cerr,
                            .events = *events,
                            .sessions = sessions,
                            .keys = keys,
                            .db = *db,
                            .recordings_dir = {},
                            .out_is_terminal = isatty(STDOUT_FILENO) == 1};
  return admin::run_command(args, ctx);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t command_at = split_globals(argc, argv);
  Globals g;
  try {
    g = parse_globals(argv, command_at);
  } catch (const po::error& e) {
    std::cerr << "bastionctl: " << admin::option_error_text(e) << " (see `bastionctl --help`)\n";
    return admin::kExitUsage;
  }
  if (g.version) {
    std::cout << "bastionctl " << kVersion << "\n";
    return admin::kExitOk;
  }
  const std::vector<std::string> args(argv + command_at, argv + argc);
  if (g.help || args.empty()) {
    print_help();
    return g.help ? admin::kExitOk : admin::kExitUsage;
  }
  if (g.db.empty()) {
    std::cerr << "bastionctl: no database given: use --db FILE or set BASTION_DB\n";
    return admin::kExitUsage;
  }
  return run(g, args);
}
