// sessions list | play | export, audit list | verify | export, client set | list, purge, export.
#include <filesystem>

#include "audit/exec_recording.h"
#include "audit/session_closing.h"
#include "audit/sha256.h"
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::Json;
using testing::kNow;

const std::string kCast =
    "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 1795428000, \"env\": {\"TERM\": \"xterm\"}}\n"
    "[0.100000, \"o\", \"$ \"]\n";

class AuditCommandsTest : public testing::AdminFixture {
 protected:
  void SetUp() override {
    AdminFixture::SetUp();
    setup_web1();
    acme_ = add_session("web1", "acme", 2, "0-pty.cast", kCast, "asciicast");
    globex_ = add_session("db1", "globex", 1, "0-exec.rec", exec_file("uptime output\n"), "exec");
  }

  static std::string exec_file(const std::string& stdout_bytes) {
    std::string f(audit::kExecRecordingMagic);
    f += '\x01';
    f += std::string(8, '\0');
    const auto n = static_cast<std::uint32_t>(stdout_bytes.size());
    for (int shift : {24, 16, 8, 0}) f += static_cast<char>((n >> shift) & 0xFF);
    return f + stdout_bytes;
  }

  std::int64_t add_session(const std::string& server, const std::string& client, int age_days, const std::string& name,
                           const std::string& content, const std::string& kind) {
    const Seconds start = kNow - std::chrono::days(age_days);
    auto id = sessions_->start({"alice", server, "root", std::nullopt, client, "203.0.113.7:51234", start, 7});
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(events_->append({start, "session.start", "alice", "203.0.113.7:51234", server, *id,
                                 {{"login", "root"}, {"grant", nullptr}, {"client", client},
                                  {"started_at", to_unix(start)}}})
                    .ok());
    const std::string folder = dir_ + "/recordings/" + std::to_string(*id);
    std::filesystem::create_directories(folder);
    std::ofstream(folder + "/" + name, std::ios::binary) << content;
    audit::RecordingSummary r{folder + "/" + name, kind, audit::sha256_hex(content), 3, content.size()};
    const audit::ClosingWrites closing{*id, 0, start, start + std::chrono::minutes(5), 0, "closed", "", r, "",
                                       "alice", "203.0.113.7:51234", server};
    EXPECT_TRUE(audit::apply_closing(db_, closing, {}, closing.ended_at).ok());
    return *id;
  }

  int as_carol(std::vector<std::string> args) { return run(std::move(args), "carol", authz::Role::Client, "acme"); }

  std::int64_t acme_ = 0, globex_ = 0;
};

TEST_F(AuditCommandsTest, SessionsListJsonIsOldestFirstWithTheReviewFields) {
  ASSERT_EQ(run({"sessions", "list", "--json"}), kExitOk) << err_.str();
  const Json all = Json::parse(out_.str());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].at("id"), acme_);
  EXPECT_EQ(all[1].at("id"), globex_);
  for (const char* field : {"operator", "server", "login", "client", "start", "end", "status", "exit_status"}) {
    EXPECT_TRUE(all[0].contains(field)) << field;
  }
  EXPECT_EQ(all[0].at("client"), "acme");
  EXPECT_EQ(all[1].at("exit_status"), 0);
  ASSERT_EQ(run({"sessions", "list", "--server", "db1", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).size(), 1u);
  ASSERT_EQ(run({"sessions", "list", "--live", "--json"}), kExitOk);
  EXPECT_TRUE(Json::parse(out_.str()).empty());
}

TEST_F(AuditCommandsTest, ClientReviewerSeesOnlyTheirClientsSessionsAndEvents) {
  ASSERT_EQ(as_carol({"sessions", "list", "--json"}), kExitOk) << err_.str();
  const Json sessions = Json::parse(out_.str());
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].at("server"), "web1");
  ASSERT_EQ(as_carol({"audit", "list", "--json"}), kExitOk) << err_.str();
  const Json events = Json::parse(out_.str());
  EXPECT_FALSE(events.empty());
  for (const auto& e : events) EXPECT_THAT(e.at("server").get<std::string>(), ::testing::AnyOf("web1", "pub1"));
  EXPECT_EQ(as_carol({"sessions", "list", "--client", "globex"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("you review the servers of acme only, not those of globex"));
}

TEST_F(AuditCommandsTest, ClientReviewerAskingForAnotherClientsSessionIsRefused) {
  for (const char* verb : {"play", "export"}) {
    EXPECT_EQ(as_carol({"sessions", verb, std::to_string(globex_)}), kExitRefused);
    EXPECT_EQ(err_.str(), "bastionctl: session " + std::to_string(globex_) + " is not one of your client's sessions\n");
  }
  EXPECT_EQ(as_carol({"sessions", "play", "999"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("session 999 is not one of your client's sessions"));
  EXPECT_EQ(as_carol({"sessions", "export", std::to_string(acme_)}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), kCast);
}

// Review reads the chain, not the row (issue 13): a client column or server edited in the database
// moves no session, and none of its events, into another client's review, in either direction;
// `audit verify` names the edit.
TEST_F(AuditCommandsTest, EditedSessionRowDoesNotMoveASessionBetweenClients) {
  db_->exec("UPDATE sessions SET client = 'acme', server = 'web1' WHERE id = " + std::to_string(globex_));
  db_->exec("UPDATE sessions SET client = 'globex', server = 'db1' WHERE id = " + std::to_string(acme_));
  ASSERT_EQ(as_carol({"sessions", "list", "--json"}), kExitOk) << err_.str();
  const Json sessions = Json::parse(out_.str());
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].at("id"), acme_);
  EXPECT_EQ(sessions[0].at("client"), "acme");
  EXPECT_EQ(as_carol({"sessions", "play", std::to_string(globex_)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("is not one of your client's sessions"));
  EXPECT_EQ(as_carol({"sessions", "export", std::to_string(acme_)}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), kCast);
  ASSERT_EQ(as_carol({"audit", "list", "--json"}), kExitOk) << err_.str();
  for (const auto& e : Json::parse(out_.str())) EXPECT_NE(e.at("session_id"), Json(globex_)) << e.dump();
  ASSERT_EQ(run({"sessions", "list", "--client", "acme", "--json"}), kExitOk) << err_.str();
  ASSERT_EQ(Json::parse(out_.str()).size(), 1u);
  EXPECT_EQ(Json::parse(out_.str())[0].at("id"), acme_);
  const std::string archive = dir_ + "/acme.tar.gz";
  ASSERT_EQ(run({"export", "--client", "acme", "--out", archive}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("1 session(s), 1 recording(s)"));
  EXPECT_EQ(run({"audit", "verify"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("was altered: its row says server"));
}

TEST_F(AuditCommandsTest, PlayWritesTheCastWhenNotATerminalAndAnExecChannelsStdout) {
  ASSERT_EQ(run({"sessions", "play", std::to_string(acme_)}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), kCast);
  ASSERT_EQ(run({"sessions", "play", std::to_string(globex_)}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "uptime output\n");
  ASSERT_EQ(run({"sessions", "play", std::to_string(acme_), "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at("events")[0][2], "$ ");
  EXPECT_EQ(run({"sessions", "play", std::to_string(acme_), "--channel", "3"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("has no recording of channel 3"));
}

TEST_F(AuditCommandsTest, AuditVerifyReportsIntactThenNamesTheAlteredEvent) {
  ASSERT_EQ(run({"audit", "verify"}), kExitOk) << err_.str();
  const auto events = event_count();
  EXPECT_EQ(out_.str(), "audit trail intact: " + std::to_string(events) + " events, 2 recordings, 2 sessions verified\n");
  db_->exec("UPDATE events SET actor = 'mallory' WHERE id = 2");
  EXPECT_EQ(run({"audit", "verify"}), kExitRefused);
  EXPECT_THAT(err_.str(), StartsWith("bastionctl: audit trail NOT intact: event 2 ("));
  EXPECT_EQ(as_carol({"audit", "verify"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("is an officer command"));
}

TEST_F(AuditCommandsTest, AuditListFiltersByKindAndExportWritesJsonLines) {
  ASSERT_EQ(run({"audit", "list", "--kind", "session", "--json"}), kExitOk) << err_.str();
  const Json listed = Json::parse(out_.str());
  ASSERT_EQ(listed.size(), 4u);  // each session's start and end
  EXPECT_EQ(listed[1].at("prev_hash"), events_of("")[listed[1].at("id").get<std::int64_t>() - 2].hash);
  ASSERT_EQ(run({"audit", "export"}), kExitOk);
  std::istringstream lines(out_.str());
  std::string line;
  std::size_t n = 0;
  for (; std::getline(lines, line); ++n) EXPECT_TRUE(Json::parse(line).contains("hash"));
  EXPECT_EQ(n, event_count());
}

TEST_F(AuditCommandsTest, ClientTermsPurgeAndExport) {
  ASSERT_EQ(run({"client", "set", "globex", "--recording-retention-days", "0", "--event-retention-days", "never"}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(events_of("admin.client.set").size(), 1u);
  ASSERT_EQ(run({"client", "list", "--json"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("\"recording_retention_days\": 0"));
  EXPECT_EQ(run({"purge"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("give --recordings-dir DIR"));
  ASSERT_EQ(run({"purge", "--recordings-dir", dir_ + "/recordings", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at("recordings")[0].at("session_id"), globex_);
  EXPECT_EQ(sessions_->recordings_of(globex_).size(), 0u);
  EXPECT_EQ(sessions_->recordings_of(acme_).size(), 1u);
  ASSERT_EQ(run({"audit", "verify"}), kExitOk) << err_.str();

  const std::string archive = dir_ + "/acme.tar.gz";
  ASSERT_EQ(run({"export", "--client", "acme", "--out", archive}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("exported acme to " + archive + ": 1 session(s), 1 recording(s)"));
  EXPECT_EQ(events_of("admin.client.export").size(), 1u);
  EXPECT_EQ(as_carol({"export", "--client", "acme", "--out", dir_ + "/x.tar.gz"}), kExitRefused);
}

// A client reviewer exports her own client's data as a stream (the web portal's download, SSH's
// standard output), encrypted under her passphrase and recorded before a byte is sent; another
// client's, a short passphrase, or a file on the host, never.
TEST_F(AuditCommandsTest, AClientReviewerExportsHerOwnClientOnlyAndAsAStream) {
  CommandContext ctx{.store = *store_, .clock = clock_, .out = out_, .err = err_, .events = *events_,
                     .sessions = *sessions_, .actor = "carol", .actor_role = authz::Role::Client,
                     .actor_client = "acme", .source = "203.0.113.7:51234", .remote = true, .keys = {}, .db = db_, .recordings_dir = {}};
  const std::string passphrase = "correct horse battery staple";
  auto other = prepare_client_export(ctx, "globex", passphrase);
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.error().message, HasSubstr("her own client's data only"));
  auto short_one = prepare_client_export(ctx, "acme", "tiny-pass");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().message.find("tiny-pass"), std::string::npos) << "the refusal repeats the passphrase";
  EXPECT_EQ(events_of("admin.client.export").size(), 0u);
  auto own = prepare_client_export(ctx, "acme", passphrase);
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->report.sessions, 1);
  EXPECT_GT(own->bytes, 0u);
  std::ostringstream sent;
  ASSERT_TRUE(own->copy_to(sent).ok());
  EXPECT_EQ(sent.str().size(), own->bytes);
  EXPECT_EQ(static_cast<unsigned char>(sent.str()[0]), 0xc3u);  // OpenPGP: a symmetric-key session key packet
  EXPECT_EQ(sent.str().find("sessions.json"), std::string::npos) << "the archive's names are in clear";
  const auto recorded = events_of("admin.client.export");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].event.details.dump().find(passphrase), std::string::npos);
  EXPECT_EQ(recorded[0].event.actor, "carol");
  EXPECT_EQ(as_carol({"export", "--client", "acme", "--out", dir_ + "/y.tar.gz"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("for officers only"));
}

}  // namespace
}  // namespace bastion::gateway::admin
