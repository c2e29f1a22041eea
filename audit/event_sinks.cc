#include "audit/event_sinks.h"

#include <fcntl.h>
#include <syslog.h>

#include <cctype>

#include <spdlog/sinks/stdout_sinks.h>

#include "audit/event_chain.h"
#include "audit/fd_io.h"
#include "audit/unique_fd.h"

namespace bastion::audit {
namespace {

bool is_auth(const Event& e) { return e.kind.rfind("auth.", 0) == 0; }

std::string safe_word(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("._@+-").find(c) != std::string_view::npos;
    out.push_back(ok ? c : '?');
  }
  return out.empty() ? "?" : out;
}

// safe_address keeps what an IPv4 or IPv6 address is made of.
std::string safe_address(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':' ? c : '?');
  return out.empty() ? "unknown" : out;
}

// split_source turns "203.0.113.7:51234" or "[2001:db8::1]:51234" into address and port.
std::pair<std::string, std::string> split_source(const std::string& source) {
  if (!source.empty() && source.front() == '[') {
    const auto close = source.find(']');
    if (close != std::string::npos && close + 1 < source.size() && source[close + 1] == ':') {
      return {source.substr(1, close - 1), source.substr(close + 2)};
    }
    return {source, ""};
  }
  const auto colon = source.rfind(':');
  if (colon == std::string::npos || source.find(':') != colon) return {source, ""};
  return {source.substr(0, colon), source.substr(colon + 1)};
}

std::string method_words(const nlohmann::json& details) {
  const auto it = details.find("method");
  const std::string method = it != details.end() && it->is_string() ? it->get<std::string>() : "unknown";
  // OpenSSH logs TOTP-style prompts as keyboard-interactive through PAM; fail2ban expects that.
  if (method == "keyboard-interactive") return "keyboard-interactive/pam";
  return safe_word(method);
}

const std::shared_ptr<spdlog::logger>& default_auth_logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("bastion-auth", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ bastiond[%P]: %v", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return logger;
}

Status append_json_line(const std::string& path, const std::string& line) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error{errno_text("cannot open the audit JSON lines file " + path)};
  if (!write_all(fd.get(), line)) return Error{errno_text("cannot append to the audit JSON lines file " + path)};
  if (fd.close() != 0) return Error{errno_text("cannot close the audit JSON lines file " + path)};
  return ok_status();
}

void to_syslog(const Event& e, const std::string& json) {
  if (!is_auth(e)) {
    ::syslog(LOG_DAEMON | LOG_INFO, "%s", json.c_str());
    return;
  }
  const auto line = fail2ban_line(e);
  ::syslog(LOG_AUTHPRIV | (line ? LOG_WARNING : LOG_INFO), "%s", (line ? *line : json).c_str());
}

}  // namespace

std::optional<std::string> fail2ban_line(const Event& e) {
  if (e.kind != "auth.failure") return std::nullopt;
  const auto invalid = e.details.find("invalid_user");
  const bool invalid_user = invalid != e.details.end() && invalid->is_boolean() && invalid->get<bool>();
  const auto [address, port] = split_source(e.source);
  std::string line = "Failed " + method_words(e.details) + " for " + (invalid_user ? "invalid user " : "") +
                     safe_word(e.actor) + " from " + safe_address(address);
  if (!port.empty()) line += " port " + safe_word(port);
  return line + " ssh2";
}

Status emit_to_sinks(const EventSinks& sinks, const StoredEvent& e) {
  const std::string json = event_json(e).dump();
  if (!sinks.json_lines_path.empty()) {
    if (auto st = append_json_line(sinks.json_lines_path, json + "\n"); !st) return st;
  }
  if (sinks.syslog) to_syslog(e.event, json);
  if (sinks.auth_failure_lines) {
    if (const auto line = fail2ban_line(e.event)) {
      const auto& logger = sinks.auth_failure_logger ? sinks.auth_failure_logger : default_auth_logger();
      logger->warn("{}", *line);
    }
  }
  return ok_status();
}

Status emit_line_to_sinks(const EventSinks& sinks, const std::string& json) {
  if (!sinks.json_lines_path.empty()) {
    if (auto st = append_json_line(sinks.json_lines_path, json + "\n"); !st) return st;
  }
  if (sinks.syslog) ::syslog(LOG_DAEMON | LOG_INFO, "%s", json.c_str());
  return ok_status();
}

}  // namespace bastion::audit
