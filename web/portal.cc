#include "web/portal.h"

#include <spdlog/spdlog.h>

#include "authz/db.h"
#include "authz/web_account_store.h"
#include "authz/web_password.h"
#include "authz/web_session_policy.h"
#include "web/cookie.h"
#include "web/html.h"
#include "web/http_policy.h"
#include "web/request_scope.h"
#include "web/sign_in.h"

namespace bastion::web {
extern const std::string_view kPlayScript;  // web/static/play.js, embedded by web/embed_js.cmake
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

void redirect(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
}

void show(httplib::Response& res, const Page& page, int status = 200) {
  res.status = status;
  res.set_content(render_page(page), kHtml);
}

std::string form_value(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

// refuse_forged answers a POST whose CSRF token is missing or wrong: 403, nothing done.
void refuse_forged(httplib::Response& res, const std::string& account, const std::string& csrf) {
  show(res, {"Refused", notice("This form was not sent by the portal's own page (no valid CSRF token). Reload the page "
                               "and try again.", true), account, csrf}, 403);
}

std::string hidden_csrf(const std::string& token) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(token) + "\">";
}

}  // namespace

std::string done_notice(const httplib::Request& req) {
  const std::string code = form_value(req, "done"), id = form_value(req, "id");
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) return "";
  if (code == "approved") return notice("Request " + id + " approved.", false);
  if (code == "denied") return notice("Request " + id + " denied.", false);
  if (code == "kill-requested") return notice("Session " + id + " is being ended: its process cuts it within a second.", false);
  return "";
}

std::string source_of(const httplib::Request& req) {
  const bool v6 = req.remote_addr.find(':') != std::string::npos;
  return (v6 ? "[" + req.remote_addr + "]" : req.remote_addr) + ":" + std::to_string(req.remote_port);
}

void Portal::install(httplib::Server& svr) {
  svr.set_payload_max_length(64 * 1024);  // forms only: a few fields
  svr.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) { set_policy_headers(res); });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const db::DbError& e) {
      what = db::refusal_for(e);  // a PostgreSQL server lost mid-request: said so, without its address details
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("request failed: {}", what);
    show(res, {"Unavailable", notice("The portal cannot serve this page now (" + what + "). Try again later.", true), "", ""},
         503);
  });
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    show(res, {res.status == 404 ? "Not found" : "Error", notice("There is nothing here.", true), "", ""}, res.status);
  });
  svr.Get("/static/style.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kStyleSheet), "text/css; charset=utf-8");
  });
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { redirect(res, "/sessions"); });
  svr.Get("/sign-in", [this](const httplib::Request& req, httplib::Response& res) { sign_in_form(req, res); });
  svr.Post("/sign-in", [this](const httplib::Request& req, httplib::Response& res) { sign_in_post(req, res); });
  svr.Get(R"(/enrol/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) { enrol_form(req, res); });
  svr.Post(R"(/enrol/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) { enrol_post(req, res); });
  svr.Get(R"(/login/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) { link_form(req, res); });
  svr.Post(R"(/login/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) { link_post(req, res); });
  svr.Post("/sign-out", [this](const httplib::Request& req, httplib::Response& res) { sign_out(req, res); });
  svr.Get("/sessions", [this](const httplib::Request& req, httplib::Response& res) { sessions_list(req, res); });
  svr.Get(R"(/sessions/(\d{1,18}))", [this](const httplib::Request& req, httplib::Response& res) { session_detail(req, res); });
  svr.Get(R"(/sessions/(\d{1,18})/recordings/(\d{1,18}))",
          [this](const httplib::Request& req, httplib::Response& res) { recording_download(req, res); });
  svr.Get(R"(/sessions/(\d{1,18})/recordings/(\d{1,18})/view)",
          [this](const httplib::Request& req, httplib::Response& res) { recording_view(req, res); });
  svr.Get(R"(/sessions/(\d{1,18})/recordings/(\d{1,18})/cast)",
          [this](const httplib::Request& req, httplib::Response& res) { recording_cast(req, res); });
  svr.Get("/report", [this](const httplib::Request& req, httplib::Response& res) { access_report(req, res); });
  svr.Get("/report.csv", [this](const httplib::Request& req, httplib::Response& res) { access_report(req, res); });
  svr.Get("/requests", [this](const httplib::Request& req, httplib::Response& res) { requests_page(req, res); });
  svr.Post(R"(/requests/(\d{1,18})/decide)",
           [this](const httplib::Request& req, httplib::Response& res) { request_decide(req, res); });
  svr.Get("/live", [this](const httplib::Request& req, httplib::Response& res) { live_sessions(req, res); });
  svr.Get(R"(/live/(\d{1,18})/end)", [this](const httplib::Request& req, httplib::Response& res) { end_confirm(req, res); });
  svr.Post(R"(/live/(\d{1,18})/end)", [this](const httplib::Request& req, httplib::Response& res) { end_post(req, res); });
  svr.Get("/grants", [this](const httplib::Request& req, httplib::Response& res) { grants_page(req, res); });
  svr.Get("/export", [this](const httplib::Request& req, httplib::Response& res) { export_page(req, res); });
  svr.Post("/export", [this](const httplib::Request& req, httplib::Response& res) { export_post(req, res); });
  svr.Get("/static/play.js", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kPlayScript), "text/javascript; charset=utf-8");
  });
  svr.Get("/static/player/asciinema-player.min.js", [this](const httplib::Request&, httplib::Response& res) {
    if (settings_.player_js.empty()) res.status = 404;
    else res.set_content(settings_.player_js, "text/javascript; charset=utf-8");
  });
  svr.Get("/static/player/asciinema-player.css", [this](const httplib::Request&, httplib::Response& res) {
    if (settings_.player_css.empty()) res.status = 404;
    else res.set_content(settings_.player_css, "text/css; charset=utf-8");
  });
}

std::unique_ptr<RequestScope> Portal::open_scope(httplib::Response& res) {
  auto db = pool_.take();
  if (!db) {
    spdlog::error("database {}: {}", db::Database::shown(settings_.db_path), db.error().message);
    show(res, {"Unavailable", notice("The bastion database cannot be reached or read; nobody can sign in until it is "
                                     "back. Try again in a moment; if this lasts, tell the bastion's administrators.",
                                     true),
               "", ""},
         503);
    return nullptr;
  }
  return RequestScope::on(*db, clock_, settings_.sinks, settings_.master_key_path);
}

std::string Portal::pre_session_csrf(const httplib::Request& req, httplib::Response& res) {
  auto pre = cookie_value(req.get_header_value("Cookie"), kPreSessionCookie);
  if (!pre || pre->size() != 64) {
    pre = authz::new_web_token();
    res.set_header("Set-Cookie", cookie_header(kPreSessionCookie, *pre));
  }
  return authz::csrf_token(*pre);
}

bool Portal::pre_session_form_ok(const httplib::Request& req, httplib::Response& res) {
  const auto pre = cookie_value(req.get_header_value("Cookie"), kPreSessionCookie);
  if (pre && csrf_ok(req, authz::csrf_token(*pre))) return true;
  refuse_forged(res, "", "");
  return false;
}

bool Portal::csrf_ok(const httplib::Request& req, const std::string& expected) {
  return !expected.empty() && authz::same_secret(form_value(req, "csrf"), expected);
}

void Portal::sign_in_form(const httplib::Request& req, httplib::Response& res, const std::string& error) {
  const std::string csrf = pre_session_csrf(req, res);
  std::string body;
  if (!error.empty()) body += notice(error, true);
  if (req.has_param("enrolled")) body += notice("Your password is set. Sign in with it and a code from your app.", false);
  if (req.has_param("ended")) body += notice("You were signed out.", false);
  body += "<form method=\"post\" action=\"/sign-in\">" + hidden_csrf(csrf) +
          "<label for=\"account\">Account</label>"
          "<input id=\"account\" name=\"account\" autocomplete=\"username\" required maxlength=\"64\" value=\"" +
          escape(form_value(req, "account")) + "\">"
          "<label for=\"password\">Password</label>"
          "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
          "<label for=\"code\">Verification code</label>"
          "<input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required "
          "pattern=\"[0-9]{6}\" maxlength=\"6\" aria-describedby=\"code-help\">"
          "<p id=\"code-help\">The 6-digit code from your authenticator app (the same as for SSH).</p>"
          "<button type=\"submit\">Sign in</button></form>";
  show(res, {"Sign in", body, "", ""}, error.empty() ? 200 : 401);
}

void Portal::sign_in_post(const httplib::Request& req, httplib::Response& res) {
  if (!pre_session_form_ok(req, res)) return;
  auto scope = open_scope(res);
  if (!scope) return;
  SignInAttempt a{form_value(req, "account"), form_value(req, "password"), form_value(req, "code"), req.remote_addr,
                  source_of(req)};
  auto done = sign_in(*scope, a, clock_, settings_.bans, settings_.sinks);
  if (!done) {
    sign_in_form(req, res, "Not signed in: " + done.error().message + ".");
    return;
  }
  res.set_header("Set-Cookie", cookie_header(kSessionCookie, done->token));
  res.set_header("Set-Cookie", cookie_header(kPreSessionCookie, "", 0));
  redirect(res, "/sessions");
}

namespace {

void link_refused(httplib::Response& res, const std::string& why) {
  show(res, {"Sign-in link not valid", notice("Not signed in: " + why + ".", true) +
                                           "<p><a href=\"/sign-in\">Sign in with your password instead</a></p>",
             "", ""},
       410);
}

}  // namespace

void Portal::link_form(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  const std::string token = req.matches[1];
  if (auto why = link_problem(*scope, token, clock_)) return link_refused(res, *why);
  const std::string csrf = pre_session_csrf(req, res);
  show(res, {"Sign in with your link",
             "<p>This one-time link from <code>web-login</code> signs you in to the portal. It works once, within 2 "
             "minutes of being printed.</p><form method=\"post\" action=\"/login/" + escape(token) + "\">" +
                 hidden_csrf(csrf) + "<button type=\"submit\">Sign in</button></form>",
             "", ""});
}

void Portal::link_post(const httplib::Request& req, httplib::Response& res) {
  if (!pre_session_form_ok(req, res)) return;
  auto scope = open_scope(res);
  if (!scope) return;
  const SignInAttempt where{"", "", "", req.remote_addr, source_of(req)};
  auto done = sign_in_with_link(*scope, req.matches[1].str(), where, clock_, settings_.bans, settings_.sinks);
  if (!done) return link_refused(res, done.error().message);
  res.set_header("Set-Cookie", cookie_header(kSessionCookie, done->token));
  res.set_header("Set-Cookie", cookie_header(kPreSessionCookie, "", 0));
  redirect(res, "/sessions");
}

void Portal::enrol_form(const httplib::Request& req, httplib::Response& res, const std::string& error) {
  auto scope = open_scope(res);
  if (!scope) return;
  const std::string token = req.matches[1];
  if (!authz::WebAccountStore(scope->db).enrolment_operator(authz::token_hash(token), clock_.now())) {
    show(res, {"Link not valid", notice("This enrolment link was already used, has expired or is mistyped. Ask your "
                                        "security officer for a new one.", true), "", ""}, 410);
    return;
  }
  const std::string csrf = pre_session_csrf(req, res);
  std::string body = error.empty() ? "" : notice(error, true);
  body += "<p>Choose the password of your web portal account: at least " + std::to_string(authz::kMinPasswordChars) +
          " characters. You will sign in with it and a code from your authenticator app.</p>"
          "<form method=\"post\" action=\"/enrol/" + escape(token) + "\">" + hidden_csrf(csrf) +
          "<label for=\"password\">New password</label>"
          "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>"
          "<label for=\"repeat\">Repeat the password</label>"
          "<input id=\"repeat\" name=\"repeat\" type=\"password\" autocomplete=\"new-password\" required>"
          "<button type=\"submit\">Set password</button></form>";
  show(res, {"Set your password", body, "", ""}, error.empty() ? 200 : 400);
}

void Portal::enrol_post(const httplib::Request& req, httplib::Response& res) {
  if (!pre_session_form_ok(req, res)) return;
  const std::string password = form_value(req, "password");
  if (auto why = authz::password_problem(password)) return enrol_form(req, res, "Not set: " + *why + ".");
  if (password != form_value(req, "repeat")) return enrol_form(req, res, "Not set: the two passwords differ.");
  auto scope = open_scope(res);
  if (!scope) return;
  const std::string hash_of_token = authz::token_hash(req.matches[1].str());
  authz::WebAccountStore web(scope->db);
  const Seconds now = clock_.now();
  auto hash = authz::hash_password(password);
  if (!hash) return enrol_form(req, res, "Not set: " + hash.error().message + ".");
  db::Database::Transaction tx(*scope->db);
  const auto operator_id = web.enrolment_operator(hash_of_token, now);
  if (!operator_id || !web.use_enrolment(hash_of_token, now)) {
    show(res, {"Link not valid", notice("This enrolment link was already used or has expired.", true), "", ""}, 410);
    return;
  }
  web.set_password(*operator_id, *hash, now);
  std::string name;
  for (const auto& op : scope->store.list_operators()) {
    if (op.id == *operator_id) name = op.name;
  }
  audit::Event ev{now, "web.password.set", name, source_of(req), "", {}, {{"through", "enrolment link"}}};
  if (auto st = scope->events->append(ev); !st) {
    show(res, {"Unavailable", notice("The audit log cannot be written, so nothing was changed.", true), "", ""}, 503);
    return;
  }
  tx.commit();
  res.set_header("Set-Cookie", cookie_header(kPreSessionCookie, "", 0));
  redirect(res, "/sign-in?enrolled=1");
}

std::optional<Viewer> Portal::signed_in(RequestScope& scope, const httplib::Request& req, httplib::Response& res) {
  const auto refuse = [&] {
    if (req.method == "POST") {
      show(res, {"Refused", notice("You are not signed in.", true), "", ""}, 403);
    } else {
      redirect(res, "/sign-in");
    }
    return std::nullopt;
  };
  const auto token = cookie_value(req.get_header_value("Cookie"), kSessionCookie);
  if (!token || token->size() != 64) return refuse();
  authz::WebAccountStore web(scope.db);
  const auto row = web.find_session(authz::token_hash(*token));
  if (!row || row->ended) return refuse();
  const Seconds now = clock_.now();
  const auto who = scope.store.find_operator(row->operator_name);
  const auto over = authz::web_session_ended(row->created, row->last_seen, now);
  if (over || !who || who->disabled || who->role == authz::Role::Operator) {
    web.end_session(row->id, now);
    res.set_header("Set-Cookie", cookie_header(kSessionCookie, "", 0));
    return refuse();
  }
  web.touch_session(row->id, now);
  return Viewer{*who, row->id, authz::csrf_token(*token), source_of(req)};
}

void Portal::sign_out(const httplib::Request& req, httplib::Response& res) {
  auto scope = open_scope(res);
  if (!scope) return;
  auto v = signed_in(*scope, req, res);
  if (!v) return;
  if (!csrf_ok(req, v->csrf)) return refuse_forged(res, v->who.name, v->csrf);
  authz::WebAccountStore(scope->db).end_session(v->web_session_id, clock_.now());
  res.set_header("Set-Cookie", cookie_header(kSessionCookie, "", 0));
  redirect(res, "/sign-in?ended=1");
}

void Portal::not_found(RequestScope& scope, const Viewer& v, std::int64_t session_id, httplib::Response& res) {
  audit::Event ev{clock_.now(), "review.refused", v.who.name, v.source, "", session_id,
                  {{"front", "web"}, {"reason", "session " + std::to_string(session_id) + " is not one of your client's sessions"}}};
  if (auto st = scope.events->append(ev); !st) spdlog::error("review.refused could not be recorded: {}", st.error().message);
  show(res, {"Not found", notice("There is no session " + std::to_string(session_id) + " among those you may review.", true),
             v.who.name, v.csrf, v.officer()},
       404);
}

}  // namespace bastion::web
