// Live sessions with the officer's "end" button, grants, and the client's export (issue 18).
// Every rule is the admin command set's own: `sessions list --live` and `grant list` say who sees
// what, `sessions kill` who may end a session (officers) and how (the session's process polls
// the request and cuts it), prepare_client_export who may export which client and its event.
#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include <nlohmann/json.hpp>

#include "audit/openpgp.h"
#include "authz/text.h"

#include "gateway/admin/commands.h"
#include "gateway/admin/review.h"
#include "web/html.h"
#include "web/portal.h"
#include "web/request_scope.h"

namespace bastion::web {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

std::string text_of(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

void show(httplib::Response& res, const Page& page, int status = 200) {
  res.status = status;
  res.set_content(render_page(page), kHtml);
}

// listed: the JSON a reading command prints for this viewer; a refusal throws (the portal's
// exception handler answers 503 with the reason), as reading commands refuse no signed-in viewer.
nlohmann::json listed(RequestScope& scope, gateway::admin::CommandContext& ctx, std::vector<std::string> args) {
  scope.out.str("");
  scope.err.str("");
  args.push_back("--json");
  if (gateway::admin::run_command(args, ctx) != gateway::admin::kExitOk) throw std::runtime_error(scope.err.str());
  return nlohmann::json::parse(scope.out.str());
}

std::string hidden_csrf(const std::string& token) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(token) + "\">";
}

void refuse_forged(httplib::Response& res, const Viewer& v) {
  show(res, {"Refused", notice("This form was not sent by the portal's own page (no valid CSRF token). Reload the page "
                               "and try again.", true), v.who.name, v.csrf, v.officer()}, 403);
}

// file_name_part: a client name as it may appear in a download's file name.
std::string file_name_part(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out.empty() ? "client" : out;
}

}  // namespace

void Portal::live_sessions(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto& ctx = scope->context(v->who, v->source);
  const auto live = listed(*scope, ctx, {"sessions", "list", "--live"});
  std::string body = done_notice(req);
  body += v->officer() ? "<p>Sessions running now on every client's servers. Ending one cuts it within a second; it "
                         "is recorded with your name.</p>"
                       : "<p>Sessions running now on the servers of " + escape(v->who.client) +
                             ". Only the hosting company's security officers can end one; ask them if one must "
                             "stop.</p>";
  std::string rows;
  for (const auto& s : live) {
    const std::int64_t id = s["id"].get<std::int64_t>();
    const std::string sid = std::to_string(id);
    std::string state = "running";
    if (auto kill = scope->sessions.kill_request(id)) state = "ending (asked by " + kill->by + ")";
    rows += "<tr><td><a href=\"/sessions/" + sid + "\">" + sid + "</a></td><td>" + escape(text_of(s, "operator")) +
            "</td><td>" + escape(text_of(s, "server")) + "</td><td>" + escape(text_of(s, "login")) + "</td><td>" +
            escape(text_of(s, "start")) + "</td><td>" + escape(text_of(s, "source")) + "</td><td>" + escape(state) +
            "</td>";
    if (v->officer()) rows += "<td><a class=\"danger\" href=\"/live/" + sid + "/end\">End session " + sid + "…</a></td>";
    rows += "</tr>";
  }
  const int columns = v->officer() ? 8 : 7;
  body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Live sessions\" tabindex=\"0\"><table><caption>Live "
          "sessions (" + std::to_string(live.size()) + ")</caption><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">"
          "Operator</th><th scope=\"col\">Server</th><th scope=\"col\">Login</th><th scope=\"col\">Started (UTC)</th>"
          "<th scope=\"col\">From</th><th scope=\"col\">State</th>" +
          std::string(v->officer() ? "<th scope=\"col\">Action</th>" : "") + "</tr></thead><tbody>" +
          (rows.empty() ? "<tr><td colspan=\"" + std::to_string(columns) + "\">No session is running.</td></tr>" : rows) +
          "</tbody></table></div>";
  show(res, {"Live sessions", body, v->who.name, v->csrf, v->officer()});
}

void Portal::end_confirm(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  const std::int64_t id = std::stoll(req.matches[1].str());
  const std::string sid = std::to_string(id);
  auto s = gateway::admin::visible_session(scope->context(v->who, v->source), id);
  if (!s) return not_found(*scope, *v, id, res);
  if (!v->officer()) {
    return show(res, {"Not allowed", notice("Only a security officer can end a session; you are a client reviewer. "
                                            "Ask the hosting company's officers if session " + sid + " must stop.", true),
                      v->who.name, v->csrf, v->officer()}, 403);
  }
  if (s->status != "live") {
    return show(res, {"Session " + sid + " has ended", notice("Session " + sid + " is no longer running (" + s->status + ").", false) +
                                                          "<p><a href=\"/live\">Back to the live sessions</a></p>",
                      v->who.name, v->csrf, v->officer()});
  }
  std::string body = "<p>End this session now? The operator is cut off within a second, and the end is recorded with "
                     "your name.</p><dl><dt>Operator</dt><dd>" + escape(s->operator_name) + "</dd><dt>Server</dt><dd>" +
                     escape(s->server) + "</dd><dt>Login</dt><dd>" + escape(s->login) + "</dd><dt>From</dt><dd>" +
                     escape(s->source) + "</dd></dl><form method=\"post\" action=\"/live/" + sid + "/end\">" +
                     hidden_csrf(v->csrf) + "<button type=\"submit\" class=\"danger\">End session " + sid +
                     " now</button> <a href=\"/live\">Cancel</a></form>";
  show(res, {"End session " + sid + "?", body, v->who.name, v->csrf, v->officer()});
}

void Portal::end_post(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  if (!csrf_ok(req, v->csrf)) return refuse_forged(res, *v);
  const std::string id = req.matches[1];
  auto& ctx = scope->context(v->who, v->source);
  // Who may end a session, and which, is the command's rule (officers; a live session), as over SSH.
  scope->out.str("");
  scope->err.str("");
  if (gateway::admin::run_command({"sessions", "kill", id}, ctx) != gateway::admin::kExitOk) {
    return show(res, {"Not ended", notice("Session " + id + " was not ended: " + scope->err.str(), true) +
                                       "<p><a href=\"/live\">Back to the live sessions</a></p>",
                      v->who.name, v->csrf, v->officer()},
                v->officer() ? 409 : 403);
  }
  res.status = 303;
  res.set_header("Location", "/live?done=kill-requested&id=" + id);
}

void Portal::grants_page(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  auto& ctx = scope->context(v->who, v->source);
  const auto grants = listed(*scope, ctx, {"grant", "list"});
  std::string rows;
  for (auto it = grants.rbegin(); it != grants.rend(); ++it) {  // newest first
    const auto& g = *it;
    std::string ops;
    if (g.contains("ops") && g["ops"].is_array()) {
      for (const auto& o : g["ops"]) ops += (ops.empty() ? "" : ", ") + o.get<std::string>();
    }
    const bool emergency = g.contains("emergency") && g["emergency"].is_boolean() && g["emergency"].get<bool>();
    rows += "<tr><td>" + escape(text_of(g, "id")) + "</td><td>" + escape(text_of(g, "operator")) + "</td><td>" +
            escape(text_of(g, "server")) + "</td><td>" + escape(text_of(g, "login")) + "</td><td>" + escape(ops) +
            "</td><td>" + escape(text_of(g, "not_before")) + "</td><td>" + escape(text_of(g, "not_after")) +
            "</td><td>" + escape(text_of(g, "state")) + (emergency ? " (emergency)" : "") + "</td><td>" +
            escape(text_of(g, "granted_by")) + "</td><td>" + escape(text_of(g, "reason")) + "</td></tr>";
  }
  std::string body = "<p>" + std::to_string(grants.size()) + " grant(s)" +
                     (v->officer() ? " on every client's servers" : " on the servers of " + escape(v->who.client)) +
                     ", newest first, including expired and revoked ones. Times are UTC.</p>";
  body += "<div class=\"table-wrap\" role=\"region\" aria-label=\"Grants\" tabindex=\"0\"><table><caption>Grants</caption>"
          "<thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Operator</th><th scope=\"col\">Server</th><th "
          "scope=\"col\">Login</th><th scope=\"col\">Operations</th><th scope=\"col\">From</th><th scope=\"col\">Until"
          "</th><th scope=\"col\">State</th><th scope=\"col\">Granted by</th><th scope=\"col\">Reason</th></tr></thead>"
          "<tbody>" +
          (rows.empty() ? "<tr><td colspan=\"10\">No grant.</td></tr>" : rows) + "</tbody></table></div>";
  show(res, {"Grants", body, v->who.name, v->csrf, v->officer()});
}

void Portal::export_page(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  std::string body =
      "<p>One <code>.tar.gz</code> archive of everything the bastion holds about " +
      (v->officer() ? std::string("a client") : escape(v->who.client)) +
      ": its sessions (<code>sessions.json</code>), the audit events of its servers with their chain hashes "
      "(<code>events.json</code>), grants, access requests and every recording file. The download is recorded "
      "with your name.</p><p>The archive leaves the bastion encrypted under a passphrase you choose here (at "
      "least 12 characters; the bastion keeps no copy of it): an OpenPGP file, <code>…-export-DAY.tar.gz.gpg</code>, "
      "that stock GnuPG opens without any software of the bastion's: <code>gpg -d FILE.tar.gz.gpg &gt; "
      "export.tar.gz</code>. Without the passphrase nobody can open it, the bastion's people included.</p>"
      "<form method=\"post\" action=\"/export\">" + hidden_csrf(v->csrf);
  if (v->officer()) {
    std::vector<std::string> clients;
    for (const auto& s : scope->store.list_servers()) {
      if (std::find(clients.begin(), clients.end(), s.client) == clients.end()) clients.push_back(s.client);
    }
    std::sort(clients.begin(), clients.end());
    body += "<label for=\"client\">Client</label><select id=\"client\" name=\"client\" required>";
    for (const auto& c : clients) body += "<option>" + escape(c) + "</option>";
    body += "</select>";
  }
  body += "<label for=\"passphrase\">Passphrase (12 characters or more)</label>"
          "<input id=\"passphrase\" name=\"passphrase\" type=\"password\" autocomplete=\"new-password\" required "
          "minlength=\"12\" maxlength=\"1024\">"
          "<label for=\"confirm\">The same passphrase again</label>"
          "<input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required "
          "minlength=\"12\" maxlength=\"1024\">"
          "<button type=\"submit\">Download the encrypted archive</button></form>";
  show(res, {v->officer() ? "Export a client's data" : "Export our data", body, v->who.name, v->csrf, v->officer()});
}

void Portal::export_post(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  if (!csrf_ok(req, v->csrf)) return refuse_forged(res, *v);
  // A reviewer's form names no client: hers. One that names another is refused by the rule itself.
  const std::string client = req.has_param("client") ? req.get_param_value("client") : v->who.client;
  auto& ctx = scope->context(v->who, v->source);
  std::string passphrase = req.has_param("passphrase") ? req.get_param_value("passphrase") : "";
  std::string confirm = req.has_param("confirm") ? req.get_param_value("confirm") : "";
  const bool same = passphrase == confirm;
  auto built = same ? gateway::admin::prepare_client_export(ctx, client, passphrase)
                    : Result<audit::BuiltExport>(Error{"the two passphrases differ; type the same one twice"});
  audit::wipe_string(passphrase);
  audit::wipe_string(confirm);
  if (!built) {
    return show(res, {"Not exported", notice("Nothing was exported: " + built.error().message + ".", true) +
                                          "<p><a href=\"/export\">Back</a></p>",
                      v->who.name, v->csrf, v->officer()},
                403);
  }
  // Encrypted and recorded; now sent from the memory file in 64 KiB pieces, never held in the heap whole.
  auto archive = std::make_shared<audit::BuiltExport>(std::move(*built));
  const std::string day = format_utc(clock_.now()).substr(0, 10);
  res.set_header("Content-Disposition",
                 "attachment; filename=\"" + file_name_part(client) + "-export-" + day + ".tar.gz.gpg\"");
  res.set_content_provider(archive->bytes, "application/pgp-encrypted",
                           [archive](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             std::array<char, 65536> buf{};
                             auto n = archive->read_at(offset, buf.data(), std::min(length, buf.size()));
                             if (!n || *n == 0) return false;  // cuts the response: short of its Content-Length
                             return sink.write(buf.data(), *n);
                           });
}

}  // namespace bastion::web
