#pragma once
// Notifier: tells requesters and approvers of each access-request transition (issue 17), and the
// client of each break-glass grant that bypassed its approval (grant.emergency), by a webhook — an
// HTTP POST of a JSON body signed with HMAC-SHA256 under a configured secret. It reads the
// request.* and grant.emergency events of the audit chain after a cursor kept in the settings
// table, so a transition is notified only once it is on record, and none is lost across restarts. It runs in a
// child process the daemon forks (Housekeeping::tick): never in the path of a login or a session.
// Each delivery is retried with back-off; one that still fails is an audit event (notify.failed)
// and the cursor moves on.
#include <chrono>
#include <string>
#include <string_view>

#include "audit/event_log.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::gateway {

struct NotifySettings {
  std::string url;          // http://HOST:PORT/PATH; empty: no notifications
  std::string secret_file;  // the HMAC key, one line (read at each run, so it can be rotated)
  int attempts = 5;         // per delivery, the first included
  std::chrono::milliseconds first_backoff{1000};  // doubled after each failed attempt
  std::chrono::seconds timeout{5};                // connect, send and read, each
};

// HttpUrl: the parts of an http:// URL the notifier uses.
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path = "/";
};

// parse_http_url accepts http://HOST[:PORT][/PATH] with a host of letters, digits, '.', '-' (or
// an IPv4 address) and a path of printable characters; https is refused (no TLS client here:
// put a local relay in front).
Result<HttpUrl> parse_http_url(std::string_view url);

// hmac_sha256_hex: the lower-case hex HMAC-SHA256 of body under key (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

// post_signed POSTs body as application/json with the header
// "X-Bastion-Signature: sha256=<hmac_sha256_hex(secret, body)>"; ok on an HTTP 2xx status line.
Status post_signed(const HttpUrl& url, std::string_view body, std::string_view secret, std::chrono::seconds timeout);

// notify_pending delivers, in order, every request.* event after the cursor, each retried with
// back-off as `settings` say; a delivery that still fails is recorded as notify.failed through
// `events`. The cursor (setting "notify-cursor") starts at the newest event the first time, so
// enabling notifications does not replay history. Returns how many were delivered. Throws
// db::DbError if the database cannot be read or the cursor written.
int notify_pending(db::DatabasePtr db, audit::EventLog& events, const NotifySettings& settings, const Clock& clock);

}  // namespace bastion::gateway
