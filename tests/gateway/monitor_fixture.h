#pragma once
// MonitorTest: the fixture of the monitor's tests (gateway/monitor.h): alice, web1 and its
// catalogue (AdminFixture::setup_web1), an egress key and CA, and the monitor's services over the
// fixture's database; the steps of a login and a session, asked of the monitor directly or over
// its socket as the network process asks them. A suite on PostgreSQL overrides database_location.
#include <sys/stat.h>

#include <fstream>

#include "audit/data_keys.h"
#include "authz/totp.h"
#include "gateway/egress_ca.h"
#include "gateway/keys.h"
#include "gateway/monitor.h"
#include "gateway/monitor_client.h"
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::testing {

using admin::testing::Json;
using monitor::Type;

// The registered key of alice as the network process names it (type and blob, no comment).
const std::string kAliceLine = std::string(admin::testing::kAliceKey.substr(0, admin::testing::kAliceKey.rfind(' ')));

class MonitorTest : public admin::testing::AdminFixture {
 protected:
  void SetUp() override {
    AdminFixture::SetUp();
    setup_web1();
    settings_.recordings_dir = dir_ + "/recordings";
    settings_.egress_key_path = dir_ + "/egress";
    {
      std::ofstream out(settings_.egress_key_path);
      out << openssh_private_key(generate_ed25519("egress"));
    }
    ::chmod(settings_.egress_key_path.c_str(), 0600);
    settings_.egress_ca_path = dir_ + "/egress_ca";
    ASSERT_TRUE(ensure_egress_ca(settings_.egress_ca_path).ok());
    services_ = std::make_unique<MonitorServices>(MonitorServices{*store_, *sessions_, *events_, nullptr});
  }

  Monitor make() { return Monitor(*services_, clock_, settings_, "203.0.113.7:51234"); }

  // login passes both factors as `user` ("alice" or "alice+root+web1").
  void login(Monitor& m, const std::string& user) {
    clock_.advance(std::chrono::seconds(authz::kTotpStepSeconds));  // a code is accepted once: each login its own
    auto bound = m.answer(monitor::user_bind(user));
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    ASSERT_EQ(bound->message.numbers[0], 1U) << bound->message.strings[0];
    auto key = m.answer(monitor::key_check(user, kAliceLine));
    ASSERT_TRUE(key.ok()) << key.error().message;
    ASSERT_EQ(key->message.numbers[0], 1U) << key->message.strings[0];
    auto code = m.answer(monitor::totp_check(authz::totp_code(store_->find_operator("alice")->totp_secret, clock_.now())));
    ASSERT_TRUE(code.ok()) << code.error().message;
    ASSERT_EQ(code->message.type, Type::Account) << code->message.strings[0];
    EXPECT_EQ(code->message.strings[0], "alice");
  }

  // start decides a shell on web1 as root and starts its session on `channel`; returns the session id.
  std::int64_t start(Monitor& m, std::uint64_t channel = 0) {
    auto d = m.answer(monitor::decide("web1", "root", "shell", "", "", 0));
    EXPECT_TRUE(d.ok() && d->message.type == Type::Decision) << (d ? d->message.strings[0] : d.error().message);
    if (!d || d->message.type != Type::Decision) return 0;
    auto s = m.answer(monitor::start_session(d->message.numbers[0], channel, "shell"));
    EXPECT_TRUE(s.ok() && s->message.type == Type::Started);
    return s && s->message.type == Type::Started ? static_cast<std::int64_t>(s->message.numbers[0]) : 0;
  }

  // shell_over: what login() and start() do, over the socket of `net` as a network process asks:
  // alice logs in as alice+root+web1 and starts a shell on web1. Returns the session id; 0, with
  // the refused step recorded as a failure, if one was refused.
  std::uint64_t shell_over(MonitorClient& net) {
    const auto secret = store_->find_operator("alice")->totp_secret;
    auto bound = net.ask(monitor::user_bind("alice+root+web1"));
    if (!bound || bound->message.numbers[0] != 1) {
      ADD_FAILURE() << "alice+root+web1 refused";
      return 0;
    }
    auto key = net.ask(monitor::key_check("alice+root+web1", kAliceLine));
    if (!key || key->message.numbers[0] != 1) {
      ADD_FAILURE() << "alice's key refused";
      return 0;
    }
    auto code = net.ask(monitor::totp_check(authz::totp_code(secret, clock_.now())));
    if (!code || code->message.type != Type::Account) {
      ADD_FAILURE() << "alice's code refused";
      return 0;
    }
    auto d = net.ask(monitor::decide("web1", "root", "shell", "", "", 0));
    if (!d || d->message.type != Type::Decision) {
      ADD_FAILURE() << "no decision: " << (d ? d->message.strings[0] : d.error().message);
      return 0;
    }
    auto s = net.ask(monitor::start_session(d->message.numbers[0], 0, "shell"));
    if (!s || s->message.type != Type::Started) {
      ADD_FAILURE() << "no session: " << (s ? s->message.strings[0] : s.error().message);
      return 0;
    }
    return s->message.numbers[0];
  }

  // violations returns the details of every monitor.violation event, oldest first.
  std::vector<Json> violations() {
    std::vector<Json> out;
    for (const auto& e : events_of("monitor.violation")) out.push_back(e.event.details);
    return out;
  }

  // expect_cut checks that `r` ended the connection and that the one violation event names the
  // request and contains `why`.
  void expect_cut(const Result<Monitor::Reply>& r, const std::string& request, const std::string& why) {
    ASSERT_FALSE(r.ok()) << "the monitor answered a request it must refuse";
    auto v = violations();
    ASSERT_EQ(v.size(), 1U);
    EXPECT_EQ(v[0].at("request"), request);
    EXPECT_NE(v[0].at("reason").get<std::string>().find(why), std::string::npos) << v[0].dump();
  }

  // use_master_key: recordings sealed, as under bastiond (a master key, and the database for the
  // clients' data keys).
  void use_master_key() {
    settings_.master_key_path = dir_ + "/data_master_key";
    ASSERT_TRUE(audit::ensure_master_key(settings_.master_key_path).ok());
    services_->db = db_;
  }

  MonitorSettings settings_;
  std::unique_ptr<MonitorServices> services_;
};

}  // namespace bastion::gateway::testing
