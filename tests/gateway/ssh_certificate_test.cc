// Tests for gateway/openssh_key.cc and gateway/ssh_certificate.cc: the bastion's own OpenSSH key and
// certificate formats, checked against OpenSSH's own tools (ssh-keygen reads what we write, we read
// what it writes) and the certificate policy as a pure function.
#include "gateway/ssh_certificate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sodium.h>

#include "gateway/keys.h"

namespace bastion::gateway {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/bastion-cert-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spill(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

// sh runs a command line, returning its exit status and (merged) output.
std::pair<int, std::string> sh(const std::string& command, const TempDir& dir) {
  const std::string out = dir / "out.txt";
  const int rc = std::system((command + " > " + out + " 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out)};
}

EgressLogin alice(std::vector<authz::OpType> types) {
  return {.operator_name = "alice", .session_id = 42, .grant_id = 17, .login = "root", .granted_types = std::move(types),
          .source_addresses = {}};
}

const Seconds kNow{std::chrono::seconds(1'800'000'000)};

TEST(OpensshKey, ReadsWhatSshKeygenWritesAndSignsVerifiably) {
  TempDir dir;
  ASSERT_EQ(sh("ssh-keygen -q -t ed25519 -N '' -C made-by-openssh -f " + (dir / "k"), dir).first, 0);
  auto key = parse_openssh_private_key(slurp(dir / "k"));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->comment, "made-by-openssh");
  EXPECT_EQ(public_line(key->public_key, "made-by-openssh") + "\n", slurp(dir / "k.pub"));
  const std::string sig = sign_ed25519(*key, "message");
  // string "ssh-ed25519", string signature: verified with the public half.
  ASSERT_EQ(sig.size(), 4 + 11 + 4 + 64U);
  EXPECT_EQ(crypto_sign_ed25519_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()) + 19,
                                                reinterpret_cast<const unsigned char*>("message"), 7,
                                                key->public_key.data()),
            0);
}

TEST(OpensshKey, SshKeygenReadsWhatWeWriteAndLibsshToo) {
  TempDir dir;
  Ed25519Key key = generate_ed25519("made-by-bastion");
  spill(dir / "k", openssh_private_key(key));
  auto [rc, out] = sh("ssh-keygen -y -f " + (dir / "k"), dir);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out.substr(0, out.find(" made-by-bastion")), public_line(key.public_key));
  std::string text = openssh_private_key(key);
  EXPECT_TRUE(import_private_key(text).ok());
}

// The egress key of servers in key mode is written by libssh (`bastionctl init`): the monitor's
// agent reads it with this parser.
TEST(OpensshKey, ReadsWhatLibsshWrites) {
  TempDir dir;
  ssh_key raw = nullptr;
  ASSERT_EQ(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw), SSH_OK);
  KeyPtr key(raw);
  ASSERT_EQ(ssh_pki_export_privkey_file(key.get(), nullptr, nullptr, nullptr, (dir / "egress").c_str()), SSH_OK);
  auto parsed = parse_openssh_private_key(slurp(dir / "egress"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(public_line(parsed->public_key), *public_key_line(key.get()));
}

TEST(OpensshKey, RefusesEncryptedOtherTypesAndDamagedKeys) {
  TempDir dir;
  ASSERT_EQ(sh("ssh-keygen -q -t ed25519 -N secret-passphrase -f " + (dir / "enc"), dir).first, 0);
  auto enc = parse_openssh_private_key(slurp(dir / "enc"));
  ASSERT_FALSE(enc.ok());
  EXPECT_NE(enc.error().message.find("encrypted"), std::string::npos) << enc.error().message;
  ASSERT_EQ(sh("ssh-keygen -q -t ecdsa -N '' -f " + (dir / "ec"), dir).first, 0);
  auto ec = parse_openssh_private_key(slurp(dir / "ec"));
  ASSERT_FALSE(ec.ok());
  EXPECT_NE(ec.error().message.find("not ssh-ed25519"), std::string::npos) << ec.error().message;
  std::string text = openssh_private_key(generate_ed25519("x"));
  text[60] = text[60] == 'A' ? 'B' : 'A';  // one base64 character of the body changed
  EXPECT_FALSE(parse_openssh_private_key(text).ok());
  EXPECT_FALSE(parse_openssh_private_key("").ok());
  EXPECT_FALSE(parse_openssh_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n").ok());
}

TEST(EgressCertificateFields, NameOnlyTheGrantedLoginAndThePersonSessionAndGrant) {
  Ed25519Key subject = generate_ed25519("");
  const auto f = egress_certificate_fields(alice({authz::OpType::Exec}), subject.public_key, kNow);
  EXPECT_EQ(f.principals, std::vector<std::string>{"root"});
  EXPECT_EQ(f.key_id, "bastion:alice:session=42:grant=17");
  EXPECT_EQ(f.serial, 42U);
  EXPECT_EQ(f.valid_after, kNow - std::chrono::seconds(30));
  EXPECT_EQ(f.valid_before, kNow + std::chrono::minutes(2));
  EXPECT_TRUE(f.extensions.empty());
  EXPECT_TRUE(f.source_addresses.empty());
}

TEST(EgressCertificateFields, GiveOnlyTheExtensionsTheGrantedOperationsNeed) {
  Ed25519Key subject = generate_ed25519("");
  using T = authz::OpType;
  EXPECT_EQ(egress_certificate_fields(alice({T::Shell}), subject.public_key, kNow).extensions,
            std::vector<std::string>{"permit-pty"});
  EXPECT_EQ(egress_certificate_fields(alice({T::Forward}), subject.public_key, kNow).extensions,
            std::vector<std::string>{"permit-port-forwarding"});
  EXPECT_EQ(egress_certificate_fields(alice({T::Sftp, T::Scp, T::Rsync, T::Exec}), subject.public_key, kNow).extensions,
            std::vector<std::string>{});
  const auto all = egress_certificate_fields(alice({T::Shell, T::Exec, T::Sftp, T::Scp, T::Rsync, T::Forward}),
                                             subject.public_key, kNow);
  for (const auto& never : {"permit-agent-forwarding", "permit-X11-forwarding", "permit-user-rc"})
    EXPECT_EQ(std::find(all.extensions.begin(), all.extensions.end(), never), all.extensions.end()) << never;
  EgressLogin pinned = alice({T::Exec});
  pinned.source_addresses = {"192.0.2.7", "2001:db8::/64"};
  EXPECT_EQ(egress_certificate_fields(pinned, subject.public_key, kNow).source_addresses, pinned.source_addresses);
}

// ssh-keygen -L of a certificate as the monitor issues it shows exactly the fields of the policy.
TEST(SignCertificate, SshKeygenShowsExactlyThePolicysFields) {
  TempDir dir;
  Ed25519Key ca = generate_ed25519("ca");
  Ed25519Key subject = generate_ed25519("");
  EgressLogin login = alice({authz::OpType::Shell, authz::OpType::Forward, authz::OpType::Exec});
  login.source_addresses = {"192.0.2.7", "198.51.100.0/24"};
  const auto fields = egress_certificate_fields(login, subject.public_key, kNow);
  const std::string blob = sign_certificate(fields, ca);
  spill(dir / "id-cert.pub", certificate_line(blob, fields.key_id) + "\n", 0644);
  auto [rc, out] = sh("ssh-keygen -L -f " + (dir / "id-cert.pub"), dir);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Type: ssh-ed25519-cert-v01@openssh.com user certificate"), std::string::npos) << out;
  EXPECT_NE(out.find("Public key: ED25519-CERT " + blob_fingerprint(public_blob(subject.public_key))), std::string::npos) << out;
  EXPECT_NE(out.find("Signing CA: ED25519 " + blob_fingerprint(public_blob(ca.public_key))), std::string::npos) << out;
  EXPECT_NE(out.find("Key ID: \"bastion:alice:session=42:grant=17\""), std::string::npos) << out;
  EXPECT_NE(out.find("Serial: 42"), std::string::npos) << out;
  EXPECT_NE(out.find("Principals: \n                root\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Critical Options: \n                source-address 192.0.2.7,198.51.100.0/24\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Extensions: \n                permit-port-forwarding\n                permit-pty\n"), std::string::npos)
      << out;
  // Valid from 30 s before to 2 minutes after issue (ssh-keygen prints local time: compare in UTC).
  auto [rc2, utc] = sh("TZ=UTC ssh-keygen -L -f " + (dir / "id-cert.pub"), dir);
  ASSERT_EQ(rc2, 0);
  EXPECT_NE(utc.find("Valid: from 2027-01-15T07:59:30 to 2027-01-15T08:02:00"), std::string::npos) << utc;
  // libssh takes it as the certificate of its key.
  std::string priv = openssh_private_key(subject);
  auto key = import_private_key(priv);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(attach_certificate(key->get(), certificate_line(blob)).ok());
  std::string other = openssh_private_key(generate_ed25519(""));
  auto wrong = import_private_key(other);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(attach_certificate(wrong->get(), certificate_line(blob)).ok());
}

}  // namespace
}  // namespace bastion::gateway
