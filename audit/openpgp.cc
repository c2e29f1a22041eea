#include "audit/openpgp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <vector>

namespace bastion::audit {

namespace {

constexpr std::size_t kPartial = 65536;        // every partial body is 2^16 bytes
constexpr char kPartialOctet = '\xf0';         // 224 + 16
constexpr std::size_t kMinCharacters = 12;
constexpr std::size_t kMaxBytes = 1024;

// new_length: a new-format definite body length (RFC 4880 4.2.2.1-3).
std::string new_length(std::size_t n) {
  std::string s;
  if (n < 192) {
    s.push_back(static_cast<char>(n));
  } else if (n < 8384) {
    const std::size_t m = n - 192;
    s.push_back(static_cast<char>((m >> 8) + 192));
    s.push_back(static_cast<char>(m & 0xff));
  } else {
    s.push_back('\xff');
    for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  return s;
}

// PartialBody: the body of one packet whose length is not known in advance, written as 64 KiB
// partial bodies and a final definite length (RFC 4880 4.2.2.4). The caller writes the tag octet.
class PartialBody {
 public:
  explicit PartialBody(std::function<Status(std::string_view)> out) : out_(std::move(out)) {}
  ~PartialBody() { OPENSSL_cleanse(held_.data(), held_.size()); }
  PartialBody(const PartialBody&) = delete;
  PartialBody& operator=(const PartialBody&) = delete;

  Status add(std::string_view bytes) {
    held_.append(bytes);
    std::size_t at = 0;
    while (held_.size() - at >= kPartial) {
      if (auto st = out_(std::string_view(&kPartialOctet, 1)); !st) return st;
      if (auto st = out_(std::string_view(held_).substr(at, kPartial)); !st) return st;
      at += kPartial;
    }
    if (at != 0) {
      OPENSSL_cleanse(held_.data(), at);
      held_.erase(0, at);
    }
    return ok_status();
  }

  Status finish() {
    if (auto st = out_(new_length(held_.size())); !st) return st;
    auto st = out_(held_);
    OPENSSL_cleanse(held_.data(), held_.size());
    held_.clear();
    return st;
  }

 private:
  std::function<Status(std::string_view)> out_;
  std::string held_;
};

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct DigestFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// s2k_key: the iterated and salted S2K (RFC 4880 3.7.1.3) with SHA-256: salt || passphrase
// repeated until kHashedBytes bytes are hashed (whole once if it is longer); 32 bytes, AES-256's key.
Status s2k_key(std::string_view passphrase, const std::array<unsigned char, 8>& salt,
               std::array<unsigned char, 32>& key) {
  std::string unit(reinterpret_cast<const char*>(salt.data()), salt.size());
  unit.append(passphrase);
  std::string run;
  while (run.size() < 65536) run += unit;
  std::unique_ptr<EVP_MD_CTX, DigestFree> md(EVP_MD_CTX_new());
  bool ok = md && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1;
  std::uint64_t left = std::max<std::uint64_t>(PgpParameters::kHashedBytes, unit.size());
  // Whole runs keep the repetition aligned: run is a multiple of unit.
  const std::size_t step = run.size() - run.size() % unit.size();
  while (ok && left > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, step));
    ok = EVP_DigestUpdate(md.get(), run.data(), n) == 1;
    left -= n;
  }
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(md.get(), key.data(), &len) == 1 && len == key.size();
  OPENSSL_cleanse(unit.data(), unit.size());
  OPENSSL_cleanse(run.data(), run.size());
  if (!ok) return Error{"the export's key could not be derived (SHA-256 failed)"};
  return ok_status();
}

}  // namespace

void wipe_string(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

Status check_export_passphrase(std::string_view passphrase) {
  std::size_t characters = 0;
  for (const char c : passphrase) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Error{"the passphrase holds a control character; use printable characters only"};
    if ((u & 0xc0) != 0x80) ++characters;  // UTF-8: count the first byte of each character
  }
  if (passphrase.size() > kMaxBytes) return Error{"the passphrase is longer than 1024 bytes"};
  if (characters < kMinCharacters)
    return Error{"the passphrase is too short: choose one of at least 12 characters (it is all that protects the "
                 "export once it leaves the bastion)"};
  return ok_status();
}

Status pgp_encrypt(const PgpSource& source, std::string_view passphrase, std::string_view file_name,
                   std::uint32_t mtime, const PgpSink& sink) {
  if (file_name.size() > 255) return Error{"the export's file name is longer than 255 bytes"};
  std::array<unsigned char, 8> salt{};
  std::array<unsigned char, 18> prefix{};
  if (RAND_bytes(salt.data(), salt.size()) != 1 || RAND_bytes(prefix.data(), 16) != 1)
    return Error{"the system's random generator failed"};
  prefix[16] = prefix[14];
  prefix[17] = prefix[15];

  // Symmetric-Key Encrypted Session Key packet, version 4, no encrypted session key.
  // {tag 3, length 13, version 4, AES-256, S2K type 3 (iterated and salted), hash SHA-256}
  std::string skesk = {'\xc3', 13, 4, 9, 3, 8};
  skesk.append(reinterpret_cast<const char*>(salt.data()), salt.size());
  skesk.push_back(static_cast<char>(PgpParameters::kCodedCount));
  if (auto st = sink(skesk); !st) return st;

  std::array<unsigned char, 32> key{};
  if (auto st = s2k_key(passphrase, salt, key); !st) return st;
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> cipher(EVP_CIPHER_CTX_new());
  const std::array<unsigned char, 16> iv{};
  const bool keyed = cipher && EVP_EncryptInit_ex(cipher.get(), EVP_aes_256_cfb128(), nullptr, key.data(), iv.data()) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (!keyed) return Error{"AES-256-CFB could not be set up"};
  std::unique_ptr<EVP_MD_CTX, DigestFree> mdc(EVP_MD_CTX_new());
  if (!mdc || EVP_DigestInit_ex(mdc.get(), EVP_sha1(), nullptr) != 1) return Error{"SHA-1 could not be set up"};

  // Sym. Encrypted Integrity Protected Data packet: its tag, then version 1 and the ciphertext.
  if (auto st = sink(std::string_view("\xd2", 1)); !st) return st;
  PartialBody outer(sink);
  if (auto st = outer.add(std::string_view("\x01", 1)); !st) return st;
  std::vector<unsigned char> ct;
  // encrypt: plaintext into the MDC's hash (unless it is the MDC itself) and, enciphered, the packet.
  auto encrypt = [&](std::string_view plain, bool hashed) -> Status {
    if (hashed && EVP_DigestUpdate(mdc.get(), plain.data(), plain.size()) != 1) return Error{"SHA-1 failed"};
    ct.resize(plain.size() + 16);
    int n = 0;
    if (EVP_EncryptUpdate(cipher.get(), ct.data(), &n, reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size())) != 1)
      return Error{"AES-256-CFB failed"};
    return outer.add(std::string_view(reinterpret_cast<const char*>(ct.data()), static_cast<std::size_t>(n)));
  };
  if (auto st = encrypt(std::string_view(reinterpret_cast<const char*>(prefix.data()), prefix.size()), true); !st)
    return st;
  OPENSSL_cleanse(prefix.data(), prefix.size());

  // Literal Data packet: binary, the file name, the date, then the bytes, in its own partial bodies.
  if (auto st = encrypt(std::string_view("\xcb", 1), true); !st) return st;
  PartialBody literal([&](std::string_view b) { return encrypt(b, true); });
  std::string head = {'b', static_cast<char>(file_name.size())};
  head.append(file_name);
  for (int i = 3; i >= 0; --i) head.push_back(static_cast<char>((mtime >> (8 * i)) & 0xff));
  if (auto st = literal.add(head); !st) return st;
  std::vector<char> buf(kPartial);
  for (;;) {
    auto n = source(buf.data(), buf.size());
    if (!n) return n.error();
    if (*n == 0) break;
    auto st = literal.add(std::string_view(buf.data(), *n));
    OPENSSL_cleanse(buf.data(), *n);
    if (!st) return st;
  }
  if (auto st = literal.finish(); !st) return st;

  // Modification Detection Code packet: SHA-1 of everything before, its own header included.
  if (auto st = encrypt(std::string_view("\xd3\x14", 2), true); !st) return st;
  std::array<unsigned char, 20> digest{};
  unsigned int dlen = 0;
  if (EVP_DigestFinal_ex(mdc.get(), digest.data(), &dlen) != 1 || dlen != digest.size()) return Error{"SHA-1 failed"};
  if (auto st = encrypt(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()), false); !st)
    return st;
  int tail = 0;
  if (EVP_EncryptFinal_ex(cipher.get(), ct.data(), &tail) != 1 || tail != 0) return Error{"AES-256-CFB failed"};
  OPENSSL_cleanse(ct.data(), ct.size());
  return outer.finish();
}

}  // namespace bastion::audit
