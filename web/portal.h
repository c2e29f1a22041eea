#pragma once
// Portal: the routes of bastion-web. Sign-in and enrolment, then the reviewer's views (sessions
// list, one session, its recordings: download, player, exec text; the access report; requests to
// approve or deny; live sessions, with an officer's end button; grants; the client export), each
// answered from a RequestScope of its own.
//
// Who sees what: client reviewers their own client's sessions only, officers everything
// (gateway/admin/review.h, the command set's rule, with the client as the CHAIN states it).
// Operators have no portal access at all: they review nothing, and their own sessions are on
// the record for officers and clients, not for them to browse.
#include <memory>
#include <optional>
#include <string>

#include <httplib.h>

#include "audit/event_sinks.h"
#include "audit/session_store.h"
#include "authz/bans.h"
#include "authz/clock.h"
#include "authz/model.h"
#include "web/database_pool.h"

namespace bastion::web {

class RequestScope;

struct PortalSettings {
  std::string db_path;
  std::string master_key_path;  // opens the clients' data keys for the player (audit/data_keys.h)
  authz::BanPolicy bans;
  audit::EventSinks sinks;
  int page_size = 50;  // sessions per page of the list
  // asciinema-player's bundle (read from --player-dir at start); empty: the player page says so.
  std::string player_js, player_css;
};

// Viewer: the signed-in account of a request.
struct Viewer {
  authz::Operator who;
  std::int64_t web_session_id = 0;
  std::string csrf;    // the form token of this session
  std::string source;  // "address:port"
  bool officer() const { return who.role == authz::Role::Officer; }
};

class Portal {
 public:
  Portal(PortalSettings settings, const Clock& clock)
      : settings_(std::move(settings)), clock_(clock), pool_(settings_.db_path) {}

  // install registers every route and the response policy on svr.
  void install(httplib::Server& svr);

 private:
  void sign_in_form(const httplib::Request& req, httplib::Response& res, const std::string& error = "");
  void sign_in_post(const httplib::Request& req, httplib::Response& res);
  void enrol_form(const httplib::Request& req, httplib::Response& res, const std::string& error = "");
  void enrol_post(const httplib::Request& req, httplib::Response& res);
  // /login/TOKEN: a one-time link from `ssh NAME@bastion web-login`. The GET shows a button (so
  // that a link previewer fetching the URL uses nothing); its POST, with the pre-session CSRF
  // token, signs the link's account in (web/sign_in.h sign_in_with_link).
  void link_form(const httplib::Request& req, httplib::Response& res);
  void link_post(const httplib::Request& req, httplib::Response& res);
  void sign_out(const httplib::Request& req, httplib::Response& res);
  void sessions_list(const httplib::Request& req, httplib::Response& res);
  void session_detail(const httplib::Request& req, httplib::Response& res);
  void recording_download(const httplib::Request& req, httplib::Response& res);
  void access_report(const httplib::Request& req, httplib::Response& res);  // /report and /report.csv
  void requests_page(const httplib::Request& req, httplib::Response& res);
  void request_decide(const httplib::Request& req, httplib::Response& res);
  // Live sessions (everyone sees those of the servers they review; officers may end one, after a
  // confirmation page, through `sessions kill`), grants (`grant list`), and the client export.
  void live_sessions(const httplib::Request& req, httplib::Response& res);
  void end_confirm(const httplib::Request& req, httplib::Response& res);
  void end_post(const httplib::Request& req, httplib::Response& res);
  void grants_page(const httplib::Request& req, httplib::Response& res);
  void export_page(const httplib::Request& req, httplib::Response& res);
  void export_post(const httplib::Request& req, httplib::Response& res);
  void recording_view(const httplib::Request& req, httplib::Response& res);
  void recording_cast(const httplib::Request& req, httplib::Response& res);
  // serve_recording streams a recording's file: as a download, or to the player (no attachment).
  // Either is a recording.viewed event first.
  // exec_text: the page of an exec recording, its stdin, stdout and stderr as text.
  void exec_text(RequestScope& scope, const Viewer& v, const audit::SessionRow& s, const audit::RecordingRow& rec,
                 httplib::Response& res);
  void serve_recording(const httplib::Request& req, httplib::Response& res, bool for_player);
  // visible_recording: the session and recording the URL names (/sessions/N/recordings/M), if this
  // viewer may see the session and the recording is one of its; otherwise nothing, and res is the
  // 404 (with its audit event).
  struct SessionRecording {
    audit::SessionRow session;
    audit::RecordingRow recording;
  };
  std::optional<SessionRecording> visible_recording(RequestScope& scope, const Viewer& v, const httplib::Request& req,
                                                    httplib::Response& res);
  // recording_gone: the 410 page of a recording whose file cannot be read: purged or moved, or
  // (`why`) its client's key destroyed, or altered.
  static void recording_gone(const Viewer& v, std::int64_t recording_id, httplib::Response& res,
                             const std::string& why = "cannot be read (purged or moved)");

  // signed_in: the viewer of req, touching its session; nothing (and res set to a redirect to the
  // sign-in page, or 403 for a POST) if there is no live session.
  std::optional<Viewer> signed_in(RequestScope& scope, const httplib::Request& req, httplib::Response& res);
  // csrf_ok: the request's "csrf" form field equals the viewer's token (constant time).
  static bool csrf_ok(const httplib::Request& req, const std::string& expected);
  // pre_session_form_ok: a sign-in or enrolment POST carries the token of its pre-session cookie;
  // if not, res is the 403 refusal.
  static bool pre_session_form_ok(const httplib::Request& req, httplib::Response& res);
  // pre_session_csrf: the token of the sign-in/enrolment forms, from the pre-session cookie
  // (a new cookie is set on res if there is none).
  static std::string pre_session_csrf(const httplib::Request& req, httplib::Response& res);
  // not_found: 404 for a session this viewer may not see, with an audit event saying who tried.
  void not_found(RequestScope& scope, const Viewer& v, std::int64_t session_id, httplib::Response& res);

  std::unique_ptr<RequestScope> open_scope(httplib::Response& res);

  PortalSettings settings_;
  const Clock& clock_;
  DatabasePool pool_;  // each request's connection (web/database_pool.h)
};

// done_notice: the confirmation a page shows after a POST redirected to it with ?done=CODE&id=N.
// CODE is one of a fixed set (approved, denied, kill-requested) and N digits only; anything else
// shows nothing, so a crafted link cannot make the portal say what it did not do.
std::string done_notice(const httplib::Request& req);

// source_of: "address:port" of the request's peer.
std::string source_of(const httplib::Request& req);

}  // namespace bastion::web
