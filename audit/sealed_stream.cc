#include "audit/sealed_stream.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <utility>

#include "audit/byte_cursor.h"

namespace bastion::audit {
namespace {

using Stream = crypto_secretstream_xchacha20poly1305_state;
constexpr std::size_t kHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kChunkOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
// Version 2: one tag byte inside the ciphertext and the 16-byte GCM tag after it, as version 1.
constexpr std::size_t kGcmTagBytes = 16;
constexpr std::size_t kGcmNonceBytes = 12;
constexpr unsigned char kTagMessage = 0;
constexpr unsigned char kTagFinal = 3;
static_assert(kChunkOverhead == 1 + kGcmTagBytes);
static_assert(kTagMessage == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
              kTagFinal == crypto_secretstream_xchacha20poly1305_TAG_FINAL);
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

// Gcm: OpenSSL's AES-256-GCM under one file's key, set up once; each chunk sets its own nonce.
// OpenSSL fails these calls only when it cannot allocate or is broken: nothing sealed or read
// could then be trusted, so that aborts loudly.
class Gcm {
 public:
  Gcm(const SecretKey& key, bool encrypt) : ctx_(EVP_CIPHER_CTX_new()), encrypt_(encrypt) {
    if (ctx_ == nullptr || EVP_CipherInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1)
      std::abort();
  }
  ~Gcm() { EVP_CIPHER_CTX_free(ctx_); }  // clears the key schedule
  Gcm(const Gcm&) = delete;
  Gcm& operator=(const Gcm&) = delete;

  // begin starts chunk `counter` with `ad` as its additional data.
  void begin(std::uint64_t counter, std::string_view ad) {
    unsigned char nonce[kGcmNonceBytes] = {};
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<unsigned char>(counter >> (8 * (7 - i)));
    int n = 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, encrypt_ ? 1 : 0) != 1 ||
        EVP_CipherUpdate(ctx_, nullptr, &n, reinterpret_cast<const unsigned char*>(ad.data()), static_cast<int>(ad.size())) != 1)
      std::abort();
  }
  // update en- or decrypts `in` into `out` (as many bytes; GCM is a stream mode).
  void update(std::string_view in, char* out) {
    int n = 0;
    if (!in.empty() && (EVP_CipherUpdate(ctx_, reinterpret_cast<unsigned char*>(out), &n,
                                         reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) != 1 ||
                        static_cast<std::size_t>(n) != in.size()))
      std::abort();
  }
  // seal_tag ends an encrypted chunk and writes its tag (kGcmTagBytes) to `tag`.
  void seal_tag(char* tag) {
    unsigned char rest[16];
    int n = 0;
    if (EVP_CipherFinal_ex(ctx_, rest, &n) != 1 || n != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, tag) != 1)
      std::abort();
  }
  // check_tag ends a decrypted chunk: whether `tag` authenticates it.
  bool check_tag(std::string_view tag) {
    unsigned char expected[kGcmTagBytes];
    std::memcpy(expected, tag.data(), kGcmTagBytes);
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, expected) != 1) std::abort();
    unsigned char rest[16];
    int n = 0;
    return EVP_CipherFinal_ex(ctx_, rest, &n) == 1;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
  bool encrypt_;
};

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
  if (version != kSealedVersion && version != kSealedVersionXChaCha)
    return Error{"sealed recording of version " + std::to_string(version) + ", which this bastion does not know"};
  if (!cur.get_u8(id_length)) return Error{"sealed recording cut short in its preamble (no key id)"};
  if (id_length == 0 || id_length > kMaxSealedKeyId) return Error{"sealed recording with a malformed key id"};
  std::string_view id, salt, header;
  const std::size_t header_bytes = version == kSealedVersionXChaCha ? kHeaderBytes : 0;
  if (!cur.get_bytes(id_length, id) || !cur.get_bytes(kSealedSaltBytes, salt) || !cur.get_bytes(header_bytes, header))
    return Error{"sealed recording cut short in its preamble"};
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return Error{"sealed recording with a malformed key id"};
  }
  return SealedPreamble{std::string(id), std::string(salt), version, std::string(header), cur.offset()};
}

// ---- SealedWriter --------------------------------------------------------------------------------

struct SealedWriter::State {
  explicit State(const SecretKey& key, std::uint8_t v) : version(v) {
    if (v == kSealedVersion) gcm.emplace(key, true);
  }
  ~State();
  std::uint8_t version;
  Stream s{};                 // version 1
  std::optional<Gcm> gcm;     // version 2
  std::uint64_t counter = 0;  // version 2: the next chunk's number
};

SealedWriter SealedWriter::start(const SecretKey& stream_key, std::string_view key_id, std::string_view salt,
                                 std::string& preamble, std::uint8_t version) {
  sodium_ready();
  // The key id and salt come from the monitor, never from a peer: a wrong size is a bug here.
  if (key_id.empty() || key_id.size() > kMaxSealedKeyId || salt.size() != kSealedSaltBytes) std::abort();
  if (version != kSealedVersion && version != kSealedVersionXChaCha) std::abort();
  SealedWriter w;
  w.state_ = std::make_unique<State>(stream_key, version);
  preamble.assign(kSealedMagic);
  preamble.push_back(static_cast<char>(version));
  preamble.push_back(static_cast<char>(key_id.size()));
  preamble.append(key_id);
  preamble.append(salt);
  if (version == kSealedVersionXChaCha) {
    unsigned char header[kHeaderBytes];
    crypto_secretstream_xchacha20poly1305_init_push(&w.state_->s, header, stream_key.data());
    preamble.append(reinterpret_cast<const char*>(header), kHeaderBytes);
  }
  w.ad_ = preamble;
  return w;
}

SealedWriter::State::~State() { sodium_memzero(&s, sizeof s); }

SealedWriter::~SealedWriter() = default;

SealedWriter::SealedWriter(SealedWriter&& other) noexcept = default;

void SealedWriter::seal(std::string_view plain, std::string& out) { seal(plain, {}, out); }

void SealedWriter::seal(std::string_view head, std::string_view body, std::string& out) {
  while (!head.empty() || !body.empty()) {
    const std::string_view a = head.substr(0, kMaxSealedChunk);
    const std::string_view b = body.substr(0, kMaxSealedChunk - a.size());
    chunk(a, b, false, out);
    head.remove_prefix(a.size());
    body.remove_prefix(b.size());
  }
}

void SealedWriter::finish(std::string& out) {
  chunk({}, {}, true, out);
  finished_ = true;
}

void SealedWriter::chunk(std::string_view a, std::string_view b, bool final, std::string& out) {
  if (state_ == nullptr || finished_) std::abort();  // sealing after the FINAL chunk: a bug here
  State& st = *state_;
  const std::size_t length = a.size() + b.size() + kChunkOverhead;
  const std::size_t at = out.size();
  put_u32(out, static_cast<std::uint32_t>(length));
  out.resize(at + 4 + length);
  char* c = out.data() + at + 4;
  if (st.version == kSealedVersionXChaCha) {
    std::string joined;
    joined.reserve(a.size() + b.size());
    joined.append(a).append(b);
    crypto_secretstream_xchacha20poly1305_push(&st.s, reinterpret_cast<unsigned char*>(c), nullptr, bytes_of(joined),
                                               joined.size(), bytes_of(ad_), ad_.size(), final ? kTagFinal : kTagMessage);
    sodium_memzero(joined.data(), joined.size());
    return;
  }
  const char tag = static_cast<char>(final ? kTagFinal : kTagMessage);
  st.gcm->begin(st.counter++, ad_);
  st.gcm->update(std::string_view(&tag, 1), c);
  st.gcm->update(a, c + 1);
  st.gcm->update(b, c + 1 + a.size());
  st.gcm->seal_tag(c + 1 + a.size() + b.size());
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

namespace {

// Puller: the bytes of a sealed file, taken from a SealedSource as the reader needs them, holding at
// most one chunk (and its length) at a time.
class Puller {
 public:
  explicit Puller(const SealedSource& source) : source_(source) {}
  // have(n): up to n bytes at the reading position, fewer only where the file ends.
  std::string_view have(std::size_t n) {
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    while (buf_.size() - pos_ < n && !ended_) {
      const std::size_t before = buf_.size();
      if (!source_(n - (buf_.size() - pos_), buf_) || buf_.size() == before) ended_ = true;
    }
    return std::string_view(buf_).substr(pos_, n);
  }
  void skip(std::size_t n) {
    pos_ += n;
    offset_ += n;
  }
  std::size_t offset() const { return offset_; }
  // rest: whether any byte follows the reading position, and how many (counting to the end).
  std::size_t rest() {
    std::size_t n = 0;
    for (std::string_view more; !(more = have(kMaxSealedChunk)).empty(); skip(more.size())) n += more.size();
    return n;
  }
  ~Puller() { sodium_memzero(buf_.data(), buf_.size()); }

 private:
  const SealedSource& source_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t offset_ = 0;
  bool ended_ = false;
};

// The longest preamble: magic, version, key id length and the longest id, salt, stream header.
constexpr std::size_t kMaxPreamble = kSealedMagic.size() + 2 + kMaxSealedKeyId + kSealedSaltBytes + kHeaderBytes;

// derived_from: the stream key of a file, derived from its client's key found by `lookup`.
StreamKeyFor derived_from(const KeyLookup& lookup) {
  return [&lookup](const SealedPreamble& p) -> Result<SecretKey> {
    auto client_key = lookup(p.key_id);
    if (!client_key) return client_key.error();
    return derive_stream_key(*client_key, p.salt);
  };
}

}  // namespace

// ---- SealedReader --------------------------------------------------------------------------------

struct SealedReader::State {
  explicit State(SealedSource s) : source(std::move(s)), in(source) {}
  ~State() {
    sodium_memzero(plain.data(), plain.size());
    sodium_memzero(&stream, sizeof stream);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  bool open_chunk(std::string_view cipher, std::size_t index, unsigned char& tag);
  SealedSource source;
  Puller in;  // reads from `source`, which lives as long as this State
  std::string ad;
  std::uint8_t version = kSealedVersion;
  Stream stream{};          // version 1
  std::optional<Gcm> gcm;   // version 2
  std::string plain;  // the last chunk's plaintext (version 2: after its tag byte), wiped before the next one is read
  bool final = false;
  bool ended = false;
  SealedReport report;
};

SealedReader::SealedReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
SealedReader::~SealedReader() = default;
SealedReader::SealedReader(SealedReader&& other) noexcept = default;
SealedReader& SealedReader::operator=(SealedReader&& other) noexcept = default;

Result<SealedReader> SealedReader::open_with(SealedSource source, const StreamKeyFor& key_for) {
  sodium_ready();
  auto st = std::make_unique<State>(std::move(source));
  Puller& in = st->in;
  auto preamble = parse_sealed_preamble(in.have(kMaxPreamble));
  if (!preamble) return preamble.error();
  st->ad.assign(in.have(preamble->size));
  in.skip(preamble->size);
  auto stream_key = key_for(*preamble);
  if (!stream_key) return stream_key.error();
  st->version = preamble->version;
  if (st->version != kSealedVersionXChaCha) {
    st->gcm.emplace(*stream_key, false);
  } else if (crypto_secretstream_xchacha20poly1305_init_pull(&st->stream, bytes_of(preamble->stream_header),
                                                             stream_key->data()) != 0) {
    return Error{"the sealed recording's stream header is invalid"};
  }
  return SealedReader(std::move(st));
}

Result<SealedReader> SealedReader::open(SealedSource source, const KeyLookup& lookup) {
  return open_with(std::move(source), derived_from(lookup));
}

const SealedReport& SealedReader::report() const { return state_->report; }

bool SealedReader::ended() const { return state_->ended; }

// open_chunk authenticates and decrypts one chunk (its `cipher` bytes, chunk number `index` from 0)
// into plain and its tag; false, plain wiped, if it does not authenticate.
bool SealedReader::State::open_chunk(std::string_view cipher, std::size_t index, unsigned char& tag) {
  plain.resize(cipher.size() - kChunkOverhead);
  if (version == kSealedVersionXChaCha) {
    return crypto_secretstream_xchacha20poly1305_pull(&stream, reinterpret_cast<unsigned char*>(plain.data()), nullptr,
                                                      &tag, bytes_of(cipher), cipher.size(), bytes_of(ad), ad.size()) == 0;
  }
  const std::string_view body = cipher.substr(0, cipher.size() - kGcmTagBytes);
  char tag_byte = 0;
  gcm->begin(index, ad);
  gcm->update(body.substr(0, 1), &tag_byte);
  gcm->update(body.substr(1), plain.data());
  if (!gcm->check_tag(cipher.substr(body.size()))) {
    sodium_memzero(plain.data(), plain.size());
    return false;
  }
  tag = static_cast<unsigned char>(tag_byte);
  return true;
}

std::string_view SealedReader::next() {
  State& st = *state_;
  Puller& in = st.in;
  SealedReport& out = st.report;
  sodium_memzero(st.plain.data(), st.plain.size());
  while (!st.ended) {
    const std::size_t at = in.offset();
    const std::size_t number = out.chunks + 1;
    const std::string_view length_bytes = in.have(4);
    if (length_bytes.empty()) {
      if (!st.final) {
        out.state = SealedState::CutShort;
        out.detail = "ends after chunk " + std::to_string(out.chunks) + " without its final chunk";
      }
      break;
    }
    if (st.final) {
      const std::size_t extra = in.rest();
      out.state = SealedState::Altered;
      out.detail = std::to_string(extra) + " bytes follow the final chunk (at byte " + std::to_string(at) + ")";
      break;
    }
    ByteCursor lc(length_bytes);
    std::uint32_t length = 0;
    if (!lc.get_u32_be(length)) {
      out.state = SealedState::CutShort;
      out.detail = "cut short inside the length of " + chunk_place(number, at);
      break;
    }
    if (length < kChunkOverhead || length > kMaxSealedChunk + kChunkOverhead) {
      out.state = SealedState::Altered;
      out.detail = chunk_place(number, at) + " announces " + std::to_string(length) + " bytes, which no chunk has";
      break;
    }
    in.skip(4);
    const std::string_view cipher = in.have(length);
    if (cipher.size() < length) {
      out.state = SealedState::CutShort;
      out.detail = "cut short inside " + chunk_place(number, at) + ": " + std::to_string(cipher.size()) + " of its " +
                   std::to_string(length) + " bytes are there";
      break;
    }
    unsigned char tag = 0;
    if (!st.open_chunk(cipher, out.chunks, tag)) {
      sodium_memzero(st.plain.data(), st.plain.size());
      out.state = SealedState::Altered;
      out.detail = chunk_place(number, at) + " fails authentication: it was changed, moved, shortened or removed" +
                   (number == 1 ? " (or the file is not sealed with this key)" : "");
      break;
    }
    if (tag != kTagMessage && tag != kTagFinal) {
      sodium_memzero(st.plain.data(), st.plain.size());
      out.state = SealedState::Altered;
      out.detail = chunk_place(number, at) + " carries a tag this bastion never writes";
      break;
    }
    in.skip(length);
    st.final = tag == kTagFinal;
    out.chunks = number;
    if (!st.plain.empty()) return st.plain;
  }
  st.ended = true;
  sodium_memzero(&st.stream, sizeof st.stream);
  return {};
}

namespace {

// unseal_core: a SealedReader pushed to `sink`, chunk by chunk.
Result<SealedReport> unseal_core(SealedSource source, const StreamKeyFor& key_for, const PlainChunkSink& sink) {
  auto reader = SealedReader::open_with(std::move(source), key_for);
  if (!reader) return reader.error();
  for (std::string_view plain; !(plain = reader->next()).empty();) {
    if (!sink(plain)) return Error{"the decrypted recording could not be passed on"};
  }
  return reader->report();
}

// from_memory: a SealedSource over bytes already in memory.
SealedSource from_memory(std::string_view file, std::size_t& taken) {
  return [file, &taken](std::size_t n, std::string& out) {
    const std::string_view piece = file.substr(std::min(taken, file.size()), n);
    out.append(piece);
    taken += piece.size();
    return true;
  };
}

Result<Unsealed> unseal_in_memory(std::string_view file, const StreamKeyFor& key_for) {
  std::size_t taken = 0;
  Unsealed out;
  auto report = unseal_core(from_memory(file, taken), key_for, [&out](std::string_view plain) {
    out.plain.append(plain);
    return true;
  });
  if (!report) return report.error();
  out.state = report->state;
  out.chunks = report->chunks;
  out.detail = std::move(report->detail);
  return out;
}

}  // namespace

Result<SealedReport> unseal_stream(const SealedSource& source, const KeyLookup& lookup, const PlainChunkSink& sink) {
  return unseal_core(source, derived_from(lookup), sink);
}

Result<Unsealed> unseal_with(std::string_view file, const SecretKey& stream_key) {
  return unseal_in_memory(file, [&stream_key](const SealedPreamble&) -> Result<SecretKey> { return stream_key.copy(); });
}

Result<Unsealed> unseal(std::string_view file, const KeyLookup& lookup) {
  return unseal_in_memory(file, derived_from(lookup));
}

}  // namespace bastion::audit
