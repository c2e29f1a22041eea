#include "authz/web_password.h"

#include <gtest/gtest.h>

#include <set>

namespace bastion::authz {
namespace {

TEST(WebPassword, ElevenCharactersAreTooFewAndTwelveEnough) {
  EXPECT_TRUE(password_problem("abcdefghijk").has_value());
  EXPECT_FALSE(password_problem("abcdefghijkl").has_value());
}

TEST(WebPassword, CharactersAreCountedAsAPersonCountsThemNotAsBytes) {
  // Eleven two-byte letters: 22 bytes, still eleven characters.
  EXPECT_TRUE(password_problem("ééééééééééé").has_value());
  EXPECT_FALSE(password_problem("éééééééééééé").has_value());
}

TEST(WebPassword, AnOverlongPasswordIsRefusedBeforeHashing) {
  EXPECT_TRUE(password_problem(std::string(kMaxPasswordBytes + 1, 'a')).has_value());
}

TEST(WebPassword, HashIsArgon2idAndMatchesOnlyItsOwnPassword) {
  auto hash = hash_password("correct horse battery staple");
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(password_matches(*hash, "correct horse battery staple"));
  EXPECT_FALSE(password_matches(*hash, "correct horse battery stapl"));
  EXPECT_NE(*hash_password("correct horse battery staple"), *hash) << "no salt";
}

TEST(WebPassword, AStoredStringThatIsNotArgon2idMatchesNothing) {
  EXPECT_FALSE(password_matches("", ""));
  EXPECT_FALSE(password_matches("plain text", "plain text"));
}

TEST(WebPassword, TokensAreRandomHexAndTheStoredHashIsNotTheToken) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string t = new_web_token();
    ASSERT_EQ(t.size(), 64u);
    ASSERT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    seen.insert(t);
    EXPECT_NE(token_hash(t), t);
  }
  EXPECT_EQ(seen.size(), 100u);
  // SHA-256 of "abc", FIPS 180-2's example.
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(WebPassword, CsrfTokenBelongsToOneSessionAndIsNeitherItsTokenNorItsStoredHash) {
  const std::string a = new_web_token(), b = new_web_token();
  EXPECT_EQ(csrf_token(a), csrf_token(a));
  EXPECT_NE(csrf_token(a), csrf_token(b));
  EXPECT_NE(csrf_token(a), a);
  EXPECT_NE(csrf_token(a), token_hash(a));
  EXPECT_TRUE(same_secret(csrf_token(a), csrf_token(a)));
  EXPECT_FALSE(same_secret(csrf_token(a), csrf_token(b)));
  EXPECT_FALSE(same_secret(csrf_token(a), ""));
}

}  // namespace
}  // namespace bastion::authz
