// The access report (issue 18): for a period (default: the current month, UTC), who accessed
// which server, when, for how long, under which grant, its reason and approvals, with totals;
// as a printable page and as CSV. Scoped like the sessions list: find_sessions with the client the
// reviewer may see, in the store query.
#include <chrono>

#include "audit/session_query.h"
#include "authz/sqlite_request_store.h"
#include "authz/text.h"
#include "gateway/admin/review.h"
#include "gateway/admin/time_text.h"
#include "web/html.h"
#include "web/portal.h"
#include "web/request_scope.h"

namespace bastion::web {
namespace {

struct ReportRow {
  audit::SessionRow s;
  long long seconds = 0;
  std::string grant, reason, approvals;
};

std::string csv_field(const std::string& v) {
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string duration(long long s) {
  return std::to_string(s / 3600) + "h " + std::to_string((s / 60) % 60) + "m " + std::to_string(s % 60) + "s";
}

}  // namespace

void Portal::access_report(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto& ctx = scope->context(v->who, v->source);
  auto client = gateway::admin::reviewed_client(ctx, "");
  if (!client) throw std::logic_error(client.error().message);
  const Seconds now = clock_.now();
  const auto today = std::chrono::floor<std::chrono::days>(now);
  const std::chrono::year_month_day ymd{std::chrono::sys_days{today}};
  const std::chrono::sys_days month_start{ymd.year() / ymd.month() / 1};
  const std::chrono::sys_days next_month{(ymd.year() / ymd.month() / 1) + std::chrono::months{1}};
  const auto day = [&](const char* name, std::chrono::sys_days fallback) -> Seconds {
    if (req.has_param(name) && req.get_param_value(name).size() == 10) {
      if (auto t = gateway::admin::parse_time(req.get_param_value(name) + " 00:00")) return *t;
    }
    return Seconds{fallback};
  };
  const Seconds since = day("since", month_start);
  Seconds until = day("until", next_month - std::chrono::days{1}) + std::chrono::days{1};
  audit::SessionFilter f{"", "", *client, since, until, false, ""};
  std::vector<ReportRow> rows;
  long long total = 0;
  authz::SqliteRequestStore requests(scope->db);
  for (const auto& s : audit::find_sessions(scope->db, f)) {
    ReportRow r{s, 0, "none", "", ""};
    const Seconds end = s.end ? *s.end : now;
    r.seconds = std::chrono::duration_cast<std::chrono::seconds>(end - s.start).count();
    total += r.seconds;
    if (s.grant_id) {
      r.grant = "#" + std::to_string(*s.grant_id);
      if (auto g = scope->store.find_grant(*s.grant_id)) r.reason = g->reason;
      if (auto q = requests.find_by_grant(*s.grant_id)) {
        for (const auto& a : q->approvals) r.approvals += (r.approvals.empty() ? "" : "; ") + a.approver + " (" + authz::to_string(a.as) + ")";
      }
    }
    rows.push_back(std::move(r));
  }
  // Reading who accessed what is itself on record: who, which client, which period, which form.
  audit::Event viewed{now, "report.viewed", v->who.name, v->source, "", std::nullopt,
                      {{"front", "web"},
                       {"client", client->empty() ? "all" : *client},
                       {"since", format_utc(since)},
                       {"until", format_utc(until)},
                       {"as", req.path == "/report.csv" ? "csv" : "page"},
                       {"sessions", rows.size()}}};
  if (auto st = scope->events->append(viewed); !st) {
    res.status = 503;
    res.set_content(render_page({"Unavailable", notice("The audit log cannot be written, so the report is not shown.", true),
                                 v->who.name, v->csrf, v->officer()}),
                    "text/html; charset=utf-8");
    return;
  }
  if (req.path == "/report.csv") {
    std::string csv = "session,operator,server,login,start,end,seconds,grant,reason,approvals\r\n";
    for (const auto& r : rows) {
      csv += std::to_string(r.s.id) + "," + csv_field(r.s.operator_name) + "," + csv_field(r.s.server) + "," +
             csv_field(r.s.login) + "," + format_utc(r.s.start) + "," + (r.s.end ? format_utc(*r.s.end) : "") + "," +
             std::to_string(r.seconds) + "," + csv_field(r.grant) + "," + csv_field(r.reason) + "," +
             csv_field(r.approvals) + "\r\n";
    }
    res.set_header("Content-Disposition", "attachment; filename=\"access-report.csv\"");
    res.set_content(csv, "text/csv; charset=utf-8");
    return;
  }
  const std::string from_text = format_utc(since).substr(0, 10);
  const std::string to_text = format_utc(until - std::chrono::days{1}).substr(0, 10);
  std::string body = "<form method=\"get\" action=\"/report\" class=\"filters\" aria-label=\"Period\"><div><label "
                     "for=\"since\">From (UTC)</label><input id=\"since\" name=\"since\" type=\"date\" value=\"" +
                     escape(from_text) + "\"></div><div><label for=\"until\">To (UTC, inclusive)</label><input "
                     "id=\"until\" name=\"until\" type=\"date\" value=\"" + escape(to_text) +
                     "\"></div><div><button type=\"submit\">Show</button></div></form>";
  body += "<p>" + escape(from_text) + " to " + escape(to_text) + ": " + std::to_string(rows.size()) + " session(s), " +
          duration(total) + " in all. <a href=\"/report.csv?since=" + escape(from_text) + "&amp;until=" +
          escape(to_text) + "\">Download as CSV</a></p>";
  std::string trs;
  for (const auto& r : rows) {
    trs += "<tr><td>" + std::to_string(r.s.id) + "</td><td>" + escape(r.s.operator_name) + "</td><td>" +
           escape(r.s.server) + "</td><td>" + escape(format_utc(r.s.start)) + "</td><td>" + duration(r.seconds) +
           "</td><td>" + escape(r.grant) + "</td><td>" + escape(r.reason) + "</td><td>" + escape(r.approvals) +
           "</td></tr>";
  }
  body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Access report\" tabindex=\"0\"><table><caption>Accesses"
          "</caption><thead><tr><th scope=\"col\">Session</th><th scope=\"col\">Operator</th><th scope=\"col\">Server</th>"
          "<th scope=\"col\">Start</th><th scope=\"col\">Duration</th><th scope=\"col\">Grant</th><th scope=\"col\">"
          "Reason</th><th scope=\"col\">Approvals</th></tr></thead><tbody>" +
          (trs.empty() ? "<tr><td colspan=\"8\">No access in this period.</td></tr>" : trs) +
          "</tbody><tfoot><tr><th scope=\"row\">Total</th><td colspan=\"3\">" + std::to_string(rows.size()) +
          " session(s)</td><td>" + duration(total) + "</td><td colspan=\"3\"></td></tr></tfoot></table></div>";
  res.set_content(render_page({"Access report", body, v->who.name, v->csrf, v->officer()}), "text/html; charset=utf-8");
}

}  // namespace bastion::web
