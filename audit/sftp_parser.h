#pragma once
// SftpParser: turns the two byte streams of an SFTP channel (version 3, what
// OpenSSH speaks) into audit operations as they pass through the gateway
// (DESIGN.md "Recording", issue 4).
//
// It is fed arbitrary fragments of either direction, in the order the gateway
// forwards them; a packet may be split across any number of feeds and one feed
// may hold many packets. Every byte is read through ByteCursor. A packet longer
// than SftpLimits::max_packet_length, a malformed packet, a type that does not
// belong to its direction, a protocol version other than 3 or more tracked
// state than the limits allow makes the stream *unparseable*: parsing stops for
// good and one "sftp.unparseable" operation says why (the bytes themselves are
// still in the channel recording).
//
// Operations, each a kind and a JSON object of details:
//   sftp.open      path, pflags, flags
//   ["read","write","append","creat","trunc","excl"], attrs, status sftp.close
//   path, pflags, flags, bytes_read, bytes_written, failed_writes, status —
//   once per
//                  file handle: at its CLOSE reply, or from finish() with
//                  status "unclosed"
//   sftp.opendir   path, status (READDIR traffic is not itemised)
//   sftp.remove    path, status              sftp.rmdir   path, status
//   sftp.mkdir     path, attrs, status       sftp.setstat path, attrs, status
//   (+ "handle": true for
//                                            FSETSTAT, "nofollow": true for
//                                            lsetstat@openssh.com)
//   sftp.rename    from, to, status (+ "posix": true for
//   posix-rename@openssh.com) sftp.symlink   target, link, status — in
//   OpenSSH's argument order (target first), which is the
//                  reverse of draft-02's; OpenSSH is the server this gateway
//                  fronts
//   sftp.link      target, link, status      (hardlink@openssh.com)
//   sftp.copy      from, to, read_offset, length, write_offset, status
//   (copy-data) sftp.extended  name, status              (any other extended
//   request that may change state) sftp.unparseable direction, offset (bytes
//   into that direction), reason
// "status" is "ok" or the name of the SFTP status code (sftp/status_name), with
// "status_code" and the server's "message" when it is not "ok".
//
// Byte counts: bytes_read adds the data length of each DATA reply to a READ on
// the handle; bytes_written adds a WRITE's data length when its STATUS ok comes
// back (a refused write is counted in failed_writes instead, and a write still
// unanswered at finish() is in neither).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::audit {

struct SftpOperation {
  std::string kind;
  nlohmann::json details;
  bool operator==(const SftpOperation &) const = default;
};

enum class SftpDirection { ToServer, ToClient };  // operator→server requests, server→operator replies

struct SftpLimits {
  // max_packet_length bounds a packet's length field: OpenSSH's 256 KiB plus
  // room for headers.
  std::size_t max_packet_length = 256 * 1024 + 1024;
  std::size_t max_outstanding_requests = 1024;  // requests tracked until their reply
  std::size_t max_open_handles = 1024;          // handles tracked until their close
};

class SftpParser {
 public:
  explicit SftpParser(SftpLimits limits = {});
  ~SftpParser();
  SftpParser(SftpParser &&) noexcept;
  SftpParser &operator=(SftpParser &&) noexcept;

  // feed consumes bytes of direction d and returns the operations they
  // completed, in order. Memory stays bounded by the limits whatever the input.
  std::vector<SftpOperation> feed(SftpDirection d, std::string_view bytes);

  // finish ends the channel: every file handle still open yields an
  // "sftp.close" with status "unclosed". Later feeds are ignored.
  std::vector<SftpOperation> finish();

  // unparseable says whether parsing has stopped (the "sftp.unparseable"
  // operation was returned).
  bool unparseable() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bastion::audit
