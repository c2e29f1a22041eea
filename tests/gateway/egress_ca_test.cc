// Tests for gateway/egress_ca.cc: the egress CA's files — created 0600, refused when others can read
// them, rotated with the old public key kept for the transition and its private key destroyed.
#include "gateway/egress_ca.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

class EgressCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bastion-ca-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/egress_ca_ed25519_key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_, path_;
  const Seconds now_{std::chrono::seconds(1'800'000'000)};
};

TEST_F(EgressCaTest, IsCreatedPrivateOnceAndLoaded) {
  ASSERT_TRUE(ensure_egress_ca(path_).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  const std::string first = slurp(path_);
  ASSERT_TRUE(ensure_egress_ca(path_).ok());
  EXPECT_EQ(slurp(path_), first) << "an existing CA is never replaced by ensure";
  auto ca = load_egress_ca(path_);
  ASSERT_TRUE(ca.ok()) << ca.error().message;
  EXPECT_EQ(slurp(path_ + ".pub"), public_line(ca->public_key, "bastion-egress-ca") + "\n");
  auto keys = egress_ca_keys(path_);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1U);
  EXPECT_TRUE(keys->front().current);
  EXPECT_EQ(keys->front().fingerprint, blob_fingerprint(public_blob(ca->public_key)));
}

TEST_F(EgressCaTest, IsRefusedWhenOthersCanReadItOrItIsMissing) {
  auto missing = load_egress_ca(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("bastionctl init"), std::string::npos);
  ASSERT_TRUE(ensure_egress_ca(path_).ok());
  ::chmod(path_.c_str(), 0640);
  auto open = load_egress_ca(path_);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos) << open.error().message;
}

TEST_F(EgressCaTest, RotationSignsWithTheNewKeyAndListsTheOldUntilRemoved) {
  ASSERT_TRUE(ensure_egress_ca(path_).ok());
  const std::string old_fp = egress_ca_keys(path_)->front().fingerprint;
  const std::string old_private = slurp(path_);
  Ed25519Key fresh = generate_ed25519("bastion-egress-ca");
  auto rotated = rotate_egress_ca(path_, fresh, now_);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  auto loaded = load_egress_ca(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key, fresh.public_key);
  EXPECT_NE(slurp(path_), old_private);
  auto keys = egress_ca_keys(path_);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2U);
  EXPECT_EQ((*keys)[0].fingerprint, rotated->fingerprint);
  EXPECT_EQ((*keys)[1].fingerprint, old_fp);
  EXPECT_FALSE((*keys)[1].current);
  EXPECT_EQ((*keys)[1].retired_at, "2027-01-15T08:00:00Z");
  // Only public keys of retired CAs remain anywhere beside it.
  for (const auto& entry : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(entry.path() == path_ || slurp(entry.path()).find("PRIVATE KEY") == std::string::npos, true) << entry.path();
  EXPECT_EQ(trusted_ca_file(*keys), (*keys)[0].line + "\n" + (*keys)[1].line + "\n");

  auto current = remove_retired_ca(path_, rotated->fingerprint);
  ASSERT_FALSE(current.ok());
  EXPECT_NE(current.error().message.find("rotate first"), std::string::npos);
  EXPECT_FALSE(remove_retired_ca(path_, "SHA256:nothing").ok());
  auto removed = remove_retired_ca(path_, old_fp);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(egress_ca_keys(path_)->size(), 1U);
}

}  // namespace
}  // namespace bastion::gateway
