// Quoting for the target's shell, and the UTF-8 check that keeps a multibyte locale from
// re-reading the quotes.
#include "authz/shell_words.h"

#include <cstdint>

#include "authz/cursor.h"

namespace bastion::authz {
namespace {

// continuation reads one byte 10xxxxxx; false at the end or on any other byte.
bool continuation(Cursor& in, std::uint32_t& cp) {
  auto c = in.next();
  if (!c || (static_cast<unsigned char>(*c) & 0xC0) != 0x80) return false;
  cp = (cp << 6) | (static_cast<unsigned char>(*c) & 0x3F);
  return true;
}

// utf8_char reads one character starting with `lead`; false if it is malformed, overlong, a
// surrogate or above U+10FFFF.
bool utf8_char(unsigned char lead, Cursor& in) {
  if (lead < 0x80) return true;
  std::uint32_t cp = 0;
  int more = 0;
  std::uint32_t min = 0;
  if ((lead & 0xE0) == 0xC0) { cp = lead & 0x1F; more = 1; min = 0x80; }
  else if ((lead & 0xF0) == 0xE0) { cp = lead & 0x0F; more = 2; min = 0x800; }
  else if ((lead & 0xF8) == 0xF0) { cp = lead & 0x07; more = 3; min = 0x10000; }
  else return false;
  for (int i = 0; i < more; ++i) {
    if (!continuation(in, cp)) return false;
  }
  return cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

}  // namespace

std::string shell_quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string serialise_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& w : argv) {
    if (!out.empty()) out.push_back(' ');
    out += shell_quote(w);
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  Cursor in(s);
  while (auto c = in.next()) {
    if (!utf8_char(static_cast<unsigned char>(*c), in)) return false;
  }
  return true;
}

}  // namespace bastion::authz
