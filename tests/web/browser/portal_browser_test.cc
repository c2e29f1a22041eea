// The client's window in a browser (issue 18): sessions recorded by the real bastiond through a
// real sshd, served by a real bastion-web over HTTPS, reviewed in Debian's chromium. The browser
// half is portal.cjs (playwright-core + axe-core); this half builds the world, runs it, and checks
// the audit trail afterwards. Screenshots: build/test-artifacts/web/<test>/.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"
#include "tests/web/browser/web_daemon.h"

namespace bastion::e2e {
namespace {

using namespace std::chrono_literals;

TEST(WebPortal, ReviewerSignsInWithPasswordAndTotpAndSeesOnlyItsClientsSessions) {
  ASSERT_EQ(browser_missing(), "");

  TestEnv env;
  env.bastion.add_server("web2", env.target.port(), "dedicated", env.target.host_key_line(), "globex");
  // Two operators: one login each, so no TOTP step is needed twice (tests/e2e/harness/bastion.h).
  OperatorIdentity op = env.new_operator("op");
  OperatorIdentity op2 = env.new_operator("op", kAllOps, "web2");

  // One recorded terminal session on acme's web1, one exec session on globex's web2.
  RunResult pty = run_in_pty(op.ssh(op.user(env.login(), "web1"), {}, {"-t"}), op.env(),
                             "echo portal-$((6*7))\nexit\n", 100, 30, 60s);
  ASSERT_EQ(pty.exit(), 0) << diag(env, pty);
  const std::int64_t own = last_session_on(env.bastion, "web1");
  RunResult other = run_as(op2, op2.ssh(op2.user(env.login(), "web2"), {"echo", "globex-secret"}));
  ASSERT_EQ(other.exit(), 0) << diag(env, other);
  const std::int64_t foreign = last_session_on(env.bastion, "web2");
  // And an exec session on acme's web1, by a third operator (its own TOTP step), under a break-glass
  // grant: the client's view flags it.
  OperatorIdentity op3 = env.new_operator("op", {});
  env.bastion.ctl_ok({"grant", "add", "--operator", op3.name(), "--server", "web1", "--login", env.login(), "--ops",
                      "exec-any", "--for", "1h", "--emergency", "--reason", "outage 77"});
  RunResult exec = run_as(op3, op3.ssh(op3.user(env.login(), "web1"), {"echo", "exec-out-$((3+4))", ";", "echo", "exec-err", ">&2"}));
  ASSERT_EQ(exec.exit(), 0) << diag(env, exec);
  const std::int64_t exec_session = last_session_on(env.bastion, "web1");

  // Two requests on acme's web1 that wait for acme's approval: carol approves one and denies the other.
  env.bastion.ctl_ok({"client", "set-approvals", "acme", "client"});
  const auto ask = [&](const char* why) {
    return env.bastion.ctl_json({"request", "add", "web1", "--login", env.login(), "--ops", "shell", "--for", "1h",
                                 "--reason", why, "--operator", op.name()})["id"].get<std::int64_t>();
  };
  const std::int64_t to_approve = ask("ticket 101"), to_deny = ask("ticket 102");

  WebDaemon web(env.bastion, env.tmp.sub("web", true));
  const auto carol = env.bastion.ctl_json(
      {"operator", "add", "carol", "--role", "client", "--client", "acme", "--web", "--portal-url", web.url()});
  BrowserScript js_run("portal.cjs", web.url());
  Env& js_env = js_run.env;
  const std::string& artifacts = js_run.artifacts();

  const std::size_t viewed_before = count_events(env.bastion, "recording.viewed");
  js_env["ENROL_URL"] = carol["web_enrolment_url"].get<std::string>();
  js_env["ACCOUNT"] = "carol";
  js_env["TOTP_SECRET"] = carol["totp_secret"].get<std::string>();
  js_env["OWN_SESSION"] = std::to_string(own);
  js_env["OTHER_SESSION"] = std::to_string(foreign);
  js_env["EXEC_SESSION"] = std::to_string(exec_session);
  js_env["REQ_APPROVE"] = std::to_string(to_approve);
  js_env["REQ_DENY"] = std::to_string(to_deny);
  RunResult js = js_run.run();
  EXPECT_EQ(js.exit(), 0) << js.out << js.err << "\nbastion-web log:\n" << web.log();

  // The trail: carol's readings of a recording (the download, the player page twice — opened, then
  // fetched again for its headers — the player's fetch of the cast, and the exec text page), and
  // her try at globex's session, are on record.
  EXPECT_EQ(count_events(env.bastion, "recording.viewed"), viewed_before + 5);
  // The decisions went through the command set: the request store says so, with carol as decider.
  const auto approved = env.bastion.ctl_json({"request", "show", std::to_string(to_approve)});
  EXPECT_TRUE(approved["state"] == "active" || approved["state"] == "approved") << approved.dump();
  EXPECT_EQ(approved["approvals"].at(0)["approver"], "carol") << approved.dump();
  const auto denied = env.bastion.ctl_json({"request", "show", std::to_string(to_deny)});
  EXPECT_EQ(denied["state"], "denied") << denied.dump();
  EXPECT_EQ(denied["decided_by"], "carol") << denied.dump();
  EXPECT_EQ(denied["decision_reason"], "not this week") << denied.dump();
  bool refused_logged = false;
  for (const auto& e : env.bastion.ctl_json({"audit", "list", "--kind", "review.refused"})) {
    refused_logged |= e["actor"] == "carol" && e["session_id"] == foreign;
  }
  EXPECT_TRUE(refused_logged) << "no review.refused event for carol and session " << foreign;
  EXPECT_GE(count_events(env.bastion, "auth.failure"), 3u);  // wrong password, wrong code, reused code
  // Her readings of the access report (the page, then the CSV), and her two exports, acme's.
  std::size_t report_views = 0;
  for (const auto& e : env.bastion.ctl_json({"audit", "list", "--kind", "report.viewed"})) {
    report_views += e["actor"] == "carol" && e["details"]["client"] == "acme" ? 1 : 0;
  }
  EXPECT_EQ(report_views, 2u);
  const auto exports = env.bastion.ctl_json({"audit", "list", "--kind", "admin.client.export"});
  ASSERT_EQ(exports.size(), 2u) << exports.dump();
  for (const auto& e : exports) {
    EXPECT_EQ(e["actor"], "carol");
    EXPECT_EQ(e["details"]["client"], "acme");
  }
  for (const char* page : {"sign-in", "enrol", "sessions", "session", "player", "exec", "report", "requests", "not-found",
                           "grants", "export"}) {
    EXPECT_TRUE(exists(artifacts + "/" + page + ".png")) << "no screenshot of the " << page << " page";
  }
}

// An officer ends a running SSH session from the portal: the live list, the confirmation page, the
// POST (with its CSRF token) that runs `sessions kill`; the ssh client is really cut, and the end is
// on record under the officer's name. Then the grants, and a client's export.
TEST(WebPortal, OfficerEndsALiveSessionFromThePortal) {
  ASSERT_EQ(browser_missing(), "");
  TestEnv env;
  OperatorIdentity op = env.new_operator("op", {"shell"});
  LiveClient ssh(op.ssh(op.user(env.login(), "web1"), {}, {"-tt"}), op.env(), env.tmp.sub("stdin"));
  ssh.type("echo ready-$((6*7))\n");
  ASSERT_TRUE(ssh.wait_for_output("ready-42", 30s)) << diag(env, ssh.result());
  ssh.type("sleep 600\n");
  std::int64_t live = 0;
  for (const auto& s : env.bastion.ctl_json({"sessions", "list", "--live"})) live = s["id"].get<std::int64_t>();
  ASSERT_NE(live, 0) << "no live session";

  WebDaemon web(env.bastion, env.tmp.sub("web", true));
  const auto olga = env.bastion.ctl_json({"operator", "add", "olga", "--role", "officer", "--web", "--portal-url", web.url()});
  BrowserScript js_run("officer.cjs", web.url());
  Env& js_env = js_run.env;
  const std::string& artifacts = js_run.artifacts();
  js_env["ENROL_URL"] = olga["web_enrolment_url"].get<std::string>();
  js_env["ACCOUNT"] = "olga";
  js_env["TOTP_SECRET"] = olga["totp_secret"].get<std::string>();
  js_env["LIVE_SESSION"] = std::to_string(live);
  RunResult js = js_run.run();
  EXPECT_EQ(js.exit(), 0) << js.out << js.err << "\nbastion-web log:\n" << web.log();

  // The ssh client was cut (not the 600 s sleep ending), and told by whom.
  const auto status = ssh.wait(10s);
  ASSERT_TRUE(status.has_value()) << "the session still runs after the portal ended it\n" << diag(env, ssh.result());
  EXPECT_NE(status->exit_code(), 0);
  EXPECT_NE(ssh.err().find("ended by"), std::string::npos) << diag(env, ssh.result());
  for (const auto& s : env.bastion.ctl_json({"sessions", "list"})) {
    if (s["id"] == live) {
      EXPECT_NE(s["status"], "live") << s.dump();
    }
  }
  bool killed_by_olga = false;
  for (const auto& e : env.bastion.ctl_json({"audit", "list", "--kind", "admin.session.kill"})) {
    killed_by_olga |= e["actor"] == "olga" && e["server"] == "web1";
  }
  EXPECT_TRUE(killed_by_olga) << "no admin.session.kill event by olga";
  const auto exports = env.bastion.ctl_json({"audit", "list", "--kind", "admin.client.export"});
  ASSERT_EQ(exports.size(), 1u) << exports.dump();
  EXPECT_EQ(exports[0]["actor"], "olga");
  for (const char* page : {"live", "end-confirm"}) {
    EXPECT_TRUE(exists(artifacts + "/" + page + ".png")) << "no screenshot of the " << page << " page";
  }
}

// `ssh carol@bastion web-login` (key + TOTP over real ssh) prints a one-time link of bastiond's
// --portal-url; in chromium it signs carol in once, and a second use is refused with a page and an
// event; an operator asking for one is refused. Then the sessions list sorted by each column.
TEST(WebPortal, ReviewerSignsInWithAWebLoginLinkFromSshAndSortsTheSessions) {
  ASSERT_EQ(browser_missing(), "");
  std::unique_ptr<WebDaemon> web;
  TestEnv env([&](Bastion& b) {
    // bastion-web first, on a free port: its address is bastiond's --portal-url.
    std::filesystem::create_directories(b.dir() + "/web");
    web = std::make_unique<WebDaemon>(b, b.dir() + "/web");
    b.set_daemon_args({"--portal-url", web->url()});
  });
  env.bastion.add_server("web9", env.target.port(), "dedicated", env.target.host_key_line(), "acme");
  // Three sessions to sort: a long one by op1 on web1, short ones by op2 on web9 and op3 on web1.
  OperatorIdentity op1 = env.new_operator("op", kAllOps, "web1");
  OperatorIdentity op2 = env.new_operator("op", kAllOps, "web9");
  OperatorIdentity op3 = env.new_operator("op", kAllOps, "web1");
  ASSERT_EQ(run_as(op1, op1.ssh(op1.user(env.login(), "web1"), {"sleep", "3"})).exit(), 0);
  const std::int64_t long_one = last_session_on(env.bastion, "web1");
  ASSERT_EQ(run_as(op2, op2.ssh(op2.user(env.login(), "web9"), {"true"})).exit(), 0);
  const std::int64_t on_web9 = last_session_on(env.bastion, "web9");
  ASSERT_EQ(run_as(op3, op3.ssh(op3.user(env.login(), "web1"), {"true"})).exit(), 0);
  const std::int64_t last = last_session_on(env.bastion, "web1");

  // An operator gets no link.
  OperatorIdentity op4 = env.new_operator("op", {});
  RunResult refused = run_as(op4, op4.ssh(op4.user(), {"web-login"}));
  EXPECT_NE(refused.exit(), 0);
  EXPECT_NE(refused.err.find("the web portal is for client reviewers and security officers"), std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.out.find("/login/"), std::string::npos) << refused.out;

  // carol: a client reviewer with an SSH key (no web password at all), over real ssh + TOTP.
  OperatorIdentity carol = env.bastion.add_operator("carol", {"--role", "client", "--client", "acme"});
  RunResult got = run_as(carol, carol.ssh(carol.user(), {"web-login"}));
  ASSERT_EQ(got.exit(), 0) << diag(env, got);
  std::smatch m;
  const std::regex link_re("sign-in link for carol \\(once, within 2 minutes\\): (" + web->url() + "/login/[0-9a-f]{64})\n");
  ASSERT_TRUE(std::regex_search(got.out, m, link_re)) << got.out << got.err;
  const std::string link = m[1];

  BrowserScript js_run("link_sort.cjs", web->url());
  Env& js_env = js_run.env;
  const std::string& artifacts = js_run.artifacts();
  js_env["LOGIN_URL"] = link;
  js_env["LONG_SESSION"] = std::to_string(long_one);
  js_env["WEB9_SESSION"] = std::to_string(on_web9);
  js_env["LAST_SESSION"] = std::to_string(last);
  RunResult js = js_run.run();
  EXPECT_EQ(js.exit(), 0) << js.out << js.err << "\nbastion-web log:\n" << web->log();

  const auto issued = env.bastion.ctl_json({"audit", "list", "--kind", "web.login_link.issued"});
  ASSERT_EQ(issued.size(), 1u) << issued.dump();
  EXPECT_EQ(issued[0]["actor"], "carol");
  int link_success = 0, link_reused = 0;
  for (const auto& e : env.bastion.ctl_json({"audit", "list", "--kind", "auth"})) {
    if (e["details"].value("method", "") != "web-login-link") continue;
    link_success += e["kind"] == "auth.success" && e["actor"] == "carol";
    link_reused += e["kind"] == "auth.failure" && e["details"]["reason"] == "sign-in link already used";
  }
  EXPECT_EQ(link_success, 1) << "one sign-in with the link, recorded";
  EXPECT_EQ(link_reused, 1) << "the second use, refused and recorded";
  for (const char* page : {"login-link", "login-link-reused", "sessions-by-duration", "sessions-by-server"}) {
    EXPECT_TRUE(exists(artifacts + "/" + page + ".png")) << "no screenshot of " << page;
  }
  web.reset();
}

}  // namespace
}  // namespace bastion::e2e
