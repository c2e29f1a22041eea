#pragma once
// AdminFixture: a fresh temp SQLite database behind the real store, session store and event log,
// a FixedClock, and run() to run one admin command line as any account.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "gateway/admin/commands.h"

namespace bastion::gateway::admin::testing {

using Json = nlohmann::json;

constexpr std::string_view kAliceKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v alice@laptop\n";
constexpr std::string_view kAliceFingerprint = "SHA256:gjyU1mXFm9Jym5uYH55dupWsAYxr8Xsn00+xQEH5co4";
constexpr std::string_view kSecondKey =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKnhKknFFf5CZSlsyVVExBSaqPJ/90sv50yWQ"
    "etLLFgrgw9w8HhNBTDOnSZRea5w73ZTKFuqt5VhF8Vw+nUebho= alice@phone\n";
constexpr std::string_view kSecondFingerprint = "SHA256:eDKGY7mzQvTD3C73HyQScfW9657PrvMNcMQ2VcLH4vk";
constexpr std::string_view kHostKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINVIiUmQJB9bGpPU5seLt/ayPjeIU7PtuufwABpim9es";
inline const Seconds kNow = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC

// FailingEventLog refuses every event, as a full disk or a broken sink would.
class FailingEventLog final : public audit::EventLog {
 public:
  Status append(const audit::Event&) override { return Error{"disk full"}; }
};

class AdminFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-admin-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto db = db::Database::open(database_location(), true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    store_ = std::make_unique<authz::SqliteStore>(db_, clock_);
    sessions_ = std::make_unique<audit::SqliteSessionStore>(db_);
    audit::EventSinks quiet;
    quiet.auth_failure_lines = false;
    events_ = audit::open_event_log(db_, quiet);
    key_file_ = dir_ + "/alice.pub";
    std::ofstream(key_file_) << kAliceKey;
    second_key_file_ = dir_ + "/phone.pub";
    std::ofstream(second_key_file_) << kSecondKey;
  }
  // database_location: where the fixture's database is (a SQLite file in dir_; a suite on
  // PostgreSQL returns its schema's URL). dir_ is set when it is asked.
  virtual std::string database_location() { return dir_ + "/bastion.db"; }

  void TearDown() override {
    events_.reset();
    sessions_.reset();
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // run runs one command line as `actor`; output lands in out_ and err_ (cleared first).
  int run(std::vector<std::string> args, std::string actor = "olivia", authz::Role role = authz::Role::Officer,
          std::string client = "") {
    return run_with(*events_, std::move(args), std::move(actor), role, std::move(client));
  }

  int run_with(audit::EventLog& events, std::vector<std::string> args, std::string actor = "olivia",
               authz::Role role = authz::Role::Officer, std::string client = "") {
    out_.str("");
    err_.str("");
    CommandContext ctx{.store = *store_, .clock = clock_, .out = out_, .err = err_, .events = events,
                       .sessions = *sessions_, .actor = std::move(actor), .actor_role = role,
                       .actor_client = std::move(client), .source = "203.0.113.7:51234",
                       .remote = remote_, .keys = default_key_paths(dir_ + "/bastion.db"),
                       .db = db_, .recordings_dir = {}, .out_is_terminal = false, .portal_url = portal_url_};
    return run_command(args, ctx);
  }

  // events_of returns the stored events of exactly that kind, oldest first.
  std::vector<audit::StoredEvent> events_of(const std::string& kind) {
    audit::EventFilter f;
    f.kind = kind;
    return audit::list_events(*db_, f);
  }
  std::size_t event_count() { return audit::list_events(*db_, {}).size(); }

  // setup_web1: alice (operator); web1 (dedicated, client acme) with shell and status; pub1
  // (shared, acme) with shell; db1 (dedicated, client globex) with shell.
  void setup_web1() {
    ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk) << err_.str();
    add_server("web1", "acme", "dedicated");
    add_server("pub1", "acme", "shared");
    add_server("db1", "globex", "dedicated");
    ASSERT_EQ(run({"catalogue", "add", "web1", "status", "--type", "exec", "--pattern", "systemctl status *"}), kExitOk)
        << err_.str();
  }

  void add_server(const std::string& name, const std::string& client, const std::string& kind) {
    ASSERT_EQ(run({"server", "add", name, "--host", "10.0.0.5", "--port", "22", "--client", client, "--kind", kind,
                   "--host-key", std::string(kHostKey)}),
              kExitOk)
        << err_.str();
    ASSERT_EQ(run({"catalogue", "add", name, "shell", "--type", "shell"}), kExitOk) << err_.str();
  }

  // grant gives alice `ops` on server for `span` from now; returns the grant id.
  std::int64_t grant(const std::string& server, const std::string& ops = "shell", const std::string& span = "4h") {
    EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", server, "--login", "root", "--ops", ops, "--for",
                   span, "--reason", "ticket 42", "--json"}),
              kExitOk)
        << err_.str();
    return Json::parse(out_.str()).at("id").get<std::int64_t>();
  }

  std::string dir_, key_file_, second_key_file_;
  bool remote_ = false;     // run() as over SSH
  std::string portal_url_;  // bastiond --portal-url
  FixedClock clock_{kNow};
  db::DatabasePtr db_;
  std::unique_ptr<authz::SqliteStore> store_;
  std::unique_ptr<audit::SqliteSessionStore> sessions_;
  audit::EventLogPtr events_;
  std::ostringstream out_, err_;
};

}  // namespace bastion::gateway::admin::testing
