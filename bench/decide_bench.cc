// decide_bench: the access decision as the gateway takes it for one channel request, against a
// realistically large database: 100 000 grants over 1 000 operators and 500 servers (issue 3.7).
// Measured: grants_for + catalogue_of + decide (and, separately, with the operator and server
// lookups before it). The database is a real SQLite file in a temp dir, filled through the Store;
// with --db URL (a postgresql:// URL of an empty database, or schema first on the URL's
// search_path), the same grants go to PostgreSQL and the same decisions are measured there
// (issue 19, point 5: decision < 1 ms p50 with 100 000 grants, on either engine).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <vector>

#include "authz/decide.h"
#include "authz/sqlite_store.h"

namespace {

using namespace bastion;
using namespace std::chrono_literals;

constexpr int kOperators = 1000;
constexpr int kServers = 500;
constexpr int kGrants = 100000;
const Seconds kFilledAt = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC
const Seconds kDecideAt = kFilledAt + 240h;       // ten days later: some grants over, some not yet

std::string op_name(int i) { return "op" + std::to_string(i); }
std::string server_name(int i) { return "srv" + std::to_string(i); }

void add_people_and_servers(authz::Store& store) {
  for (int i = 0; i < kOperators; ++i) {
    if (!store.add_operator({op_name(i), authz::Role::Operator, "", "JBSWY3DPEHPK3PXP"})) std::abort();
  }
  for (int i = 0; i < kServers; ++i) {
    authz::Server s;
    s.name = server_name(i);
    s.host = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    s.client = "client" + std::to_string(i % 40);
    s.host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v";
    if (!store.add_server(s)) std::abort();
    for (auto [name, type, pattern] : {std::tuple{"shell", authz::OpType::Shell, ""},
                                       std::tuple{"status", authz::OpType::Exec, "systemctl status *"},
                                       std::tuple{"files", authz::OpType::Sftp, ""}}) {
      if (!store.add_catalogue_entry(s.name, {0, 0, name, type, pattern, authz::TransferLimit::Both, ""})) std::abort();
    }
  }
}

// grant_of: the i-th grant. Grants come in renewal histories of kRenewals per (operator, server)
// pair — 10 000 pairs, each operator on 10 servers — with successive windows 36 h apart, 48 h long:
// at kDecideAt one is active, older ones are over, later ones are pending (as after renewals).
constexpr int kRenewals = 10;

int pair_of(int i) { return i / kRenewals; }

authz::NewGrant grant_of(int i) {
  const int pair = pair_of(i), renewal = i % kRenewals;
  authz::NewGrant g;
  g.operator_name = op_name(pair % kOperators);
  g.server_name = server_name((pair / kOperators * 53 + pair) % kServers);
  g.login = renewal % 5 == 4 ? "deploy" : "root";
  g.ops = renewal % 2 == 0 ? std::vector<std::string>{"shell", "status"} : std::vector<std::string>{"shell", "files"};
  g.not_before = kFilledAt + std::chrono::hours(36 * renewal);
  g.not_after = g.not_before + 48h;
  g.reason = "ticket " + std::to_string(i);
  g.granted_by = "officer";
  return g;
}

// The database the fixture fills: a postgresql:// URL given with --db, or "" for a SQLite file.
std::string g_db_location;

struct Fixture {
  std::string dir;
  db::DatabasePtr db;
  FixedClock clock{kFilledAt};
  std::unique_ptr<authz::SqliteStore> store;

  Fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    const std::string location = g_db_location.empty() ? dir + "/bastion.db" : g_db_location;
    auto opened = db::Database::open(location, true);
    if (!opened) {
      std::cerr << "cannot open " << location << ": " << opened.error().message << "\n";
      std::abort();
    }
    db = *opened;
    store = std::make_unique<authz::SqliteStore>(db, clock);
    const auto started = std::chrono::steady_clock::now();
    auto change = store->begin_change();
    add_people_and_servers(*store);
    for (int i = 0; i < kGrants; ++i) {
      auto g = store->add_grant(grant_of(i));
      if (!g) {
        std::cerr << "grant " << i << ": " << g.error().message << "\n";
        std::abort();
      }
      if (i % kRenewals == 3 && !store->revoke_grant(g->id, kFilledAt + 100h)) std::abort();  // one revoked per pair
    }
    change->commit();
    std::cerr << "filled " << kGrants << " grants in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// The request: a shell on the server of grant 0's pair, as root: 8 grants to look through (one
// active, the rest over, revoked or pending).
void BM_DecideWithLoadedAccountAndServer(benchmark::State& state) {
  auto& store = *fixture().store;
  const auto who = *store.find_operator(op_name(0));
  const auto server = *store.find_server(grant_of(0).server_name);
  const auto op = authz::Operation::shell();
  std::size_t grants_seen = 0;
  {
    const auto grants = store.grants_for(who.id, server.id, "root");
    const auto catalogue = store.catalogue_of(server.id);
    const auto d = authz::decide({who, server, "root", &op, grants, catalogue, kDecideAt});
    if (!std::holds_alternative<authz::Allow>(d)) state.SkipWithError(std::get<authz::Deny>(d).reason.c_str());
  }
  for (auto _ : state) {
    const auto grants = store.grants_for(who.id, server.id, "root");
    const auto catalogue = store.catalogue_of(server.id);
    auto decision = authz::decide({who, server, "root", &op, grants, catalogue, kDecideAt});
    benchmark::DoNotOptimize(decision);
    grants_seen = grants.size();
  }
  state.counters["grants_on_pair"] = static_cast<double>(grants_seen);
}

void BM_DecideIncludingLookups(benchmark::State& state) {
  auto& store = *fixture().store;
  const auto op = authz::Operation::shell();
  const std::string server_name_0 = grant_of(0).server_name;
  for (auto _ : state) {
    const auto who = store.find_operator(op_name(0));
    const auto server = store.find_server(server_name_0);
    const auto grants = store.grants_for(who->id, server->id, "root");
    const auto catalogue = store.catalogue_of(server->id);
    auto decision = authz::decide({*who, *server, "root", &op, grants, catalogue, kDecideAt});
    benchmark::DoNotOptimize(decision);
  }
}

BENCHMARK(BM_DecideWithLoadedAccountAndServer)->Unit(benchmark::kMicrosecond)->Repetitions(10)->ReportAggregatesOnly();
BENCHMARK(BM_DecideIncludingLookups)->Unit(benchmark::kMicrosecond)->Repetitions(10)->ReportAggregatesOnly();

}  // namespace

// main: Google Benchmark's, with one flag of ours taken out first: --db URL (or --db=URL).
int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--db" && i + 1 < argc) {
      g_db_location = argv[++i];
    } else if (a.starts_with("--db=")) {
      g_db_location = std::string(a.substr(5));
    } else {
      args.push_back(argv[i]);
    }
  }
  if (!g_db_location.empty() && !db::Database::is_postgres_location(g_db_location)) {
    std::cerr << "decide_bench: --db takes a postgresql:// URL (the SQLite file is made in a temp dir)\n";
    return 2;
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::AddCustomContext("engine", g_db_location.empty() ? "sqlite" : "postgresql");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
