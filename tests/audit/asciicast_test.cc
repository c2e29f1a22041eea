// Tests for audit/asciicast.cc: the pty recording format.
#include "audit/asciicast.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/fd_io.h"
#include "audit/unique_fd.h"
#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

const std::string kFffd = "\xEF\xBF\xBD";

AsciicastHeader test_header() { return AsciicastHeader{100, 30, 1700000000, "xterm-256color", "", "uptime"}; }

// CastFile: a writer on a fresh file in a temp dir, with a manual clock.
class CastFile {
 public:
  CastFile() : fd_(testing::open_append(dir_ / "t.cast")) {}
  AsciicastWriter open(const AsciicastHeader& h = test_header()) {
    auto w = AsciicastWriter::create(fd_.get(), h, clock_);
    if (!w) throw std::runtime_error(w.error().message);
    return std::move(w.value());
  }
  std::string contents() const { return read_file(dir_ / "t.cast").value(); }
  Asciicast parsed() const {
    auto cast = parse_asciicast(contents());
    if (!cast) throw std::runtime_error(cast.error().message);
    return std::move(cast.value());
  }
  std::string path() const { return dir_ / "t.cast"; }
  int fd() const { return fd_.get(); }
  ManualMonotonicClock& clock() { return clock_; }

 private:
  TempDir dir_;
  UniqueFd fd_;
  ManualMonotonicClock clock_;
};

// output_text concatenates the data of every event with the given code.
std::string text_of(const Asciicast& cast, const std::string& code) {
  std::string out;
  for (const auto& e : cast.events) {
    if (e.code == code) out += e.data;
  }
  return out;
}

TEST(Asciicast, RoundTripsOutputInputAndResizeWithTimes) {
  CastFile f;
  AsciicastWriter w = f.open();
  ASSERT_TRUE(w.write(Stream::Output, "$ "));
  f.clock().advance(1500ms);
  ASSERT_TRUE(w.write(Stream::Input, "ls\r"));
  f.clock().advance(250ms);
  ASSERT_TRUE(w.resize(120, 40));
  f.clock().advance(1us);
  ASSERT_TRUE(w.write(Stream::Error, "oops\n"));
  ASSERT_TRUE(w.finish());

  const Asciicast cast = f.parsed();
  EXPECT_EQ(cast.header.width, 100);
  EXPECT_EQ(cast.header.height, 30);
  EXPECT_EQ(cast.header.timestamp, 1700000000);
  EXPECT_EQ(cast.header.term, "xterm-256color");
  EXPECT_EQ(cast.header.title, "uptime");
  EXPECT_FALSE(cast.truncated);
  ASSERT_EQ(cast.events.size(), 4u);
  EXPECT_DOUBLE_EQ(cast.events[0].time, 0.0);
  EXPECT_EQ(cast.events[0].code, "o");
  EXPECT_EQ(cast.events[0].data, "$ ");
  EXPECT_DOUBLE_EQ(cast.events[1].time, 1.5);
  EXPECT_EQ(cast.events[1].code, "i");
  EXPECT_EQ(cast.events[1].data, "ls\r");
  EXPECT_DOUBLE_EQ(cast.events[2].time, 1.75);
  EXPECT_EQ(cast.events[2].code, "r");
  EXPECT_EQ(cast.events[2].data, "120x40");
  EXPECT_DOUBLE_EQ(cast.events[3].time, 1.750001);
  EXPECT_EQ(cast.events[3].code, "o");  // stderr of a pty channel is shown on the same screen
  EXPECT_EQ(cast.events[3].data, "oops\n");
}

TEST(Asciicast, WritesOneLinePerEventInAsciinemaLayout) {
  CastFile f;
  AsciicastWriter w = f.open();
  f.clock().advance(2500ms);
  ASSERT_TRUE(w.write(Stream::Input, "ls\r"));
  const std::string text = f.contents();
  const std::string second_line = text.substr(text.find('\n') + 1);
  EXPECT_EQ(second_line, "[2.500000, \"i\", \"ls\\r\"]\n");
}

TEST(Asciicast, HeaderIsOneJsonObjectWithTheV2Fields) {
  CastFile f;
  AsciicastWriter w = f.open(AsciicastHeader{80, 24, 1234, "vt100", "/bin/bash", "deploy \"v2\""});
  const std::string text = f.contents();
  const std::string first_line = text.substr(0, text.find('\n'));
  const auto j = nlohmann::json::parse(first_line);  // throws, failing the test, if not JSON
  EXPECT_EQ(j.at("version"), 2);
  EXPECT_EQ(j.at("width"), 80);
  EXPECT_EQ(j.at("height"), 24);
  EXPECT_EQ(j.at("timestamp"), 1234);
  EXPECT_EQ(j.at("env").at("TERM"), "vt100");
  EXPECT_EQ(j.at("env").at("SHELL"), "/bin/bash");
  EXPECT_EQ(j.at("title"), "deploy \"v2\"");
  // The fields come in the order the format's documentation shows, version first.
  EXPECT_EQ(first_line.rfind("{\"version\":2,\"width\":80,\"height\":24,", 0), 0u) << first_line;
}

TEST(Asciicast, TitleThatIsNotUtf8IsReplacedNotRefused) {
  CastFile f;
  AsciicastWriter w = f.open(AsciicastHeader{80, 24, 0, "xterm", "", "cat \xFF"});
  EXPECT_EQ(f.parsed().header.title, "cat " + kFffd);
}

TEST(Asciicast, Utf8SequenceSplitAcrossWritesIsJoined) {
  // "é" (2 bytes), "€" (3 bytes), "😀" (4 bytes), each cut at every possible place.
  for (const std::string ch : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    for (std::size_t cut = 1; cut < ch.size(); ++cut) {
      CastFile f;
      AsciicastWriter w = f.open();
      const std::size_t header_size = f.contents().size();
      ASSERT_TRUE(w.write(Stream::Output, "a" + ch.substr(0, cut)));
      ASSERT_TRUE(w.write(Stream::Output, ch.substr(cut) + "b"));
      ASSERT_TRUE(w.finish());
      const Asciicast cast = f.parsed();
      EXPECT_EQ(text_of(cast, "o"), "a" + ch + "b") << "cut at " << cut;
      EXPECT_GT(f.contents().size(), header_size);
    }
  }
}

TEST(Asciicast, SequenceSplitOverManyWritesWaitsWithoutWritingEvents) {
  CastFile f;
  AsciicastWriter w = f.open();
  const std::size_t header_size = f.contents().size();
  ASSERT_TRUE(w.write(Stream::Output, "\xF0"));
  ASSERT_TRUE(w.write(Stream::Output, "\x9F"));
  ASSERT_TRUE(w.write(Stream::Output, "\x98"));
  EXPECT_EQ(f.contents().size(), header_size);  // nothing displayable yet, so nothing written
  ASSERT_TRUE(w.write(Stream::Output, "\x80"));
  const Asciicast cast = f.parsed();
  ASSERT_EQ(cast.events.size(), 1u);
  EXPECT_EQ(cast.events[0].data, "\xF0\x9F\x98\x80");
}

TEST(Asciicast, InputAndOutputSplitsDoNotMix) {
  CastFile f;
  AsciicastWriter w = f.open();
  ASSERT_TRUE(w.write(Stream::Output, "\xE2"));
  ASSERT_TRUE(w.write(Stream::Input, "\x82"));  // a stray continuation byte on the other stream
  ASSERT_TRUE(w.write(Stream::Output, "\x82\xAC"));
  const Asciicast cast = f.parsed();
  EXPECT_EQ(text_of(cast, "i"), kFffd);
  EXPECT_EQ(text_of(cast, "o"), "\xE2\x82\xAC");
}

struct InvalidCase {
  std::string bytes;
  std::string shown;
};

class AsciicastInvalid : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(AsciicastInvalid, IllFormedBytesBecomeReplacementCharacters) {
  CastFile f;
  AsciicastWriter w = f.open();
  ASSERT_TRUE(w.write(Stream::Output, GetParam().bytes));
  ASSERT_TRUE(w.finish());
  const std::string text = f.contents();
  // Every line stays valid JSON whatever the bytes were.
  std::size_t begin = 0;
  for (std::size_t nl; (nl = text.find('\n', begin)) != std::string::npos; begin = nl + 1) {
    EXPECT_TRUE(nlohmann::json::accept(text.substr(begin, nl - begin)));
  }
  EXPECT_EQ(text_of(f.parsed(), "o"), GetParam().shown);
}

const std::string R = kFffd;  // NOLINT: short name keeps the table readable

INSTANTIATE_TEST_SUITE_P(
    Utf8, AsciicastInvalid,
    ::testing::Values(InvalidCase{"a\xFF" "b", "a" + R + "b"},                  // never valid in UTF-8
                      InvalidCase{"\x80\xBF", R + R},                             // lone continuations
                      InvalidCase{"\xC3(", R + "("},                             // lead without continuation
                      InvalidCase{"\xC0\xAF", R + R},                             // overlong "/"
                      InvalidCase{"\xE0\x80\xAF", R + R + R},                     // overlong 3-byte form
                      InvalidCase{"\xED\xA0\x80", R + R + R},                     // UTF-16 surrogate
                      InvalidCase{"\xF4\x90\x80\x80", R + R + R + R},             // above U+10FFFF
                      InvalidCase{"\xE2\x82x", R + "x"},                          // one U+FFFD per maximal subpart
                      InvalidCase{"\xF0\x9F\x98", R},                             // stream ends inside a sequence
                      InvalidCase{std::string("\x00\x1B[31m\"\\\t", 8), std::string("\x00\x1B[31m\"\\\t", 8)}));

TEST(Asciicast, ControlBytesAndLargeOutputRoundTripExactly) {
  std::string all_ascii;
  for (int i = 0; i < 128; ++i) all_ascii.push_back(static_cast<char>(i));
  std::string big;
  for (int i = 0; i < 2000; ++i) big += all_ascii + "\xCE\xBB\xE2\x82\xAC";
  CastFile f;
  AsciicastWriter w = f.open();
  // Feed it in odd-sized pieces so that multi-byte characters are cut everywhere.
  for (std::size_t i = 0; i < big.size(); i += 997) ASSERT_TRUE(w.write(Stream::Output, big.substr(i, 997)));
  ASSERT_TRUE(w.finish());
  EXPECT_EQ(text_of(f.parsed(), "o"), big);
}

TEST(Asciicast, TruncatedLastLineKeepsEveryCompleteEvent) {
  CastFile f;
  AsciicastWriter w = f.open();
  ASSERT_TRUE(w.write(Stream::Output, "one"));
  ASSERT_TRUE(w.write(Stream::Output, "two"));
  const std::string text = f.contents();
  for (std::size_t cut = 1; cut < std::string("[0.000000, \"o\", \"two\"]\n").size(); ++cut) {
    auto cast = parse_asciicast(std::string_view(text).substr(0, text.size() - cut));
    ASSERT_TRUE(cast.ok()) << cast.error().message;
    const bool only_newline_cut = cut == 1;  // the last event is still complete JSON
    ASSERT_EQ(cast->events.size(), only_newline_cut ? 2u : 1u);
    EXPECT_EQ(cast->events[0].data, "one");
    EXPECT_EQ(cast->truncated, !only_newline_cut);
  }
}

TEST(Asciicast, ParserRejectsMalformedFiles) {
  const std::string header = R"({"version": 2, "width": 80, "height": 24})" "\n";
  struct Bad {
    std::string file;
    std::string message_part;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"", "no complete header"},
           {R"({"version": 1, "width": 80, "height": 24})" "\n", "version 2"},
           {R"({"version": 2, "width": 0, "height": 24})" "\n", "width and height"},
           {R"([2, 80, 24])" "\n", "not a JSON object"},
           {header + "[0.5, \"o\"]\n", "line 2"},
           {header + "[0.5, \"o\", \"a\"]\nnot json\n", "line 3"},
           {header + "[-1, \"o\", \"a\"]\n", "negative"},
           {header + "[2.0, \"o\", \"a\"]\n[1.0, \"o\", \"b\"]\n", "backwards"},
       }) {
    auto cast = parse_asciicast(bad.file);
    ASSERT_FALSE(cast.ok()) << bad.file;
    EXPECT_NE(cast.error().message.find(bad.message_part), std::string::npos) << cast.error().message;
  }
}

TEST(Asciicast, WriteFailureAfterStartFailsEveryLaterCall) {
  CastFile f;
  AsciicastWriter w = f.open();
  ASSERT_TRUE(w.write(Stream::Output, "before"));
  ASSERT_TRUE(testing::redirect_to_dev_full(f.fd()));
  EXPECT_FALSE(w.write(Stream::Output, "lost"));
  EXPECT_TRUE(w.failed());
  EXPECT_FALSE(w.resize(80, 24));
  EXPECT_FALSE(w.finish());
}

TEST(Asciicast, HeaderThatCannotBeWrittenFailsCreate) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  ManualMonotonicClock clock;
  auto w = AsciicastWriter::create(full.get(), test_header(), clock);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("No space left"), std::string::npos) << w.error().message;
  auto bad = AsciicastWriter::create(-1, test_header(), clock);
  EXPECT_FALSE(bad.ok());  // EBADF
}

TEST(Asciicast, StockAsciinemaReadsTheFile) {
  if (!testing::have_command("asciinema") || !testing::have_command("script")) {
    GTEST_SKIP() << "asciinema (and util-linux script) are not installed";
  }
  CastFile f;
  AsciicastWriter w = f.open();
  ASSERT_TRUE(w.write(Stream::Output, "hello \xE2\x82"));
  f.clock().advance(100ms);
  ASSERT_TRUE(w.write(Stream::Input, "q"));
  ASSERT_TRUE(w.write(Stream::Output, "\xAC world\r\n"));
  ASSERT_TRUE(w.resize(132, 43));
  ASSERT_TRUE(w.finish());
  // `asciinema cat` prints the output events in order and fails on a file it cannot parse. It
  // insists on a controlling terminal (it opens /dev/tty and puts it in raw mode, so output bytes
  // pass unaltered), which `script` provides; -e passes its exit status through.
  auto printed = testing::run_command("script -qec \"asciinema cat '" + f.path() + "'\" /dev/null </dev/null");
  ASSERT_TRUE(printed.has_value());
  EXPECT_EQ(*printed, "hello \xE2\x82\xAC world\r\n");
}

}  // namespace
}  // namespace bastion::audit
