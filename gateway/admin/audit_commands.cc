// audit list | verify | export | checkpoint | checkpoint-key: the hash-chained audit trail
// (audit/sqlite_event_log.h, audit/verify.h) and its signed checkpoints (audit/checkpoint.h).
// Client reviewers list and export the events of their own client only.
#include <ostream>

#include "audit/checkpoint.h"
#include "audit/event_chain.h"
#include "audit/sqlite_event_log.h"
#include "audit/verify.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/review.h"
#include "gateway/admin/table.h"
#include "gateway/checkpoint_key.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

std::string session_text(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "-"; }

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

const char* kind_name(audit::VerifyFinding::Kind k) {
  using K = audit::VerifyFinding::Kind;
  switch (k) {
    case K::AlteredEvent: return "altered_event";
    case K::MissingEvents: return "missing_events";
    case K::BrokenLink: return "broken_link";
    case K::MissingRecording: return "missing_recording";
    case K::AlteredRecording: return "altered_recording";
    case K::UnanchoredRecording: return "unanchored_recording";
    case K::AlteredSession: return "altered_session";
    case K::UnanchoredSession: return "unanchored_session";
    case K::ForgedCheckpoint: return "forged_checkpoint";
    case K::RewrittenChain: return "rewritten_chain";
    case K::TruncatedChain: return "truncated_chain";
    case K::MissingCheckpoint: return "missing_checkpoint";
    case K::UnreadableCheckpoint: return "unreadable_checkpoint";
  }
  return "unknown";
}

Json verify_json(const audit::VerifyReport& r, bool with_checkpoints) {
  Json findings = Json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"kind", kind_name(f.kind)},
                        {"event_id", f.event_id ? Json(f.event_id) : Json(nullptr)},
                        {"recording_id", f.recording_id ? Json(f.recording_id) : Json(nullptr)},
                        {"session_id", f.session_id ? Json(f.session_id) : Json(nullptr)},
                        {"checkpoint", f.checkpoint ? Json(f.checkpoint) : Json(nullptr)},
                        {"message", f.message}});
  }
  Json out{{"intact", r.intact()},
           {"events", r.events},
           {"purged_events", r.purged_events},
           {"recordings", r.recordings},
           {"sessions", r.sessions},
           {"findings", findings}};
  if (with_checkpoints) {
    out["checkpoints"] = r.checkpoints;
    out["newest_event"] = r.newest_event;
    out["newest_checkpoint"] = r.newest_checkpoint ? audit::checkpoint_json(*r.newest_checkpoint) : Json(nullptr);
  }
  return out;
}

// checkpoint_evidence reads --checkpoints FILE… and --key PUB.
Result<audit::CheckpointEvidence> checkpoint_evidence(const po::variables_map& vm) {
  if (vm.count("key") == 0) return Error{"--checkpoints needs --key PUB (the checkpoint key's public half, kept off this host)"};
  auto key = read_ed25519_public_file(vm["key"].as<std::string>());
  if (!key) return key.error();
  audit::CheckpointEvidence evidence;
  evidence.public_key = key->key;
  evidence.fingerprint = key->fingerprint;
  for (const auto& file : vm["checkpoints"].as<std::vector<std::string>>()) {
    if (auto st = audit::read_checkpoint_file(file, evidence); !st) return st.error();
  }
  if (evidence.checkpoints.empty() && evidence.unreadable.empty())
    return Error{"the checkpoint file(s) hold no checkpoint: give the JSON lines (or syslog) file bastiond writes them to"};
  return evidence;
}

// checkpoint_summary: what the checkpoints vouch for, and what they cannot.
std::string checkpoint_summary(const audit::VerifyReport& r) {
  std::string s = "; " + std::to_string(r.checkpoints) + " signed checkpoint(s) verified";
  if (!r.newest_checkpoint) return s;
  const auto& c = *r.newest_checkpoint;
  s += ", the newest (checkpoint " + std::to_string(c.seq) + ", " + audit::iso8601_utc(c.at) + ") covers events up to " +
       std::to_string(c.event_id);
  if (r.newest_event > c.event_id)
    s += "; events " + std::to_string(c.event_id + 1) + " to " + std::to_string(r.newest_event) +
         " are covered by no checkpoint you hold";
  return s;
}

// event_filter builds the filter shared by list and export from the options both declare.
Result<audit::EventFilter> event_filter(const CommandContext& ctx, const po::variables_map& vm) {
  auto client = reviewed_client(ctx, "");
  if (!client) return client.error();
  audit::EventFilter f;
  f.since = time_filter(vm, "since");
  f.until = time_filter(vm, "until");
  f.server = string_option(vm, "server");
  f.actor = string_option(vm, "actor");
  f.kind = string_option(vm, "kind");
  f.client = *client;
  return f;
}

void add_filter_options(CommandLine& cl) {
  cl.options()("since", po::value<std::string>()->value_name("T"), "at or after T")(
      "until", po::value<std::string>()->value_name("T"), "before T")(
      "server", po::value<std::string>()->value_name("S"), "about this server")(
      "actor", po::value<std::string>()->value_name("A"), "by this account")(
      "kind", po::value<std::string>()->value_name("K"), "of this kind or its sub-kinds (\"auth\": auth.*)");
}

}  // namespace

int audit_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit list", "[--since T] [--until T] [--server S] [--actor A] [--kind K] [--limit N]",
                 "List audit events, oldest first (client reviewers: their own client's only).");
  add_filter_options(cl);
  cl.options()("limit", po::value<std::size_t>()->value_name("N"), "only the N most recent");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto f = event_filter(ctx, *vm);
  if (!f) return refuse(ctx, f.error().message);
  if (vm->count("limit") != 0) f->limit = (*vm)["limit"].as<std::size_t>();
  Json all = Json::array();
  Table table({"ID", "AT", "KIND", "ACTOR", "SOURCE", "SERVER", "SESSION", "DETAILS"});
  for (const auto& e : audit::list_events(database(ctx), *f)) {
    all.push_back(audit::event_json(e));
    table.add({std::to_string(e.id), audit::iso8601_utc(e.event.at), e.event.kind, or_dash(e.event.actor),
               or_dash(e.event.source), or_dash(e.event.server), session_text(e.event.session_id),
               e.event.details.dump()});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int audit_verify(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit verify", "[--checkpoints FILE… --key PUB]",
                 "Check the audit hash chain event by event, and every recording and session row against what its "
                 "chained events state; with --checkpoints, also against the signed checkpoints kept off the host "
                 "(truncation, a rewritten chain, a missing checkpoint).");
  cl.options()("checkpoints", po::value<std::vector<std::string>>()->multitoken()->value_name("FILE"),
               "the JSON lines (or syslog) file(s) holding the checkpoints, as copied off the host")(
      "key", po::value<std::string>()->value_name("PUB"), "the checkpoint key's public half (.pub), as kept off the host");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const bool with_checkpoints = vm->count("checkpoints") != 0;
  if (!with_checkpoints && vm->count("key") != 0) throw UsageError("--key goes with --checkpoints FILE");
  std::optional<audit::CheckpointEvidence> evidence;
  if (with_checkpoints) {
    if (ctx.remote) return refuse(ctx, "--checkpoints reads files on the bastion host: run it there with bastionctl");
    auto read = checkpoint_evidence(*vm);
    if (!read) return refuse(ctx, read.error().message);
    evidence = std::move(*read);
  }
  const auto report = audit::verify_audit(database(ctx), evidence ? &*evidence : nullptr);
  if (wants_json(*vm)) print_json(ctx, verify_json(report, with_checkpoints));
  if (!report.intact()) {
    // Every finding, one per line: tampering is seldom one record, and each names where.
    if (!wants_json(*vm))
      for (const auto& f : report.findings) ctx.out << kind_name(f.kind) << ": " << f.message << "\n";
    const auto more = report.findings.size() - 1;
    return refuse(ctx, "audit trail NOT intact: " + report.findings.front().message +
                           (more == 0 ? "" : " (and " + std::to_string(more) + " more finding(s); see --json)"));
  }
  if (!wants_json(*vm)) {
    ctx.out << "audit trail intact: " << report.events << " events, " << report.recordings << " recordings, "
            << report.sessions << " sessions verified";
    if (report.purged_events > 0) ctx.out << " (" << report.purged_events << " purged events anchored)";
    if (with_checkpoints) ctx.out << checkpoint_summary(report);
    ctx.out << "\n";
  }
  return kExitOk;
}

int audit_export(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit export", "[--since T] [--until T] [--server S] [--actor A] [--kind K]",
                 "Write audit events as JSON lines (one object per line, oldest first), for a SIEM or an archive.");
  add_filter_options(cl);
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto f = event_filter(ctx, *vm);
  if (!f) return refuse(ctx, f.error().message);
  for (const auto& e : audit::list_events(database(ctx), *f)) ctx.out << audit::event_json(e).dump() << "\n";
  return kExitOk;
}

int audit_checkpoint(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit checkpoint", "",
                 "Sign the audit chain's head now and store the checkpoint (bastiond also writes one every "
                 "--checkpoint-events events, every --checkpoint-minutes, at start and at stop).");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto key = load_checkpoint_key(ctx.keys.checkpoint_key);
  if (!key) return refuse(ctx, key.error().message);
  const auto w = audit::write_checkpoint(database(ctx), checkpoint_signer(*key), node_name(), ctx.clock.now(), ctx.sinks);
  const auto& c = w.checkpoint;
  std::string sinks;
  if (w.emitted) sinks = "copied to the sinks";
  else if (!w.sink_error.empty()) sinks = "NOT yet copied to the sinks (bastiond retries): " + w.sink_error;
  else sinks = "bastiond copies it to its sinks within seconds";
  if (wants_json(*vm)) {
    Json j = audit::checkpoint_json(c);
    j["emitted"] = w.emitted;
    print_json(ctx, j);
  } else {
    ctx.out << "checkpoint " << c.seq << ": the chain up to event " << c.event_id
            << (c.event_id > 0 ? " (hash " + c.event_hash + ")" : std::string()) << ", signed " << audit::iso8601_utc(c.at)
            << " on " << c.node << " by " << c.key << "; " << sinks << "\n";
  }
  return kExitOk;
}

int audit_checkpoint_key(const Args& args, CommandContext& ctx) {
  CommandLine cl("audit checkpoint-key", "",
                 "Print the public half of the key that signs the audit checkpoints, creating the key if it is "
                 "missing (databases initialised before checkpoints existed). Copy it off this host: verifying with "
                 "a key read from the host you check proves nothing.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const std::string& path = ctx.keys.checkpoint_key;
  auto created = ensure_checkpoint_key(path);
  if (!created) return refuse(ctx, created.error().message);
  auto pub = read_ed25519_public_file(path + ".pub");
  if (!pub) return refuse(ctx, pub.error().message);
  if (*created) {
    if (auto st = ctx.events.append({ctx.clock.now(), "admin.audit.checkpoint_key", ctx.actor, ctx.source, "",
                                     std::nullopt, {{"path", path}, {"fingerprint", pub->fingerprint}}});
        !st)
      return refuse(ctx, "the checkpoint key was created, but its audit event was not recorded: " + st.error().message);
  }
  const std::string line = public_line(pub->key, kCheckpointKeyComment);
  if (wants_json(*vm)) {
    print_json(ctx, {{"path", path}, {"public_key", line}, {"fingerprint", pub->fingerprint}, {"created", *created}});
  } else {
    ctx.out << (*created ? "created " : "") << path << "\n" << line << "\n" << pub->fingerprint << "\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
