#pragma once
// What the browser tests of bastion-web share (portal_browser_test.cc, postgres_browser_test.cc):
// bastion-web itself, started on the database of a Bastion of the e2e harness (a SQLite file or a
// postgresql:// URL, with its keys), and a few readings of that bastion's records.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "tests/e2e/harness/bastion.h"
#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

inline bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// WebDaemon: bastion-web on a free port of 127.0.0.1, on b's database, stopped on destruction.
// On PostgreSQL (or with keys away from the database) it is given b's --key-dir, as bastiond and
// bastionctl are; on a SQLite file beside its keys it finds them itself.
class WebDaemon {
 public:
  WebDaemon(const Bastion& b, const std::string& dir) : log_(dir + "/bastion-web.log") {
    using namespace std::chrono_literals;
    const std::string cert = dir + "/web.crt", key = dir + "/web.key";
    b.ctl_ok({"web-cert", "--cert", cert, "--key", key, "--host", "127.0.0.1"});
    SpawnOptions o;
    o.argv = {BASTION_WEB_PATH, "--db", b.db(), "--cert", cert, "--key", key, "--listen", "127.0.0.1", "--port", "0",
              "--player-dir", std::string(WEB_NODE_MODULES) + "/asciinema-player/dist/bundle"};
    if (b.db().starts_with("postgres") || b.key_dir() != b.dir()) o.argv.insert(o.argv.end(), {"--key-dir", b.key_dir()});
    o.stdout_file = log_;
    o.stderr_file = log_;
    proc_ = std::make_unique<Process>(o);
    const std::regex listening(R"(listening on (https://127\.0\.0\.1:\d+))");
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
      std::smatch m;
      const std::string text = read_all(log_);
      if (std::regex_search(text, m, listening)) {
        url_ = m[1];
        return;
      }
      if (!proc_->running()) break;
      std::this_thread::sleep_for(50ms);
    }
    throw HarnessError("bastion-web did not start: " + read_all(log_));
  }
  ~WebDaemon() {
    if (proc_) proc_->terminate(std::chrono::seconds(5));
  }
  const std::string& url() const { return url_; }
  std::string log() const { return read_all(log_); }

 private:
  std::string log_, url_;
  std::unique_ptr<Process> proc_;
};

// browser_missing: why the browser tests cannot run here ("" if they can): playwright-core and
// axe-core in web/node_modules (scripts/install-deps, npm ci in web/; never fetched at run time),
// and Debian's chromium.
inline std::string browser_missing() {
  const std::string modules = WEB_NODE_MODULES;
  if (!exists(modules + "/playwright-core") || !exists(modules + "/axe-core"))
    return "web/node_modules lacks playwright-core or axe-core: run scripts/install-deps (npm ci in web/); the "
           "browser tests never fetch them at run time";
  if (!exists("/usr/bin/chromium")) return "/usr/bin/chromium is missing: run scripts/install-deps";
  return "";
}

// BrowserScript: the browser half (a .cjs beside this file) of the running test. Its artifacts
// directory, build/test-artifacts/web/<test>/, starts empty; env holds what every script reads
// (WEB_NODE_MODULES, PORTAL_URL, ARTIFACTS), the test adds its own. run() keeps every check the
// browser made in checks.txt, beside the screenshots.
class BrowserScript {
 public:
  BrowserScript(std::string script, const std::string& portal_url)
      : script_(std::move(script)),
        artifacts_(std::string(ARTIFACT_ROOT) + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name()) {
    std::filesystem::remove_all(artifacts_);
    std::filesystem::create_directories(artifacts_);
    env = base_env();
    env["WEB_NODE_MODULES"] = WEB_NODE_MODULES;
    env["PORTAL_URL"] = portal_url;
    env["ARTIFACTS"] = artifacts_;
  }
  const std::string& artifacts() const { return artifacts_; }
  RunResult run(std::chrono::seconds timeout = std::chrono::seconds(200)) const {
    RunResult js = ::bastion::e2e::run({"node", std::string(BROWSER_SCRIPTS) + "/" + script_}, env, std::nullopt, timeout);
    std::ofstream(artifacts_ + "/checks.txt") << js.out;
    return js;
  }

  Env env;

 private:
  std::string script_, artifacts_;
};

// last_session_on: the id of the latest session on `server` (`sessions list`); throws if none.
inline std::int64_t last_session_on(const Bastion& b, const std::string& server) {
  std::int64_t id = 0;
  for (const auto& s : b.ctl_json({"sessions", "list"})) {
    if (s["server"] == server) id = s["id"].get<std::int64_t>();
  }
  if (id == 0) throw HarnessError("no session on " + server);
  return id;
}

inline std::size_t count_events(const Bastion& b, const std::string& kind) {
  return b.ctl_json({"audit", "list", "--kind", kind}).size();
}

}  // namespace bastion::e2e
