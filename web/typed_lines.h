#pragma once
// TypedLines: the lines an operator typed in a terminal session, rebuilt from the "i" (input)
// events of its asciicast recording, one marker per line sent with Enter, so that a reviewer jumps
// in the player from command to command (issue 18).
//
// The rebuilt text is what the keys typed, not what the shell ran: line editing that the bastion
// cannot replay without the shell's state (arrow keys, history, tab completion) marks the line as
// inexact, and the player's screen at the marker is the authority. Backspace, Ctrl-U (kill line),
// Ctrl-W (kill word) and Ctrl-C (abandon line) are applied. A line sent empty makes no marker.
//
// Fed one recording line at a time, so a recording of any size costs one line of memory plus the
// markers kept (at most kMaxMarkers; the rest are counted).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::web {

struct TypedLine {
  double time = 0;     // seconds since the start of the recording: when Enter was pressed
  std::string label;   // the line as the keys typed it, at most kMaxLabelBytes, valid UTF-8
  bool inexact = false;  // arrow, tab or other editing keys were used: the screen shows the real line
};

class TypedLines {
 public:
  static constexpr std::size_t kMaxMarkers = 5000;
  static constexpr std::size_t kMaxLabelBytes = 160;

  // feed_line takes one line of the recording (without its newline). The header line and any
  // event other than "i" are ignored; a line that is not an event is ignored too (the download and
  // `audit verify` judge the file, the markers only help to navigate it).
  void feed_line(std::string_view line);
  // feed_input applies the keys of one "i" event typed at `time`.
  void feed_input(double time, std::string_view keys);

  const std::vector<TypedLine>& lines() const { return lines_; }
  // dropped: lines sent beyond kMaxMarkers (not kept).
  std::size_t dropped() const { return dropped_; }

 private:
  void end_line(double time);
  void pop_char();
  void pop_word();

  std::vector<TypedLine> lines_;
  std::size_t dropped_ = 0;
  std::string current_;
  bool inexact_ = false;
  enum class Escape { None, Started, Csi, Ss3 } escape_ = Escape::None;
};

}  // namespace bastion::web
