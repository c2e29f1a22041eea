// Tests for gateway/egress_agent.cc: the agent the monitor answers in key mode lists one key and
// signs only a publickey login for the granted login; anything else it was asked to sign is an
// Error (a violation), anything else it was asked to do a plain failure.
#include "gateway/egress_agent.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace bastion::gateway {
namespace {

using ssh_wire::put_string;
using ssh_wire::put_u32;

// userauth: the bytes libssh asks an agent to sign for a publickey login (RFC 4252 §7).
std::string userauth(const std::string& user, const std::string& blob, const std::string& service = "ssh-connection",
                     const std::string& method = "publickey") {
  std::string d;
  put_string(d, std::string(32, 'S'));  // session identifier
  d.push_back(50);
  put_string(d, user);
  put_string(d, service);
  put_string(d, method);
  d.push_back(1);
  put_string(d, "ssh-ed25519");
  put_string(d, blob);
  return d;
}

std::string sign_request(const std::string& blob, const std::string& data, std::uint32_t flags = 0) {
  std::string r(1, static_cast<char>(kAgentSignRequest));
  put_string(r, blob);
  put_string(r, data);
  put_u32(r, flags);
  return r;
}

class EgressAgentTest : public ::testing::Test {
 protected:
  Ed25519Key key_ = generate_ed25519("egress");
  std::string blob_ = public_blob(key_.public_key);
};

TEST_F(EgressAgentTest, ListsTheOneKey) {
  auto a = answer_agent_request(std::string(1, static_cast<char>(kAgentRequestIdentities)), key_, "root");
  ASSERT_TRUE(a.ok());
  std::string expected(1, static_cast<char>(kAgentIdentitiesAnswer));
  put_u32(expected, 1);
  put_string(expected, blob_);
  put_string(expected, "bastion-egress");
  EXPECT_EQ(a->reply, expected);
  EXPECT_FALSE(a->signed_request);
}

TEST_F(EgressAgentTest, SignsAPublickeyLoginForTheGrantedLoginVerifiably) {
  const std::string data = userauth("root", blob_);
  auto a = answer_agent_request(sign_request(blob_, data), key_, "root");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(a->signed_request);
  ASSERT_EQ(a->reply[0], static_cast<char>(kAgentSignResponse));
  // byte 14, string(string "ssh-ed25519", string signature)
  ASSERT_EQ(a->reply.size(), 1 + 4 + 4 + 11 + 4 + 64U);
  EXPECT_EQ(crypto_sign_ed25519_verify_detached(reinterpret_cast<const unsigned char*>(a->reply.data()) + 24,
                                                reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                                                key_.public_key.data()),
            0);
}

TEST_F(EgressAgentTest, ASignatureForAnythingElseIsAViolation) {
  const auto refused = [&](const std::string& request, const std::string& why) {
    auto a = answer_agent_request(request, key_, "root");
    ASSERT_FALSE(a.ok()) << why;
    EXPECT_NE(a.error().message.find(why), std::string::npos) << a.error().message;
  };
  refused(sign_request(blob_, userauth("admin", blob_)), "for login 'admin' on a connection granted 'root'");
  refused(sign_request(blob_, userauth("root", blob_, "ssh-userauth")), "service");
  refused(sign_request(blob_, userauth("root", blob_, "ssh-connection", "hostbased")), "method");
  Ed25519Key other = generate_ed25519("");
  refused(sign_request(public_blob(other.public_key), userauth("root", blob_)), "did not offer");
  refused(sign_request(blob_, userauth("root", public_blob(other.public_key))), "another key");
  refused(sign_request(blob_, "arbitrary bytes to sign"), "other than a user authentication request");
  refused(sign_request(blob_, userauth("root", blob_), 2), "flags");
  refused(sign_request(blob_, userauth("root", blob_) + "x"), "malformed");
}

TEST_F(EgressAgentTest, OtherRequestsFailPlainly) {
  for (unsigned char type : {17, 18, 19, 22, 27, 0, 255}) {  // add, remove, remove all, lock, extension…
    auto a = answer_agent_request(std::string(1, static_cast<char>(type)) + "whatever", key_, "root");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->reply, std::string(1, static_cast<char>(kAgentFailure)));
  }
  EXPECT_EQ(answer_agent_request("", key_, "root")->reply, std::string(1, static_cast<char>(kAgentFailure)));
}

TEST(AgentFrames, AreTakenWholeAndBounded) {
  std::string buffer = agent_frame("abc");
  buffer += agent_frame("de").substr(0, 5);  // the next one's first byte only
  std::string payload;
  auto first = take_agent_frame(buffer, payload);
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_EQ(payload, "abc");
  auto second = take_agent_frame(buffer, payload);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  std::string huge;
  put_u32(huge, kMaxAgentFrame + 1);
  EXPECT_FALSE(take_agent_frame(huge, payload).ok());
  std::string empty;
  put_u32(empty, 0);
  EXPECT_FALSE(take_agent_frame(empty, payload).ok());
}

}  // namespace
}  // namespace bastion::gateway
