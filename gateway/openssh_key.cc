#include "gateway/openssh_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "audit/byte_cursor.h"

namespace bastion::gateway {
namespace {

constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kMagic{"openssh-key-v1\0", 15};
constexpr std::string_view kEd25519 = "ssh-ed25519";

void sodium_ready() {
  // sodium_init is idempotent and thread-safe; it fails only when no random source exists, and
  // then nothing here could be secret: abort loudly.
  if (sodium_init() < 0) std::abort();
}

std::string_view bytes_of(const auto& array) {
  return {reinterpret_cast<const char*>(array.data()), array.size()};
}

// Wiped: a std::string that holds secret bytes and wipes them when it goes.
struct Wiped {
  std::string bytes;
  ~Wiped() { sodium_memzero(bytes.data(), bytes.size()); }
};

Error malformed(std::string_view what) { return Error{"the private key is not a valid OpenSSH key: " + std::string(what)}; }

}  // namespace

namespace ssh_wire {
void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
}  // namespace ssh_wire

Ed25519Key::~Ed25519Key() {
  sodium_memzero(secret_key.data(), secret_key.size());
}

Ed25519Key::Ed25519Key(Ed25519Key&& other) noexcept
    : public_key(other.public_key), secret_key(other.secret_key), comment(std::move(other.comment)) {
  sodium_memzero(other.secret_key.data(), other.secret_key.size());
}

Ed25519Key& Ed25519Key::operator=(Ed25519Key&& other) noexcept {
  if (this != &other) {
    public_key = other.public_key;
    secret_key = other.secret_key;
    comment = std::move(other.comment);
    sodium_memzero(other.secret_key.data(), other.secret_key.size());
  }
  return *this;
}

Ed25519Key generate_ed25519(std::string comment) {
  sodium_ready();
  Ed25519Key k;
  crypto_sign_ed25519_keypair(k.public_key.data(), k.secret_key.data());
  k.comment = std::move(comment);
  return k;
}

std::string base64(std::string_view bytes) {
  sodium_ready();
  const std::size_t len = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(len - 1);  // the terminating NUL
  return out;
}

Result<std::string> unbase64(std::string_view text) {
  sodium_ready();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    sodium_memzero(out.data(), out.size());
    return Error{"not valid base64"};
  }
  out.resize(len);
  return out;
}

std::string public_blob(const std::array<unsigned char, 32>& public_key) {
  std::string blob;
  ssh_wire::put_string(blob, kEd25519);
  ssh_wire::put_string(blob, bytes_of(public_key));
  return blob;
}

std::string public_line(const std::array<unsigned char, 32>& public_key, std::string_view comment) {
  std::string line = std::string(kEd25519) + " " + base64(public_blob(public_key));
  if (!comment.empty()) line += " " + std::string(comment);
  return line;
}

std::string blob_fingerprint(std::string_view blob) {
  sodium_ready();
  std::array<unsigned char, crypto_hash_sha256_BYTES> hash{};
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(blob.data()), blob.size());
  std::string b64 = base64(bytes_of(hash));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();  // OpenSSH prints it unpadded
  return "SHA256:" + b64;
}

Result<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_key_file(const std::string& path, const std::string& text, unsigned mode, bool replace) {
  const std::string target = replace ? path + ".tmp" : path;
  if (replace) ::unlink(target.c_str());
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, static_cast<mode_t>(mode));
  if (fd < 0) return Error{"cannot create " + target + ": " + std::strerror(errno)};
  const auto fail = [&](const std::string& what) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    ::unlink(target.c_str());
    return Error{"cannot " + what + " " + target + ": " + why};
  };
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0 || ::fsync(fd) != 0) return fail("sync");
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(target.c_str());
    return Error{"cannot write " + target + ": " + why};
  }
  if (replace && ::rename(target.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(target.c_str());
    return Error{"cannot replace " + path + ": " + why};
  }
  return ok_status();
}

std::string sign_ed25519(const Ed25519Key& key, std::string_view data) {
  sodium_ready();
  std::array<unsigned char, crypto_sign_ed25519_BYTES> sig{};
  crypto_sign_ed25519_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                               key.secret_key.data());
  std::string blob;
  ssh_wire::put_string(blob, kEd25519);
  ssh_wire::put_string(blob, bytes_of(sig));
  return blob;
}

std::string openssh_private_key(const Ed25519Key& key) {
  sodium_ready();
  Wiped section;
  const std::uint32_t check = randombytes_random();
  ssh_wire::put_u32(section.bytes, check);
  ssh_wire::put_u32(section.bytes, check);
  ssh_wire::put_string(section.bytes, kEd25519);
  ssh_wire::put_string(section.bytes, bytes_of(key.public_key));
  ssh_wire::put_string(section.bytes, bytes_of(key.secret_key));
  ssh_wire::put_string(section.bytes, key.comment);
  for (char pad = 1; section.bytes.size() % 8 != 0; ++pad) section.bytes.push_back(pad);

  Wiped whole;
  whole.bytes.append(kMagic);
  ssh_wire::put_string(whole.bytes, "none");  // cipher
  ssh_wire::put_string(whole.bytes, "none");  // kdf
  ssh_wire::put_string(whole.bytes, "");      // kdf options
  ssh_wire::put_u32(whole.bytes, 1);          // one key
  ssh_wire::put_string(whole.bytes, public_blob(key.public_key));
  ssh_wire::put_string(whole.bytes, section.bytes);

  Wiped b64{base64(whole.bytes)};
  std::string text = std::string(kBegin) + "\n";
  for (std::size_t i = 0; i < b64.bytes.size(); i += 70) text += b64.bytes.substr(i, 70) + "\n";
  text += std::string(kEnd) + "\n";
  return text;
}

Result<Ed25519Key> parse_openssh_private_key(std::string_view file_text) {
  const auto begin = file_text.find(kBegin);
  const auto end = file_text.find(kEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    return malformed("no \"" + std::string(kBegin) + "\" block");
  Wiped b64;
  for (char c : file_text.substr(begin + kBegin.size(), end - begin - kBegin.size()))
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64.bytes.push_back(c);
  auto decoded = unbase64(b64.bytes);
  if (!decoded) return malformed("its body is not base64");
  Wiped raw{std::move(*decoded)};

  audit::ByteCursor in(raw.bytes);
  std::string_view cipher, kdf, kdf_options, pub, section;
  std::uint32_t count = 0;
  if (!in.skip_expected(kMagic)) return malformed("no openssh-key-v1 header");
  if (!in.get_string(cipher) || !in.get_string(kdf) || !in.get_string(kdf_options) || !in.get_u32_be(count))
    return malformed("truncated header");
  if (cipher != "none" || kdf != "none")
    return Error{"the private key is encrypted with a passphrase; the bastion needs it unencrypted (mode 0600)"};
  if (count != 1) return malformed("it holds " + std::to_string(count) + " keys instead of one");
  if (!in.get_string(pub) || !in.get_string(section) || !in.empty()) return malformed("truncated or trailing bytes");

  audit::ByteCursor priv(section);
  std::uint32_t check1 = 0, check2 = 0;
  std::string_view type, pk, sk, comment;
  if (!priv.get_u32_be(check1) || !priv.get_u32_be(check2) || !priv.get_string(type))
    return malformed("truncated private section");
  if (check1 != check2) return malformed("its check numbers differ (a wrong passphrase or a damaged file)");
  if (type != kEd25519) return Error{"the private key is of type " + std::string(type.substr(0, 64)) + ", not ssh-ed25519"};
  if (!priv.get_string(pk) || !priv.get_string(sk) || !priv.get_string(comment)) return malformed("truncated key");
  if (pk.size() != 32 || sk.size() != 64) return malformed("wrong ed25519 key sizes");
  std::uint8_t expected = 1;
  for (std::uint8_t pad = 0; !priv.empty(); ++expected) {
    if (!priv.get_u8(pad) || pad != expected) return malformed("bad padding");
  }
  if (sk.substr(32) != pk) return malformed("its private and public halves disagree");
  Ed25519Key k;
  std::memcpy(k.public_key.data(), pk.data(), 32);
  std::memcpy(k.secret_key.data(), sk.data(), 64);
  k.comment = std::string(comment);
  if (pub != public_blob(k.public_key)) return malformed("its public key does not match the private one");
  // The seed must give this public key: a file whose halves were spliced from two keys is refused.
  std::array<unsigned char, 32> derived{};
  std::array<unsigned char, 64> scratch{};
  sodium_ready();
  crypto_sign_ed25519_seed_keypair(derived.data(), scratch.data(), k.secret_key.data());
  sodium_memzero(scratch.data(), scratch.size());
  if (derived != k.public_key) return malformed("its seed does not give its public key");
  return k;
}

}  // namespace bastion::gateway
