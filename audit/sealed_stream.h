#pragma once
// Sealed streams: how a recording of a client's server sits on disk, encrypted under a key derived
// from that client's data key (audit/data_keys.h), written as it streams (issue 20, point 2).
//
// File format, integers big-endian:
//
//   magic    "BSTNSEAL"                                   8 bytes
//   version  u8  2 (written now) or 1 (read still)
//   key id   u8 length (1..64), then that many bytes      which client data key (audit/data_keys.h)
//   salt     16 bytes                                     this file's key = KDF(client key, salt)
//   header   version 1 only: 24 bytes                     libsodium secretstream xchacha20poly1305
//   chunk    u32 length (17 .. kMaxSealedChunk + 17), then that many bytes of ciphertext
//   chunk    …                                            the last one tagged FINAL (empty plaintext)
//
// Version 2 chunk number i (from 0): AES-256-GCM under the file's key, nonce = 4 zero bytes then
// u64 i, additional data = the preamble; the plaintext is one tag byte (0 = message, 3 = FINAL)
// then the chunk's data; the ciphertext is followed by the 16-byte GCM tag. Version 1 chunks are
// libsodium secretstream (XChaCha20-Poly1305) messages with the preamble as additional data.
// Both are the same construction (an online AEAD stream, "STREAM"): the key is the file's own
// (a fresh salt each), each chunk authenticates its position (the counter in the nonce, or
// secretstream's chained state) and whether it is the last (the tag byte, encrypted and
// authenticated). Version 2 exists for speed: AES-GCM is what the CPUs' AES-NI/VAES and
// carry-less multiply instructions accelerate, and OpenSSL's is several times faster than
// libsodium 1.0.18's secretstream (issue 21: it was a quarter of the network process's CPU).
//
// A changed byte, a chunk moved, removed or shortened, or bytes after the FINAL chunk make
// authentication fail at that chunk ("altered"). A file that stops at a chunk boundary, or inside
// the last chunk, without its FINAL chunk is what a crash leaves ("cut short"): every chunk before
// the cut reads back. Each chunk goes to the kernel in one write, so a crash never leaves a file
// that reads as altered.
//
// The digest the chain keeps of a recording is over these bytes (what is on disk): `audit verify`
// needs no key.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::audit {

inline constexpr std::string_view kSealedMagic = "BSTNSEAL";
inline constexpr std::uint8_t kSealedVersion = 2;         // AES-256-GCM chunks: what is written
inline constexpr std::uint8_t kSealedVersionXChaCha = 1;  // secretstream chunks: still read
inline constexpr std::size_t kSealedSaltBytes = 16;
inline constexpr std::size_t kMaxSealedKeyId = 64;
// kMaxSealedChunk: the most plaintext one chunk carries; a longer write is split.
inline constexpr std::size_t kMaxSealedChunk = 1 << 20;

// SecretKey: 32 secret bytes, wiped when destroyed. Copyable only on purpose (copy()).
class SecretKey {
 public:
  static constexpr std::size_t kBytes = 32;
  SecretKey() = default;
  ~SecretKey();
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  // from_bytes takes exactly kBytes bytes; an Error otherwise.
  static Result<SecretKey> from_bytes(std::string_view bytes);
  // random: kBytes from the system's random source.
  static SecretKey random();
  SecretKey copy() const;

  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()}; }

 private:
  std::array<unsigned char, kBytes> bytes_{};
};

// derive_stream_key: the key of one sealed file, from its client's data key and the file's salt
// (keyed BLAKE2b). Holding it opens that one file only: the monitor hands it, never the client's
// key, to the sandboxed process that writes the recording.
SecretKey derive_stream_key(const SecretKey& client_key, std::string_view salt);

// random_salt: kSealedSaltBytes fresh random bytes.
std::string random_salt();

// SealedPreamble: what a sealed file says about itself before its first chunk.
struct SealedPreamble {
  std::string key_id;
  std::string salt;               // kSealedSaltBytes
  std::uint8_t version = kSealedVersion;
  std::string stream_header;      // version 1: crypto_secretstream_xchacha20poly1305_HEADERBYTES; 2: none
  std::size_t size = 0;           // bytes of the preamble in the file
};

// is_sealed says whether `file` starts like a sealed stream (the magic), whatever follows.
bool is_sealed(std::string_view file);

// parse_sealed_preamble reads the preamble through a bounds-checked cursor; an Error names what is
// wrong (not a sealed file, an unknown version, a malformed key id, a short preamble).
Result<SealedPreamble> parse_sealed_preamble(std::string_view file);

// SealedWriter produces a sealed stream as bytes, doing no I/O: the caller writes each piece it
// returns whole (one write(2)), in order.
class SealedWriter {
 public:
  // start returns the writer and sets `preamble` to the bytes that open the file. `version` is
  // kSealedVersion but for tests of the reading of older files.
  static SealedWriter start(const SecretKey& stream_key, std::string_view key_id, std::string_view salt,
                            std::string& preamble, std::uint8_t version = kSealedVersion);
  ~SealedWriter();
  SealedWriter(SealedWriter&& other) noexcept;
  SealedWriter& operator=(SealedWriter&&) = delete;
  SealedWriter(const SealedWriter&) = delete;
  SealedWriter& operator=(const SealedWriter&) = delete;

  // seal appends to `out` the chunk(s) carrying `plain` (several if it exceeds kMaxSealedChunk;
  // nothing for an empty `plain`).
  void seal(std::string_view plain, std::string& out);
  // seal of `head` then `body` as if they were one string, without joining them first.
  void seal(std::string_view head, std::string_view body, std::string& out);
  // finish appends the FINAL chunk; after it, seal and finish abort (a programming error).
  void finish(std::string& out);

 private:
  SealedWriter() = default;
  void chunk(std::string_view a, std::string_view b, bool final, std::string& out);
  struct State;
  std::unique_ptr<State> state_;  // the cipher state, wiped when destroyed
  std::string ad_;          // the preamble: every chunk's additional data
  bool finished_ = false;
};

// How a sealed file read back.
enum class SealedState {
  Complete,  // every chunk authentic, ending with the FINAL chunk
  CutShort,  // authentic up to where the file stops, without a FINAL chunk: a crash, or a file copied while written
  Altered,   // a chunk fails authentication, is malformed, or bytes follow the FINAL chunk
};
const char* to_string(SealedState s);

// Unsealed: what reading a sealed file gave. `plain` always holds the plaintext of every authentic
// chunk before the first problem; `detail` says where the problem is (empty when Complete).
struct Unsealed {
  SealedState state = SealedState::Complete;
  std::string plain;
  std::size_t chunks = 0;  // authentic chunks read, the FINAL one included
  std::string detail;
};

// KeyLookup finds the client data key named by a file's key id, or says why there is none (unknown,
// destroyed on DATE by WHOM).
using KeyLookup = std::function<Result<SecretKey>(const std::string& key_id)>;

// SealedSource appends to `out` up to `n` more bytes of a sealed file, in order; it returns false on a
// read error, and appends nothing at the end of the file. PlainChunkSink takes the plaintext of each
// authentic chunk in order, and returns false to stop (a write that failed).
using SealedSource = std::function<bool(std::size_t n, std::string& out)>;
using PlainChunkSink = std::function<bool(std::string_view plain)>;

// SealedReport: how a sealed stream read, without its plaintext (which went to a PlainChunkSink).
struct SealedReport {
  SealedState state = SealedState::Complete;
  std::size_t chunks = 0;
  std::string detail;
};

// StreamKeyFor: the key of the file whose preamble is given (derived from its client's key, or
// known already).
using StreamKeyFor = std::function<Result<SecretKey>(const SealedPreamble&)>;

// SealedReader reads a sealed file from a SealedSource one chunk at a time, when its caller asks:
// the pull side of unseal_stream (which is built on it). It holds one chunk (kMaxSealedChunk at
// most) and hands out only plaintext that authenticated.
class SealedReader {
 public:
  // open reads the preamble and finds the file's key. An Error as unseal's when it cannot start.
  static Result<SealedReader> open(SealedSource source, const KeyLookup& lookup);
  static Result<SealedReader> open_with(SealedSource source, const StreamKeyFor& key_for);
  ~SealedReader();
  SealedReader(SealedReader&& other) noexcept;
  SealedReader& operator=(SealedReader&& other) noexcept;
  SealedReader(const SealedReader&) = delete;
  SealedReader& operator=(const SealedReader&) = delete;

  // next: the plaintext of the next authentic chunk (never empty; valid, and wiped, until the next
  // call), or an empty view once the stream ends: report() then says how (Complete, CutShort after
  // its authentic prefix, Altered naming where). A source that fails reads as the file's end.
  std::string_view next();
  bool ended() const;
  const SealedReport& report() const;

 private:
  struct State;
  explicit SealedReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// unseal_stream reads a sealed file from `source` one chunk at a time, handing each authentic
// chunk's plaintext to `sink` before reading the next: at most one chunk (kMaxSealedChunk) is held,
// so a recording of any size is decrypted in bounded memory. Errors as unseal's, and an Error when
// the sink refuses a piece. What reached the sink before an Altered or CutShort state is authentic.
Result<SealedReport> unseal_stream(const SealedSource& source, const KeyLookup& lookup, const PlainChunkSink& sink);

// unseal reads a whole sealed file. An Error when it cannot even start (not sealed, bad preamble,
// no key, a key that does not open the first chunk: the wrong key, or the file's start altered);
// otherwise the state of the stream with its authentic prefix.
Result<Unsealed> unseal(std::string_view file, const KeyLookup& lookup);

// unseal_with is unseal with the file's own stream key already derived (tests, the fuzz target).
Result<Unsealed> unseal_with(std::string_view file, const SecretKey& stream_key);

}  // namespace bastion::audit
