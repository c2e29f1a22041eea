#include "gateway/monitor_protocol.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

namespace bastion::gateway::monitor {
namespace {

struct Pair {
  audit::UniqueFd a, b;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0) {
      a = audit::UniqueFd(fds[0]);
      b = audit::UniqueFd(fds[1]);
    }
  }
};

std::string error_of(std::string_view wire) {
  auto m = parse(wire);
  return m ? "" : m.error().message;
}

TEST(MonitorProtocol, EveryMessageSurvivesEncodeAndParse) {
  const std::vector<Message> all = {
      key_check("alice", "ssh-ed25519 AAAA"),
      totp_check("123456"),
      decide("web1", "root", "exec", "uptime -p", "", 0),
      decide("web1", "root", "forward", "", "db.internal", 5432),
      start_session(7, 2, "uptime"),
      open_recording(42, 1, true, 120, 40, "xterm-256color"),
      event(42, "session.env_dropped", R"({"dropped":[]})"),
      upstream(7),
      grant_live(42),
      verdict(false, "grant 3 expired"),
      decision(7, 3, true, "anything", "uptime -p"),
      started(42),
      upstream_key(std::string("-----BEGIN\0KEY-----", 19), "ssh-ed25519-cert-v01@openssh.com AAAA"),
      egress_agent(7),
      user_bind("alice+root+web1"),
      key_check("alice", "ssh-ed25519 AAAA", false),
      auth_failure("mallory", "publickey", "no such key", true),
      close_session(42, "closing record"),
      grants(),
      admin({"grant", "list", "--json"}),
      final_refusal("the bastion's database is busy; try again"),
      text(2, "out", "err"),
      account(3, "alice", "operator", ""),
      recording(1700000000, "/var/lib/bastion/recordings/42/1-pty.cast"),
      start_session(7, 2, "uptime", true),
  };
  for (const Message& m : all) {
    auto back = parse(encode(m));
    ASSERT_TRUE(back.ok()) << type_name(m.type) << ": " << back.error().message;
    EXPECT_EQ(back->type, m.type);
    EXPECT_EQ(back->numbers, m.numbers);
    EXPECT_EQ(back->strings, m.strings);
  }
}

TEST(MonitorProtocol, RequestsAreOnlyTheNetworkProcessTypes) {
  EXPECT_TRUE(is_request(Type::Decide));
  EXPECT_TRUE(is_request(Type::OpenRecording));
  EXPECT_FALSE(is_request(Type::Verdict));
  EXPECT_FALSE(is_request(Type::UpstreamKey));
  EXPECT_STREQ(type_name(Type::OpenRecording), "open_recording");
}

TEST(MonitorProtocol, RefusesAnEmptyMessage) { EXPECT_EQ(error_of(""), "empty message"); }

TEST(MonitorProtocol, RefusesAnUnknownType) {
  EXPECT_EQ(error_of(std::string(1, '\x10')), "unknown message type 16");
  EXPECT_EQ(error_of(std::string(1, '\x47')), "unknown message type 71");
  EXPECT_EQ(error_of(std::string(1, '\xff')), "unknown message type 255");
}

TEST(MonitorProtocol, AdminWordsAreAJsonArrayOfStrings) {
  auto words = admin_words(admin({"session", "kill", "7"}));
  ASSERT_TRUE(words.ok()) << words.error().message;
  EXPECT_EQ(*words, (std::vector<std::string>{"session", "kill", "7"}));
  Message forged = admin({});
  forged.strings[0] = R"(["grant", 3])";
  EXPECT_FALSE(admin_words(forged).ok());
  forged.strings[0] = "not json";
  EXPECT_FALSE(admin_words(forged).ok());
}

TEST(MonitorProtocol, AdminWithInputCarriesTheWordsAndTheInputLine) {
  const std::string wire = encode(admin_with_input({"export", "--client", "acme"}, "correct horse battery"));
  auto m = parse(wire);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->type, Type::AdminWithInput);
  auto words = admin_words(*m);
  ASSERT_TRUE(words.ok()) << words.error().message;
  EXPECT_EQ(*words, (std::vector<std::string>{"export", "--client", "acme"}));
  EXPECT_EQ(m->strings[1], "correct horse battery");
  // An Admin message with a second string, or this one without it, is not of its shape.
  EXPECT_FALSE(parse(wire.substr(0, wire.size() - 25)).ok());
}

TEST(MonitorProtocol, RefusesTrailingBytes) {
  EXPECT_EQ(error_of(encode(grant_live(1)) + "x"), "grant_live: 1 trailing byte(s)");
}

TEST(MonitorProtocol, RefusesEveryTruncationOfEveryField) {
  const std::string wire = encode(decide("web1", "root", "exec", "ls", "", 0));
  for (std::size_t n = 1; n < wire.size(); ++n) {
    EXPECT_FALSE(parse(wire.substr(0, n)).ok()) << "a decide cut to " << n << " bytes was accepted";
  }
}

TEST(MonitorProtocol, RefusesAStringLongerThanTheMessage) {
  std::string wire = encode(totp_check("123456"));
  wire[4] = '\x7f';  // the code's length now claims more bytes than follow
  EXPECT_EQ(error_of(wire), "totp_check: string 1 is cut short");
}

TEST(MonitorProtocol, RefusesAnOversizedMessage) {
  std::string wire = encode(totp_check(std::string(kMaxMessageBytes, 'x')));
  EXPECT_NE(error_of(wire).find("over the 65536-byte limit"), std::string::npos);
}

TEST(MonitorProtocol, CarriesADescriptorWithAMessage) {
  Pair p;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  audit::UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);
  ASSERT_TRUE(send_message(p.a.get(), verdict(true, ""), w.get()).ok());
  w = audit::UniqueFd();  // only the passed copy is left
  auto got = receive_message(p.b.get());
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->fd.valid());
  ASSERT_EQ(::write(got->fd.get(), "hi", 2), 2);
  char buf[2];
  ASSERT_EQ(::read(r.get(), buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
}

TEST(MonitorProtocol, RefusesADatagramOverTheLimitWithoutReadingPastIt) {
  Pair p;
  const std::string big(kMaxMessageBytes + 10, '\x08');
  ASSERT_EQ(::send(p.a.get(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  auto got = receive_message(p.b.get());
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("over the"), std::string::npos);
}

TEST(MonitorProtocol, RefusesTwoDescriptorsOnOneMessage) {
  Pair p;
  const std::string wire = encode(grant_live(1));
  iovec iov{const_cast<char*>(wire.data()), wire.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const int two[2] = {0, 1};
  std::memcpy(CMSG_DATA(c), two, sizeof two);
  ASSERT_EQ(::sendmsg(p.a.get(), &msg, 0), static_cast<ssize_t>(wire.size()));
  auto got = receive_message(p.b.get());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "unexpected control data with a message");
}

TEST(MonitorProtocol, ReportsThePeerGone) {
  Pair p;
  p.a = audit::UniqueFd();
  auto got = receive_message(p.b.get());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "the other process has gone");
}

}  // namespace
}  // namespace bastion::gateway::monitor
