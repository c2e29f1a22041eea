// Access-request webhooks (issue 17): bastiond started with --notify-url and --notify-secret-file
// POSTs each request transition and each break-glass grant, as JSON, to a real local HTTP receiver
// (a python3 http.server script the test starts), signed with HMAC-SHA256 under the secret; the
// test checks each signature with `openssl dgst -hmac`. A receiver that is down costs a notify.failed event,
// never a login.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::string_view kSecret = "s3cret-webhook-key";

// The receiver: stores each POST's body and X-Bastion-Signature header as N.body / N.sig in its
// directory, answers 200, and writes "ready" once it listens.
constexpr std::string_view kReceiver = R"(import http.server, os, sys
out, port = sys.argv[1], int(sys.argv[2])
count = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        count[0] += 1
        with open(os.path.join(out, '%d.sig' % count[0]), 'w') as f:
            f.write(self.headers.get('X-Bastion-Signature', ''))
        with open(os.path.join(out, '%d.body' % count[0]), 'wb') as f:
            f.write(body)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', port), H)
open(os.path.join(out, 'ready'), 'w').close()
s.serve_forever()
)";

class RequestNotify : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_dir_ = env_.tmp.sub("receiver", true);
    write_file(env_.tmp.path() + "/receiver.py", kReceiver);
    SpawnOptions opts;
    opts.argv = {"python3", env_.tmp.path() + "/receiver.py", receiver_dir_, std::to_string(port_)};
    receiver_ = std::make_unique<Process>(opts);
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(receiver_dir_ + "/ready"); }, 10s));
  }

  // delivered: the bodies received so far, each with whether its signature verified.
  std::vector<std::pair<Json, bool>> delivered() {
    std::vector<std::pair<Json, bool>> out;
    for (int i = 1; std::filesystem::exists(receiver_dir_ + "/" + std::to_string(i) + ".sig"); ++i) {
      const std::string body_file = receiver_dir_ + "/" + std::to_string(i) + ".body";
      RunResult mac = run({"openssl", "dgst", "-sha256", "-hmac", std::string(kSecret), "-r", body_file});
      const std::string expected = "sha256=" + mac.out.substr(0, mac.out.find(' '));
      out.emplace_back(Json::parse(read_file(body_file), nullptr, false),
                       read_file(receiver_dir_ + "/" + std::to_string(i) + ".sig") == expected);
    }
    return out;
  }

  int port_ = free_port();
  std::string secret_file_;
  TestEnv env_{[this](Bastion& b) {
    secret_file_ = b.dir() + "/notify.key";
    write_file(secret_file_, std::string(kSecret) + "\n");
    b.set_daemon_args({"--notify-url", "http://127.0.0.1:" + std::to_string(port_) + "/hook",
                       "--notify-secret-file", secret_file_});
  }};
  std::string receiver_dir_;
  std::unique_ptr<Process> receiver_;
};

TEST_F(RequestNotify, EachTransitionArrivesSignedWithTheRequestAndWhomToTell) {
  OperatorIdentity alice = env_.new_operator("alice", /*ops=*/{});
  // The notifier starts its cursor at the newest event on its first run (every 2 s): let it run.
  std::this_thread::sleep_for(3s);
  const Json r = env_.bastion.ctl_json({"request", "add", "web1", "--login", env_.login(), "--ops", "shell", "--for",
                                        "1h", "--reason", "ticket 4411", "--operator", alice.name()});
  const auto id = r["id"].get<std::int64_t>();
  env_.bastion.ctl_ok({"request", "approve", std::to_string(id)});
  // A break-glass grant is told too: the client whose approval it bypassed must hear of it.
  env_.bastion.ctl_ok({"grant", "add", "--operator", alice.name(), "--server", "web1", "--login", env_.login(), "--ops",
                       "shell", "--for", "1h", "--emergency", "--reason", "outage"});

  ASSERT_TRUE(wait_until([&] { return delivered().size() >= 3; }, 30s)) << env_.bastion.log();
  auto got = delivered();
  ASSERT_EQ(got.size(), 3u);
  const auto [glass, glass_signed] = got.back();
  got.pop_back();
  EXPECT_TRUE(glass_signed) << glass.dump();
  EXPECT_EQ(glass["kind"], "grant.emergency") << glass.dump();
  EXPECT_EQ(glass["actor"], "bastionctl") << glass.dump();
  EXPECT_EQ(glass["notify"]["client"], "acme") << glass.dump();
  EXPECT_EQ(glass["grant"]["reason"], "outage") << glass.dump();
  for (const auto& [body, signed_ok] : got) {
    EXPECT_TRUE(signed_ok) << body.dump();
    EXPECT_EQ(body["request"]["id"], id) << body.dump();
    EXPECT_EQ(body["notify"]["requester"], alice.name()) << body.dump();
    EXPECT_EQ(body["notify"]["client"], "acme") << body.dump();
  }
  EXPECT_EQ(got[0].first["kind"], "request.add");
  EXPECT_EQ(got[0].first["notify"]["waiting_for"], "officer");
  EXPECT_EQ(got[1].first["kind"], "request.approve");
  EXPECT_EQ(got[1].first["request"]["state"], "active");
  EXPECT_TRUE(events_of_kind(env_.bastion, "notify.failed").empty());
}

TEST_F(RequestNotify, AReceiverThatIsDownCostsAFailureEventNotALogin) {
  OperatorIdentity alice = env_.new_operator("alice", kAllOps);
  std::this_thread::sleep_for(3s);  // the notifier's first run sets its cursor
  receiver_->terminate(2s);
  const Json r = env_.bastion.ctl_json({"request", "add", "web1", "--login", env_.login(), "--ops", "shell", "--for",
                                        "1h", "--reason", "x", "--operator", alice.name()});
  // Logins go on while the notifier retries.
  RunResult login = run_as(alice, alice.ssh(alice.user(env_.login(), "web1"), {"echo still-in"}));
  EXPECT_EQ(login.out, "still-in\n") << diag(env_, login);
  ASSERT_TRUE(wait_until([&] { return !events_of_kind(env_.bastion, "notify.failed").empty(); }, 60s))
      << env_.bastion.log();
  const auto failed = events_of_kind(env_.bastion, "notify.failed");
  EXPECT_EQ(failed[0]["details"]["kind"], "request.add") << failed[0].dump();
  EXPECT_EQ(failed[0]["details"]["attempts"], 5) << failed[0].dump();
  EXPECT_EQ(env_.bastion.ctl({"audit", "verify"}).exit(), 0);
  EXPECT_GT(r["id"].get<std::int64_t>(), 0);
}

}  // namespace
}  // namespace bastion::e2e
