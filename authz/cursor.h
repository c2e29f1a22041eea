#pragma once
// Cursor: the one way parsers read untrusted text (command lines, target names). Every read is
// bounds-checked and fails softly at the end of input, so no parser ever does pointer arithmetic
// on bytes a peer sent (STYLE.md: "untrusted bytes are read only through a bounds-checked cursor").
#include <cstddef>
#include <optional>
#include <string_view>

namespace bastion {

class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}

  // at_end returns true once every byte has been consumed.
  bool at_end() const { return pos_ >= in_.size(); }

  // peek returns the next byte without consuming it; std::nullopt at the end.
  std::optional<char> peek() const {
    if (at_end()) return std::nullopt;
    return in_[pos_];
  }

  // next returns the next byte and advances; std::nullopt (and no advance) at the end.
  std::optional<char> next() {
    if (at_end()) return std::nullopt;
    return in_[pos_++];
  }

  // consume advances past the next byte if it equals c; returns whether it did.
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // take_until returns the bytes up to (not including) the first occurrence of c, or everything
  // left if there is none, and advances past them; c itself is left unconsumed.
  std::string_view take_until(char c) {
    std::string_view rest = in_.substr(pos_);
    std::size_t n = rest.find(c);
    if (n == std::string_view::npos) n = rest.size();
    pos_ += n;
    return rest.substr(0, n);
  }

  // rest returns the unconsumed bytes without consuming them.
  std::string_view rest() const { return at_end() ? std::string_view{} : in_.substr(pos_); }

  std::size_t position() const { return pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace bastion
