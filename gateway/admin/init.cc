#include "gateway/admin/init.h"

#include <ostream>

#include "audit/data_keys.h"
#include "authz/db.h"
#include "gateway/checkpoint_key.h"
#include "gateway/egress_ca.h"

namespace bastion::gateway::admin {
namespace {

constexpr std::string_view kProgram = "bastionctl";

int fail(std::ostream& err, std::string_view reason, int status = kExitRefused) {
  err << kProgram << ": " << reason << "\n";
  return status;
}

// already_initialised: an existing database with a schema is never re-initialised; an existing
// empty file (e.g. made by `touch`) is fine to initialise.
std::optional<int> already_initialised(const std::string& db_path) {
  auto existing = db::Database::open(db_path, false);
  if (!existing) return std::nullopt;
  return (*existing)->schema_version();
}

}  // namespace

int run_init(const Args& args, const std::string& db_path, const KeyPaths& keys, std::ostream& out,
             std::ostream& err) {
  CommandLine cl("init", "", "Create the database, the bastion's host and egress keys, its egress CA, its audit checkpoint key and the master key of the clients' data keys (mode 0600).");
  std::optional<po::variables_map> vm;
  try {
    vm = cl.parse(args, out, kProgram);
  } catch (const UsageError& e) {
    return fail(err, std::string("init: ") + e.what() + " (see `bastionctl init --help`)", kExitUsage);
  }
  if (!vm) return kExitOk;
  if (auto version = already_initialised(db_path)) {
    return fail(err, "database " + db_path + " already exists and is initialised (schema version " +
                         std::to_string(*version) + "); nothing was changed");
  }
  auto db = db::Database::open(db_path, true);
  if (!db) return fail(err, db.error().message);
  for (const auto& path : {keys.host_key, keys.egress_key}) {
    if (auto st = ensure_key(path); !st) return fail(err, st.error().message);
  }
  if (auto st = ensure_egress_ca(keys.egress_ca); !st) return fail(err, st.error().message);
  if (auto st = ensure_checkpoint_key(keys.checkpoint_key); !st) return fail(err, st.error().message);
  if (auto st = audit::ensure_master_key(keys.master_key); !st) return fail(err, st.error().message);
  const int version = (*db)->schema_version();
  if (wants_json(*vm)) {
    out << nlohmann::json{{"db", db_path}, {"schema_version", version}, {"host_key", keys.host_key},
                          {"egress_key", keys.egress_key}, {"egress_ca", keys.egress_ca},
                          {"checkpoint_key", keys.checkpoint_key}, {"master_key", keys.master_key}}
               .dump(2)
        << "\n";
  } else {
    out << "initialised " << db_path << " (schema version " << version << ")\n"
        << "host key:   " << keys.host_key << "\n"
        << "egress key: " << keys.egress_key << " (install its public key on servers: `bastionctl --db "
        << db_path << " egress-key`)\n"
        << "egress CA:  " << keys.egress_ca << " (what servers add to trust its certificates: `bastionctl --db "
        << db_path << " egress-ca`)\n"
        << "checkpoint key: " << keys.checkpoint_key << " (signs the audit checkpoints; copy " << keys.checkpoint_key
        << ".pub off this host now: it is what `audit verify --checkpoints` trusts)\n"
        << "master key: " << keys.master_key << " (wraps each client's data key; back it up apart from the "
        << "database, never beside it: see README, Keys)\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
