// The player page of a terminal recording: asciinema-player (served by the portal itself, started
// by /static/play.js) and the lines the operator typed as markers to jump between.

#include <algorithm>
#include <array>

#include <cstdio>

#include "audit/asciicast.h"
#include "gateway/admin/recording_text.h"
#include "gateway/admin/review.h"
#include "web/html.h"
#include "web/http_policy.h"
#include "web/portal.h"
#include "web/recording_file.h"
#include "web/request_scope.h"
#include "web/typed_lines.h"

namespace bastion::web {
namespace {

constexpr std::size_t kMaxCastLine = 1024 * 1024;  // an input event is a few bytes; output lines are skipped

std::string seconds_text(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", t);
  return buf;
}

std::string clock_text(double t) {
  const long s = static_cast<long>(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

constexpr std::size_t kShownPerStream = 256 * 1024;

// ShownStream: the first kShownPerStream bytes of one stream of an exec recording as text
// (ill-formed UTF-8 as U+FFFD), fed piece by piece as the recording is read.
struct ShownStream {
  std::string text;
  audit::Utf8Carry carry;

  // feed takes a piece of the stream; false once enough is shown.
  bool feed(std::string_view d) {
    const std::size_t room = kShownPerStream - std::min(kShownPerStream, text.size());
    carry.feed(d.substr(0, room), text);
    return text.size() < kShownPerStream && d.size() <= room;
  }
};

// stream_html: one stream's section of the text view.
std::string stream_html(ShownStream& shown, const ExecWalk& walk, audit::Stream s, const char* id, const char* title) {
  shown.carry.finish(shown.text);
  const auto i = static_cast<std::size_t>(s);
  std::string out = "<section aria-labelledby=\"" + std::string(id) + "\"><h2 id=\"" + id + "\">" + title + "</h2>";
  out += walk.bytes[i] == 0 ? "<p>Nothing.</p>"
                            : "<pre class=\"stream\" tabindex=\"0\" aria-labelledby=\"" + std::string(id) + "\">" +
                                  escape(shown.text) + "</pre>";
  if (walk.stopped[i]) {
    out += "<p>The first " + std::to_string(kShownPerStream / 1024) + " KiB of " + std::to_string(walk.bytes[i]) +
           " bytes are shown; the downloaded recording has them all.</p>";
  }
  if (!walk.complete) out += "<p class=\"mismatch\">The recording ends inside a record (cut short).</p>";
  return out + "</section>";
}

}  // namespace

void Portal::exec_text(RequestScope& scope, const Viewer& v, const audit::SessionRow& s, const audit::RecordingRow& rec,
                       httplib::Response& res) {
  auto opened = open_recording(rec.summary.path, gateway::admin::command_key_lookup(scope.context(v.who, v.source)));
  if (!opened) return recording_gone(v, rec.id, res, opened.error().message);
  // One pass over the recording, in order, for the three streams; a sealed one that turns out
  // altered anywhere shows none of them.
  std::array<ShownStream, 3> shown;
  const auto walk = for_each_exec_piece(*opened, [&shown](audit::Stream st, std::string_view d) {
    return shown[static_cast<std::size_t>(st)].feed(d);
  });
  if (!walk) return recording_gone(v, rec.id, res, walk.error().message);
  audit::Event ev{clock_.now(), "recording.viewed", v.who.name, v.source, s.server, s.id,
                  {{"front", "web"}, {"recording_id", rec.id}, {"channel", rec.channel}, {"sha256", rec.summary.sha256},
                   {"how", "text"}}};
  if (auto ok = scope.events->append(ev); !ok) {
    res.status = 503;
    res.set_content(render_page({"Unavailable", notice("The audit log cannot be written; the recording is not shown.", true),
                                 v.who.name, v.csrf, v.officer()}),
                    "text/html; charset=utf-8");
    return;
  }
  const std::string base = "/sessions/" + std::to_string(s.id) + "/recordings/" + std::to_string(rec.id);
  std::string body = "<p>" + escape(s.operator_name) + " as " + escape(s.login) + " on " + escape(s.server) +
                     ", channel " + std::to_string(rec.channel) + " (a command, no terminal). <a href=\"" + base +
                     "\">Download the recording</a> · <a href=\"/sessions/" + std::to_string(s.id) +
                     "\">Back to the session</a></p>";
  body += stream_html(shown[0], *walk, audit::Stream::Input, "stdin-h", "Standard input (sent by the operator)");
  body += stream_html(shown[1], *walk, audit::Stream::Output, "stdout-h", "Standard output");
  body += stream_html(shown[2], *walk, audit::Stream::Error, "stderr-h", "Standard error");
  res.set_content(render_page({"Session " + std::to_string(s.id) + ": recording " + std::to_string(rec.id), body,
                               v.who.name, v.csrf, v.officer()}),
                  "text/html; charset=utf-8");
}

void Portal::recording_view(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto found = visible_recording(*scope, *v, req, res);
  if (!found) return;
  const audit::SessionRow* s = &found->session;
  const audit::RecordingRow* rec = &found->recording;
  if (rec->summary.kind == "exec") return exec_text(*scope, *v, *s, *rec, res);
  auto opened = open_recording(rec->summary.path, gateway::admin::command_key_lookup(scope->context(v->who, v->source)));
  if (!opened) return recording_gone(*v, rec->id, res, opened.error().message);
  TypedLines typed;
  if (auto read = for_each_line(*opened, kMaxCastLine, [&](std::string_view l) { typed.feed_line(l); }); !read)
    return recording_gone(*v, rec->id, res, read.error().message);
  // The typed lines are the recording's content: showing them is a view (DESIGN.md rule 5).
  audit::Event ev{clock_.now(), "recording.viewed", v->who.name, v->source, s->server, s->id,
                  {{"front", "web"}, {"recording_id", rec->id}, {"channel", rec->channel}, {"sha256", rec->summary.sha256},
                   {"how", "player page (typed lines)"}}};
  if (auto ok = scope->events->append(ev); !ok) {
    res.status = 503;
    res.set_content(render_page({"Unavailable", notice("The audit log cannot be written; the recording is not shown.", true),
                                 v->who.name, v->csrf, v->officer()}),
                    "text/html; charset=utf-8");
    return;
  }
  const std::string base = "/sessions/" + std::to_string(s->id) + "/recordings/" + std::to_string(rec->id);
  std::string body = "<p>" + escape(s->operator_name) + " as " + escape(s->login) + " on " + escape(s->server) +
                     ", channel " + std::to_string(rec->channel) + ". <a href=\"" + base +
                     "\">Download the recording</a> · <a href=\"/sessions/" + std::to_string(s->id) +
                     "\">Back to the session</a></p>";
  if (settings_.player_js.empty()) {
    body += notice("The player is not installed on this portal (asciinema-player, see scripts/install-deps); the "
                   "recording can still be downloaded.", true);
  }
  body += "<div id=\"player\" class=\"player\" data-src=\"" + escape(base + "/cast") + "\"></div>";
  body += "<p id=\"player-status\" role=\"status\"></p>";
  body += "<h2 id=\"commands-h\">Typed lines</h2>";
  if (typed.lines().empty()) {
    body += "<p>No line was typed in this recording.</p>";
  } else {
    body += "<p>Each button jumps the player to the moment the line was sent. The text is rebuilt from the keys; "
            "lines edited with arrow or tab keys are marked, and the screen shows what was really run.</p>"
            "<ol id=\"commands\" aria-labelledby=\"commands-h\">";
    for (const auto& t : typed.lines()) {
      body += "<li><button type=\"button\" class=\"marker\" data-time=\"" + seconds_text(t.time) + "\" data-label=\"" +
              escape(t.label) + "\"><code>" + escape(t.label) + "</code></button> at " + clock_text(t.time) +
              (t.inexact ? " (edited: approximate)" : "") + "</li>";
    }
    body += "</ol>";
    if (typed.dropped() > 0) body += "<p>" + std::to_string(typed.dropped()) + " more lines are not listed.</p>";
  }
  res.set_header("Content-Security-Policy", std::string(kPlayerPolicy));
  res.set_content(render_page({"Session " + std::to_string(s->id) + ": recording " + std::to_string(rec->id), body,
                               v->who.name, v->csrf, v->officer()},
                              {"/static/player/asciinema-player.min.js", "/static/play.js"},
                              {"/static/player/asciinema-player.css"}),
                  "text/html; charset=utf-8");
}

}  // namespace bastion::web
