#include "web/http_policy.h"

namespace bastion::web {

const std::string_view kPagePolicy =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

// The player compiles its terminal emulator from WebAssembly ('wasm-unsafe-eval' allows that and
// nothing else: no eval, no inline script) and fetches the recording from this origin.
const std::string_view kPlayerPolicy =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void set_policy_headers(httplib::Response& res) {
  // A route that sets its own policy (the player page) keeps it: two CSP headers would both apply.
  if (!res.has_header("Content-Security-Policy")) res.set_header("Content-Security-Policy", std::string(kPagePolicy));
  res.set_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

std::string cookie_header(std::string_view name, std::string_view value, long max_age_seconds) {
  std::string out = std::string(name) + "=" + std::string(value) + "; Path=/; Secure; HttpOnly; SameSite=Strict";
  if (max_age_seconds >= 0) out += "; Max-Age=" + std::to_string(max_age_seconds);
  return out;
}

}  // namespace bastion::web
