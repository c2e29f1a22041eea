#pragma once
// Reading a recording file in order, one piece at a time, whether it sits on disk plain or sealed
// (audit/sealed_stream.h): how every reader of a recording gets at its bytes — the portal's pages and
// download, `sessions play`, exports — holding one piece, never the file (issue 18: a 200 MB
// recording is streamed; issue 20: nothing decrypted is written anywhere).
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "audit/sealed_stream.h"
#include "audit/unique_fd.h"
#include "authz/result.h"

namespace bastion::audit {

class RecordingReader {
 public:
  // kPlainPiece: the most a piece of a plain file holds (a sealed file's piece is one chunk).
  static constexpr std::size_t kPlainPiece = 64 * 1024;

  // open opens the file at path (a final symlink is refused, and anything but a regular file) and
  // reads it with from_fd.
  static Result<RecordingReader> open(const std::string& path, const KeyLookup& lookup);
  // from_fd reads the open file fd from its start; path names it in messages. If the file is sealed,
  // its client's key is found by `lookup` (which may be empty: a plain file needs none, a sealed one
  // is then refused). An Error for a sealed file whose key is unknown or destroyed (saying when and
  // by whom) or whose preamble is malformed.
  static Result<RecordingReader> from_fd(UniqueFd fd, const std::string& path, const KeyLookup& lookup);

  ~RecordingReader();
  RecordingReader(RecordingReader&& other) noexcept;
  RecordingReader& operator=(RecordingReader&& other) noexcept;
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;

  // next: the next bytes of the recording in its own format (asciicast, exec records): at most
  // kPlainPiece of a plain file, one authenticated chunk of a sealed one; valid until the next call;
  // empty at the end. An Error when the file cannot be read, or a sealed one was altered ("the
  // encrypted recording PATH was altered: WHERE"): nothing unauthenticated is ever returned. A
  // sealed recording cut short (a crash) ends after its authentic prefix; cut() then says where.
  // After the end or an Error, next returns the same again.
  Result<std::string_view> next();

  bool sealed() const;
  // cut: where a sealed recording read to its end was cut short; empty otherwise.
  const std::string& cut() const;

 private:
  struct State;
  explicit RecordingReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace bastion::audit
