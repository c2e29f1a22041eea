#include "audit/openpgp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#include <sys/stat.h>
#include <sys/wait.h>

#include "audit/byte_cursor.h"
#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPassphrase = "correct horse battery staple";

std::string encrypt(const std::string& clear, std::string_view passphrase, std::string_view name = "acme.tar.gz") {
  std::size_t at = 0;
  std::string out;
  auto source = [&](char* buf, std::size_t len) -> Result<std::size_t> {
    const std::size_t n = std::min(len, clear.size() - at);
    std::copy_n(clear.data() + at, n, buf);
    at += n;
    return n;
  };
  auto sink = [&](std::string_view b) -> Status {
    out.append(b);
    return ok_status();
  };
  auto st = pgp_encrypt(source, passphrase, name, 1'765'000'000, sink);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return out;
}

std::string random_bytes(std::size_t n) {
  std::mt19937 gen(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// Body: one packet's body, its partial bodies joined (a small bounds-checked reader of the new
// packet format, RFC 4880 4.2.2).
struct Packet {
  int tag = -1;
  std::string body;
  int partials = 0;
};

bool read_packet(ByteCursor& c, Packet& p) {
  std::uint8_t head = 0;
  if (!c.get_u8(head) || (head & 0xc0) != 0xc0) return false;
  p.tag = head & 0x3f;
  p.body.clear();
  p.partials = 0;
  for (;;) {
    std::uint8_t first = 0;
    if (!c.get_u8(first)) return false;
    std::size_t len = 0;
    bool partial = false;
    if (first < 192) {
      len = first;
    } else if (first < 224) {
      std::uint8_t second = 0;
      if (!c.get_u8(second)) return false;
      len = ((first - 192u) << 8) + second + 192u;
    } else if (first == 255) {
      std::uint32_t n = 0;
      if (!c.get_u32_be(n)) return false;
      len = n;
    } else {
      partial = true;
      len = std::size_t{1} << (first & 0x1f);
    }
    std::string_view part;
    if (!c.get_bytes(len, part)) return false;
    p.body.append(part);
    if (!partial) return true;
    ++p.partials;
  }
}

TEST(ExportPassphrase, ShortOrControlCharactersAreRefusedWithoutRepeatingIt) {
  const auto short_one = check_export_passphrase("elevenchars");
  ASSERT_FALSE(short_one.ok());
  EXPECT_THAT(short_one.error().message, HasSubstr("at least 12 characters"));
  EXPECT_THAT(short_one.error().message, Not(HasSubstr("elevenchars")));
  // Twelve characters in UTF-8 are more bytes than that; it is characters that count.
  EXPECT_FALSE(check_export_passphrase("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9").ok());
  EXPECT_TRUE(check_export_passphrase("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                      "\xc3\xa9\xc3\xa9")
                  .ok());
  EXPECT_FALSE(check_export_passphrase("twelve chars\n").ok());
  EXPECT_FALSE(check_export_passphrase(std::string(1025, 'a')).ok());
  EXPECT_TRUE(check_export_passphrase("twelve chars").ok());
}

TEST(OpenPgpWriter, PacketsAreTheDocumentedOnes) {
  const std::string clear = random_bytes(200'000);  // three 64 KiB partial bodies and a rest
  const std::string msg = encrypt(clear, kPassphrase);
  ByteCursor c(msg);
  Packet skesk;
  ASSERT_TRUE(read_packet(c, skesk));
  EXPECT_EQ(skesk.tag, 3);
  ASSERT_EQ(skesk.body.size(), 13u);
  EXPECT_EQ(skesk.body[0], 4);  // version
  EXPECT_EQ(skesk.body[1], 9);  // AES-256
  EXPECT_EQ(skesk.body[2], 3);  // iterated and salted S2K
  EXPECT_EQ(skesk.body[3], 8);  // SHA-256
  EXPECT_EQ(static_cast<unsigned char>(skesk.body[12]), 0xff);  // 65 011 712 bytes hashed
  Packet seipd;
  ASSERT_TRUE(read_packet(c, seipd));
  EXPECT_EQ(seipd.tag, 18);
  EXPECT_EQ(seipd.body[0], 1);  // version
  EXPECT_GE(seipd.partials, 3);
  // version + 18 prefix bytes + literal (header, 'b', name, date, the bytes, in partial bodies)
  // + MDC (2 + 20): the whole of the message, nothing after it.
  EXPECT_GT(seipd.body.size(), clear.size() + 1 + 18 + 22);
  EXPECT_TRUE(c.empty());
  // Another encryption of the same bytes differs throughout (random salt and prefix).
  const std::string again = encrypt(clear, kPassphrase);
  EXPECT_EQ(again.size(), msg.size());
  EXPECT_NE(again.substr(0, 16), msg.substr(0, 16));
  EXPECT_NE(again.substr(msg.size() - 64), msg.substr(msg.size() - 64));
  // The clear bytes appear nowhere in the message.
  EXPECT_EQ(msg.find(clear.substr(1000, 64)), std::string::npos);
}

TEST(OpenPgpWriter, SmallAndEmptyInputsUseDefiniteLengths) {
  for (const std::string& clear : {std::string(), std::string("x"), random_bytes(65'536 - 20)}) {
    const std::string msg = encrypt(clear, kPassphrase);
    ByteCursor c(msg);
    Packet p;
    ASSERT_TRUE(read_packet(c, p));
    ASSERT_TRUE(read_packet(c, p));
    EXPECT_EQ(p.tag, 18);
    EXPECT_TRUE(c.empty());
  }
}

// Decrypting with the real gpg, in a GNUPGHOME of its own.
class GpgRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    // A test dependency (scripts/install-deps installs gnupg): its absence fails, never skips.
    ASSERT_TRUE(testing::have_command("gpg")) << "gpg is not installed (scripts/install-deps installs gnupg)";
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0700), 0);
  }
  void TearDown() override {
    (void)testing::run_command("GNUPGHOME=" + dir_.path() + " gpgconf --kill gpg-agent >/dev/null 2>&1");
  }

  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir_ / name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // gpg_decrypt: gpg's exit status; its output in "clear", its messages in "gpg.err".
  int gpg_decrypt(const std::string& file, const std::string& passphrase) {
    write("pass", passphrase + "\n");
    const std::string cmd = "GNUPGHOME=" + dir_.path() + " gpg --batch --no-symkey-cache --pinentry-mode loopback " +
                            "--passphrase-fd 0 --decrypt " + (dir_ / file) + " < " + (dir_ / "pass") + " > " +
                            (dir_ / "clear") + " 2> " + (dir_ / "gpg.err");
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  testing::TempDir dir_;
};

TEST_F(GpgRoundTrip, GpgDecryptsWhatWasEncrypted) {
  const std::string clear = random_bytes(300'000);
  write("export.gpg", encrypt(clear, kPassphrase));
  ASSERT_EQ(gpg_decrypt("export.gpg", kPassphrase), 0) << read("gpg.err");
  EXPECT_TRUE(read("clear") == clear) << "gpg's output differs from the clear bytes";
  EXPECT_THAT(read("gpg.err"), HasSubstr("AES256"));
}

TEST_F(GpgRoundTrip, AWrongPassphraseFails) {
  write("export.gpg", encrypt(random_bytes(1000), kPassphrase));
  EXPECT_NE(gpg_decrypt("export.gpg", "correct horse battery stapler"), 0);
  EXPECT_THAT(read("gpg.err"), HasSubstr("decryption failed"));
}

TEST_F(GpgRoundTrip, AFlippedByteIsDetected) {
  const std::string clear = random_bytes(150'000);
  std::string msg = encrypt(clear, kPassphrase);
  msg[msg.size() / 2] = static_cast<char>(msg[msg.size() / 2] ^ 0x01);
  write("export.gpg", msg);
  EXPECT_NE(gpg_decrypt("export.gpg", kPassphrase), 0);
  EXPECT_THAT(read("gpg.err"), HasSubstr("manipulated"));
}

}  // namespace
}  // namespace bastion::audit
