#include "tests/e2e/harness/files.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

void write_random_file(const std::string& path, std::uint64_t size, std::uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw HarnessError("cannot write " + path);
  std::vector<std::uint64_t> buf(1 << 17);  // 1 MiB
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& w : buf) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    std::uint64_t n = std::min<std::uint64_t>(left, buf.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  if (!out) throw HarnessError("short write to " + path);
}

std::string sha256_of(const std::string& path) {
  RunResult r = run({"sha256sum", path}, base_env(), std::nullopt, std::chrono::seconds(120));
  if (r.exit() != 0) throw HarnessError("sha256sum " + path + ": " + r.describe());
  return r.out.substr(0, 64);
}

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  auto s = std::filesystem::file_size(path, ec);
  return ec ? 0 : s;
}

void make_tree(const std::string& dir) {
  make_dirs(dir + "/sub/deeper/deepest", 0755);
  make_dirs(dir + "/empty-dir", 0755);
  write_file(dir + "/empty-file", "", 0644);
  write_file(dir + "/hello.txt", "hello, bastion\n", 0644);
  write_file(dir + "/with space.txt", "a name with a space\n", 0644);
  write_file(dir + "/sub/script.sh", "#!/bin/sh\necho run\n", 0755);
  write_file(dir + "/sub/deeper/deepest/leaf", "leaf\n", 0600);
  write_random_file(dir + "/random-1", 1, 1);
  write_random_file(dir + "/sub/random-65537", 65537, 2);
  write_random_file(dir + "/sub/deeper/random-3MiB", 3 << 20, 3);
}

std::string same_bytes(const std::string& a, const std::string& b) {
  RunResult r = run({"cmp", a, b}, base_env(), std::nullopt, std::chrono::seconds(300));
  if (r.exit() == 0) return "";
  return "cmp " + a + " " + b + ": " + r.describe();
}

std::string diff_trees(const std::string& a, const std::string& b) {
  RunResult r = run({"diff", "-r", a, b}, base_env(), std::nullopt, std::chrono::seconds(60));
  if (r.exit() == 0) return "";
  return "diff -r " + a + " " + b + ": " + r.describe();
}

}  // namespace bastion::e2e
