// Nothing passes unrecorded (DESIGN.md "Recording"): a terminal session becomes an asciicast v2 file
// with what was typed and what was shown; a non-pty exec channel is recorded byte-exact per stream.
// Both are read back the way a reviewer would, with `bastionctl sessions export ID`.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/files.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// last_session_of: the operator's latest session, once its row is closed. The client may exit
// before the monitor has sealed the recording and written the row (it digests the file first):
// reading it earlier would race that.
std::int64_t last_session_of(const TestEnv& env, const std::string& op) {
  std::vector<nlohmann::json> rows;
  const bool closed = wait_until([&] {
    rows = sessions_of(env.bastion, op);
    return !rows.empty() && rows.back()["status"] != "live";
  }, std::chrono::seconds(30));
  if (rows.empty()) throw HarnessError("no session of " + op + " in sessions list --json");
  if (!closed) throw HarnessError("session " + rows.back()["id"].dump() + " of " + op + " still live after 30 s");
  return rows.back()["id"].get<std::int64_t>();
}

TEST(Recording, TerminalSessionIsAnAsciicastWithInputAndOutput) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op");
  RunResult r = run_in_pty(op.ssh(op.user(env.login(), "web1"), {}, {"-t"}), op.env(),
                           "echo typed-$((6*7))\nexit\n", 100, 30, 60s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  ASSERT_NE(r.out.find("typed-42"), std::string::npos) << diag(env, r);

  const std::int64_t id = last_session_of(env, op.name());
  const std::string cast = env.bastion.ctl_ok({"sessions", "export", std::to_string(id)}).out;
  std::istringstream lines(cast);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line)) << "empty export";
  nlohmann::json header = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(header.is_object()) << "header is not a JSON object: " << line;
  EXPECT_EQ(header["version"], 2) << line;
  EXPECT_EQ(header["width"], 100) << line;
  EXPECT_EQ(header["height"], 30) << line;

  std::string input, output;
  double last_time = 0;
  int events = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(e.is_array() && e.size() == 3 && e[0].is_number() && e[1].is_string() && e[2].is_string())
        << "not an asciicast event: " << line;
    EXPECT_GE(e[0].get<double>(), last_time) << "time goes backwards: " << line;
    last_time = e[0].get<double>();
    ++events;
    if (e[1] == "i") input += e[2].get<std::string>();
    if (e[1] == "o") output += e[2].get<std::string>();
  }
  EXPECT_GT(events, 0);
  EXPECT_NE(input.find("echo typed-$((6*7))"), std::string::npos) << "typed input not in the \"i\" events: " << input;
  EXPECT_NE(output.find("typed-42"), std::string::npos) << "command output not in the \"o\" events: " << output;
}

// ExecRecording: the public file format of audit/exec_recording.h, read independently of the daemon:
// data records of streams 0-2, then optionally one trailer record (stream 3) with per-stream totals
// and SHA-256 digests.
struct ExecRecording {
  std::string streams[3];  // stdin, stdout, stderr
  bool has_trailer = false;
  std::uint64_t total[3] = {0, 0, 0}, stored[3] = {0, 0, 0};
  std::string sha256[3];  // hex
  std::string error;      // why the file is not well-formed, "" if it is
};

ExecRecording parse_exec_recording(const std::string& file) {
  ExecRecording rec;
  const std::string magic = "BSTNREC1\n";
  if (file.compare(0, magic.size(), magic) != 0) {
    rec.error = "no BSTNREC1 magic";
    return rec;
  }
  auto be = [&](std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(file[at + static_cast<std::size_t>(i)]);
    return v;
  };
  std::size_t at = magic.size();
  std::uint64_t last_us = 0;
  while (at < file.size()) {
    if (rec.has_trailer) {
      rec.error = "data after the trailer at offset " + std::to_string(at);
      return rec;
    }
    if (file.size() - at < 13) {
      rec.error = "truncated record header at offset " + std::to_string(at);
      return rec;
    }
    const auto stream = static_cast<unsigned char>(file[at]);
    const std::uint64_t us = be(at + 1, 8);
    const std::uint64_t len = be(at + 9, 4);
    at += 13;
    if (stream > 3 || us < last_us || file.size() - at < len || (stream == 3 && len != 8 + 3 * 48)) {
      rec.error = "bad record (stream " + std::to_string(stream) + ", length " + std::to_string(len) + ") at offset " +
                  std::to_string(at - 13);
      return rec;
    }
    last_us = us;
    if (stream == 3) {
      rec.has_trailer = true;
      static const char* hex = "0123456789abcdef";
      for (int s = 0; s < 3; ++s) {
        const std::size_t base = at + 8 + static_cast<std::size_t>(s) * 48;
        rec.total[s] = be(base, 8);
        rec.stored[s] = be(base + 8, 8);
        for (std::size_t i = 0; i < 32; ++i) {
          const auto b = static_cast<unsigned char>(file[base + 16 + i]);
          rec.sha256[s] += hex[b >> 4];
          rec.sha256[s] += hex[b & 15];
        }
      }
    } else {
      rec.streams[stream].append(file, at, len);
    }
    at += len;
  }
  return rec;
}

TEST(Recording, ExecChannelIsRecordedByteExact) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op");
  const std::string server_dir = env.scratch("server");
  const std::string received = env.tmp.sub("received.bin");
  std::string input;
  for (int i = 0; i < 5000; ++i) input += "stdin line " + std::to_string(i) + "\n";

  SpawnOptions o;
  o.argv = op.ssh(op.user(env.login(), "web1"),
                  {"cat > " + server_dir + "/in; head -c 5242880 /dev/urandom | tee " + server_dir +
                   "/X; echo err-marker >&2"});
  o.env = op.env();
  o.stdin_data = input;
  o.stdout_file = received;
  RunResult r = run(std::move(o), 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  ASSERT_EQ(file_size(received), 5242880u);
  ASSERT_EQ(same_bytes(received, server_dir + "/X"), "");
  ASSERT_EQ(read_file(server_dir + "/in"), input);

  const std::int64_t id = last_session_of(env, op.name());
  RunResult exported = env.bastion.ctl({"sessions", "export", std::to_string(id)});
  ASSERT_EQ(exported.exit(), 0) << exported.status.describe() << " " << exported.err;
  ExecRecording rec = parse_exec_recording(exported.out);
  ASSERT_EQ(rec.error, "");
  EXPECT_TRUE(rec.streams[1] == read_file(received))
      << "recorded stdout (" << rec.streams[1].size() << " bytes) differs from the " << file_size(received)
      << " bytes the client received";
  EXPECT_TRUE(rec.streams[0] == input) << "recorded stdin differs (" << rec.streams[0].size() << " bytes)";
  EXPECT_EQ(rec.streams[2], "err-marker\n");
  if (rec.has_trailer) {
    // Totals of what passed. Under the cap, a plain file states no stream digest (zeros: the file's
    // digest in the chain covers every stored byte); a sealed one, which its writer cannot read back,
    // states each stream's digest as it went, and it must be the digest of what was recorded.
    EXPECT_EQ(rec.total[1], 5242880u);
    EXPECT_EQ(rec.stored[1], 5242880u) << "the recording stored only part of a 5 MiB stdout (a cap?)";
    if (rec.sha256[1] != std::string(64, '0')) {
      EXPECT_EQ(rec.sha256[1], sha256_of(received));
    }
    EXPECT_EQ(rec.total[0], input.size());
  }
  EXPECT_EQ(rec.streams[1].find("err-marker"), std::string::npos);
}

}  // namespace
}  // namespace bastion::e2e
