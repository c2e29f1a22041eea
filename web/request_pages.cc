// Requests waiting for the reviewer's approval, and the decided ones (issue 18). Every read and
// every decision runs the admin command set's own `request list | approve | deny` (run_command),
// the implementation the SSH front and bastionctl run: one rule, three fronts.
#include <nlohmann/json.hpp>

#include "gateway/admin/commands.h"
#include "web/html.h"
#include "web/portal.h"
#include "web/request_scope.h"

namespace bastion::web {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

std::string text_of(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string ops_of(const nlohmann::json& r) {
  std::string out;
  if (r.contains("ops") && r["ops"].is_array()) {
    for (const auto& o : r["ops"]) out += (out.empty() ? "" : ", ") + o.get<std::string>();
  }
  return out;
}

}  // namespace

// run_listed: the JSON a `request list` command prints for this viewer; refusals throw.
static nlohmann::json run_listed(RequestScope& scope, gateway::admin::CommandContext& ctx, const char* which) {
  scope.out.str("");
  scope.err.str("");
  if (gateway::admin::run_command({"request", "list", which, "--json"}, ctx) != gateway::admin::kExitOk) {
    throw std::runtime_error(scope.err.str());
  }
  return nlohmann::json::parse(scope.out.str());
}

void Portal::requests_page(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto& ctx = scope->context(v->who, v->source);
  const auto waiting = run_listed(*scope, ctx, "--pending");
  const auto all = run_listed(*scope, ctx, "--all");
  std::string body;
  body += done_notice(req);
  body += "<h2>Waiting for your decision</h2>";
  if (waiting.empty()) body += "<p>No request waits for you.</p>";
  for (const auto& r : waiting) {
    const std::string id = std::to_string(r["id"].get<std::int64_t>());
    body += "<section class=\"request\" aria-labelledby=\"req-" + id + "\"><h3 id=\"req-" + id + "\">Request " + id + ": " +
            escape(text_of(r, "operator")) + " on " + escape(text_of(r, "server")) + "</h3><dl><dt>Login</dt><dd>" +
            escape(text_of(r, "login")) + "</dd><dt>Operations</dt><dd>" + escape(ops_of(r)) +
            "</dd><dt>Reason</dt><dd>" + escape(text_of(r, "reason")) + "</dd><dt>Waits for</dt><dd>" +
            escape(text_of(r, "waiting_for")) + "</dd></dl><form method=\"post\" action=\"/requests/" + id +
            "/decide\"><input type=\"hidden\" name=\"csrf\" value=\"" + escape(v->csrf) + "\"><label for=\"note-" + id +
            "\">Reason (required to deny)</label><input id=\"note-" + id + "\" name=\"reason\" maxlength=\"500\">"
            "<button type=\"submit\" name=\"decision\" value=\"approve\">Approve request " + id + "</button> "
            "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny request " + id + "</button></form></section>";
  }
  std::string rows;
  for (const auto& r : all) {
    const std::string state = text_of(r, "state");
    if (state == "pending") continue;
    rows += "<tr><td>" + std::to_string(r["id"].get<std::int64_t>()) + "</td><td>" + escape(text_of(r, "operator")) +
            "</td><td>" + escape(text_of(r, "server")) + "</td><td>" + escape(ops_of(r)) + "</td><td>" + escape(state) +
            "</td><td>" + escape(text_of(r, "decided_by")) + "</td><td>" + escape(text_of(r, "decision_reason")) +
            "</td></tr>";
  }
  body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Decided requests\" tabindex=\"0\"><table><caption>"
          "Decided requests</caption><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Operator</th><th "
          "scope=\"col\">Server</th><th scope=\"col\">Operations</th><th scope=\"col\">State</th><th scope=\"col\">"
          "Decided by</th><th scope=\"col\">Why</th></tr></thead><tbody>" +
          (rows.empty() ? "<tr><td colspan=\"7\">None yet.</td></tr>" : rows) + "</tbody></table></div>";
  res.set_content(render_page({"Requests", body, v->who.name, v->csrf, v->officer()}), kHtml);
}

void Portal::request_decide(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  if (!csrf_ok(req, v->csrf)) {
    res.status = 403;
    res.set_content(render_page({"Refused", notice("This form was not sent by the portal's own page (no valid CSRF "
                                                   "token). Reload the page and try again.", true),
                                 v->who.name, v->csrf, v->officer()}),
                    kHtml);
    return;
  }
  const std::string id = req.matches[1];
  const std::string decision = req.has_param("decision") ? req.get_param_value("decision") : "";
  if (decision != "approve" && decision != "deny") {
    res.status = 400;
    res.set_content(render_page({"Not decided", notice("Choose approve or deny.", true), v->who.name, v->csrf, v->officer()}), kHtml);
    return;
  }
  std::vector<std::string> args{"request", decision, id};
  const std::string reason = req.has_param("reason") ? req.get_param_value("reason") : "";
  if (!reason.empty() || decision == "deny") {
    args.push_back("--reason");
    args.push_back(reason);
  }
  auto& ctx = scope->context(v->who, v->source);
  if (gateway::admin::run_command(args, ctx) != gateway::admin::kExitOk) {
    res.status = 409;
    res.set_content(render_page({"Not decided", notice("Request " + id + " was not " + (decision == "deny" ? "denied" : "approved") +
                                                           ": " + scope->err.str(), true) +
                                                    "<p><a href=\"/requests\">Back to the requests</a></p>",
                                 v->who.name, v->csrf, v->officer()}),
                    kHtml);
    return;
  }
  res.status = 303;
  res.set_header("Location", "/requests?done=" + std::string(decision == "deny" ? "denied" : "approved") + "&id=" + id);
}

}  // namespace bastion::web
