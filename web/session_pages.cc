// The reviewer's views: the sessions list, one session, and the download of a raw recording.
// Scoping is the command set's (gateway/admin/review.h): find_sessions filtered by the client the
// chain states, visible_session for one id.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

#include <spdlog/spdlog.h>

#include "audit/session_query.h"
#include "audit/unique_fd.h"
#include "audit/verify.h"
#include "authz/sqlite_request_store.h"
#include "authz/text.h"
#include "gateway/admin/review.h"
#include "gateway/admin/time_text.h"
#include "web/html.h"
#include "web/portal.h"
#include "web/request_scope.h"

namespace bastion::web {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr std::array<const char*, 4> kStatuses = {"live", "closed", "aborted", "refused"};

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

// day_start: "YYYY-MM-DD" (an <input type="date">) as that day's 00:00 UTC; nothing if empty or
// malformed (the form then shows the filter as not applied).
std::optional<Seconds> day_start(const std::string& day) {
  if (day.size() != 10) return std::nullopt;
  auto t = gateway::admin::parse_time(day + " 00:00");
  if (!t) return std::nullopt;
  return *t;
}

std::string when(const std::optional<Seconds>& t) { return t ? format_utc(*t) : "—"; }

std::string select_options(const std::vector<std::string>& values, const std::string& chosen, const char* any) {
  std::string out = "<option value=\"\">" + escape(any) + "</option>";
  for (const auto& v : values) {
    out += "<option" + std::string(v == chosen ? " selected" : "") + " value=\"" + escape(v) + "\">" + escape(v) +
           "</option>";
  }
  return out;
}

std::string filter_form(const httplib::Request& req, const std::vector<std::string>& servers) {
  std::vector<std::string> statuses(kStatuses.begin(), kStatuses.end());
  return "<form method=\"get\" action=\"/sessions\" class=\"filters\" aria-label=\"Filter sessions\">"
         "<div><label for=\"server\">Server</label><select id=\"server\" name=\"server\">" +
         select_options(servers, param(req, "server"), "any server") +
         "</select></div><div><label for=\"operator\">Operator</label><input id=\"operator\" name=\"operator\" value=\"" +
         escape(param(req, "operator")) +
         "\"></div><div><label for=\"since\">From (UTC)</label><input id=\"since\" name=\"since\" type=\"date\" value=\"" +
         escape(param(req, "since")) +
         "\"></div><div><label for=\"until\">To (UTC, inclusive)</label><input id=\"until\" name=\"until\" type=\"date\" "
         "value=\"" + escape(param(req, "until")) +
         "\"></div><div><label for=\"status\">Status</label><select id=\"status\" name=\"status\">" +
         select_options(statuses, param(req, "status"), "any status") +
         "</select></div><div><button type=\"submit\">Filter</button></div></form>";
}

std::string page_link(const httplib::Request& req, int page, const char* label) {
  std::string q = "?page=" + std::to_string(page);
  for (const char* k : {"server", "operator", "since", "until", "status"}) {
    if (!param(req, k).empty()) q += std::string("&") + k + "=" + url_encode(param(req, k));
  }
  return "<a href=\"/sessions" + escape(q) + "\">" + label + "</a>";
}

std::string row_html(const audit::SessionRow& s) {
  const std::string id = std::to_string(s.id);
  return "<tr><td><a href=\"/sessions/" + id + "\">" + id + "</a></td><td>" + escape(s.operator_name) + "</td><td>" +
         escape(s.server) + "</td><td>" + escape(s.login) + "</td><td>" + escape(format_utc(s.start)) +
         "</td><td>" + escape(when(s.end)) + "</td><td>" + escape(s.status) + "</td><td>" +
         (s.exit_status ? std::to_string(*s.exit_status) : "—") + "</td></tr>";
}

std::string dl_row(const std::string& term, const std::string& html_value) {
  return "<dt>" + escape(term) + "</dt><dd>" + html_value + "</dd>";
}

std::string grant_html(RequestScope& scope, const audit::SessionRow& s) {
  if (!s.grant_id) return dl_row("Grant", "none");
  const auto g = scope.store.find_grant(*s.grant_id);
  if (!g) return dl_row("Grant", std::to_string(*s.grant_id) + " (no longer on record)");
  std::string ops;
  for (const auto& op : g->ops) ops += (ops.empty() ? "" : ", ") + op;
  std::string out = dl_row("Grant", escape("#" + std::to_string(g->id) + ": " + ops + " as " + g->login + ", " +
                                           format_utc(g->not_before) + " to " + format_utc(g->not_after) +
                                           ", by " + g->granted_by + (g->revoked_at ? " (revoked)" : "")));
  out += dl_row("Grant reason", escape(g->reason));
  // Break-glass: given without the approvals the server's policy names; the client reviews it.
  if (g->emergency)
    out += dl_row("Emergency", "<strong>yes: granted by " + escape(g->granted_by) +
                                   " without the approvals this server's policy asks for; review it</strong>");
  const auto r = authz::SqliteRequestStore(scope.db).find_by_grant(g->id);
  if (!r) return out + dl_row("Request", g->emergency ? "none (emergency grant)" : "none (granted directly)");
  out += dl_row("Request", escape("#" + std::to_string(r->id) + " by " + r->operator_name + ": " + r->reason));
  std::string approvals;
  for (const auto& a : r->approvals) {
    approvals += "<li>" + escape(a.approver + " as " + authz::to_string(a.as) + ", " + format_utc(a.at) +
                                 (a.reason.empty() ? "" : ": " + a.reason)) + "</li>";
  }
  return out + dl_row("Approvals", approvals.empty() ? "none" : "<ul>" + approvals + "</ul>");
}

// evidence: what `audit verify` finds about this session and each of its recordings: "verified"
// or the first finding naming it.
struct Evidence {
  std::string session;  // "" when nothing was found
  std::map<std::int64_t, std::string> recordings;
};

Evidence evidence_of(RequestScope& scope, std::int64_t session_id) {
  Evidence e;
  for (const auto& f : audit::verify_audit(*scope.db).findings) {
    if (f.session_id != session_id) continue;
    if (f.recording_id != 0) {
      e.recordings.emplace(f.recording_id, f.message);  // the first finding stays
    } else if (e.session.empty()) {
      e.session = f.message;
    }
  }
  return e;
}

std::string verdict(const std::string& finding) {
  return finding.empty() ? "<span class=\"verified\">verified against the audit chain</span>"
                         : "<span class=\"mismatch\">NOT verified: " + escape(finding) + "</span>";
}

std::string recordings_html(RequestScope& scope, const audit::SessionRow& s, const Evidence& ev) {
  const auto recs = scope.sessions.recordings_of(s.id);
  if (recs.empty()) return "<p>This session has no recording.</p>";
  std::string rows;
  for (const auto& r : recs) {
    const auto it = ev.recordings.find(r.id);
    rows += "<tr><td>" + std::to_string(r.channel) + "</td><td>" + escape(r.summary.kind) + "</td><td>" +
            std::to_string(r.summary.bytes_total_in ? r.summary.bytes_total_in : r.summary.bytes_in) + " / " +
            std::to_string(r.summary.bytes_total_out ? r.summary.bytes_total_out : r.summary.bytes_out) +
            "</td><td><code>" + escape(r.summary.sha256) + "</code><br>" + verdict(it == ev.recordings.end() ? "" : it->second) +
            "</td><td>" + "<a href=\"/sessions/" + std::to_string(s.id) + "/recordings/" + std::to_string(r.id) + "/view\">" +
            (r.summary.kind == "asciicast" ? "Play" : "Read") + " recording " + std::to_string(r.id) + "</a><br>" +
            "<a href=\"/sessions/" + std::to_string(s.id) + "/recordings/" + std::to_string(r.id) +
            "\">Download recording " + std::to_string(r.id) + "</a></td></tr>";
  }
  return "<div class=\"table-wrap\" role=\"region\" aria-label=\"Recordings\" tabindex=\"0\"><table><caption>Recordings"
         "</caption><thead><tr><th scope=\"col\">Channel</th><th scope=\"col\">Kind</th><th scope=\"col\">Bytes in / "
         "out</th><th scope=\"col\">SHA-256</th><th scope=\"col\">Raw file</th></tr></thead><tbody>" +
         rows + "</tbody></table></div>";
}

}  // namespace

void Portal::sessions_list(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto& ctx = scope->context(v->who, v->source);
  auto client = gateway::admin::reviewed_client(ctx, "");
  if (!client) throw std::logic_error(client.error().message);  // a reviewer's own client: cannot be refused
  std::vector<std::string> servers;
  for (const auto& s : scope->store.list_servers()) {
    if (ctx.sees_client(s.client)) servers.push_back(s.name);
  }
  audit::SessionFilter f{param(req, "server"), param(req, "operator"), *client, day_start(param(req, "since")),
                         day_start(param(req, "until")), param(req, "status") == "live"};
  if (f.until) *f.until += std::chrono::days(1);
  auto found = audit::find_sessions(scope->db, f);
  const std::string status = param(req, "status");
  std::erase_if(found, [&](const audit::SessionRow& s) { return !status.empty() && s.status != status; });
  std::reverse(found.begin(), found.end());  // newest first
  const std::size_t page_size = static_cast<std::size_t>(settings_.page_size);
  const int pages = std::max<int>(1, static_cast<int>((found.size() + page_size - 1) / page_size));
  int page = 1;
  try {
    page = std::clamp(std::stoi(param(req, "page").empty() ? "1" : param(req, "page")), 1, pages);
  } catch (const std::exception&) {
  }
  std::string rows;
  const std::size_t first = static_cast<std::size_t>(page - 1) * page_size;
  for (std::size_t i = first; i < found.size() && i < first + page_size; ++i) rows += row_html(found[i]);
  std::string body = filter_form(req, servers);
  body += "<p>" + std::to_string(found.size()) + " session" + (found.size() == 1 ? "" : "s") +
          (v->who.role == authz::Role::Client ? " on the servers of " + escape(v->who.client) : " on every client's servers") +
          ", newest first. Times are UTC.</p>";
  body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Sessions\" tabindex=\"0\"><table><caption>Sessions, page " +
          std::to_string(page) + " of " + std::to_string(pages) +
          "</caption><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Operator</th><th scope=\"col\">Server</th>"
          "<th scope=\"col\">Login</th><th scope=\"col\">Start</th><th scope=\"col\">End</th><th scope=\"col\">Status</th>"
          "<th scope=\"col\">Exit</th></tr></thead><tbody>" +
          (rows.empty() ? "<tr><td colspan=\"8\">No session matches.</td></tr>" : rows) + "</tbody></table></div>";
  body += "<nav class=\"pager\" aria-label=\"Pages\">";
  if (page > 1) body += page_link(req, page - 1, "Newer sessions");
  if (page < pages) body += page_link(req, page + 1, "Older sessions");
  body += "</nav>";
  res.set_content(render_page({"Sessions", body, v->who.name, v->csrf, v->officer()}), kHtml);
}

void Portal::session_detail(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  const std::int64_t id = std::stoll(req.matches[1].str());
  auto s = gateway::admin::visible_session(scope->context(v->who, v->source), id);
  if (!s) return not_found(*scope, *v, id, res);
  const Evidence ev = evidence_of(*scope, s->id);
  std::string body = "<dl>";
  body += dl_row("Operator", escape(s->operator_name));
  body += dl_row("Server", escape(s->server));
  body += dl_row("Login", escape(s->login));
  body += grant_html(*scope, *s);
  body += dl_row("Source", escape(s->source));
  body += dl_row("Start", escape(format_utc(s->start)));
  body += dl_row("End", escape(when(s->end)));
  body += dl_row("Status", escape(s->status + (s->reason.empty() ? "" : ": " + s->reason)));
  body += dl_row("Exit status", s->exit_status ? std::to_string(*s->exit_status) : "—");
  body += dl_row("Session record", verdict(ev.session));
  body += "</dl>" + recordings_html(*scope, *s, ev);
  body += "<p><a href=\"/sessions\">Back to the sessions</a></p>";
  res.set_content(render_page({"Session " + std::to_string(s->id), body, v->who.name, v->csrf, v->officer()}), kHtml);
}

void Portal::recording_download(const httplib::Request& req, httplib::Response& res) { serve_recording(req, res, false); }

void Portal::recording_cast(const httplib::Request& req, httplib::Response& res) { serve_recording(req, res, true); }

std::optional<Portal::SessionRecording> Portal::visible_recording(RequestScope& scope, const Viewer& v,
                                                                  const httplib::Request& req, httplib::Response& res) {
  const std::int64_t id = std::stoll(req.matches[1].str());
  const std::int64_t recording_id = std::stoll(req.matches[2].str());
  auto s = gateway::admin::visible_session(scope.context(v.who, v.source), id);
  if (!s) {
    not_found(scope, v, id, res);
    return std::nullopt;
  }
  for (auto& r : scope.sessions.recordings_of(s->id)) {
    if (r.id == recording_id) return SessionRecording{*s, r};
  }
  not_found(scope, v, id, res);
  return std::nullopt;
}

void Portal::recording_gone(const Viewer& v, std::int64_t recording_id, httplib::Response& res) {
  res.status = 410;
  res.set_content(render_page({"Recording unavailable",
                               notice("Recording " + std::to_string(recording_id) + " cannot be read (purged or moved).", true),
                               v.who.name, v.csrf, v.officer()}),
                  kHtml);
}

void Portal::serve_recording(const httplib::Request& req, httplib::Response& res, bool for_player) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto found = visible_recording(*scope, *v, req, res);
  if (!found) return;
  const audit::SessionRow* s = &found->session;
  const audit::RecordingRow* rec = &found->recording;
  if (for_player && rec->summary.kind != "asciicast") return not_found(*scope, *v, s->id, res);
  auto fd = std::make_shared<audit::UniqueFd>(::open(rec->summary.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st{};
  if (!*fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return recording_gone(*v, rec->id, res);
  audit::Event ev{clock_.now(), "recording.viewed", v->who.name, v->source, s->server, s->id,
                  {{"front", "web"}, {"recording_id", rec->id}, {"channel", rec->channel}, {"sha256", rec->summary.sha256},
                   {"how", for_player ? "player" : "download"}}};
  if (auto ok = scope->events->append(ev); !ok) {
    // No view unrecorded (DESIGN.md rule 5).
    res.status = 503;
    res.set_content(render_page({"Unavailable", notice("The audit log cannot be written; the recording is not shown.", true),
                                 v->who.name, v->csrf, v->officer()}),
                    kHtml);
    return;
  }
  const std::string name = "session-" + std::to_string(s->id) + "-recording-" + std::to_string(rec->id) +
                           (rec->summary.kind == "asciicast" ? ".cast" : ".rec");
  if (!for_player) res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
  // Streamed in 64 KiB pieces read at the offset asked for: a recording of any size costs the
  // portal one buffer, never the file.
  res.set_content_provider(static_cast<std::size_t>(st.st_size), for_player ? "text/plain; charset=utf-8" : "application/octet-stream",
                           [fd](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             std::array<char, 64 * 1024> buf{};
                             const std::size_t want = std::min(length, buf.size());
                             const ssize_t n = ::pread(fd->get(), buf.data(), want, static_cast<off_t>(offset));
                             if (n <= 0) return false;  // the file shrank or failed: end the response
                             return sink.write(buf.data(), static_cast<std::size_t>(n));
                           });
}

}  // namespace bastion::web
