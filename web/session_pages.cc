// The reviewer's views: the sessions list, one session, and the download of a raw recording.
// Scoping is the command set's (gateway/admin/review.h): find_sessions filtered by the client the
// chain states, visible_session for one id.

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "audit/session_query.h"
#include "authz/sqlite_request_store.h"
#include "authz/text.h"
#include "gateway/admin/recording_text.h"
#include "gateway/admin/review.h"
#include "gateway/admin/time_text.h"
#include "web/html.h"
#include "web/portal.h"
#include "web/recording_file.h"
#include "web/request_scope.h"
#include "web/session_evidence.h"

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

// SortChoice: the list's sort as the URL asks it (?sort=NAME&dir=asc|desc), from a closed table of
// names; anything else is the default, newest start first.
struct SortChoice {
  audit::SessionOrder order = audit::SessionOrder::Start;
  bool descending = true;
  std::string name = "start";
};

std::string filter_form(const httplib::Request& req, const std::vector<std::string>& servers, const SortChoice& sort) {
  std::vector<std::string> statuses(kStatuses.begin(), kStatuses.end());
  return "<form method=\"get\" action=\"/sessions\" class=\"filters\" aria-label=\"Filter sessions\">"
         "<input type=\"hidden\" name=\"sort\" value=\"" + escape(sort.name) + "\"><input type=\"hidden\" name=\"dir\" "
         "value=\"" + (sort.descending ? "desc" : "asc") + "\">"
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

struct SortColumn {
  const char* name;   // as in the URL
  const char* label;  // the column heading
  audit::SessionOrder order;
};
constexpr std::array<SortColumn, 5> kSortColumns{{{"operator", "Operator", audit::SessionOrder::Operator},
                                                  {"server", "Server", audit::SessionOrder::Server},
                                                  {"start", "Start", audit::SessionOrder::Start},
                                                  {"end", "End", audit::SessionOrder::End},
                                                  {"duration", "Duration", audit::SessionOrder::Duration}}};

SortChoice sort_choice(const httplib::Request& req) {
  SortChoice c;
  for (const auto& col : kSortColumns) {
    if (param(req, "sort") == col.name) {
      c.order = col.order;
      c.name = col.name;
      // Names and servers read A to Z first; times and durations newest or longest first.
      c.descending = col.order != audit::SessionOrder::Operator && col.order != audit::SessionOrder::Server;
    }
  }
  if (param(req, "dir") == "asc") c.descending = false;
  if (param(req, "dir") == "desc") c.descending = true;
  return c;
}

// list_query: the filters of the URL and a sort, as a query string ("?server=web1&sort=end&dir=asc").
std::string list_query(const httplib::Request& req, const SortChoice& sort, int page) {
  std::string q = "?sort=" + sort.name + "&dir=" + (sort.descending ? "desc" : "asc");
  for (const char* k : {"server", "operator", "since", "until", "status"}) {
    if (!param(req, k).empty()) q += std::string("&") + k + "=" + url_encode(param(req, k));
  }
  if (page > 1) q += "&page=" + std::to_string(page);
  return q;
}

std::string page_link(const httplib::Request& req, const SortChoice& sort, int page, const char* label) {
  return "<a href=\"/sessions" + escape(list_query(req, sort, page)) + "\">" + label + "</a>";
}

// sort_heading: a column heading that sorts by it: a link to the list sorted by this column (the
// other way round if it is the current sort), and aria-sort saying the current one.
std::string sort_heading(const httplib::Request& req, const SortChoice& current, const SortColumn& col) {
  const bool active = current.name == col.name;
  SortChoice next{col.order, active ? !current.descending
                                    : col.order != audit::SessionOrder::Operator && col.order != audit::SessionOrder::Server,
                  col.name};
  std::string th = "<th scope=\"col\"";
  if (active) th += std::string(" aria-sort=\"") + (current.descending ? "descending" : "ascending") + "\"";
  return th + "><a href=\"/sessions" + escape(list_query(req, next, 1)) + "\">" + col.label +
         (active ? (current.descending ? " ▼" : " ▲") : "") + "<span class=\"visually-hidden\">, sort " +
         (next.descending ? "descending" : "ascending") + "</span></a></th>";
}

std::string sort_description(const SortChoice& c) {
  switch (c.order) {
    case audit::SessionOrder::Start: return c.descending ? "newest first" : "oldest first";
    case audit::SessionOrder::End: return c.descending ? "by end, latest first (live ones on top)" : "by end, earliest first";
    case audit::SessionOrder::Duration: return c.descending ? "longest first (live ones on top)" : "shortest first";
    case audit::SessionOrder::Server: return c.descending ? "by server, Z to A" : "by server, A to Z";
    case audit::SessionOrder::Operator: return c.descending ? "by operator, Z to A" : "by operator, A to Z";
  }
  return "";
}

std::string duration_text(const audit::SessionRow& s) {
  if (!s.end) return "—";
  long long secs = std::max<long long>(0, to_unix(*s.end) - to_unix(s.start));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", secs / 3600, secs / 60 % 60, secs % 60);
  return buf;
}

std::string row_html(const audit::SessionRow& s) {
  const std::string id = std::to_string(s.id);
  return "<tr><td><a href=\"/sessions/" + id + "\">" + id + "</a></td><td>" + escape(s.operator_name) + "</td><td>" +
         escape(s.server) + "</td><td>" + escape(s.login) + "</td><td>" + escape(format_utc(s.start)) +
         "</td><td>" + escape(when(s.end)) + "</td><td>" + duration_text(s) + "</td><td>" + escape(s.status) + "</td><td>" +
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

std::string verdict(const std::string& finding) {
  return finding.empty() ? "<span class=\"verified\">verified against the audit chain</span>"
                         : "<span class=\"mismatch\">NOT verified: " + escape(finding) + "</span>";
}

std::string recordings_html(RequestScope& scope, const audit::SessionRow& s, const SessionEvidence& ev) {
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
  const std::string status = param(req, "status");
  audit::SessionPageQuery q;
  q.filter = {param(req, "server"), param(req, "operator"), *client, day_start(param(req, "since")),
              day_start(param(req, "until")), false, status};
  if (q.filter.until) *q.filter.until += std::chrono::days(1);
  const SortChoice sort = sort_choice(req);
  q.order = sort.order;
  q.descending = sort.descending;
  q.limit = settings_.page_size;
  long long asked = 1;
  try {
    asked = std::stoll(param(req, "page").empty() ? "1" : param(req, "page"));
  } catch (const std::exception&) {
  }
  // The page asked for, then (if past the end) the last page: the total comes with the page.
  asked = std::clamp<long long>(asked, 1, 1'000'000'000);  // no offset overflows
  q.offset = (asked - 1) * q.limit;
  auto found = audit::find_session_page(scope->db, q);
  const int pages = std::max<int>(1, static_cast<int>((found.total + q.limit - 1) / q.limit));
  const int page = static_cast<int>(std::clamp<long long>(asked, 1, pages));
  if (page != asked) {
    q.offset = static_cast<std::int64_t>(page - 1) * q.limit;
    found = audit::find_session_page(scope->db, q);
  }
  std::string rows;
  for (const auto& s : found.rows) rows += row_html(s);
  std::string body = filter_form(req, servers, sort);
  body += "<p>" + std::to_string(found.total) + " session" + (found.total == 1 ? "" : "s") +
          (v->who.role == authz::Role::Client ? " on the servers of " + escape(v->who.client) : " on every client's servers") +
          ", " + sort_description(sort) + ". Times are UTC; choose a column heading to sort by it.</p>";
  std::string headings = "<th scope=\"col\">ID</th>";
  for (const auto& col : kSortColumns) {
    if (col.order == audit::SessionOrder::Operator || col.order == audit::SessionOrder::Server)
      headings += sort_heading(req, sort, col);
  }
  headings += "<th scope=\"col\">Login</th>";
  for (const auto& col : kSortColumns) {
    if (col.order != audit::SessionOrder::Operator && col.order != audit::SessionOrder::Server)
      headings += sort_heading(req, sort, col);
  }
  headings += "<th scope=\"col\">Status</th><th scope=\"col\">Exit</th>";
  body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Sessions\" tabindex=\"0\"><table><caption>Sessions, page " +
          std::to_string(page) + " of " + std::to_string(pages) + "</caption><thead><tr>" + headings +
          "</tr></thead><tbody>" + (rows.empty() ? "<tr><td colspan=\"9\">No session matches.</td></tr>" : rows) +
          "</tbody></table></div>";
  body += "<nav class=\"pager\" aria-label=\"Pages\">";
  if (page > 1) body += page_link(req, sort, page - 1, "Previous page");
  if (page < pages) body += page_link(req, sort, page + 1, "Next page");
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
  const SessionEvidence ev = session_evidence(*scope->db, s->id);
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

void Portal::recording_gone(const Viewer& v, std::int64_t recording_id, httplib::Response& res, const std::string& why) {
  res.status = 410;
  res.set_content(render_page({"Recording unavailable",
                               notice("Recording " + std::to_string(recording_id) + " " + why + ".", true),
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
  // Read in order, a sealed one decrypted one authenticated chunk at a time: the player and the
  // download get the recording's own format.
  auto opened = open_recording(rec->summary.path, gateway::admin::command_key_lookup(scope->context(v->who, v->source)));
  if (!opened) return recording_gone(*v, rec->id, res, opened.error().message);
  auto body = start_body(std::move(*opened));
  if (!body) return recording_gone(*v, rec->id, res, body.error().message);
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
  // Streamed chunked as it is read, one piece at a time (64 KiB of a plain file, one chunk of a
  // sealed one): a recording of any size costs the portal one piece, never the file.
  const std::string what = "recording " + std::to_string(rec->id) + " of session " + std::to_string(s->id) +
                           " (" + (for_player ? "player" : "download") + " by " + v->who.name + ")";
  send_recording(std::move(*body), for_player ? "text/plain; charset=utf-8" : "application/octet-stream", what, res);
}

}  // namespace bastion::web
