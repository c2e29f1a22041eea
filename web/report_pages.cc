// The access report (issue 18): for a period (default: the current month, UTC), who accessed
// which server, when, for how long, under which grant, its reason and approvals, with totals;
// as a printable page and as CSV. Scoped like the sessions list (the client the chain states, in
// the store query). The totals come from SQL, then the rows are streamed from a cursor, a batch
// at a time: a report of any period never holds its sessions in memory.
#include <spdlog/spdlog.h>

#include <chrono>

#include "audit/sqlite_session_store.h"
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

// ReportStream: what the response's content provider keeps between batches: the request's scope
// (its own database connection), the cursor over the period's sessions, and the text around them.
struct ReportStream {
  std::unique_ptr<RequestScope> scope;
  std::optional<audit::SessionCursor> cursor;
  Seconds now{};
  bool csv = false;
  std::string head, tail;
  bool head_sent = false;

  ReportRow row_of(const audit::SessionRow& s) {
    ReportRow r{s, 0, "none", "", ""};
    const Seconds end = s.end ? *s.end : now;
    r.seconds = std::chrono::duration_cast<std::chrono::seconds>(end - s.start).count();
    if (s.grant_id) {
      r.grant = "#" + std::to_string(*s.grant_id);
      if (auto g = scope->store.find_grant(*s.grant_id)) r.reason = g->reason;
      if (auto q = authz::SqliteRequestStore(scope->db).find_by_grant(*s.grant_id)) {
        for (const auto& a : q->approvals)
          r.approvals += (r.approvals.empty() ? "" : "; ") + a.approver + " (" + authz::to_string(a.as) + ")";
      }
    }
    return r;
  }

  std::string text_of(const ReportRow& r) const {
    if (csv) {
      return std::to_string(r.s.id) + "," + csv_field(r.s.operator_name) + "," + csv_field(r.s.server) + "," +
             csv_field(r.s.login) + "," + format_utc(r.s.start) + "," + (r.s.end ? format_utc(*r.s.end) : "") + "," +
             std::to_string(r.seconds) + "," + csv_field(r.grant) + "," + csv_field(r.reason) + "," +
             csv_field(r.approvals) + "\r\n";
    }
    return "<tr><td>" + std::to_string(r.s.id) + "</td><td>" + escape(r.s.operator_name) + "</td><td>" +
           escape(r.s.server) + "</td><td>" + escape(format_utc(r.s.start)) + "</td><td>" + duration(r.seconds) +
           "</td><td>" + escape(r.grant) + "</td><td>" + escape(r.reason) + "</td><td>" + escape(r.approvals) +
           "</td></tr>";
  }

  // next_piece: the head, then up to 256 rows, …, then the tail; "" once all was given.
  std::string next_piece() {
    if (!head_sent) {
      head_sent = true;
      return head;
    }
    if (!cursor) return "";
    std::string out;
    for (int i = 0; i < 256; ++i) {
      auto s = cursor->next();
      if (!s) {
        cursor.reset();
        return out + tail;
      }
      out += text_of(row_of(*s));
    }
    return out;
  }
};

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
  const audit::SessionFilter f{"", "", *client, since, until, false, ""};
  const audit::SessionTotals totals = scope->sessions.totals(f, now);
  const bool csv = req.path == "/report.csv";
  // Reading who accessed what is itself on record: who, which client, which period, which form.
  audit::Event viewed{now, "report.viewed", v->who.name, v->source, "", std::nullopt,
                      {{"front", "web"},
                       {"client", client->empty() ? "all" : *client},
                       {"since", format_utc(since)},
                       {"until", format_utc(until)},
                       {"as", csv ? "csv" : "page"},
                       {"sessions", totals.sessions}}};
  if (auto st = scope->events->append(viewed); !st) {
    res.status = 503;
    res.set_content(render_page({"Unavailable", notice("The audit log cannot be written, so the report is not shown.", true),
                                 v->who.name, v->csrf, v->officer()}),
                    "text/html; charset=utf-8");
    return;
  }
  auto stream = std::make_shared<ReportStream>();
  stream->now = now;
  stream->csv = csv;
  if (csv) {
    stream->head = "session,operator,server,login,start,end,seconds,grant,reason,approvals\r\n";
  } else {
    const std::string from_text = format_utc(since).substr(0, 10);
    const std::string to_text = format_utc(until - std::chrono::days{1}).substr(0, 10);
    const std::string sessions_text = std::to_string(totals.sessions) + " session(s)";
    std::string body = "<form method=\"get\" action=\"/report\" class=\"filters\" aria-label=\"Period\"><div><label "
                       "for=\"since\">From (UTC)</label><input id=\"since\" name=\"since\" type=\"date\" value=\"" +
                       escape(from_text) + "\"></div><div><label for=\"until\">To (UTC, inclusive)</label><input "
                       "id=\"until\" name=\"until\" type=\"date\" value=\"" + escape(to_text) +
                       "\"></div><div><button type=\"submit\">Show</button></div></form>";
    body += "<p>" + escape(from_text) + " to " + escape(to_text) + ": " + sessions_text + ", " +
            duration(totals.seconds) + " in all. <a href=\"/report.csv?since=" + escape(from_text) + "&amp;until=" +
            escape(to_text) + "\">Download as CSV</a></p>";
    body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Access report\" tabindex=\"0\"><table><caption>"
            "Accesses</caption><thead><tr><th scope=\"col\">Session</th><th scope=\"col\">Operator</th><th scope=\"col\">"
            "Server</th><th scope=\"col\">Start</th><th scope=\"col\">Duration</th><th scope=\"col\">Grant</th><th "
            "scope=\"col\">Reason</th><th scope=\"col\">Approvals</th></tr></thead><tbody>";
    if (totals.sessions == 0) body += "<tr><td colspan=\"8\">No access in this period.</td></tr>";
    const Page page{"Access report", "", v->who.name, v->csrf, v->officer()};
    stream->head = page_open(page) + body;
    stream->tail = "</tbody><tfoot><tr><th scope=\"row\">Total</th><td colspan=\"3\">" + sessions_text + "</td><td>" +
                   duration(totals.seconds) + "</td><td colspan=\"3\"></td></tr></tfoot></table></div>" + page_close();
  }
  stream->cursor.emplace(scope->sessions.by_start(f));
  stream->scope = std::move(scope);
  if (csv) res.set_header("Content-Disposition", "attachment; filename=\"access-report.csv\"");
  res.set_chunked_content_provider(csv ? "text/csv; charset=utf-8" : "text/html; charset=utf-8",
                                   [stream](std::size_t, httplib::DataSink& sink) {
                                     try {
                                       const std::string piece = stream->next_piece();
                                       if (piece.empty()) {
                                         sink.done();
                                         return true;
                                       }
                                       return sink.write(piece.data(), piece.size());
                                     } catch (const db::DbError& e) {
                                       // The head is sent: end the response short rather than pass it as whole.
                                       spdlog::error("access report: the database failed mid-report: {}", e.what());
                                       return false;
                                     }
                                   });
}

}  // namespace bastion::web
