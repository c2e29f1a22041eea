// Tests for gateway/checkpoint_key.cc: the audit checkpoint key's files — created 0600 with its .pub
// once, refused when missing (naming the command that makes it) or readable by others — and that
// what it signs verifies with the public key read back from the .pub, as a verifier off the host does.
#include "gateway/checkpoint_key.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>


namespace bastion::gateway {
namespace {

class CheckpointKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bastion-ckpt-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/audit_checkpoint_ed25519_key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static unsigned mode_of(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }
  std::string dir_, path_;
};

TEST_F(CheckpointKeyTest, IsCreatedPrivateOnceWithItsPublicHalf) {
  auto created = ensure_checkpoint_key(path_);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(*created);
  EXPECT_EQ(mode_of(path_), 0600U);
  EXPECT_EQ(mode_of(path_ + ".pub"), 0644U);
  const std::string first = slurp(path_);
  auto again = ensure_checkpoint_key(path_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(slurp(path_), first) << "an existing key is never replaced";
  auto key = load_checkpoint_key(path_);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(slurp(path_ + ".pub"), public_line(key->public_key, kCheckpointKeyComment) + "\n");
}

TEST_F(CheckpointKeyTest, IsRefusedWhenMissingOrOthersCanReadIt) {
  auto missing = load_checkpoint_key(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("audit checkpoint-key"), std::string::npos) << missing.error().message;
  ASSERT_TRUE(ensure_checkpoint_key(path_).ok());
  ::chmod(path_.c_str(), 0640);
  auto open = load_checkpoint_key(path_);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("chmod 600 " + path_), std::string::npos) << open.error().message;
}

TEST_F(CheckpointKeyTest, WhatItSignsVerifiesWithThePubFileAndNotWithAnother) {
  ASSERT_TRUE(ensure_checkpoint_key(path_).ok());
  auto key = load_checkpoint_key(path_);
  ASSERT_TRUE(key.ok());
  const auto signer = checkpoint_signer(*key);
  audit::Checkpoint c{1, 10, std::string(64, 'c'), Seconds{std::chrono::seconds(1'800'000'000)}, node_name(),
                      signer.fingerprint, ""};
  const std::string raw = signer.sign(audit::canonical_checkpoint(c));
  ASSERT_EQ(raw.size(), 64U);
  c.signature = base64(raw);
  auto pub = read_ed25519_public_file(path_ + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_EQ(pub->fingerprint, signer.fingerprint);
  EXPECT_TRUE(audit::checkpoint_signature_valid(c, pub->key));
  const std::string other = dir_ + "/other";
  ASSERT_TRUE(ensure_checkpoint_key(other).ok());
  auto other_pub = read_ed25519_public_file(other + ".pub");
  ASSERT_TRUE(other_pub.ok());
  EXPECT_FALSE(audit::checkpoint_signature_valid(c, other_pub->key));
}

TEST_F(CheckpointKeyTest, OpensshAgreesOnTheKeyAndItsFingerprint) {
  ASSERT_TRUE(ensure_checkpoint_key(path_).ok());
  // The path is our own temp dir (no quoting needed): ssh-keygen reads the private key file.
  FILE* p = ::popen(("ssh-keygen -l -f " + path_ + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ASSERT_EQ(::pclose(p), 0) << out;
  auto pub = read_ed25519_public_file(path_ + ".pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_NE(out.find(pub->fingerprint + " " + kCheckpointKeyComment + " (ED25519)"), std::string::npos) << out;
}

TEST(Ed25519PublicLine, RefusesAnythingButOneEd25519Key) {
  for (const char* bad :
       {"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 x", "ssh-ed25519 !!!", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFovnzANdrVAXbYqeUdsHrHEvQ5vovNWLzgL3YtpLF2TAA==", ""}) {
    EXPECT_FALSE(parse_ed25519_public_line(bad).ok()) << bad;
  }
  EXPECT_TRUE(
      parse_ed25519_public_line("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFovnzANdrVAXbYqeUdsHrHEvQ5vovNWLzgL3YtpLF2T c").ok());
}

}  // namespace
}  // namespace bastion::gateway
