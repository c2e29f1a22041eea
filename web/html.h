#pragma once
// HTML of the portal: every page is rendered on the server, with no inline script or style, so
// the Content-Security-Policy (web/http_policy.h) can forbid both.
#include <string>
#include <string_view>
#include <vector>

namespace bastion::web {

// escape makes text safe in HTML element content and in double-quoted attributes.
std::string escape(std::string_view text);

// url_encode percent-encodes everything but unreserved characters (RFC 3986), for query values.
std::string url_encode(std::string_view text);

struct Page {
  std::string title;    // the <title> and the <h1>
  std::string body;     // HTML, already escaped where needed
  std::string account;  // signed-in account ("" on sign-in and enrolment pages)
  std::string csrf;     // the session's CSRF token, for the sign-out form
  bool officer = false;  // the navigation names the export for an officer (any client) or a reviewer (her own)
};

// render_page wraps body in the portal's layout (language, viewport, landmarks, navigation).
// page_open and page_close are its two halves, for pages streamed in pieces (page.body unused).
// scripts, styles: paths of same-origin script files and extra style sheets the page loads (the
// player page only); the portal sends no inline script or style.
std::string render_page(const Page& page, const std::vector<std::string>& scripts = {},
                        const std::vector<std::string>& styles = {});
std::string page_open(const Page& page, const std::vector<std::string>& scripts = {},
                      const std::vector<std::string>& styles = {});
std::string page_close();

// notice: a paragraph with role="alert" (refusals) or role="status" (confirmations).
std::string notice(std::string_view text, bool is_error);

// kStyleSheet: /static/style.css. Readable at 360 px: tables scroll inside their own region.
extern const std::string_view kStyleSheet;

}  // namespace bastion::web
