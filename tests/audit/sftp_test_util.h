#pragma once
// Helpers for the SFTP tests: SFTP v3 packets built by hand, the real OpenSSH
// sftp-server driven over pipes (so the replies are the real server's), the
// real sftp client captured through tee, and feeding a transcript to an
// SftpParser in pieces of any size.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "audit/fd_io.h"
#include "audit/sftp_parser.h"
#include "tests/audit/test_util.h"

extern char **environ;

namespace bastion::audit::testing {

inline constexpr const char *kSftpServer = "/usr/lib/openssh/sftp-server";

// ---- Packets
// ------------------------------------------------------------------------------------

inline void put_u32(std::string &out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u64(std::string &out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
  put_u32(out, static_cast<std::uint32_t>(v));
}
inline void put_str(std::string &out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// packet frames a type and body with the length prefix.
inline std::string packet(std::uint8_t type, const std::string &body) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(body.size() + 1));
  out.push_back(static_cast<char>(type));
  return out + body;
}

// request: a packet whose body starts with the request id.
inline std::string request(std::uint8_t type, std::uint32_t id, const std::string &rest) {
  std::string body;
  put_u32(body, id);
  return packet(type, body + rest);
}

inline std::string str(std::string_view s) {
  std::string out;
  put_str(out, s);
  return out;
}
inline std::string u32(std::uint32_t v) {
  std::string out;
  put_u32(out, v);
  return out;
}
inline std::string u64(std::uint64_t v) {
  std::string out;
  put_u64(out, v);
  return out;
}
inline std::string no_attrs() { return u32(0); }
inline std::string mode_attrs(std::uint32_t mode) { return u32(0x4) + u32(mode); }

inline std::string init_packet() { return packet(1, u32(3)); }

// ---- The real sftp-server over pipes
// -------------------------------------------------------------

// Transcript: the bytes of an SFTP conversation in the order they crossed,
// tagged by direction.
using Transcript = std::vector<std::pair<SftpDirection, std::string>>;

// SftpServer runs the real OpenSSH sftp-server as a child with its stdin and
// stdout on pipes; every exchange goes into the transcript exactly as sent and
// received.
class SftpServer {
 public:
  SftpServer() {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {const_cast<char *>(kSftpServer), nullptr};
    const int rc = ::posix_spawn(&pid_, kSftpServer, &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    if (rc != 0) throw std::runtime_error("cannot run " + std::string(kSftpServer));
  }
  ~SftpServer() {
    ::close(to_);
    ::close(from_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  SftpServer(const SftpServer &) = delete;
  SftpServer &operator=(const SftpServer &) = delete;

  // exchange sends one request packet and returns the server's one reply
  // packet.
  std::string exchange(const std::string &request_packet) {
    send(request_packet);
    return receive();
  }
  void send(const std::string &bytes) {
    if (!write_all(to_, bytes)) throw std::runtime_error("cannot write to sftp-server");
    transcript_.emplace_back(SftpDirection::ToServer, bytes);
  }
  std::string receive() {
    std::string head = read_exactly(4);
    std::uint32_t n = 0;
    for (char c : head) n = (n << 8) | static_cast<std::uint8_t>(c);
    std::string reply = head + read_exactly(n);
    transcript_.emplace_back(SftpDirection::ToClient, reply);
    return reply;
  }
  const Transcript &transcript() const { return transcript_; }

 private:
  std::string read_exactly(std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t got = 0; got < n;) {
      const ssize_t r = ::read(from_, out.data() + got, n - got);
      if (r <= 0) throw std::runtime_error("sftp-server closed its output");
      got += static_cast<std::size_t>(r);
    }
    return out;
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  Transcript transcript_;
};

// reply_type and reply_handle read the server's reply packets in the tests.
inline std::uint8_t reply_type(const std::string &reply) { return static_cast<std::uint8_t>(reply.at(4)); }
inline std::string reply_handle(const std::string &reply) {
  if (reply_type(reply) != 102) throw std::runtime_error("expected a HANDLE reply");
  return reply.substr(13);  // length 4, type 1, id 4, handle length 4
}

// ---- The real sftp client, captured through tee
// ---------------------------------------------------

// ClientCapture: what the stock sftp client and server said to each other, one
// file per direction.
struct ClientCapture {
  std::string to_server;
  std::string to_client;
};

// capture_sftp_client runs `sftp -b batch -D "tee | sftp-server | tee"` in
// `dir` and returns both directions as they crossed; nullopt if sftp fails. tee
// keeps each direction's bytes exact but not how the two interleaved: a caller
// feeds all requests, then all replies.
inline std::optional<ClientCapture> capture_sftp_client(const std::string &dir, const std::string &batch) {
  const std::string c2s = dir + "/c2s.bin", s2c = dir + "/s2c.bin", batch_file = dir + "/batch";
  std::ofstream(batch_file) << batch;
  const std::string server = "sh -c 'tee " + c2s + " | " + kSftpServer + " | tee " + s2c + "'";
  if (!run_command("cd '" + dir + "' && sftp -q -b '" + batch_file + "' -D \"" + server + "\" >/dev/null 2>&1")) {
    return std::nullopt;
  }
  auto to_server = read_file(c2s);
  auto to_client = read_file(s2c);
  if (!to_server || !to_client) return std::nullopt;
  return ClientCapture{*to_server, *to_client};
}

// split_packets cuts one direction's bytes into its length-prefixed packets
// (test data is well formed).
inline std::vector<std::string> split_packets(std::string_view bytes) {
  std::vector<std::string> out;
  while (bytes.size() >= 4) {
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<std::uint8_t>(bytes[i]);
    out.emplace_back(bytes.substr(0, 4 + std::size_t{n}));
    bytes.remove_prefix(std::min(bytes.size(), 4 + std::size_t{n}));
  }
  return out;
}

// packet_key: the request id of a packet, or ~0 for INIT and VERSION (which
// pair with each other).
inline std::uint64_t packet_key(const std::string &p) {
  const auto type = static_cast<std::uint8_t>(p.at(4));
  if (type == 1 || type == 2) return ~std::uint64_t{0};
  std::uint32_t id = 0;
  for (int i = 5; i < 9; ++i) id = (id << 8) | static_cast<std::uint8_t>(p.at(static_cast<std::size_t>(i)));
  return id;
}

// interleave restores the order in which a tee capture's packets crossed, by
// SFTP's own rules: each request gets exactly one reply, replies come in order,
// and a client reuses a request id only after its reply. Each reply is placed
// right after its request, before anything that follows.
inline Transcript interleave(const ClientCapture &c) {
  const auto requests = split_packets(c.to_server), replies = split_packets(c.to_client);
  Transcript t;
  std::multiset<std::uint64_t> outstanding;
  std::size_t q = 0, r = 0;
  while (q < requests.size() || r < replies.size()) {
    const bool reply_due = r < replies.size() && outstanding.count(packet_key(replies[r])) != 0;
    if (!reply_due && q == requests.size()) throw std::runtime_error("a reply in the capture has no request");
    if (reply_due) {
      outstanding.erase(outstanding.find(packet_key(replies[r])));
      t.emplace_back(SftpDirection::ToClient, replies[r++]);
    } else {
      outstanding.insert(packet_key(requests[q]));
      t.emplace_back(SftpDirection::ToServer, requests[q++]);
    }
  }
  return t;
}

inline bool have_sftp_tools() { return ::access(kSftpServer, X_OK) == 0 && have_command("sftp"); }

// ---- Feeding
// ------------------------------------------------------------------------------------

// feed_in_pieces feeds bytes of one direction in pieces of at most `piece`
// bytes (0 = all at once).
inline void feed_in_pieces(SftpParser &p, SftpDirection d, std::string_view bytes, std::size_t piece,
                           std::vector<SftpOperation> &out) {
  if (piece == 0) piece = bytes.size() + 1;
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    for (auto &op : p.feed(d, bytes.substr(i, piece))) out.push_back(std::move(op));
  }
}

// parse_transcript feeds a transcript in order, each chunk in pieces of at most
// `piece` bytes, then finishes the parser, and returns every operation.
inline std::vector<SftpOperation> parse_transcript(const Transcript &t, std::size_t piece = 0) {
  SftpParser p;
  std::vector<SftpOperation> out;
  for (const auto &[d, bytes] : t) feed_in_pieces(p, d, bytes, piece, out);
  for (auto &op : p.finish()) out.push_back(std::move(op));
  return out;
}

// kinds lists the operations' kinds, for compact expectations.
inline std::vector<std::string> kinds(const std::vector<SftpOperation> &ops) {
  std::vector<std::string> out;
  for (const auto &op : ops) out.push_back(op.kind);
  return out;
}

}  // namespace bastion::audit::testing
