// Fuzz target for gateway/target.cc. Besides not crashing, every accepted input must satisfy the
// documented alphabets and round-trip exactly, so a parser bug that widens what is accepted aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/target.h"

namespace {

using namespace bastion::gateway;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_user(std::string_view in) {
  auto r = parse_user(in);
  if (!r.ok()) {
    check(!r.error().message.empty());
    return;
  }
  check(valid_operator_name(r->operator_name));
  std::string rebuilt = r->operator_name;
  if (r->target) {
    check(valid_login(r->target->login) && valid_server_name(r->target->server));
    rebuilt += "+" + r->target->login + "+" + r->target->server;
  }
  check(rebuilt == in);
}

void fuzz_command_target(std::string_view in) {
  auto r = parse_command_target(in);
  if (!r.ok()) {
    check(!r.error().message.empty());
    return;
  }
  check(valid_login(r->target.login) && valid_server_name(r->target.server));
  check(r->command.size() < in.size());
  for (char c : r->command) {
    const auto u = static_cast<unsigned char>(c);
    check(c == '\t' || (u >= 0x20 && u != 0x7f));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz_user(in);
  fuzz_command_target(in);
  return 0;
}
