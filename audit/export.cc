#include "audit/export.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "audit/access_json.h"
#include "audit/client_terms.h"
#include "audit/data_keys.h"
#include "audit/event_chain.h"
#include "audit/fd_io.h"
#include "audit/openpgp.h"
#include "audit/session_query.h"
#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "audit/tar_gz.h"
#include "authz/sqlite_request_store.h"
#include "authz/sqlite_store.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

std::string member_name(const RecordingRow& r) {
  return "recordings/" + std::to_string(r.session_id) + "/" + std::filesystem::path(r.summary.path).filename().string();
}

Json recording_json(const RecordingRow& r) {
  return {{"id", r.id},           {"channel", r.channel},          {"kind", r.summary.kind},
          {"sha256", r.summary.sha256}, {"bytes_in", r.summary.bytes_in}, {"bytes_out", r.summary.bytes_out},
          {"start", iso8601_utc(r.start)}, {"end", iso8601_utc(r.end)}, {"file", member_name(r)}};
}

Json session_with_recordings(const SessionRow& s, const std::string& client, const Json& recordings) {
  Json j = session_json(s, client);
  j["recordings"] = recordings;
  return j;
}

class Exporter {
 public:
  // lookup: opens sealed recordings, which then go into the archive decrypted; null: every file
  // goes in as recorded (sealed ones stay sealed).
  Exporter(const db::DatabasePtr& db, std::string client, TarGzWriter& tar, Seconds now, const KeyLookup* lookup)
      : db_(db), client_(std::move(client)), tar_(tar), now_(now), lookup_(lookup) {}

  Status run() {
    if (auto st = sessions(); !st) return st;
    if (auto st = events(); !st) return st;
    if (auto st = grants(); !st) return st;
    return requests();
  }
  const ExportReport& report() const { return report_; }

 private:
  Status sessions() {
    SqliteSessionStore store(db_);
    Json all = Json::array();
    SessionFilter filter;
    filter.client = client_;
    for (const auto& s : find_sessions(db_, filter)) {
      Json recordings = Json::array();
      for (const auto& r : store.recordings_of(s.id)) {
        Json j = recording_json(r);
        if (auto st = add_recording(r, j); !st) {
          return Error{"recording " + std::to_string(r.id) + " of session " + std::to_string(s.id) +
                       " cannot be exported: " + st.error().message};
        }
        recordings.push_back(j);
        ++report_.recordings;
      }
      all.push_back(session_with_recordings(s, client_, recordings));
      ++report_.sessions;
    }
    return tar_.add_bytes("sessions.json", all.dump(2) + "\n", now_);
  }

  // add_recording puts one recording file in the archive: decrypted (in memory) if it is sealed and
  // a key lookup was given, as recorded otherwise. `j` says which ("encrypted", "cut_short").
  Status add_recording(const RecordingRow& r, Json& j) {
    if (lookup_ == nullptr || !starts_sealed(r.summary.path)) {
      j["encrypted"] = lookup_ == nullptr && starts_sealed(r.summary.path);
      return tar_.add_file(member_name(r), r.summary.path, r.end);
    }
    auto text = read_recording(r.summary.path, *lookup_);
    if (!text) return text.error();
    j["encrypted"] = false;
    if (text->state == SealedState::CutShort) j["cut_short"] = text->detail;
    return tar_.add_bytes(member_name(r), text->bytes, r.end);
  }

  static bool starts_sealed(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    char head[8] = {};
    return fd && ::pread(fd.get(), head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
           is_sealed(std::string_view(head, sizeof head));
  }

  Status events() {
    Json all = Json::array();
    EventFilter filter;
    filter.client = client_;
    for (const auto& e : list_events(*db_, filter)) all.push_back(event_json(e));
    report_.events = static_cast<std::int64_t>(all.size());
    return tar_.add_bytes("events.json", all.dump(2) + "\n", now_);
  }

  Status grants() {
    Json all = Json::array();
    for (const auto& g : authz::SqliteStore(db_).grants_of_client(client_)) {
      all.push_back(grant_json(g, now_));
      report_.emergency_grants += g.emergency ? 1 : 0;
    }
    report_.grants = static_cast<std::int64_t>(all.size());
    return tar_.add_bytes("grants.json", all.dump(2) + "\n", now_);
  }

  Status requests() {
    Json all = Json::array();
    for (const auto& r : authz::SqliteRequestStore(db_).list()) {
      if (r.client == client_) all.push_back(request_record_json(r));
    }
    report_.requests = static_cast<std::int64_t>(all.size());
    return tar_.add_bytes("requests.json", all.dump(2) + "\n", now_);
  }

  const db::DatabasePtr& db_;
  std::string client_;
  TarGzWriter& tar_;
  Seconds now_;
  const KeyLookup* lookup_;
  ExportReport report_;
};

}  // namespace

Result<ExportReport> export_client(const db::DatabasePtr& db, const std::string& client, const std::string& out_path) {
  if (!find_client_terms(*db, client)) return Error{"no client named '" + client + "'"};
  auto tar = TarGzWriter::create(out_path);
  if (!tar) return tar.error();
  Exporter exporter(db, client, *tar, process_clock().now(), nullptr);
  Status st = exporter.run();
  if (st) st = tar->finish();
  if (!st) {
    ::unlink(out_path.c_str());
    return st.error();
  }
  return exporter.report();
}

Result<BuiltExport> build_client_export(const db::DatabasePtr& db, const std::string& client, const KeyLookup& lookup) {
  if (!find_client_terms(*db, client)) return Error{"no client named '" + client + "'"};
  UniqueFd mem(::memfd_create("bastion-export", MFD_CLOEXEC));
  if (!mem) return Error{errno_text("cannot create the export's memory file")};
  UniqueFd writer_fd(::dup(mem.get()));
  if (!writer_fd) return Error{errno_text("cannot duplicate the export's memory file")};
  auto tar = TarGzWriter::over(std::move(writer_fd), "the export stream");
  if (!tar) return tar.error();
  Exporter exporter(db, client, *tar, process_clock().now(), lookup ? &lookup : nullptr);
  Status st = exporter.run();
  if (st) st = tar->finish();
  if (!st) return st.error();
  const off_t end = ::lseek(mem.get(), 0, SEEK_END);
  if (end < 0) return Error{errno_text("cannot size the export's memory file")};
  BuiltExport built;
  built.memory = std::move(mem);
  built.bytes = static_cast<std::uint64_t>(end);
  built.report = exporter.report();
  return built;
}

Result<BuiltExport> encrypt_export(const BuiltExport& clear, std::string_view passphrase, std::string_view file_name,
                                   std::uint32_t mtime) {
  UniqueFd mem(::memfd_create("bastion-export-pgp", MFD_CLOEXEC));
  if (!mem) return Error{errno_text("cannot create the encrypted export's memory file")};
  std::uint64_t at = 0;
  auto source = [&](char* buf, std::size_t len) -> Result<std::size_t> {
    auto n = clear.read_at(at, buf, len);
    if (n) at += *n;
    return n;
  };
  auto sink = [&](std::string_view bytes) -> Status {
    if (!write_all(mem.get(), bytes)) return Error{errno_text("cannot write the encrypted export's memory file")};
    return ok_status();
  };
  if (auto st = pgp_encrypt(source, passphrase, file_name, mtime, sink); !st) return st.error();
  const off_t end = ::lseek(mem.get(), 0, SEEK_END);
  if (end < 0) return Error{errno_text("cannot size the encrypted export's memory file")};
  BuiltExport built;
  built.memory = std::move(mem);
  built.bytes = static_cast<std::uint64_t>(end);
  built.report = clear.report;
  return built;
}

Result<std::size_t> BuiltExport::read_at(std::uint64_t offset, char* buf, std::size_t len) const {
  for (;;) {
    const ssize_t n = ::pread(memory.get(), buf, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{errno_text("cannot read the export's memory file")};
    return static_cast<std::size_t>(n);
  }
}

Status BuiltExport::copy_to(std::ostream& out) const {
  std::array<char, 65536> buf{};
  for (std::uint64_t at = 0;;) {
    auto n = read_at(at, buf.data(), buf.size());
    if (!n) return n.error();
    if (*n == 0) break;
    out.write(buf.data(), static_cast<std::streamsize>(*n));
    at += *n;
  }
  out.flush();
  if (!out) return Error{"the export could not be written out"};
  return ok_status();
}

}  // namespace bastion::audit
