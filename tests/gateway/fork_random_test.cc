// bastiond sets up OpenSSL's random generators once, in the listener, and every connection's
// processes inherit them (gateway/bastiond_main.cc). That is safe only because OpenSSL 3 reseeds a
// generator in a process that did not create it before that process draws from it: two children
// forked from one warmed-up parent must never draw the same bytes, nor the bytes the parent draws
// next. This test fails if the library (or a change to how bastiond uses it) stops doing that.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <set>
#include <string>

namespace {

using Draw = std::array<unsigned char, 32>;

Draw draw() {
  Draw d{};
  if (RAND_bytes(d.data(), static_cast<int>(d.size())) != 1) std::abort();
  return d;
}

// child_draw forks; the child draws 32 bytes (the public generator, and the private one OpenSSL
// uses for keys) and writes them to a pipe; the parent reads them.
std::string child_draw() {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    Draw pub = draw();
    Draw priv{};
    if (RAND_priv_bytes(priv.data(), static_cast<int>(priv.size())) != 1) ::_exit(1);
    const bool ok = ::write(fds[1], pub.data(), pub.size()) == static_cast<ssize_t>(pub.size()) &&
                    ::write(fds[1], priv.data(), priv.size()) == static_cast<ssize_t>(priv.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::string got(64, '\0');
  std::size_t at = 0;
  while (at < got.size()) {
    const ssize_t n = ::read(fds[0], got.data() + at, got.size() - at);
    if (n <= 0) break;
    at += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (at != got.size() || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return got;
}

TEST(ForkRandom, ChildrenOfAWarmedUpParentNeverDrawTheSameBytes) {
  draw();  // the generators exist in the parent before any fork, as in bastiond's listener
  Draw priv{};
  ASSERT_EQ(RAND_priv_bytes(priv.data(), static_cast<int>(priv.size())), 1);
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    const std::string got = child_draw();
    ASSERT_EQ(got.size(), 64u) << "the child could not draw";
    EXPECT_TRUE(seen.insert(got.substr(0, 32)).second) << "two children drew the same public bytes";
    EXPECT_TRUE(seen.insert(got.substr(32)).second) << "two children drew the same private bytes";
  }
  const Draw next = draw();
  EXPECT_TRUE(seen.insert(std::string(next.begin(), next.end())).second) << "a child drew the parent's next bytes";
  ASSERT_EQ(RAND_priv_bytes(priv.data(), static_cast<int>(priv.size())), 1);
  EXPECT_TRUE(seen.insert(std::string(priv.begin(), priv.end())).second);
}

}  // namespace
