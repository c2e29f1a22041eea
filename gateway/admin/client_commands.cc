// client set | list, purge, export: each client's contract terms for its evidence, applying them
// (audit/retention.h), and handing a client everything the bastion holds of theirs (audit/export.h).
#include <charconv>
#include <chrono>
#include <ostream>
#include <sstream>

#include "audit/client_terms.h"
#include "audit/event_chain.h"
#include "audit/export.h"
#include "audit/openpgp.h"
#include "audit/retention.h"
#include "authz/decide.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/recording_text.h"
#include "gateway/admin/review.h"
#include "gateway/admin/table.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

// days_option parses "--NAME N|never": nullopt if absent, a present nullopt for "never".
std::optional<std::optional<int>> days_option(const po::variables_map& vm, const char* name) {
  if (vm.count(name) == 0) return std::nullopt;
  const auto& text = vm[name].as<std::string>();
  if (text == "never") return std::optional<std::optional<int>>(std::in_place, std::nullopt);
  int days = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), days);
  if (ec != std::errc{} || end != text.data() + text.size() || days < 0) {
    throw UsageError(std::string("--") + name + " must be a number of days (0 or more) or 'never', not '" + text + "'");
  }
  return std::optional<int>{days};
}

std::optional<std::optional<Seconds>> contract_end_option(const po::variables_map& vm) {
  if (vm.count("contract-end") == 0) return std::nullopt;
  if (vm["contract-end"].as<std::string>() == "none") {
    return std::optional<std::optional<Seconds>>(std::in_place, std::nullopt);
  }
  return std::optional<Seconds>{time_filter(vm, "contract-end")};
}

Json days_json(const std::optional<int>& d) { return d ? Json(*d) : Json(nullptr); }

Json terms_json(const audit::ClientTerms& t) {
  const auto destroy = t.destruction_at();
  return {{"name", t.name},
          {"recording_retention_days", days_json(t.recording_retention_days)},
          {"event_retention_days", days_json(t.event_retention_days)},
          {"contract_end", t.contract_end ? Json(iso8601(*t.contract_end)) : Json(nullptr)},
          {"grace_days", t.grace_days},
          {"destroyed_at", destroy ? Json(iso8601(*destroy)) : Json(nullptr)}};
}

std::string days_text(const std::optional<int>& d) { return d ? std::to_string(*d) + "d" : "forever"; }

Json purge_json(const audit::PurgeReport& r) {
  Json clients = Json::array();
  for (const auto& c : r.clients) {
    clients.push_back({{"client", c.client}, {"recordings", c.recordings}, {"events", c.events},
                       {"sessions", c.sessions}, {"requests", c.requests}, {"contract_ended", c.contract_ended},
                       {"data_key_destroyed", c.data_key_destroyed.empty() ? Json(nullptr) : Json(c.data_key_destroyed)}});
  }
  Json recordings = Json::array();
  for (const auto& rec : r.recordings) {
    recordings.push_back({{"id", rec.id}, {"session_id", rec.session_id}, {"path", rec.path}});
  }
  return {{"purge_event_id", r.purge_event_id}, {"clients", clients}, {"recordings", recordings},
          {"sessions", r.sessions}, {"requests", r.requests}, {"events", r.events}, {"problems", r.problems}};
}

void print_purge(CommandContext& ctx, const audit::PurgeReport& r) {
  if (r.clients.empty()) ctx.out << "nothing was due for deletion\n";
  for (const auto& c : r.clients) {
    ctx.out << c.client << ": " << c.recordings << " recording(s), " << c.events << " event(s), " << c.requests
            << " access request(s)";
    if (c.contract_ended) ctx.out << ", " << c.sessions << " session(s) — contract ended, all data destroyed";
    if (!c.data_key_destroyed.empty())
      ctx.out << "; data key " << c.data_key_destroyed << " destroyed: every copy of its recordings is unreadable";
    ctx.out << "\n";
  }
  ctx.out << "recorded as audit event " << r.purge_event_id << " (retention.purge)\n";
}

// export_counts: "3 session(s), 2 recording(s), 40 event(s), 2 grant(s) (1 emergency), 1 request(s)".
std::string export_counts(const audit::ExportReport& r) {
  return std::to_string(r.sessions) + " session(s), " + std::to_string(r.recordings) + " recording(s), " +
         std::to_string(r.events) + " event(s), " + std::to_string(r.grants) + " grant(s) (" +
         std::to_string(r.emergency_grants) + " emergency), " + std::to_string(r.requests) + " request(s)";
}

}  // namespace

int client_set(const Args& args, CommandContext& ctx) {
  CommandLine cl("client set",
                 "NAME [--recording-retention-days N|never] [--event-retention-days N|never] "
                 "[--contract-end T|none] [--grace-days N]",
                 "Set a client's terms: how long recordings and events are kept, and when (contract end plus\n"
                 "grace days) everything of theirs is destroyed. `purge` applies them.");
  cl.positional("NAME");
  cl.options()("recording-retention-days", po::value<std::string>()->value_name("N"), "keep recordings N days")(
      "event-retention-days", po::value<std::string>()->value_name("N"), "keep events about its servers N days")(
      "contract-end", po::value<std::string>()->value_name("T"), "when the contract ends ('none': open-ended)")(
      "grace-days", po::value<int>()->value_name("N"), "days after the contract end before destruction");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const std::string name = (*vm)["NAME"].as<std::string>();
  audit::ClientTermsChange change{days_option(*vm, "recording-retention-days"),
                                  days_option(*vm, "event-retention-days"), contract_end_option(*vm), std::nullopt};
  if (vm->count("grace-days") != 0) change.grace_days = (*vm)["grace-days"].as<int>();
  const auto before = audit::find_client_terms(database(ctx), name);
  auto after = audit::set_client_terms(database(ctx), name, change);
  if (!after) return refuse(ctx, after.error().message);
  ChangeRecord record{"admin.client.set", "", terms_json(*before), terms_json(*after)};
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(*vm)) {
    print_json(ctx, terms_json(*after));
  } else {
    ctx.out << "client " << name << ": recordings kept " << days_text(after->recording_retention_days)
            << ", events kept " << days_text(after->event_retention_days) << "\n";
  }
  return kExitOk;
}

int client_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("client list", "", "List clients and their retention terms.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  Json all = Json::array();
  Table table({"CLIENT", "RECORDINGS", "EVENTS", "CONTRACT END", "GRACE", "DESTROYED AT"});
  for (const auto& t : audit::list_client_terms(database(ctx))) {
    all.push_back(terms_json(t));
    const auto destroy = t.destruction_at();
    table.add({t.name, days_text(t.recording_retention_days), days_text(t.event_retention_days),
               t.contract_end ? iso8601(*t.contract_end) : "-", std::to_string(t.grace_days) + "d",
               destroy ? iso8601(*destroy) : "-"});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int purge_now(const Args& args, CommandContext& ctx) {
  CommandLine cl("purge", "[--recordings-dir DIR]",
                 "Apply every client's retention terms now: delete what is due, record it as a retention.purge\n"
                 "event (which keeps the audit chain verifiable), and print what was destroyed.");
  cl.options()("recordings-dir", po::value<std::string>()->value_name("DIR"),
               "the daemon's STATE_DIR/recordings; recording files outside it are never deleted");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const std::string dir =
      vm->count("recordings-dir") != 0 ? (*vm)["recordings-dir"].as<std::string>() : ctx.recordings_dir;
  if (dir.empty()) throw UsageError("give --recordings-dir DIR (the daemon's STATE_DIR/recordings)");
  const auto report = audit::purge(database(ctx), ctx.clock, dir, ctx.actor);
  if (wants_json(*vm)) {
    print_json(ctx, purge_json(report));
  } else {
    print_purge(ctx, report);
  }
  if (!report.problems.empty()) return refuse(ctx, report.problems.front());
  return kExitOk;
}

namespace {

Json export_summary(const std::string& client, const std::string& out, const audit::ExportReport& r) {
  return {{"client", client},         {"out", out},
          {"sessions", r.sessions},   {"events", r.events},
          {"recordings", r.recordings}, {"grants", r.grants},
          {"emergency_grants", r.emergency_grants}, {"requests", r.requests}};
}

// may_export: officers export any client; a client reviewer her own client's data, as a stream
// (never to a path of the bastion host); operators nothing.
Status may_export(const CommandContext& ctx, const std::string& client) {
  if (ctx.sees_client(client)) return ok_status();
  if (ctx.actor_role == authz::Role::Client) {
    return Error{"a client reviewer exports her own client's data only ('" + ctx.actor_client + "'), not '" + client + "'"};
  }
  return Error{"only officers and the client's own reviewers may export a client's data"};
}

}  // namespace

Result<audit::BuiltExport> prepare_client_export(CommandContext& ctx, const std::string& client,
                                                 std::string_view passphrase) {
  if (auto st = may_export(ctx, client); !st) return st.error();
  if (auto st = audit::check_export_passphrase(passphrase); !st) return st.error();
  database(ctx);
  // The client takes its recordings away readable: decrypted into the archive, in memory only;
  // the archive leaves the bastion encrypted under the passphrase the client chose.
  auto built = audit::build_client_export(ctx.db, client, command_key_lookup(ctx));
  if (!built) return built.error();
  const auto now = ctx.clock.now();
  const std::string name = client + "-export-" + authz::format_utc(now).substr(0, 10) + ".tar.gz";
  const auto mtime = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  auto sealed = audit::encrypt_export(*built, passphrase, name, mtime);
  if (!sealed) return sealed.error();
  Json details = export_summary(client, "-", sealed->report);
  // What the export was encrypted with, never the passphrase.
  details["encrypted"] = {{"format", "OpenPGP (RFC 4880), symmetric"},
                          {"cipher", audit::PgpParameters::kCipher},
                          {"s2k", audit::PgpParameters::kS2k},
                          {"bytes", sealed->bytes}};
  audit::Event e{now, "admin.client.export", ctx.actor, ctx.source, "", std::nullopt, details};
  if (auto st = ctx.events.append(e); !st) {
    return Error{"the export was not sent, because it could not be recorded: " + st.error().message};
  }
  return sealed;
}

int export_command(const Args& args, CommandContext& ctx) {
  CommandLine cl("export", "--client C (--out FILE.tar.gz | over SSH: < PASSPHRASE-LINE > FILE.tar.gz.gpg)",
                 "Write everything held about one client (sessions.json, events.json, grants.json,\n"
                 "requests.json, recordings/) to a new .tar.gz, e.g. for them to take away at the end of a\n"
                 "contract. --out, a path on the bastion host, is for bastionctl only (recordings as recorded).\n"
                 "Over SSH the archive leaves encrypted under a passphrase you choose (OpenPGP, AES-256):\n"
                 "give the passphrase (12 characters or more) as the FIRST LINE OF STANDARD INPUT, never on\n"
                 "the command line, and the encrypted archive is written to standard output:\n"
                 "  ssh officer@bastion export --client C < passphrase.txt > C.tar.gz.gpg\n"
                 "Open it with stock GnuPG: gpg -d C.tar.gz.gpg > C.tar.gz. A client reviewer exports her\n"
                 "own client's data, over SSH or from the web portal.");
  cl.options()("client", po::value<std::string>()->required()->value_name("C"), "the client")(
      "out", po::value<std::string>()->value_name("FILE"), "bastionctl: the archive to create (must not exist)");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const std::string client = (*vm)["client"].as<std::string>();
  const bool to_path = vm->count("out") != 0;
  // An account over SSH must not make the bastion write (or overwrite-probe) a path of its host.
  if (ctx.remote && to_path)
    return refuse(ctx, "over SSH the archive goes to standard output (`export --client " + client +
                           " < PASSPHRASE-FILE > FILE.tar.gz.gpg`); --out names a path on the bastion host and is "
                           "for bastionctl only");
  if (!ctx.remote && !to_path) throw UsageError("--out FILE is required");
  if (!to_path) {
    // Standard output carries the encrypted archive alone; the summary goes to standard error.
    if (!ctx.input_line || ctx.input_line->empty())
      return refuse(ctx, "give the export's passphrase on the first line of standard input (`export --client " +
                             client + " < PASSPHRASE-FILE > FILE.tar.gz.gpg`): the archive leaves the bastion "
                             "encrypted under it, and a command line would show it in the audit trail");
    auto built = prepare_client_export(ctx, client, *ctx.input_line);
    audit::wipe_string(*ctx.input_line);
    if (!built) return refuse(ctx, built.error().message);
    if (auto st = built->copy_to(ctx.out); !st) return refuse(ctx, st.error().message);
    ctx.err << "exported " << client << ", encrypted (OpenPGP, AES-256; open it with gpg -d): "
            << export_counts(built->report) << "\n";
    return kExitOk;
  }
  if (ctx.actor_role != authz::Role::Officer) {
    return refuse(ctx, "--out writes a file on the bastion host, for officers only; the client's own export comes as a "
                       "stream (over SSH: `export --client " + client + " < PASSPHRASE-FILE > FILE.tar.gz.gpg`, or the web portal's "
                       "download)");
  }
  const std::string out = (*vm)["out"].as<std::string>();
  database(ctx);
  auto report = audit::export_client(ctx.db, client, out);
  if (!report) return refuse(ctx, report.error().message);
  const Json summary = export_summary(client, out, *report);
  audit::Event e{ctx.clock.now(), "admin.client.export", ctx.actor, ctx.source, "", std::nullopt, summary};
  if (auto st = ctx.events.append(e); !st) {
    return refuse(ctx, "the export was written but not recorded: " + st.error().message);
  }
  if (wants_json(*vm)) {
    print_json(ctx, summary);
  } else {
    ctx.out << "exported " << client << " to " << out << ": " << export_counts(*report) << "\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
