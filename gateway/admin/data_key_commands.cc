// client keys | client shred | recording decrypt: the clients' data keys under which their
// recordings are encrypted (audit/data_keys.h) — listed (never shown), destroyed on request, and
// used by an officer to read one recording file wherever it was found.
#include <memory>
#include <optional>
#include <ostream>

#include "audit/data_keys.h"
#include "audit/event_chain.h"
#include "authz/db.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/recording_text.h"
#include "gateway/admin/review.h"
#include "gateway/admin/table.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

Json key_json(const audit::ClientKeyInfo& k) {
  return {{"client", k.client},
          {"key_id", k.key_id},
          {"created_at", iso8601(k.created_at)},
          {"destroyed_at", k.destroyed_at ? Json(iso8601(*k.destroyed_at)) : Json(nullptr)},
          {"destroyed_by", k.destroyed() ? Json(k.destroyed_by) : Json(nullptr)}};
}

}  // namespace

audit::KeyLookup command_key_lookup(CommandContext& ctx) {
  auto master = std::make_shared<std::optional<audit::SecretKey>>();
  return [&ctx, master](const std::string& key_id) -> Result<audit::SecretKey> {
    // A destroyed key is named as such before the master key is even looked for.
    if (auto info = audit::find_key_by_id(database(ctx), key_id); info && info->destroyed())
      return Error{audit::destroyed_text(*info)};
    if (!*master) {
      auto loaded = audit::load_master_key(ctx.keys.master_key);
      if (!loaded) return loaded.error();
      *master = std::move(*loaded);
    }
    return audit::unwrap_client_key(database(ctx), **master, key_id);
  };
}

Result<audit::RecordingText> recording_text(CommandContext& ctx, const std::string& path) {
  return audit::read_recording(path, command_key_lookup(ctx));
}

int client_keys(const Args& args, CommandContext& ctx) {
  CommandLine cl("client keys", "",
                 "List each client's data key — its id, when it was made, and when and by whom it was destroyed —\n"
                 "never the key. A client's recordings are encrypted under keys derived from it.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  Json all = Json::array();
  Table table({"CLIENT", "KEY ID", "CREATED", "DESTROYED", "BY"});
  for (const auto& k : audit::list_client_keys(database(ctx))) {
    all.push_back(key_json(k));
    table.add({k.client, k.key_id, iso8601(k.created_at), k.destroyed_at ? iso8601(*k.destroyed_at) : "-",
               k.destroyed() ? k.destroyed_by : "-"});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int client_shred(const Args& args, CommandContext& ctx) {
  CommandLine cl("client shred", "NAME --confirm",
                 "Destroy the client's data key now: every copy of every recording of its servers, on this host\n"
                 "and in every backup, becomes unreadable for good, and nothing more of it is recorded. Recorded\n"
                 "as a client.shred event; the audit chain still verifies.");
  cl.positional("NAME");
  cl.options()("confirm", po::bool_switch(), "yes, destroy it (there is no undo)");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const std::string client = (*vm)["NAME"].as<std::string>();
  if (!(*vm)["confirm"].as<bool>())
    return refuse(ctx, "client shred destroys every recording of client " + client +
                           " in every copy, with no undo; add --confirm to do it");
  db::Database& db = database(ctx);
  audit::ClientKeyInfo destroyed;
  {
    // The key's end and the event that says so commit together, or neither does.
    db::Database::Transaction tx(db);
    auto key = audit::destroy_client_key(db, client, ctx.clock.now(), ctx.actor);
    if (!key) return refuse(ctx, key.error().message);
    destroyed = *key;
    const audit::Event e{ctx.clock.now(), "client.shred", ctx.actor, ctx.source, "", std::nullopt,
                         {{"client", client}, {"key_id", destroyed.key_id}}};
    if (auto st = ctx.events.append(e); !st)
      return refuse(ctx, "the client's key was not destroyed, because the audit event could not be written: " +
                             st.error().message);
    tx.commit();
  }
  const bool scrubbed = audit::scrub_after_destroy(db);
  if (wants_json(*vm)) {
    Json j = key_json(destroyed);
    j["log_scrubbed"] = scrubbed;
    print_json(ctx, j);
  } else {
    ctx.out << "destroyed the data key " << destroyed.key_id << " of client " << client << " at "
            << iso8601(*destroyed.destroyed_at) << ": its recordings can no longer be decrypted, here or in any copy\n";
    if (!scrubbed)
      ctx.out << "note: the database still holds a copy of the old row (SQLite: in its write-ahead log, which "
                 "another process reads; PostgreSQL: an old row version VACUUM could not drop now); it is "
                 "overwritten as the bastion goes on\n";
  }
  return kExitOk;
}

int master_key(const Args& args, CommandContext& ctx) {
  CommandLine cl("master-key", "",
                 "Make the master key of the clients' data keys (--master-key, default data_master_key beside\n"
                 "the database) unless it exists: for a database initialised before recordings were encrypted.\n"
                 "Back it up apart from the database, never beside it (README, Keys). bastionctl only.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  if (ctx.remote) return refuse(ctx, "master-key makes a file on the bastion host: bastionctl only");
  const std::string& path = ctx.keys.master_key;
  auto created = audit::ensure_master_key(path);
  if (!created) return refuse(ctx, created.error().message);
  if (auto st = audit::check_master_key_file(path); !st) return refuse(ctx, st.error().message);
  if (*created) {
    const audit::Event e{ctx.clock.now(), "admin.master_key.create", ctx.actor, ctx.source, "", std::nullopt,
                         {{"path", path}}};
    if (auto st = ctx.events.append(e); !st) return refuse_unrecorded(ctx, st.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, {{"path", path}, {"created", *created}});
  } else {
    ctx.out << (*created ? "created the master key " : "the master key exists: ") << path
            << " (back it up apart from the database, never beside it)\n";
  }
  return kExitOk;
}

int recording_decrypt(const Args& args, CommandContext& ctx) {
  CommandLine cl("recording decrypt", "FILE",
                 "Write a recording file (found anywhere: a backup, an export) decrypted to standard output, in\n"
                 "memory only; a recording cut short is written up to its cut (said on standard error), an altered\n"
                 "one is refused naming where. bastionctl only.");
  cl.positional("FILE");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  if (ctx.remote) return refuse(ctx, "recording decrypt reads a file of the bastion host: bastionctl only");
  const std::string path = (*vm)["FILE"].as<std::string>();
  auto text = recording_text(ctx, path);
  if (!text) return refuse(ctx, text.error().message);
  ctx.out << text->bytes;
  ctx.out.flush();
  if (text->state != audit::SealedState::Complete) ctx.err << "bastionctl: " << path << " " << text->detail << "\n";
  return kExitOk;
}

}  // namespace bastion::gateway::admin
