// sessions list | show | play | export: reviewing proxied sessions and their recordings. Officers see
// every session; a client reviewer only those on their own client's servers.
#include <ostream>

#include "audit/asciicast.h"
#include "audit/exec_recording.h"
#include "audit/fd_io.h"
#include "audit/replay.h"
#include "audit/session_facts.h"
#include "audit/session_query.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/recording_text.h"
#include "gateway/admin/review.h"
#include "gateway/admin/table.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

std::string optional_text(const std::optional<int>& v) { return v ? std::to_string(*v) : "-"; }

// with_node adds the bastion that served the session (README, Running several bastions); null for
// a row from before nodes were named.
Json with_node(Json j, const audit::SessionRow& s) {
  j["node"] = s.node.empty() ? Json(nullptr) : Json(s.node);
  return j;
}

void add_channel_option(CommandLine& cl) {
  cl.options()("channel", po::value<int>()->value_name("N"), "which recorded channel (default: the first)");
}

// recording_of picks the session's recording on --channel, or its first one.
Result<audit::RecordingRow> recording_of(CommandContext& ctx, const audit::SessionRow& s, const po::variables_map& vm) {
  const auto all = ctx.sessions.recordings_of(s.id);
  for (const auto& r : all) {
    if (vm.count("channel") == 0 || r.channel == vm["channel"].as<int>()) return r;
  }
  if (all.empty()) {
    return Error{"session " + std::to_string(s.id) + " has no recording (status " + s.status +
                 (s.reason.empty() ? "" : ": " + s.reason) + ")"};
  }
  return Error{"session " + std::to_string(s.id) + " has no recording of channel " +
               std::to_string(vm["channel"].as<int>()) + " (see `sessions list --json`)"};
}

Json cast_json(const audit::Asciicast& cast) {
  Json events = Json::array();
  for (const auto& e : cast.events) events.push_back(Json::array({e.time, e.code, e.data}));
  return {{"width", cast.header.width}, {"height", cast.header.height}, {"events", events}};
}

// text_json keeps arbitrary bytes as JSON text, ill-formed UTF-8 shown as U+FFFD.
Json text_json(const std::string& bytes) {
  return Json::parse(Json(bytes).dump(-1, ' ', false, Json::error_handler_t::replace));
}

int play_asciicast(CommandContext& ctx, const std::string& file, const po::variables_map& vm) {
  auto cast = audit::parse_asciicast(file);
  if (!cast) return refuse(ctx, cast.error().message);
  if (wants_json(vm)) {
    print_json(ctx, cast_json(*cast));
    return kExitOk;
  }
  const double speed = vm["speed"].as<double>();
  audit::replay_asciicast(*cast, ctx.out, audit::ReplayOptions{speed, 2.0}, audit::real_sleeper());
  return kExitOk;
}

int play_exec(CommandContext& ctx, const std::string& file, const po::variables_map& vm) {
  auto rec = audit::parse_exec_recording(file);
  if (!rec) return refuse(ctx, rec.error().message);
  if (wants_json(vm)) {
    print_json(ctx, {{"stdin", text_json(rec->stdin_bytes)},
                     {"stdout", text_json(rec->stdout_bytes)},
                     {"stderr", text_json(rec->stderr_bytes)},
                     {"complete", rec->complete()}});
  } else {
    ctx.out << rec->stdout_bytes;
  }
  return kExitOk;
}

struct ChosenRecording {
  audit::SessionRow session;
  audit::RecordingRow recording;
  std::string file;  // the recording's own format, decrypted in memory if it was sealed
  std::string cut;   // where a sealed recording was cut short (a crash), or empty
};

// choose resolves ID (and --channel) to a recording the caller may see, and reads its file.
Result<ChosenRecording> choose(CommandContext& ctx, const po::variables_map& vm) {
  auto session = visible_session(ctx, positive_id(vm["ID"].as<std::string>(), "session"));
  if (!session) return session.error();
  auto recording = recording_of(ctx, *session, vm);
  if (!recording) return recording.error();
  auto file = recording_text(ctx, recording->summary.path);
  if (!file) return Error{"recording " + std::to_string(recording->id) + " of session " + std::to_string(session->id) +
                          " cannot be read: " + file.error().message};
  std::string cut = file->state == audit::SealedState::CutShort ? file->detail : "";
  return ChosenRecording{*session, *recording, std::move(file->bytes), std::move(cut)};
}

// note_cut says on standard error that what is shown ends where the recording was cut short.
void note_cut(CommandContext& ctx, const ChosenRecording& c) {
  if (!c.cut.empty())
    ctx.err << ctx.program << ": recording " << c.recording.id << " was cut short (" << c.cut
            << "); everything before the cut is shown\n";
}

}  // namespace

int sessions_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("sessions list", "[--server S] [--operator O] [--client C] [--since T] [--until T] [--live]",
                 "List proxied sessions, oldest first (client reviewers: their own client's only).");
  cl.options()("server", po::value<std::string>()->value_name("S"), "only on this server")(
      "operator", po::value<std::string>()->value_name("O"), "only by this operator")(
      "client", po::value<std::string>()->value_name("C"), "only on this client's servers")(
      "since", po::value<std::string>()->value_name("T"), "started at or after T")(
      "until", po::value<std::string>()->value_name("T"), "started before T")(
      "live", po::bool_switch(), "only sessions still running");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto client = reviewed_client(ctx, string_option(*vm, "client"));
  if (!client) return refuse(ctx, client.error().message);
  audit::SessionFilter f{string_option(*vm, "server"), string_option(*vm, "operator"), *client,
                         time_filter(*vm, "since"), time_filter(*vm, "until"), (*vm)["live"].as<bool>(), ""};
  const auto clients = audit::chained_clients(database(ctx));
  Json all = Json::array();
  Table table({"ID", "OPERATOR", "SERVER", "LOGIN", "CLIENT", "START", "END", "STATUS", "EXIT", "NODE"});
  for (const auto& s : audit::find_sessions(ctx.db, f)) {
    const std::string c = audit::client_of(s, clients);
    all.push_back(with_node(session_json(s, c), s));
    table.add({std::to_string(s.id), s.operator_name, s.server, s.login, c, iso8601(s.start),
               s.end ? iso8601(*s.end) : "-", s.status, optional_text(s.exit_status), s.node.empty() ? "-" : s.node});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

// egress_text: one line saying how the bastion logged in to the server for a session, and what to
// look for in that server's own log.
std::string egress_text(const audit::EgressFact& e) {
  const Json& d = e.details;
  if (e.kind == "egress.certificate") {
    return "certificate serial " + std::to_string(d.value("serial", std::uint64_t{0})) + ", key id " +
           d.value("key_id", std::string("?")) + ", valid " + d.value("valid_after", std::string("?")) + " to " +
           d.value("valid_before", std::string("?")) + " (the server's log names it: \"ID " +
           d.value("key_id", std::string("?")) + " (serial " + std::to_string(d.value("serial", std::uint64_t{0})) + ")\")";
  }
  return "the bastion's egress key " + d.value("fingerprint", std::string("?")) + ", signed by the monitor";
}

int sessions_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("sessions show", "ID",
                 "Show one session: who, where, when, how it ended, how the bastion logged in to the server "
                 "(the certificate serial to look up in the server's own log), and its recordings.");
  cl.positional("ID");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto session = visible_session(ctx, positive_id((*vm)["ID"].as<std::string>(), "session"));
  if (!session) return refuse(ctx, session.error().message);
  const auto clients = audit::chained_clients(database(ctx));
  const std::string client = audit::client_of(*session, clients);
  const auto egress = audit::egress_of(database(ctx), *session);
  const auto recordings = ctx.sessions.recordings_of(session->id);
  if (wants_json(*vm)) {
    Json j = with_node(audit::session_json(*session, client), *session);
    j["egress"] = egress ? Json{{"kind", egress->kind}, {"session_id", egress->session_id}, {"details", egress->details}}
                         : Json(nullptr);
    j["recordings"] = Json::array();
    for (const auto& r : recordings)
      j["recordings"].push_back({{"id", r.id}, {"channel", r.channel}, {"kind", r.summary.kind},
                                 {"sha256", r.summary.sha256}, {"bytes_in", r.summary.bytes_in},
                                 {"bytes_out", r.summary.bytes_out}});
    print_json(ctx, j);
    return kExitOk;
  }
  const auto& s = *session;
  ctx.out << "session " << s.id << "\n"
          << "  operator: " << s.operator_name << " from " << s.source << "\n"
          << "  server:   " << s.server << " as " << s.login << (client.empty() ? "" : " (client " + client + ")") << "\n"
          << "  grant:    " << (s.grant_id ? std::to_string(*s.grant_id) : "-") << "\n"
          << "  start:    " << iso8601(s.start) << "\n"
          << "  end:      " << (s.end ? iso8601(*s.end) : "-") << "\n"
          << "  status:   " << s.status << (s.reason.empty() ? "" : " (" + s.reason + ")") << "\n"
          << "  exit:     " << optional_text(s.exit_status) << "\n"
          << "  node:     " << (s.node.empty() ? "-" : s.node) << "\n"
          << "  egress:   " << (egress ? egress_text(*egress) : "-") << "\n";
  for (const auto& r : recordings)
    ctx.out << "  recording " << r.id << ": channel " << r.channel << ", " << r.summary.kind << ", sha256 "
            << r.summary.sha256 << "\n";
  return kExitOk;
}

int sessions_play(const Args& args, CommandContext& ctx) {
  CommandLine cl("sessions play", "ID [--speed X] [--raw] [--channel N]",
                 "Replay a session's recording: a terminal session with its timing (idle gaps cut to 2 s),\n"
                 "an exec channel as its standard output. --raw, or output that is not a terminal: the file.");
  cl.positional("ID");
  add_channel_option(cl);
  cl.options()("speed", po::value<double>()->default_value(1.0)->value_name("X"), "play X times as fast")(
      "raw", po::bool_switch(), "write the recording file as it is");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  if (!((*vm)["speed"].as<double>() > 0)) throw UsageError("--speed must be a positive number");
  auto chosen = choose(ctx, *vm);
  if (!chosen) return refuse(ctx, chosen.error().message);
  const bool exec = chosen->recording.summary.kind == "exec";
  // An exec channel's stdout is what the operator saw, terminal or not; a pty replay needs one.
  const bool raw = (*vm)["raw"].as<bool>() || (!exec && !ctx.out_is_terminal && !wants_json(*vm));
  note_cut(ctx, *chosen);
  if (raw) {
    ctx.out << chosen->file << std::flush;
    return kExitOk;
  }
  if (exec) return play_exec(ctx, chosen->file, *vm);
  return play_asciicast(ctx, chosen->file, *vm);
}

int sessions_export(const Args& args, CommandContext& ctx) {
  CommandLine cl("sessions export", "ID [--channel N]",
                 "Write a session's recording (asciicast v2 for terminal sessions) to standard output, decrypted\n"
                 "in memory if it is encrypted.");
  cl.positional("ID");
  add_channel_option(cl);
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto chosen = choose(ctx, *vm);
  if (!chosen) return refuse(ctx, chosen.error().message);
  note_cut(ctx, *chosen);
  if (wants_json(*vm)) {
    print_json(ctx, {{"session_id", chosen->session.id},
                     {"recording_id", chosen->recording.id},
                     {"channel", chosen->recording.channel},
                     {"kind", chosen->recording.summary.kind},
                     {"sha256", chosen->recording.summary.sha256},
                     {"content", text_json(chosen->file)}});
  } else {
    ctx.out << chosen->file << std::flush;
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
