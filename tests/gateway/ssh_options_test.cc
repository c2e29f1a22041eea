// Tests for gateway/ssh_options.cc: a list libssh rejects is an error, never libssh's defaults.
#include "gateway/ssh_options.h"

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

TEST(SshOptions, TheStandardPolicyIsAcceptedOnBothLegs) {
  BindPtr bind(ssh_bind_new());
  SessionPtr session(ssh_new());
  auto b = set_bind_algorithms(bind.get(), AlgorithmPolicy::standard(), "ssh-ed25519");
  EXPECT_TRUE(b.ok()) << b.error().message;
  auto s = set_session_algorithms(session.get(), AlgorithmPolicy::standard(), "ssh-ed25519");
  EXPECT_TRUE(s.ok()) << s.error().message;
}

TEST(SshOptions, ARejectedCipherListFailsLoudlyOnTheServerLeg) {
  BindPtr bind(ssh_bind_new());
  AlgorithmPolicy policy = AlgorithmPolicy::standard();
  policy.ciphers = "rot13-cbc,des-nonsense";
  auto st = set_bind_algorithms(bind.get(), policy, "ssh-ed25519");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("cipher list 'rot13-cbc,des-nonsense' rejected by libssh"), std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("refusing to fall back to libssh's defaults"), std::string::npos);
}

TEST(SshOptions, ARejectedListFailsLoudlyOnTheUpstreamLeg) {
  SessionPtr session(ssh_new());
  AlgorithmPolicy policy = AlgorithmPolicy::standard();
  policy.macs = "hmac-md5-nonsense";
  auto st = set_session_algorithms(session.get(), policy, "ssh-ed25519");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("MAC list 'hmac-md5-nonsense' rejected by libssh"), std::string::npos)
      << st.error().message;
}

}  // namespace
}  // namespace bastion::gateway
