#include "tests/e2e/harness/gpg.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

namespace bastion::e2e {

RunResult gpg_decrypt(const std::string& dir, const std::string& message, const std::string& passphrase) {
  static int serial = 0;
  const std::string home = dir + "/gnupg-" + std::to_string(++serial);
  if (::mkdir(home.c_str(), 0700) != 0) throw std::runtime_error("cannot create " + home);
  const std::string file = home + "/export.gpg";
  std::ofstream(file, std::ios::binary) << message;
  Env env = base_env();
  env["GNUPGHOME"] = home;
  RunResult r = run({"gpg", "--batch", "--no-symkey-cache", "--pinentry-mode", "loopback", "--passphrase-fd", "0",
                     "--decrypt", file},
                    env, passphrase + "\n", std::chrono::seconds(60));
  (void)run({"gpgconf", "--kill", "gpg-agent"}, env);
  return r;
}

}  // namespace bastion::e2e
