#include "audit/sealed_stream.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "audit/byte_cursor.h"

namespace bastion::audit {
namespace {

using Stream = crypto_secretstream_xchacha20poly1305_state;
constexpr std::size_t kHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kChunkOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::string_view kKdfContext = "bastion sealed recording v1";

// sodium_ready: libsodium's own initialisation; it fails only without a random source, and then
// nothing here can be trusted: abort loudly.
void sodium_ready() {
  if (::sodium_init() < 0) {
    std::abort();
  }
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string chunk_place(std::size_t number, std::size_t offset) {
  return "chunk " + std::to_string(number) + " (at byte " + std::to_string(offset) + ")";
}

}  // namespace

// ---- SecretKey -----------------------------------------------------------------------------------

SecretKey::~SecretKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

Result<SecretKey> SecretKey::from_bytes(std::string_view bytes) {
  if (bytes.size() != kBytes) return Error{"a key must be " + std::to_string(kBytes) + " bytes, not " + std::to_string(bytes.size())};
  SecretKey k;
  std::memcpy(k.bytes_.data(), bytes.data(), kBytes);
  return k;
}

SecretKey SecretKey::random() {
  sodium_ready();
  SecretKey k;
  randombytes_buf(k.bytes_.data(), k.bytes_.size());
  return k;
}

SecretKey SecretKey::copy() const {
  SecretKey k;
  k.bytes_ = bytes_;
  return k;
}

SecretKey derive_stream_key(const SecretKey& client_key, std::string_view salt) {
  sodium_ready();
  std::string input(kKdfContext);
  input.append(salt);
  SecretKey k;
  crypto_generichash(k.data(), SecretKey::kBytes, bytes_of(input), input.size(), client_key.data(), SecretKey::kBytes);
  return k;
}

std::string random_salt() {
  sodium_ready();
  std::string salt(kSealedSaltBytes, '\0');
  randombytes_buf(salt.data(), salt.size());
  return salt;
}

// ---- Preamble ------------------------------------------------------------------------------------

bool is_sealed(std::string_view file) { return file.substr(0, kSealedMagic.size()) == kSealedMagic; }

Result<SealedPreamble> parse_sealed_preamble(std::string_view file) {
  ByteCursor cur(file);
  if (!cur.skip_expected(kSealedMagic)) return Error{"not a sealed recording (no BSTNSEAL magic)"};
  std::uint8_t version = 0, id_length = 0;
  if (!cur.get_u8(version)) return Error{"sealed recording cut short in its preamble (no version)"};
  if (version != kSealedVersion)
    return Error{"sealed recording of version " + std::to_string(version) + ", which this bastion does not know"};
  if (!cur.get_u8(id_length)) return Error{"sealed recording cut short in its preamble (no key id)"};
  if (id_length == 0 || id_length > kMaxSealedKeyId) return Error{"sealed recording with a malformed key id"};
  std::string_view id, salt, header;
  if (!cur.get_bytes(id_length, id) || !cur.get_bytes(kSealedSaltBytes, salt) || !cur.get_bytes(kHeaderBytes, header))
    return Error{"sealed recording cut short in its preamble"};
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return Error{"sealed recording with a malformed key id"};
  }
  return SealedPreamble{std::string(id), std::string(salt), std::string(header), cur.offset()};
}

// ---- SealedWriter --------------------------------------------------------------------------------

struct SealedWriter::State {
  ~State();
  Stream s;
};

SealedWriter SealedWriter::start(const SecretKey& stream_key, std::string_view key_id, std::string_view salt,
                                 std::string& preamble) {
  sodium_ready();
  // The key id and salt come from the monitor, never from a peer: a wrong size is a bug here.
  if (key_id.empty() || key_id.size() > kMaxSealedKeyId || salt.size() != kSealedSaltBytes) std::abort();
  SealedWriter w;
  w.state_ = std::make_unique<State>();
  unsigned char header[kHeaderBytes];
  crypto_secretstream_xchacha20poly1305_init_push(&w.state_->s, header, stream_key.data());
  preamble.assign(kSealedMagic);
  preamble.push_back(static_cast<char>(kSealedVersion));
  preamble.push_back(static_cast<char>(key_id.size()));
  preamble.append(key_id);
  preamble.append(salt);
  preamble.append(reinterpret_cast<const char*>(header), kHeaderBytes);
  w.ad_ = preamble;
  return w;
}

SealedWriter::State::~State() { sodium_memzero(&s, sizeof s); }

SealedWriter::~SealedWriter() = default;

SealedWriter::SealedWriter(SealedWriter&& other) noexcept = default;

void SealedWriter::seal(std::string_view plain, std::string& out) {
  while (!plain.empty()) {
    const std::string_view piece = plain.substr(0, kMaxSealedChunk);
    chunk(piece, false, out);
    plain.remove_prefix(piece.size());
  }
}

void SealedWriter::finish(std::string& out) {
  chunk({}, true, out);
  finished_ = true;
}

void SealedWriter::chunk(std::string_view plain, bool final, std::string& out) {
  if (state_ == nullptr || finished_) std::abort();  // sealing after the FINAL chunk: a bug here
  const std::size_t length = plain.size() + kChunkOverhead;
  const std::size_t at = out.size();
  put_u32(out, static_cast<std::uint32_t>(length));
  out.resize(at + 4 + length);
  crypto_secretstream_xchacha20poly1305_push(
      &state_->s, reinterpret_cast<unsigned char*>(out.data() + at + 4), nullptr, bytes_of(plain), plain.size(),
      bytes_of(ad_), ad_.size(),
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

// ---- Reading -------------------------------------------------------------------------------------

const char* to_string(SealedState s) {
  switch (s) {
    case SealedState::Complete:
      return "complete";
    case SealedState::CutShort:
      return "cut short";
    case SealedState::Altered:
      return "altered";
  }
  return "altered";  // unreachable: every enumerator is handled above
}

Result<Unsealed> unseal_with(std::string_view file, const SecretKey& stream_key) {
  sodium_ready();
  auto preamble = parse_sealed_preamble(file);
  if (!preamble) return preamble.error();
  const std::string_view ad = file.substr(0, preamble->size);
  Stream state;
  Unsealed out;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, bytes_of(preamble->stream_header), stream_key.data()) != 0)
    return Error{"the sealed recording's stream header is invalid"};
  ByteCursor cur(file);
  std::string_view skipped;
  cur.get_bytes(preamble->size, skipped);  // parse_sealed_preamble read exactly these
  std::string plain;
  bool final = false;
  while (!cur.empty()) {
    const std::size_t at = cur.offset();
    const std::size_t number = out.chunks + 1;
    if (final) {
      out.state = SealedState::Altered;
      out.detail = std::to_string(cur.remaining()) + " bytes follow the final chunk (at byte " + std::to_string(at) + ")";
      break;
    }
    std::uint32_t length = 0;
    std::string_view cipher;
    if (!cur.get_u32_be(length)) {
      out.state = SealedState::CutShort;
      out.detail = "cut short inside the length of " + chunk_place(number, at);
      break;
    }
    if (length < kChunkOverhead || length > kMaxSealedChunk + kChunkOverhead) {
      out.state = SealedState::Altered;
      out.detail = chunk_place(number, at) + " announces " + std::to_string(length) + " bytes, which no chunk has";
      break;
    }
    if (!cur.get_bytes(length, cipher)) {
      out.state = SealedState::CutShort;
      out.detail = "cut short inside " + chunk_place(number, at) + ": " + std::to_string(cur.remaining()) + " of its " +
                   std::to_string(length) + " bytes are there";
      break;
    }
    plain.resize(length - kChunkOverhead);
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state, reinterpret_cast<unsigned char*>(plain.data()), nullptr, &tag,
                                                   bytes_of(cipher), cipher.size(), bytes_of(ad), ad.size()) != 0) {
      out.state = SealedState::Altered;
      out.detail = chunk_place(number, at) + " fails authentication: it was changed, moved, shortened or removed" +
                   (number == 1 ? " (or the file is not sealed with this key)" : "");
      break;
    }
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE && tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      out.state = SealedState::Altered;
      out.detail = chunk_place(number, at) + " carries a tag this bastion never writes";
      break;
    }
    final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    out.plain.append(plain);
    out.chunks = number;
  }
  sodium_memzero(plain.data(), plain.size());
  sodium_memzero(&state, sizeof state);
  if (out.state == SealedState::Complete && !final) {
    out.state = SealedState::CutShort;
    out.detail = "ends after chunk " + std::to_string(out.chunks) + " without its final chunk";
  }
  return out;
}

Result<Unsealed> unseal(std::string_view file, const KeyLookup& lookup) {
  auto preamble = parse_sealed_preamble(file);
  if (!preamble) return preamble.error();
  auto client_key = lookup(preamble->key_id);
  if (!client_key) return client_key.error();
  return unseal_with(file, derive_stream_key(*client_key, preamble->salt));
}

}  // namespace bastion::audit
