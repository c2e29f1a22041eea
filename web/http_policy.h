#pragma once
// The headers every portal response carries, and the cookie rules (issue 18): a strict
// Content-Security-Policy with no inline script or style, HSTS, no framing, and no caching of
// anything that holds data.
#include <string>
#include <string_view>

#include <httplib.h>

namespace bastion::web {

// kSessionCookie holds a signed-in session's token; kPreSessionCookie the random value whose hash
// is the CSRF token of the sign-in and enrolment forms (nobody is signed in yet). The __Host-
// prefix makes the browser refuse them unless Secure, Path=/ and without Domain.
inline constexpr std::string_view kSessionCookie = "__Host-bastion";
inline constexpr std::string_view kPreSessionCookie = "__Host-bastion-pre";

// kPagePolicy: the Content-Security-Policy of every page: no script at all. kPlayerPolicy: the
// player page's: script files of this origin only, no inline script.
extern const std::string_view kPagePolicy;
extern const std::string_view kPlayerPolicy;

// set_policy_headers: CSP, HSTS, X-Content-Type-Options, Referrer-Policy, and Cache-Control
// no-store (every page of the portal is data or a form with a token).
void set_policy_headers(httplib::Response& res);

// cookie_header: "NAME=VALUE; Path=/; Secure; HttpOnly; SameSite=Strict" (+ Max-Age when
// max_age_seconds >= 0; 0 deletes the cookie).
std::string cookie_header(std::string_view name, std::string_view value, long max_age_seconds = -1);

}  // namespace bastion::web
