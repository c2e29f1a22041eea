#include "gateway/notifier.h"

#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/sqlite_event_log.h"
#include "audit/unique_fd.h"
#include "authz/sqlite_request_store.h"
#include "authz/text.h"

namespace bastion::gateway {
namespace {

using Json = nlohmann::json;

constexpr const char* kBreakGlass = "grant.emergency";

bool host_char(unsigned char c) { return std::isalnum(c) != 0 || c == '.' || c == '-'; }

Result<std::string> read_secret(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return Error{"the notification secret file " + path + " cannot be read"};
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return Error{"the notification secret file " + path + " is empty"};
  return line;
}

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// connect_to: a connected TCP socket with send and receive timeouts, or why not.
Result<audit::UniqueFd> connect_to(const HttpUrl& url, std::chrono::seconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string port = std::to_string(url.port);
  if (int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    return Error{"cannot resolve " + url.host + ": " + gai_strerror(rc)};
  }
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  const timeval tv{static_cast<time_t>(timeout.count()), 0};
  std::string last = "no address";
  for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    audit::UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    // Linux applies SO_SNDTIMEO to connect() too, so an unanswering receiver costs `timeout`.
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
    last = std::strerror(errno);
  }
  return Error{"cannot connect to " + url.host + ":" + port + ": " + last};
}

Status send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{std::string("sending failed: ") + std::strerror(errno)};
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

// status_line_ok: the receiver's answer starts "HTTP/1.x 2" (a 2xx status). Only these bytes are
// looked at, by fixed comparison: nothing else of the response is interpreted.
bool status_line_ok(std::string_view head) {
  return head.size() >= 10 && (head.substr(0, 9) == "HTTP/1.1 " || head.substr(0, 9) == "HTTP/1.0 ") && head[9] == '2';
}

// body_of: what the receiver gets for one event: the event as chained, the request as it now
// stands, and whom to tell (the requester; the approvals still missing).
Json body_of(const audit::StoredEvent& s) {
  const auto& d = s.event.details;
  const bool break_glass = s.event.kind == kBreakGlass;
  Json request = !break_glass && d.contains("after") ? d.at("after") : Json(nullptr);
  Json notify = Json::object();
  if (request.is_object()) {
    notify["requester"] = request.value("operator", "");
    notify["waiting_for"] = request.value("waiting_for", "");
    notify["client"] = request.value("client", "");
  }
  Json body{{"event_id", s.id},   {"kind", s.event.kind},         {"at", iso8601_utc(s.event.at)},
            {"actor", s.event.actor}, {"server", s.event.server}, {"request", request},
            {"notify", notify},   {"event_hash", s.hash}};
  if (break_glass) {
    // No request: the client whose approval was bypassed is the one to tell.
    body["notify"] = {{"requester", d.value("operator", "")}, {"waiting_for", ""}, {"client", d.value("client", "")}};
    body["grant"] = d;
  }
  return body;
}

// notified_after: the events the webhook delivers, oldest first: every request.* transition, and
// each break-glass grant (grant.emergency), which the client whose approval it bypassed must hear of.
std::vector<audit::StoredEvent> notified_after(db::Database& db, std::int64_t cursor) {
  std::vector<audit::StoredEvent> out;
  for (const char* kind : {"request", kBreakGlass}) {
    audit::EventFilter filter;
    filter.kind = kind;
    for (auto& e : audit::list_events(db, filter)) {
      if (e.id > cursor) out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

// deliver: one event, retried with doubling back-off.
Status deliver(const HttpUrl& url, const std::string& body, const std::string& secret, const NotifySettings& s,
               int& attempts) {
  auto delay = s.first_backoff;
  Status last = Error{"not attempted"};
  for (attempts = 1; attempts <= s.attempts; ++attempts) {
    last = post_signed(url, body, secret, s.timeout);
    if (last) return last;
    if (attempts < s.attempts) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
  }
  attempts = s.attempts;
  return last;
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, 8) == "https://") {
    return Error{"--notify-url: https is not supported; point it at a local relay over http"};
  }
  if (url.substr(0, kScheme.size()) != kScheme) return Error{"--notify-url must start with http://"};
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  const auto colon = authority.find(':');
  const std::string_view host = authority.substr(0, colon);
  if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), host_char)) {
    return Error{"--notify-url: the host must be a name or IPv4 address"};
  }
  out.host = std::string(host);
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    int p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535) {
      return Error{"--notify-url: the port must be a number from 1 to 65535"};
    }
    out.port = p;
  }
  const bool printable = std::all_of(out.path.begin(), out.path.end(),
                                     [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  if (!printable || out.path.size() > 2048) return Error{"--notify-url: the path must be printable, without spaces"};
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
           body.size(), mac, &len) == nullptr) {
    spdlog::critical("HMAC-SHA256 failed inside OpenSSL");
    std::abort();  // cannot happen with a valid digest: abort loudly rather than send unsigned
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

Status post_signed(const HttpUrl& url, std::string_view body, std::string_view secret, std::chrono::seconds timeout) {
  auto fd = connect_to(url, timeout);
  if (!fd) return fd.error();
  const std::string head = "POST " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
                           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nX-Bastion-Signature: sha256=" + hmac_sha256_hex(secret, body) +
                           "\r\nConnection: close\r\nUser-Agent: bastiond\r\n\r\n";
  if (auto st = send_all(fd->get(), head); !st) return st;
  if (auto st = send_all(fd->get(), body); !st) return st;
  char buf[64];
  std::size_t got = 0;
  while (got < 10) {
    const ssize_t n = recv(fd->get(), buf + got, sizeof buf - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  const std::string_view answer(buf, got);
  if (!status_line_ok(answer)) {
    return Error{"the receiver did not answer 2xx (" + escape_unprintable(answer.substr(0, answer.find('\r'))) + ")"};
  }
  return ok_status();
}

int notify_pending(db::DatabasePtr db, audit::EventLog& events, const NotifySettings& settings, const Clock& clock) {
  if (settings.url.empty()) return 0;
  authz::SqliteRequestStore store(db);
  auto cursor = store.notify_cursor();
  if (!cursor) {
    // First run with notifications on: start after the newest event, history is not replayed.
    audit::EventFilter newest;
    newest.limit = 1;
    const auto last = audit::list_events(*db, newest);
    store.set_notify_cursor(last.empty() ? 0 : last.back().id);
    return 0;
  }
  const auto url = parse_http_url(settings.url);
  const auto secret = read_secret(settings.secret_file);
  int delivered = 0;
  for (const auto& e : notified_after(*db, *cursor)) {
    int attempts = 0;
    Status st = !url ? Status(url.error()) : !secret ? Status(secret.error()) : Status(ok_status());
    if (st) st = deliver(*url, body_of(e).dump(), *secret, settings, attempts);
    if (st) {
      ++delivered;
    } else {
      spdlog::warn("notification of event {} ({}) failed after {} attempt(s): {}", e.id, e.event.kind, attempts,
                   st.error().message);
      audit::Event failed{clock.now(), "notify.failed", "bastiond", "", e.event.server, std::nullopt,
                          {{"event_id", e.id}, {"kind", e.event.kind}, {"url", settings.url},
                           {"attempts", attempts}, {"error", st.error().message}}};
      if (auto rec = events.append(failed); !rec) {
        // Not moving the cursor: the delivery is tried again at the next run, and so is the event.
        throw db::DbError("notify.failed cannot be recorded: " + rec.error().message);
      }
    }
    store.set_notify_cursor(e.id);
  }
  return delivered;
}

}  // namespace bastion::gateway
