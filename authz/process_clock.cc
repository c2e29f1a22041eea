#include "authz/clock.h"

#include <cstdlib>
#include <fstream>

namespace bastion {
namespace {

#ifdef BASTION_TEST_HOOKS
constexpr bool kTestHooks = true;
#else
constexpr bool kTestHooks = false;
#endif

const char* shift_file() {
  if (!kTestHooks) return nullptr;
  const char* path = std::getenv("BASTION_TEST_CLOCK_FILE");
  return path != nullptr && *path != '\0' ? path : nullptr;
}

std::chrono::seconds read_shift(const char* path) {
  std::ifstream in(path);
  long long s = 0;
  if (!(in >> s)) return std::chrono::seconds{0};
  return std::chrono::seconds{s};
}

class ShiftedClock final : public Clock {
 public:
  explicit ShiftedClock(const char* path) : path_(path) {}
  Seconds now() const override { return SystemClock().now() + read_shift(path_); }

 private:
  const char* path_;
};

}  // namespace

const Clock& process_clock() {
  static const SystemClock system;
  static const char* const path = shift_file();
  if (path == nullptr) return system;
  static const ShiftedClock shifted(path);
  return shifted;
}

std::optional<std::chrono::seconds> test_clock_shift() {
  const char* path = shift_file();
  if (path == nullptr) return std::nullopt;
  return read_shift(path);
}

}  // namespace bastion
