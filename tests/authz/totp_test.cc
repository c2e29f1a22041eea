// Tests for authz/totp.cc: RFC 6238 vectors, the ±1 step window, malformed input, agreement with
// the oathtool command, secret generation and the otpauth:// URI.
#include "authz/totp.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace bastion::authz {
namespace {

// RFC 6238's SHA-1 key, the ASCII string "12345678901234567890", in base32.
constexpr const char* kRfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

struct RfcVector {
  long long unix_time;
  const char* code;  // last 6 digits of the 8-digit value in RFC 6238 appendix B
};
constexpr RfcVector kRfcVectors[] = {
    {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
    {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
};

TEST(Totp, GeneratesRfc6238Vectors) {
  for (const auto& v : kRfcVectors) {
    EXPECT_EQ(totp_code(kRfcSecret, from_unix(v.unix_time)), v.code) << "T=" << v.unix_time;
  }
}

TEST(Totp, MatchesRfc6238VectorsAndReturnsTheirTimeStep) {
  for (const auto& v : kRfcVectors) {
    auto step = totp_match(kRfcSecret, v.code, from_unix(v.unix_time));
    ASSERT_TRUE(step.has_value()) << "T=" << v.unix_time;
    EXPECT_EQ(*step, v.unix_time / kTotpStepSeconds) << "T=" << v.unix_time;
  }
}

TEST(Totp, AcceptsTheCodeOfOneStepEitherSide) {
  const Seconds now = from_unix(1111111111);
  const std::int64_t step = 1111111111 / kTotpStepSeconds;
  const std::string previous = totp_code(kRfcSecret, now - std::chrono::seconds{30});
  const std::string next = totp_code(kRfcSecret, now + std::chrono::seconds{30});
  EXPECT_EQ(totp_match(kRfcSecret, previous, now), step - 1);
  EXPECT_EQ(totp_match(kRfcSecret, next, now), step + 1);
}

TEST(Totp, RefusesTheCodeOfTwoStepsAway) {
  const Seconds now = from_unix(1234567890);
  for (int k : {-3, -2, 2, 3}) {
    const std::string code = totp_code(kRfcSecret, now + std::chrono::seconds{30 * k});
    ASSERT_EQ(code.size(), 6U);
    // Guard against the one-in-a-million chance that a far code equals a near one.
    bool collides = false;
    for (int near : {-1, 0, 1}) collides |= code == totp_code(kRfcSecret, now + std::chrono::seconds{30 * near});
    if (collides) continue;
    EXPECT_FALSE(totp_match(kRfcSecret, code, now).has_value()) << "k=" << k;
  }
}

TEST(Totp, StepBoundariesAreFloorOfUnixOver30) {
  // 59 is the last second of step 1; 60 starts step 2, whose window still includes step 1.
  EXPECT_EQ(totp_match(kRfcSecret, "287082", from_unix(60)), 1);
  EXPECT_EQ(totp_match(kRfcSecret, "287082", from_unix(30)), 1);
  EXPECT_EQ(totp_match(kRfcSecret, "287082", from_unix(0)), 1);
  EXPECT_FALSE(totp_match(kRfcSecret, "287082", from_unix(90)).has_value());
}

TEST(Totp, RefusesMalformedCodes) {
  // "287082" is the right code at T=59; each variant wraps it in junk or mangles its form.
  const char* const malformed[] = {
      "",        "28708",    "2870820",  " 287082", "287082 ", "287082\n", "\t287082",
      "+28708",  "-28708",   "28708a",   "2870 82", "２８７０８２",
      "0x2870",  "287082\r", "287O82",
  };
  for (const char* code : malformed) {
    EXPECT_FALSE(totp_match(kRfcSecret, code, from_unix(59)).has_value()) << "code '" << code << "'";
  }
  const std::string with_nul("28708\0", 6);
  EXPECT_FALSE(totp_match(kRfcSecret, with_nul, from_unix(59)).has_value());
  EXPECT_TRUE(totp_match(kRfcSecret, "287082", from_unix(59)).has_value());
}

TEST(Totp, RefusesWrongCode) {
  const std::string right = totp_code(kRfcSecret, from_unix(59));
  std::string wrong = right;
  wrong[5] = wrong[5] == '9' ? '0' : static_cast<char>(wrong[5] + 1);
  EXPECT_FALSE(totp_match(kRfcSecret, wrong, from_unix(59)).has_value());
}

TEST(Totp, RefusesInvalidOrEmptySecret) {
  EXPECT_FALSE(totp_match("", "287082", from_unix(59)).has_value());
  EXPECT_FALSE(totp_match("!!!!not-base32!!!!", "287082", from_unix(59)).has_value());
  EXPECT_EQ(totp_code("", from_unix(59)), "");
  EXPECT_EQ(totp_code("1189", from_unix(59)), "");  // 1, 8 and 9 are not in the base32 alphabet
}

// oathtool_code runs the real oathtool; empty if it is not installed or fails.
std::string oathtool_code(const std::string& secret, long long unix_time) {
  const std::string cmd = "oathtool --totp -b " + secret + " --now @" + std::to_string(unix_time) + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::array<char, 64> buf{};
  std::string out;
  while (fgets(buf.data(), buf.size(), pipe.get()) != nullptr) out += buf.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(Totp, AgreesWithOathtool) {
  if (oathtool_code(kRfcSecret, 59).empty()) GTEST_SKIP() << "oathtool not available";
  const std::string fresh = new_totp_secret();
  for (const std::string& secret : {std::string(kRfcSecret), fresh}) {
    for (long long t : {59LL, 1111111109LL, 1700000000LL, 1795442520LL}) {
      const std::string expected = oathtool_code(secret, t);
      ASSERT_EQ(expected.size(), 6U) << expected;
      EXPECT_EQ(totp_code(secret, from_unix(t)), expected) << secret << " T=" << t;
      EXPECT_EQ(totp_match(secret, expected, from_unix(t)), t / kTotpStepSeconds);
    }
  }
}

bool is_base32_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }

TEST(Totp, NewSecretIs160BitsOfUnpaddedBase32) {
  const std::string s = new_totp_secret();
  EXPECT_EQ(s.size(), 32U);  // 20 bytes = 160 bits = 32 base32 characters, no '=' needed
  for (char c : s) EXPECT_TRUE(is_base32_char(c)) << s;
  EXPECT_EQ(totp_code(s, from_unix(59)).size(), 6U);  // liboath decodes it
}

TEST(Totp, NewSecretsAreDistinctAndUniformlySpread) {
  std::set<std::string> seen;
  std::map<char, int> counts;
  constexpr int kSecrets = 1000;
  for (int i = 0; i < kSecrets; ++i) {
    const std::string s = new_totp_secret();
    seen.insert(s);
    for (char c : s) ++counts[c];
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kSecrets));
  EXPECT_EQ(counts.size(), 32U);
  // 32000 characters over 32 symbols: ~1000 each, standard deviation ~31; ±300 is ~10 sigma.
  for (const auto& [c, n] : counts) {
    EXPECT_GT(n, 700) << c;
    EXPECT_LT(n, 1300) << c;
  }
}

TEST(Totp, OtpauthUriHasTheStandardShape) {
  EXPECT_EQ(otpauth_uri("Bastion", "alice", kRfcSecret),
            "otpauth://totp/Bastion:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=Bastion&algorithm=SHA1&digits=6&period=30");
}

TEST(Totp, OtpauthUriPercentEncodesLabelAndIssuer) {
  EXPECT_EQ(otpauth_uri("Acme Corp", "bob@example.com", "ABC"),
            "otpauth://totp/Acme%20Corp:bob%40example.com?secret=ABC"
            "&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30");
  // Characters that would break the URI structure, and a UTF-8 name.
  EXPECT_EQ(otpauth_uri("a:b/c", "x?y&z=#", "A"),
            "otpauth://totp/a%3Ab%2Fc:x%3Fy%26z%3D%23?secret=A&issuer=a%3Ab%2Fc&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauth_uri("B", "jos\xc3\xa9", "A"),
            "otpauth://totp/B:jos%C3%A9?secret=A&issuer=B&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauth_uri("B", "a.b-c_d~e", "A"),
            "otpauth://totp/B:a.b-c_d~e?secret=A&issuer=B&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace bastion::authz
