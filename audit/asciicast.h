#pragma once
// Asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): the recording format of pty
// channels, so that stock `asciinema play` and asciinema-player replay them.
//
//   {"version": 2, "width": 80, "height": 24, "timestamp": 1700000000, "env": {"TERM": "xterm", "SHELL": ""}, "title": "…"}
//   [0.104210, "o", "$ "]
//   [1.500000, "i", "ls\r"]
//   [2.000000, "r", "120x40"]
//
// The file is JSON text, but a terminal stream is arbitrary bytes. The writer therefore keeps a
// UTF-8 sequence that a read split in two pending until its remaining bytes arrive, and records
// each ill-formed byte sequence as U+FFFD (one per maximal ill-formed subpart, as the Unicode
// standard recommends). What is replayed is exactly what a UTF-8 terminal would have shown; the
// original invalid bytes themselves are not kept. Channels that need byte-exactness are recorded
// by audit/exec_recording.h instead.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/monotonic.h"
#include "audit/recorder.h"
#include "audit/recording_sink.h"
#include "authz/result.h"

namespace bastion::audit {

struct AsciicastHeader {
  int width = 80;
  int height = 24;
  std::int64_t timestamp = 0;  // unix seconds at the start of the recording
  std::string term;            // env.TERM
  std::string shell;           // env.SHELL (the bastion does not know the remote shell; may be empty)
  std::string title;
};

struct AsciicastEvent {
  double time = 0;   // seconds since the start of the recording
  std::string code;  // "o" output, "i" input, "r" resize; other v2 codes (e.g. "m") are kept as found
  std::string data;  // UTF-8; for "r": "COLSxROWS"
};

struct Asciicast {
  AsciicastHeader header;
  std::vector<AsciicastEvent> events;
  // truncated is set when the file ends inside its last line (a crash while writing the last event);
  // that partial line is dropped and every complete event before it is returned.
  bool truncated = false;
};

// parse_asciicast reads an asciicast v2 file: a JSON object header line, then one JSON array
// [time, code, data] per line with non-decreasing times. Any malformed complete line is an error
// naming its line number; an incomplete final line only sets `truncated`.
Result<Asciicast> parse_asciicast(std::string_view file);

// Utf8Carry turns a byte stream delivered in arbitrary pieces into well-formed UTF-8.
class Utf8Carry {
 public:
  // feed appends to `out` the UTF-8 text of the pending bytes followed by `bytes`, each maximal
  // ill-formed subpart replaced by U+FFFD. A final sequence that is valid so far but incomplete
  // (at most 3 bytes) is kept pending for the next call instead of being replaced.
  void feed(std::string_view bytes, std::string& out);
  // finish appends U+FFFD if a sequence is pending (the stream ended inside it) and clears it.
  void finish(std::string& out);
  bool has_pending() const { return !pending_.empty(); }

 private:
  void decode(std::string_view s, std::string& out);
  std::string pending_;
};

// AsciicastWriter writes an asciicast v2 stream to a RecordingSink it owns (a plain one over a
// descriptor it does not own, which the caller opens O_APPEND and closes; or a sealed one). Each
// event is one write(2) of one complete line (or one sealed chunk), so a crash loses at most the
// event being written. After any failed write the writer refuses all further
// writes (the file may end in a partial line, and appending after it would corrupt the next one).
class AsciicastWriter {
 public:
  // create writes the header line to fd and starts the elapsed-time stopwatch on `clock`, which
  // must outlive the writer. Fails if the header cannot be written.
  static Result<AsciicastWriter> create(int fd, const AsciicastHeader& header, const MonotonicClock& clock);
  // create on a sink, e.g. a sealed one (audit/recording_sink.h).
  static Result<AsciicastWriter> create(RecordingSinkPtr sink, const AsciicastHeader& header,
                                        const MonotonicClock& clock);

  // write records `bytes` of stream s: Input as an "i" event, Output and Error as "o" events (each
  // stream decoded separately, so their split sequences never mix). Writes nothing, successfully,
  // while the bytes so far only begin a UTF-8 sequence. Returns false if the event was not written.
  bool write(Stream s, std::string_view bytes);
  // resize records an "r" event "COLSxROWS" with the values the client sent.
  bool resize(int cols, int rows);
  // finish writes any sequences still pending as U+FFFD events, then ends the sink's stream; call
  // before closing the file.
  bool finish();

  bool failed() const { return failed_; }

 private:
  AsciicastWriter(RecordingSinkPtr sink, const MonotonicClock& clock) : sink_(std::move(sink)), stopwatch_(clock) {}
  bool write_event(std::string_view code, std::string_view data);
  Utf8Carry& carry_of(Stream s);

  RecordingSinkPtr sink_;
  Stopwatch stopwatch_;
  Utf8Carry input_, output_, error_;
  bool failed_ = false;
};

}  // namespace bastion::audit
