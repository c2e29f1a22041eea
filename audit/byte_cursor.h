#pragma once
// ByteCursor: the only way audit/ reads untrusted bytes (recordings read back from disk, SFTP
// packets in transit). Every
// getter checks the remaining length first and, on overrun, returns false without consuming
// anything, so a parser never reads past its input (STYLE.md: CBS, not pointer arithmetic).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bastion::audit {

class ByteCursor {
 public:
  explicit ByteCursor(std::string_view data) : data_(data) {}

  std::size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return remaining() == 0; }
  // offset returns how many bytes have been consumed since construction.
  std::size_t offset() const { return pos_; }

  // get_u8 sets out to the next byte and advances; returns false if no byte remains.
  bool get_u8(std::uint8_t& out) { return get_be(1, out); }
  // get_u16_be sets out to the next big-endian 16-bit value and advances; returns false if fewer
  // than 2 bytes remain.
  bool get_u16_be(std::uint16_t& out) { return get_be(2, out); }
  // get_u32_be sets out to the next big-endian 32-bit value and advances; returns false if fewer
  // than 4 bytes remain.
  bool get_u32_be(std::uint32_t& out) { return get_be(4, out); }
  // get_u64_be sets out to the next big-endian 64-bit value and advances; returns false if fewer
  // than 8 bytes remain.
  bool get_u64_be(std::uint64_t& out) { return get_be(8, out); }

  // get_bytes sets out to a view of the next n bytes (pointing into the cursor's input, which must
  // outlive it) and advances; returns false if fewer than n bytes remain.
  bool get_bytes(std::size_t n, std::string_view& out) {
    if (remaining() < n) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // peek_u32_be sets out to the next big-endian 32-bit value without advancing; returns false if
  // fewer than 4 bytes remain.
  bool peek_u32_be(std::uint32_t& out) const {
    ByteCursor copy = *this;
    return copy.get_u32_be(out);
  }

  // get_string reads an SSH "string" (RFC 4251 §5: a big-endian u32 length, then that many bytes),
  // sets out to a view of the bytes and advances; returns false, consuming nothing, if the length
  // or the bytes it announces are not all there.
  bool get_string(std::string_view& out) {
    ByteCursor copy = *this;
    std::uint32_t n = 0;
    if (!copy.get_u32_be(n) || !copy.get_bytes(n, out)) return false;
    *this = copy;
    return true;
  }

  // rest returns a view of everything not yet consumed, without advancing.
  std::string_view rest() const { return data_.substr(pos_); }

  // skip_expected advances past `expected` if the input continues with exactly those bytes;
  // returns false (and consumes nothing) otherwise.
  bool skip_expected(std::string_view expected) {
    if (data_.substr(pos_, expected.size()) != expected) return false;
    pos_ += expected.size();
    return true;
  }

 private:
  template <typename T>
  bool get_be(std::size_t n, T& out) {
    if (remaining() < n) return false;
    T value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      value = static_cast<T>((value << 8) | static_cast<std::uint8_t>(data_[pos_ + i]));
    }
    out = value;
    pos_ += n;
    return true;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace bastion::audit
