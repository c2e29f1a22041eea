// Tests for audit/fd_io.cc: the write wrappers every recording goes through.
#include "audit/fd_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "audit/unique_fd.h"
#include "tests/audit/test_util.h"

namespace bastion::audit {
namespace {

using testing::TempDir;

std::string pattern(std::size_t n, char first) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + static_cast<char>(i % 23));
  return s;
}

TEST(WriteAllHeadAndBody, AFileGetsTheHeadThenTheBodyWhateverTheirSizes) {
  TempDir dir;
  UniqueFd fd(testing::open_append(dir / "f"));
  ASSERT_TRUE(fd.valid());
  const std::string head = pattern(13, 'a'), body = pattern(200'000, 'A');
  ASSERT_TRUE(write_all(fd.get(), head, body));
  ASSERT_TRUE(write_all(fd.get(), "", "only a body"));
  ASSERT_TRUE(write_all(fd.get(), "only a head", ""));
  EXPECT_EQ(read_file(dir / "f").value(), head + body + "only a body" + "only a head");
}

TEST(WriteAllHeadAndBody, APipeSmallerThanTheWriteReceivesEveryByteInOrder) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  ASSERT_GT(::fcntl(w.get(), F_SETPIPE_SZ, 4096), 0);
  const std::string head = pattern(6000, 'h'), body = pattern(300'000, 'B');
  auto reader = std::async(std::launch::async, [&r] {
    std::string got;
    char buf[1000];
    for (ssize_t n; (n = ::read(r.get(), buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    return got;
  });
  ASSERT_TRUE(write_all(w.get(), head, body));
  w.close();
  EXPECT_EQ(reader.get(), head + body);
}

TEST(WriteAllHeadAndBody, AFullDiskIsAFailureWithItsErrno) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  errno = 0;
  EXPECT_FALSE(write_all(full.get(), "head", "body"));
  EXPECT_EQ(errno, ENOSPC);
}

}  // namespace
}  // namespace bastion::audit
