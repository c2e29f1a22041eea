#pragma once
// cookie_value: one cookie of a request's Cookie header (RFC 6265 "name=value; name2=value2"),
// read through the bounds-checked Cursor: the header is bytes a stranger sent. Header-only, so the
// fuzz target (tests/fuzz/cookie_fuzz.cc) needs no library.
#include <optional>
#include <string>
#include <string_view>

#include "authz/cursor.h"

namespace bastion::web {

// cookie_value returns the value of the first cookie called `name`, without surrounding quotes;
// nothing if there is none. Whitespace around pairs is skipped; a pair without '=' is ignored.
inline std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  Cursor c(header);
  while (!c.at_end()) {
    while (c.consume(' ') || c.consume('\t')) {
    }
    std::string_view pair = c.take_until(';');
    c.consume(';');
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    while (!value.empty() && (value.front() == ' ' || value.back() == ' ')) {
      value = value.front() == ' ' ? value.substr(1) : value.substr(0, value.size() - 1);
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (key == name) return std::string(value);
  }
  return std::nullopt;
}

}  // namespace bastion::web
