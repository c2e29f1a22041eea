#include "web/typed_lines.h"

#include <gtest/gtest.h>

namespace bastion::web {
namespace {

TEST(TypedLines, OneMarkerPerLineSentWithEnterAtTheTimeOfTheEnter) {
  TypedLines t;
  t.feed_line(R"({"version": 2, "width": 80, "height": 24})");
  t.feed_line(R"([0.5, "o", "$ "])");
  t.feed_line(R"([1.0, "i", "l"])");
  t.feed_line(R"([1.2, "i", "s\r"])");
  t.feed_line(R"([1.3, "o", "a b c\r\n$ "])");
  t.feed_line(R"([2.0, "i", "\r"])");  // an empty line: no marker
  t.feed_line(R"([3.25, "i", "echo hi\recho there\n"])");
  ASSERT_EQ(t.lines().size(), 3u);
  EXPECT_EQ(t.lines()[0].label, "ls");
  EXPECT_DOUBLE_EQ(t.lines()[0].time, 1.2);
  EXPECT_EQ(t.lines()[1].label, "echo hi");
  EXPECT_EQ(t.lines()[2].label, "echo there");
  EXPECT_DOUBLE_EQ(t.lines()[2].time, 3.25);
  EXPECT_FALSE(t.lines()[0].inexact);
}

TEST(TypedLines, BackspaceKillLineAndKillWordAreAppliedAndCtrlCAbandonsTheLine) {
  TypedLines t;
  t.feed_input(1, "lss\x7f -la\r");
  t.feed_input(2, "rm -rf /\x15" "echo ok\r");
  t.feed_input(3, "cat one two\x17three\r");
  t.feed_input(4, "sleep 100\x03\r");
  t.feed_input(5, "caf\xc3\xa9\x7f" "e\r");
  ASSERT_EQ(t.lines().size(), 4u);
  EXPECT_EQ(t.lines()[0].label, "ls -la");
  EXPECT_EQ(t.lines()[1].label, "echo ok");
  EXPECT_EQ(t.lines()[2].label, "cat one three");
  EXPECT_EQ(t.lines()[3].label, "cafe");  // the two-byte é went with one backspace
}

TEST(TypedLines, ArrowKeysAndTabMarkTheLineInexactAndTheirBytesAreNotInTheLabel) {
  TypedLines t;
  t.feed_input(1, "\x1b[A\r");          // history: up arrow, Enter — nothing typed is known
  t.feed_input(2, "git sta\tus\r");     // completion: the shell added "t", the keys did not
  t.feed_input(3, "vi x\x1bOD\x1b[1;5Cy\r");
  t.feed_input(4, "pwd\r");
  ASSERT_EQ(t.lines().size(), 3u);
  EXPECT_EQ(t.lines()[0].label, "git staus");  // what the keys typed; inexact says so
  EXPECT_TRUE(t.lines()[0].inexact);
  EXPECT_EQ(t.lines()[1].label, "vi xy");
  EXPECT_TRUE(t.lines()[1].inexact);
  EXPECT_EQ(t.lines()[2].label, "pwd");
  EXPECT_FALSE(t.lines()[2].inexact);
}

TEST(TypedLines, OutputEventsAndMalformedLinesAreIgnored) {
  TypedLines t;
  t.feed_line(R"([1.0, "o", "i typed\r\n"])");
  t.feed_line(R"([1.0, "i", )");        // cut short
  t.feed_line(R"([1.0, "i", 42])");     // data is not text
  t.feed_line("not json at all, \"i\" \r");
  t.feed_line(R"([1.5, "i", "ok\r"])");
  ASSERT_EQ(t.lines().size(), 1u);
  EXPECT_EQ(t.lines()[0].label, "ok");
}

TEST(TypedLines, LongLinesAreCutOnACharacterBoundaryAndMarkersAreCapped) {
  TypedLines t;
  std::string long_line(TypedLines::kMaxLabelBytes - 1, 'a');
  long_line += "\xc3\xa9\xc3\xa9\r";  // é straddles the cut
  t.feed_input(1, long_line);
  ASSERT_EQ(t.lines().size(), 1u);
  EXPECT_EQ(t.lines()[0].label, std::string(TypedLines::kMaxLabelBytes - 1, 'a') + "…");
  for (std::size_t i = 0; i < TypedLines::kMaxMarkers + 10; ++i) t.feed_input(2, "x\r");
  EXPECT_EQ(t.lines().size(), TypedLines::kMaxMarkers);
  EXPECT_EQ(t.dropped(), 11u);
}

}  // namespace
}  // namespace bastion::web
