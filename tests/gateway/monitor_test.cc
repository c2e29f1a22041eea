// Tests for gateway/monitor.cc: the privileged half of a connection answers what it decided itself
// and ends the connection, with a monitor.violation event naming the request, on anything else.
#include "gateway/monitor.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "audit/closing_spool.h"
#include "audit/fd_io.h"
#include "gateway/egress_agent.h"
#include "gateway/keys.h"
#include "tests/gateway/monitor_fixture.h"

namespace bastion::gateway {
namespace {

using admin::testing::Json;
using monitor::Message;
using monitor::Type;
using testing::kAliceLine;
using testing::MonitorTest;


TEST_F(MonitorTest, ARecordingIsSealedUnderAKeyOfItsOwnNeverTheClientsOrTheMasterKey) {
  use_master_key();
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 0);
  ASSERT_GT(sid, 0);
  auto rec = m.answer(monitor::open_recording(sid, 0, true, 80, 24, "xterm"));
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_EQ(rec->message.type, Type::Recording) << rec->message.strings[0];
  const std::string& stream_key = rec->message.strings[1];
  const std::string& key_id = rec->message.strings[2];
  const std::string& salt = rec->message.strings[3];
  ASSERT_EQ(stream_key.size(), audit::SecretKey::kBytes);
  ASSERT_EQ(salt.size(), audit::kSealedSaltBytes);
  // The client's data key was made for web1's client, and what the network process got is the one
  // key derived from it for this file.
  const auto info = audit::find_client_key(*db_, "acme");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->key_id, key_id);
  auto master = audit::load_master_key(settings_.master_key_path);
  ASSERT_TRUE(master.ok());
  auto client_key = audit::unwrap_client_key(*db_, *master, key_id);
  ASSERT_TRUE(client_key.ok());
  EXPECT_NE(stream_key, std::string(client_key->view()));
  EXPECT_NE(stream_key, std::string(master->view()));
  EXPECT_EQ(stream_key, std::string(audit::derive_stream_key(*client_key, salt).view()));
}

TEST_F(MonitorTest, NoRecordingAndSoNoSessionForAClientWhoseKeyWasDestroyed) {
  use_master_key();
  auto master = audit::load_master_key(settings_.master_key_path);
  ASSERT_TRUE(audit::ensure_client_key(*db_, *master, "acme", clock_.now()).ok());
  {
    db::Database::Transaction tx(*db_);
    ASSERT_TRUE(audit::destroy_client_key(*db_, "acme", clock_.now(), "officer").ok());
    tx.commit();
  }
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 0);
  ASSERT_GT(sid, 0);
  auto rec = m.answer(monitor::open_recording(sid, 0, true, 80, 24, "xterm"));
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_EQ(rec->message.type, Type::Verdict);
  EXPECT_EQ(rec->message.numbers[0], monitor::kRefused);
  EXPECT_NE(rec->message.strings[0].find("destroyed on"), std::string::npos) << rec->message.strings[0];
  EXPECT_FALSE(rec->fd.valid());
}

TEST_F(MonitorTest, AnswersTheWholeFlowOfAGrantedShell) {
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 2);
  ASSERT_GT(sid, 0);
  auto rec = m.answer(monitor::open_recording(sid, 2, true, 80, 24, "xterm"));
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE(rec->fd.valid()) << rec->message.strings[0];
  struct stat st {};
  ASSERT_EQ(::fstat(rec->fd.get(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(rec->message.strings[0], settings_.recordings_dir + "/" + std::to_string(sid) + "/2-pty.cast");
  auto live = m.answer(monitor::grant_live(sid));
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->message.numbers[0], 1U) << live->message.strings[0];
  auto ev = m.answer(monitor::event(sid, "session.env_dropped", R"({"dropped":[]})"));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->message.numbers[0], 1U);
  EXPECT_EQ(events_of("session.start").size(), 1U);
  EXPECT_EQ(events_of("session.env_dropped").size(), 1U);
  EXPECT_TRUE(violations().empty());
}

TEST_F(MonitorTest, AWrongCodeIsARefusalNotAViolation) {
  Monitor m = make();
  ASSERT_EQ(m.answer(monitor::user_bind("alice"))->message.numbers[0], 1U);
  ASSERT_EQ(m.answer(monitor::key_check("alice", kAliceLine))->message.numbers[0], 1U);
  auto r = m.answer(monitor::totp_check("000000x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message.numbers[0], 0U);
  EXPECT_EQ(r->message.strings[0], "verification code is wrong or expired");
  EXPECT_TRUE(m.account().empty());
}

TEST_F(MonitorTest, GuessingCodesBeyondTheAttemptLimitEndsTheConnection) {
  Monitor m = make();
  ASSERT_EQ(m.answer(monitor::user_bind("alice"))->message.numbers[0], 1U);
  ASSERT_EQ(m.answer(monitor::key_check("alice", kAliceLine))->message.numbers[0], 1U);
  for (int i = 0; i < settings_.max_auth_failures; ++i) ASSERT_EQ(m.answer(monitor::totp_check("wrong!"))->message.numbers[0], 0U);
  expect_cut(m.answer(monitor::totp_check("wrong!")), "totp_check", "authentication step after 6 failures");
  EXPECT_EQ(events_of("auth.failure").size(), 6U);
}

TEST_F(MonitorTest, AnUnregisteredKeyIsRefusedLikeAnUnknownAccount) {
  Monitor m = make();
  ASSERT_EQ(m.answer(monitor::user_bind("alice"))->message.numbers[0], 1U);
  auto known = m.answer(monitor::key_check("alice", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHaR/N5wiMs4m7euo03H0Pbad1AQf97kiQZ6r6j/Ps7"));
  Monitor other = make();
  auto bound = other.answer(monitor::user_bind("mallory"));
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(bound->message.numbers[0], 0U);
  EXPECT_EQ(bound->message.strings[0], "unknown account 'mallory'");
  auto unknown = other.answer(monitor::key_check("mallory", kAliceLine));
  ASSERT_TRUE(known.ok()) << known.error().message;
  ASSERT_TRUE(unknown.ok()) << unknown.error().message;
  // The peer is told the same nothing either way; the trail says which.
  EXPECT_EQ(known->message.numbers[0], 0U);
  EXPECT_EQ(unknown->message.numbers[0], 0U);
  EXPECT_EQ(known->message.strings[0], unknown->message.strings[0]);
  auto failures = events_of("auth.failure");
  ASSERT_EQ(failures.size(), 2U);
  EXPECT_EQ(failures[0].event.details.at("invalid_user"), false);
  EXPECT_EQ(failures[1].event.details.at("invalid_user"), true);
  EXPECT_NE(failures[1].event.details.at("reason").get<std::string>().find("is not registered for mallory"), std::string::npos);
}

TEST_F(MonitorTest, AKeyCheckForAnotherUserNameEndsTheConnection) {
  Monitor m = make();
  ASSERT_EQ(m.answer(monitor::user_bind("mallory"))->message.numbers[0], 0U);
  expect_cut(m.answer(monitor::key_check("alice", kAliceLine)), "key_check", "a user name the connection did not bind");
}

TEST_F(MonitorTest, ATotpCheckBeforeAKeyEndsTheConnection) {
  Monitor m = make();
  expect_cut(m.answer(monitor::totp_check("123456")), "totp_check", "before a registered key");
}

TEST_F(MonitorTest, ADecisionBeforeAuthenticationEndsTheConnection) {
  grant("web1");
  Monitor m = make();
  ASSERT_EQ(m.answer(monitor::user_bind("alice+root+web1"))->message.numbers[0], 1U);
  ASSERT_EQ(m.answer(monitor::key_check("alice+root+web1", kAliceLine))->message.numbers[0], 1U);
  expect_cut(m.answer(monitor::decide("web1", "root", "shell", "", "", 0)), "decide", "before authentication");
}

TEST_F(MonitorTest, AForgedStartOfARefusedDecisionForAServerWithoutGrantEndsTheConnection) {
  grant("web1");
  Monitor m = make();
  login(m, "alice");
  auto d = m.answer(monitor::decide("db1", "root", "shell", "", "", 0));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->message.type, Type::Verdict);
  EXPECT_EQ(d->message.strings[0], "no grant for alice as root on db1; ask a security officer for one");
  // The network process pretends it was allowed and asks for the session and the server anyway.
  expect_cut(m.answer(monitor::start_session(1, 0, "shell")), "start_session", "which this monitor did not allow");
  EXPECT_TRUE(sessions_->list().empty());
}

TEST_F(MonitorTest, AnUpstreamForAnUndecidedServerEndsTheConnection) {
  Monitor m = make();
  login(m, "alice");
  expect_cut(m.answer(monitor::upstream(7)), "upstream", "decision 7, which this monitor did not allow");
}

TEST_F(MonitorTest, ADecisionForAnotherTargetThanTheUserNameEndsTheConnection) {
  grant("web1");
  grant("db1");
  Monitor m = make();
  login(m, "alice+root+web1");
  expect_cut(m.answer(monitor::decide("db1", "root", "shell", "", "", 0)), "decide",
             "decision for root@db1, but this connection was opened for root@web1");
}

TEST_F(MonitorTest, ARecordingForAnotherConnectionsSessionEndsTheConnection) {
  grant("web1");
  Monitor other = make();
  login(other, "alice+root+web1");
  const auto theirs = start(other);
  ASSERT_GT(theirs, 0);
  Monitor m = make();
  login(m, "alice+root+web1");
  expect_cut(m.answer(monitor::open_recording(theirs, 0, false, 0, 0, "")), "open_recording",
             "recording for session " + std::to_string(theirs) + ", which this connection did not start");
  EXPECT_FALSE(std::filesystem::exists(settings_.recordings_dir + "/" + std::to_string(theirs)));
}

TEST_F(MonitorTest, ASecondRecordingOrAnotherChannelOfOwnSessionEndsTheConnection) {
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 1);
  expect_cut(m.answer(monitor::open_recording(sid, 3, false, 0, 0, "")), "open_recording", "which runs on channel 1");
}

TEST_F(MonitorTest, AnEventTheMonitorWritesItselfCannotBeForged) {
  Monitor m = make();
  login(m, "alice");
  expect_cut(m.answer(monitor::event(0, "session.start", "{}")), "event",
             "event kind 'session.start' may not come from the network process");
  EXPECT_TRUE(events_of("session.start").empty());
}

// MonitorEgressTest: servers on listening loopback sockets (the monitor connects the TCP socket
// itself), each with its catalogue granted to alice as root.
class MonitorEgressTest : public MonitorTest {
 protected:
  // decided_and_started: a decision for `kind` on `server` as root, and its session started.
  std::uint64_t decided_and_started(Monitor& m, const std::string& server, const std::string& kind = "shell") {
    auto d = m.answer(monitor::decide(server, "root", kind, kind == "exec" ? "uptime" : "", "", 0));
    EXPECT_TRUE(d.ok() && d->message.type == Type::Decision) << (d ? d->message.strings[0] : d.error().message);
    if (!d || d->message.type != Type::Decision) return 0;
    auto s = m.answer(monitor::start_session(d->message.numbers[0], 0, kind));
    EXPECT_TRUE(s.ok() && s->message.type == Type::Started);
    return d->message.numbers[0];
  }
  int add_local(const std::string& name, const std::string& mode, const std::vector<std::string>& types = {"shell"}) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    listeners_.emplace_back(listener);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener, 4), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    EXPECT_EQ(run({"server", "add", name, "--host", "127.0.0.1", "--port", std::to_string(ntohs(addr.sin_port)),
                   "--client", "acme", "--kind", "dedicated", "--host-key", std::string(admin::testing::kHostKey),
                   "--egress", mode}),
              0)
        << err_.str();
    std::string ops;
    for (const auto& t : types) {
      std::vector<std::string> entry{"catalogue", "add", name, t, "--type", t};
      if (t == "exec") entry.insert(entry.end(), {"--pattern", "uptime"});
      if (t == "forward") entry.insert(entry.end(), {"--pattern", "127.0.0.1:5432"});
      EXPECT_EQ(run(entry), 0) << err_.str();
      ops += (ops.empty() ? "" : ",") + t;
    }
    EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", name, "--login", "root", "--ops", ops, "--for",
                   "1h", "--reason", "egress test"}),
              0)
        << err_.str();
    return listener;
  }
  std::vector<audit::UniqueFd> listeners_;
};

TEST_F(MonitorEgressTest, AnUpstreamComesOnlyAfterItsSessionStartedWithACertificateForTheGrantedLoginOnly) {
  const int listener = add_local("local", "certificate", {"exec"});
  Monitor m = make();
  login(m, "alice+root+local");
  const auto id = decided_and_started(m, "local", "exec");
  auto up = m.answer(monitor::upstream(id));
  ASSERT_TRUE(up.ok()) << up.error().message;
  ASSERT_EQ(up->message.type, Type::UpstreamKey) << up->message.strings[0];
  EXPECT_TRUE(up->fd.valid());
  audit::UniqueFd accepted(::accept(listener, nullptr, nullptr));
  EXPECT_TRUE(accepted.valid());
  // An ephemeral key, never the egress key, and its certificate for root only, naming alice.
  auto ephemeral = parse_openssh_private_key(up->message.strings[0]);
  ASSERT_TRUE(ephemeral.ok()) << ephemeral.error().message;
  std::ifstream egress_file(settings_.egress_key_path);
  std::string egress_text((std::istreambuf_iterator<char>(egress_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(up->message.strings[0], egress_text);
  auto key = import_private_key(up->message.strings[0]);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(attach_certificate(key->get(), up->message.strings[4]).ok()) << up->message.strings[4];
  auto issued = events_of("egress.certificate");
  ASSERT_EQ(issued.size(), 1U);
  const Json& c = issued[0].event.details;
  EXPECT_EQ(c.at("principals"), Json::array({"root"}));
  EXPECT_EQ(c.at("extensions"), Json::array());  // exec only: no pty, no forwarding
  EXPECT_EQ(c.at("key_id").get<std::string>().rfind("bastion:alice:session=", 0), 0U) << c.dump();
  EXPECT_EQ(c.at("fingerprint"), blob_fingerprint(public_blob(ephemeral->public_key)));
  // Key mode's agent is not for a server in certificate mode.
  expect_cut(m.answer(monitor::egress_agent(id)), "egress_agent", "did not hand over");
}

TEST_F(MonitorEgressTest, AnUpstreamBeforeItsSessionStartedEndsTheConnection) {
  add_local("local", "certificate");
  Monitor early = make();
  login(early, "alice+root+local");
  auto d2 = early.answer(monitor::decide("local", "root", "shell", "", "", 0));
  ASSERT_TRUE(d2.ok());
  expect_cut(early.answer(monitor::upstream(d2->message.numbers[0])), "upstream", "before its session was started");
  EXPECT_TRUE(events_of("egress.certificate").empty());
}

TEST_F(MonitorEgressTest, KeyModeHandsOverNoKeyButOneAgentThatSignsOnlyTheGrantedLogin) {
  add_local("keyed", "key");
  Monitor m = make();
  login(m, "alice+root+keyed");
  const auto id = decided_and_started(m, "keyed");
  auto up = m.answer(monitor::upstream(id));
  ASSERT_TRUE(up.ok()) << up.error().message;
  ASSERT_EQ(up->message.type, Type::UpstreamKey);
  EXPECT_EQ(up->message.strings[0], "");  // no private key of any kind
  EXPECT_EQ(up->message.strings[4], "");
  auto agent = m.answer(monitor::egress_agent(id));
  ASSERT_TRUE(agent.ok()) << agent.error().message;
  ASSERT_TRUE(agent->fd.valid());
  // One agent per upstream login.
  expect_cut(m.answer(monitor::egress_agent(id)), "egress_agent", "did not hand over");
}

// The login check made through the monitor's own loop: the network process, granted root, asks the
// agent to sign a login as admin. The monitor signs nothing, records no signature, records the
// violation, and cuts the connection (serve returns non-zero and shuts the protocol socket).
TEST_F(MonitorEgressTest, KeyModeAgentAskedToSignAnotherLoginCutsTheConnection) {
  add_local("keyed", "key");
  Monitor m = make();
  login(m, "alice+root+keyed");
  const auto id = decided_and_started(m, "keyed");
  ASSERT_TRUE(m.answer(monitor::upstream(id)).ok());
  auto agent = m.answer(monitor::egress_agent(id));
  ASSERT_TRUE(agent.ok() && agent->fd.valid());

  std::ifstream file(settings_.egress_key_path);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto egress = parse_openssh_private_key(text);
  ASSERT_TRUE(egress.ok()) << egress.error().message;
  const std::string blob = public_blob(egress->public_key);
  std::string data;
  ssh_wire::put_string(data, std::string(32, 'S'));  // session identifier
  data.push_back(50);                                 // SSH_MSG_USERAUTH_REQUEST
  ssh_wire::put_string(data, "admin");
  ssh_wire::put_string(data, "ssh-connection");
  ssh_wire::put_string(data, "publickey");
  data.push_back(1);
  ssh_wire::put_string(data, "ssh-ed25519");
  ssh_wire::put_string(data, blob);
  std::string request(1, static_cast<char>(kAgentSignRequest));
  ssh_wire::put_string(request, blob);
  ssh_wire::put_string(request, data);
  ssh_wire::put_u32(request, 0);
  ASSERT_TRUE(audit::write_all(agent->fd.get(), agent_frame(request)));

  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  audit::UniqueFd monitor_end(pair[0]), network_end(pair[1]);
  EXPECT_NE(m.serve(monitor_end.get()), 0);
  auto v = violations();
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].at("request"), "egress_agent");
  EXPECT_NE(v[0].at("reason").get<std::string>().find("admin"), std::string::npos) << v[0].dump();
  EXPECT_TRUE(events_of("egress.signature").empty());
  // Nothing came back on the agent socket but its end.
  char byte = 0;
  EXPECT_LE(::recv(agent->fd.get(), &byte, 1, MSG_DONTWAIT), 0);
}

// closing: the closing record the network process sends for `sid`, as it saw the end.
std::string closing(std::int64_t sid, const std::string& status, std::optional<std::string> recording_path = std::nullopt) {
  audit::ClosingWrites w;
  w.session_id = sid;
  w.status = status;
  w.reason = "operator left";
  w.exit_status = 0;
  if (recording_path) {
    audit::RecordingSummary r;
    r.path = *recording_path;
    r.kind = "asciicast";
    r.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";  // the monitor's own replaces it
    r.bytes_out = 8;
    w.recording = r;
  }
  std::string line = audit::encode_spool_record(w);
  line.pop_back();  // without its '\n'
  return line;
}

TEST_F(MonitorTest, ASessionIsClosedOnceWithTheMonitorsOwnDigest) {
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 0);
  auto rec = m.answer(monitor::open_recording(sid, 0, true, 80, 24, "xterm"));
  ASSERT_TRUE(rec.ok() && rec->fd.valid());
  ASSERT_EQ(::write(rec->fd.get(), "evidence", 8), 8);
  auto closed = m.answer(monitor::close_session(sid, closing(sid, "closed", rec->message.strings[0])));
  ASSERT_TRUE(closed.ok()) << closed.error().message;
  EXPECT_EQ(closed->message.numbers[0], 1U);
  // A second closing of the same session is a forgery.
  expect_cut(m.answer(monitor::close_session(sid, closing(sid, "closed"))), "close_session",
             "second closing of session " + std::to_string(sid));
}

TEST_F(MonitorTest, AClosingThatNamesAnotherRecordingEndsTheConnection) {
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 0);
  auto rec = m.answer(monitor::open_recording(sid, 0, false, 0, 0, ""));
  ASSERT_TRUE(rec.ok() && rec->fd.valid());
  expect_cut(m.answer(monitor::close_session(sid, closing(sid, "closed", "/var/lib/bastion/bastion.db"))),
             "close_session", "closing names a recording this monitor did not open");
}

TEST_F(MonitorTest, AClosingWithAnInventedStatusOrForAnotherSessionEndsTheConnection) {
  grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m, 0);
  expect_cut(m.answer(monitor::close_session(sid, closing(sid, "approved"))), "close_session", "the closing record is malformed");
  Monitor other = make();
  login(other, "alice+root+web1");
  auto v = other.answer(monitor::close_session(sid, closing(sid, "closed")));
  EXPECT_FALSE(v.ok()) << "another connection closed session " << sid;
}

TEST_F(MonitorTest, AdminCommandsAndGrantListsComeOnlyAfterAuthentication) {
  Monitor m = make();
  ASSERT_EQ(m.answer(monitor::user_bind("alice"))->message.numbers[0], 1U);
  expect_cut(m.answer(monitor::admin({"grant", "list"})), "admin", "admin command before authentication");
  Monitor g = make();
  ASSERT_EQ(g.answer(monitor::user_bind("alice"))->message.numbers[0], 1U);
  EXPECT_FALSE(g.answer(monitor::grants()).ok());
}

TEST_F(MonitorTest, TheLiveCheckEndsASessionWhoseGrantWasRevoked) {
  const auto g = grant("web1");
  Monitor m = make();
  login(m, "alice+root+web1");
  const auto sid = start(m);
  ASSERT_EQ(run({"grant", "revoke", std::to_string(g)}), 0) << err_.str();
  auto live = m.answer(monitor::grant_live(sid));
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->message.numbers[0], 0U);
  EXPECT_NE(live->message.strings[0].find("grant " + std::to_string(g) + " was revoked at"), std::string::npos);
}

TEST_F(MonitorTest, ServingEndsOnAnUnparseableMessageAndRecordsIt) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  audit::UniqueFd net(fds[0]), mon(fds[1]);
  ASSERT_EQ(::send(net.get(), "\x03garbage", 8, 0), 8);
  Monitor m = make();
  EXPECT_EQ(m.serve(mon.get()), 1);
  auto v = violations();
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].at("request"), "unreadable");
  EXPECT_EQ(v[0].at("reason"), "unreadable message: decide: integer 1 is cut short");
}

TEST_F(MonitorTest, ServingEndsQuietlyWhenTheNetworkProcessLeaves) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  audit::UniqueFd net(fds[0]), mon(fds[1]);
  net = audit::UniqueFd();
  Monitor m = make();
  EXPECT_EQ(m.serve(mon.get()), 0);
  EXPECT_TRUE(violations().empty());
}

TEST_F(MonitorTest, ANetworkProcessGetsItsRecordingByDescriptorAndIsCutForAForgedRequest) {
  grant("web1");
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  audit::UniqueFd mon(fds[1]);
  MonitorClient net{audit::UniqueFd(fds[0])};
  Monitor m = make();
  int served = -1;
  std::thread monitor_side([&] { served = m.serve(mon.get()); });
  // Should an assertion return early, the monitor's socket is shut so that serve() returns.
  struct Join {
    std::thread& t;
    int sock;
    ~Join() {
      if (!t.joinable()) return;
      ::shutdown(sock, SHUT_RDWR);
      t.join();
    }
  } join{monitor_side, mon.get()};

  const auto sid = shell_over(net);
  ASSERT_NE(sid, 0U);
  auto rec = net.ask(monitor::open_recording(sid, 0, false, 0, 0, ""));
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->fd.valid()) << rec->message.strings[0];
  ASSERT_EQ(::write(rec->fd.get(), "evidence", 8), 8);
  std::ifstream written(rec->message.strings[0]);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(written), {}), "evidence");

  auto forged = net.ask(monitor::grant_live(sid + 1));
  EXPECT_FALSE(forged.ok());
  monitor_side.join();
  EXPECT_EQ(served, 1);
  auto v = violations();
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].at("request"), "grant_live");
  EXPECT_EQ(v[0].at("sessions"), Json::array({sid}));
}

}  // namespace
}  // namespace bastion::gateway
