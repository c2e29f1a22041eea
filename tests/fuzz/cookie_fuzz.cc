// cookie_value (web/cookie.h) reads the Cookie header a stranger sent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "web/cookie.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  auto v = bastion::web::cookie_value(header, "__Host-bastion");
  if (v && v->size() > size) __builtin_trap();  // a value is a piece of the header, never more
  bastion::web::cookie_value(header, "");
  return 0;
}
