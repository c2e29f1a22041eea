#include "tests/e2e/harness/bastion.h"

#include <signal.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string command_line(const std::vector<std::string>& argv) { return join(argv, " "); }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// OperatorIdentity

OperatorIdentity::OperatorIdentity(std::string name, std::string dir, std::string key, std::string totp_secret,
                                   std::string known_hosts, int bastion_port)
    : name_(std::move(name)),
      dir_(std::move(dir)),
      key_(std::move(key)),
      totp_secret_(std::move(totp_secret)),
      known_hosts_(std::move(known_hosts)),
      port_(bastion_port) {
  use_current_code();
}

OperatorIdentity OperatorIdentity::with_key_of(const OperatorIdentity& other) const {
  OperatorIdentity copy = *this;
  copy.key_ = other.key_;
  return copy;
}

std::string OperatorIdentity::totp_code(long long unix_time) const {
  RunResult r = run({"oathtool", "--totp", "-b", "--now", "@" + std::to_string(unix_time), totp_secret_});
  if (r.exit() != 0) throw HarnessError("oathtool: " + r.describe());
  return trim(r.out);
}

void OperatorIdentity::use_fixed_code(const std::string& code) const {
  write_file(askpass_path(),
             "#!/bin/sh\nprintf '%s\\n' \"$1\" >> " + shell_quote(dir_ + "/askpass.log") + "\nprintf '%s\\n' " +
                 shell_quote(code) + "\n",
             0700);
}

void OperatorIdentity::use_current_code() const {
  if (!clock_file_.empty()) {
    write_file(askpass_path(),
               "#!/bin/sh\nprintf '%s\\n' \"$1\" >> " + shell_quote(dir_ + "/askpass.log") +
                   "\nahead=$(cat " + shell_quote(clock_file_) + " 2>/dev/null)\nexec oathtool --totp -b --now " +
                   "\"@$(( $(date +%s) + ${ahead:-0} ))\" " + shell_quote(totp_secret_) + "\n",
               0700);
    return;
  }
  write_file(askpass_path(),
             "#!/bin/sh\nprintf '%s\\n' \"$1\" >> " + shell_quote(dir_ + "/askpass.log") +
                 "\nexec oathtool --totp -b " + shell_quote(totp_secret_) + "\n",
             0700);
}

std::vector<std::string> OperatorIdentity::askpass_prompts() const {
  std::vector<std::string> out;
  if (!file_exists(dir_ + "/askpass.log")) return out;
  std::istringstream in(read_file(dir_ + "/askpass.log"));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string OperatorIdentity::user(const std::string& login, const std::string& server) const {
  if (login.empty() && server.empty()) return name_;
  return name_ + "+" + login + "+" + server;
}

std::string OperatorIdentity::remote(const std::string& login, const std::string& server,
                                     const std::string& path) const {
  return user(login, server) + "@127.0.0.1:" + path;
}

std::vector<std::string> OperatorIdentity::common_options() const {
  return {"-F", "/dev/null",
          "-i", key_,
          "-o", "IdentitiesOnly=yes",
          "-o", "IdentityAgent=none",
          "-o", "UserKnownHostsFile=" + known_hosts_,
          "-o", "StrictHostKeyChecking=accept-new",
          "-o", "PreferredAuthentications=publickey,keyboard-interactive",
          "-o", "ConnectTimeout=10"};
}

std::vector<std::string> OperatorIdentity::ssh(const std::string& user, const std::vector<std::string>& command,
                                               const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {"ssh"};
  for (auto& o : common_options()) argv.push_back(o);
  for (auto& e : extra) argv.push_back(e);
  argv.insert(argv.end(), {"-p", std::to_string(port_), user + "@127.0.0.1"});
  for (auto& c : command) argv.push_back(c);
  return argv;
}

std::vector<std::string> OperatorIdentity::scp(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"scp"};
  for (auto& o : common_options()) argv.push_back(o);
  argv.insert(argv.end(), {"-P", std::to_string(port_)});
  for (auto& a : args) argv.push_back(a);
  return argv;
}

std::vector<std::string> OperatorIdentity::sftp(const std::string& user, const std::string& batch_file) const {
  std::vector<std::string> argv = {"sftp"};
  for (auto& o : common_options()) argv.push_back(o);
  // -b makes sftp pass "-oBatchMode yes" to ssh, which would forbid the TOTP prompt; ssh keeps the
  // first value it is given, so BatchMode=no must come before -b.
  argv.insert(argv.end(), {"-o", "BatchMode=no"});
  argv.insert(argv.end(), {"-P", std::to_string(port_), "-b", batch_file, user + "@127.0.0.1"});
  return argv;
}

std::vector<std::string> OperatorIdentity::rsync(const std::vector<std::string>& args) const {
  // rsync splits the -e string on whitespace: the temp dir paths contain none.
  std::vector<std::string> ssh_argv = {"ssh"};
  for (auto& o : common_options()) ssh_argv.push_back(o);
  ssh_argv.insert(ssh_argv.end(), {"-p", std::to_string(port_)});
  std::vector<std::string> argv = {"rsync"};
  for (auto& a : args) argv.push_back(a);
  argv.insert(argv.end(), {"-e", command_line(ssh_argv)});
  return argv;
}

void OperatorIdentity::follow_clock(const std::string& clock_file) {
  clock_file_ = clock_file;
  use_current_code();
}

Env OperatorIdentity::env() const {
  Env e = base_env();
  e["HOME"] = dir_;  // nothing of the real ~/.ssh leaks in
  e["SSH_ASKPASS"] = askpass_path();
  e["SSH_ASKPASS_REQUIRE"] = "force";
  e["DISPLAY"] = ":0";
  return e;
}

// ---------------------------------------------------------------------------------------------------
// Bastion

Bastion::Bastion(std::string dir, std::string bastionctl, std::string bastiond)
    : dir_(std::move(dir)), ctl_path_(std::move(bastionctl)), d_path_(std::move(bastiond)) {
  db_ = dir_ + "/bastion.db";
  key_dir_ = dir_;
  make_dirs(dir_);
  make_dirs(dir_ + "/operators");
}

Bastion::~Bastion() {
  if (proc_) stop();
}

void Bastion::init() { ctl_ok({"init"}); }

void Bastion::use_database(std::string location, std::string key_dir) {
  db_ = std::move(location);
  key_dir_ = std::move(key_dir);
  own_key_dir_ = true;
}

RunResult Bastion::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {ctl_path_, "--db", db()};
  if (own_key_dir_) argv.insert(argv.end(), {"--key-dir", key_dir_});
  argv.insert(argv.end(), args.begin(), args.end());
  Env env = base_env();
  for (const auto& [k, v] : program_env_) env[k] = v;
  return run(argv, env, std::nullopt, std::chrono::seconds(30));
}

std::string Bastion::recording_text(const std::string& path) const {
  RunResult r = ctl({"recording", "decrypt", path});
  return r.exit() == 0 ? r.out : "";
}

RunResult Bastion::ctl_ok(const std::vector<std::string>& args) const {
  RunResult r = ctl(args);
  if (r.exit() != 0) throw HarnessError("bastionctl " + command_line(args) + " failed: " + r.describe());
  return r;
}

nlohmann::json Bastion::ctl_json(std::vector<std::string> args) const {
  args.push_back("--json");
  RunResult r = ctl_ok(args);
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    throw HarnessError("bastionctl " + command_line(args) + " printed no JSON (" + e.what() + "): " + r.out);
  }
}

std::string Bastion::egress_key() const {
  RunResult r = ctl_ok({"egress-key"});
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("ssh-", 0) == 0) return trim(line);
  }
  throw HarnessError("bastionctl egress-key printed no key line: " + r.out);
}

void Bastion::start() {
  if (proc_) return;
  make_dirs(state_dir());
  const std::string port_file = state_dir() + "/bastiond.port";
  std::remove(port_file.c_str());
  SpawnOptions o;
  o.argv = {d_path_, "--listen", listen_, "--db", db(), "--state-dir", state_dir()};
  if (own_key_dir_) o.argv.insert(o.argv.end(), {"--key-dir", key_dir_});
  o.argv.insert(o.argv.end(), daemon_args_.begin(), daemon_args_.end());
  for (const auto& [k, v] : program_env_) o.env[k] = v;
  o.stdout_file = dir_ + "/bastiond.log";
  o.stderr_file = dir_ + "/bastiond.log";
  proc_ = std::make_unique<Process>(std::move(o));

  port_ = 0;
  bool ready = wait_until(
      [&] {
        if (!proc_->running()) return true;
        if (!file_exists(port_file)) return false;
        std::string text = trim(read_file(port_file));
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 5) return false;
        int p = std::stoi(text);
        if (p <= 0 || p > 65535 || !tcp_connectable(p)) return false;
        port_ = p;
        return true;
      },
      std::chrono::seconds(10));
  if (!ready || port_ == 0) {
    std::string why = proc_->running() ? "did not write a connectable port to " + port_file + " within 10 s"
                                       : "exited (" + proc_->wait(std::chrono::milliseconds(0))->describe() + ")";
    proc_->kill_group(SIGKILL);
    proc_.reset();
    throw HarnessError("bastiond " + why + "; log:\n" + tail_file(dir_ + "/bastiond.log"));
  }

  // Pin the bastion's host key (created by init beside the database) for this port, so that clients
  // check it rather than trusting on first use and print no "Permanently added" warning.
  const std::string host_pub = key_dir_ + "/host_ed25519_key.pub";
  if (file_exists(host_pub)) {
    std::istringstream in(read_file(host_pub));
    std::string type, blob;
    in >> type >> blob;
    std::ofstream kh(known_hosts(), std::ios::app);
    kh << "[127.0.0.1]:" << port_ << " " << type << " " << blob << "\n";
  }
}

ExitStatus Bastion::stop() {
  if (!proc_) return ExitStatus{};
  ExitStatus s = proc_->terminate(std::chrono::seconds(5));
  proc_->kill_group(SIGKILL);  // per-connection children that outlived their listener
  proc_.reset();
  return s;
}

void Bastion::signal_daemon(int sig) const {
  if (proc_) proc_->signal(sig);
}

std::optional<ExitStatus> Bastion::wait_daemon(std::chrono::milliseconds timeout) {
  if (!proc_) return ExitStatus{};
  auto s = proc_->wait(timeout);
  if (s) {
    proc_->kill_group(SIGKILL);  // per-connection children that outlived their listener
    proc_.reset();
  }
  return s;
}

std::string Bastion::log() const { return tail_file(dir_ + "/bastiond.log", 8000); }

OperatorIdentity Bastion::add_operator(const std::string& name, const std::vector<std::string>& extra) const {
  const std::string odir = dir_ + "/operators/" + name;
  make_dirs(odir);
  const std::string key = odir + "/id_ed25519";
  ssh_keygen(key, name + "@e2e");
  std::vector<std::string> args = {"operator", "add", name, "--key", key + ".pub"};
  args.insert(args.end(), extra.begin(), extra.end());
  nlohmann::json j = ctl_json(args);
  if (!j.is_object() || !j.contains("totp_secret") || !j["totp_secret"].is_string()) {
    throw HarnessError("operator add --json gave no totp_secret: " + j.dump());
  }
  OperatorIdentity op(name, odir, key, j["totp_secret"].get<std::string>(), known_hosts(), port_);
  if (test_clock_) op.follow_clock(clock_file());
  return op;
}

std::int64_t Bastion::grant(const std::string& op, const std::string& server, const std::string& login,
                            const std::vector<std::string>& ops, const std::vector<std::string>& window,
                            const std::string& reason) const {
  std::vector<std::string> args = {"grant",  "add",   "--operator", op,     "--server", server, "--login",
                                   login,    "--ops", join(ops, ","), "--reason", reason};
  args.insert(args.end(), window.begin(), window.end());
  nlohmann::json j = ctl_json(args);
  if (j.is_object() && j.contains("id") && j["id"].is_number_integer()) return j["id"].get<std::int64_t>();
  if (j.is_object() && j.contains("grant") && j["grant"].is_object() && j["grant"].contains("id")) {
    return j["grant"]["id"].get<std::int64_t>();
  }
  throw HarnessError("grant add --json gave no id: " + j.dump());
}

void Bastion::add_server(const std::string& name, int port, const std::string& kind, const std::string& host_key,
                         const std::string& client) const {
  ctl_ok({"server", "add", name, "--host", "127.0.0.1", "--port", std::to_string(port), "--client", client, "--kind",
          kind, "--host-key", host_key});
  if (kind != "dedicated") return;
  ctl_ok({"catalogue", "add", name, "shell", "--type", "shell"});
  ctl_ok({"catalogue", "add", name, "exec-any", "--type", "exec", "--pattern", "*"});
  ctl_ok({"catalogue", "add", name, "sftp", "--type", "sftp"});
  ctl_ok({"catalogue", "add", name, "scp", "--type", "scp"});
  ctl_ok({"catalogue", "add", name, "rsync", "--type", "rsync"});
}

void Bastion::use_test_clock() {
  shift_clock(std::chrono::seconds(0));
  program_env_["BASTION_TEST_CLOCK_FILE"] = clock_file();
  test_clock_ = true;
}

void Bastion::shift_clock(std::chrono::seconds ahead) const {
  // Written whole then renamed: a reader never sees a half-written number (that would read as 0).
  const std::string tmp = clock_file() + ".tmp";
  write_file(tmp, std::to_string(ahead.count()) + "\n");
  if (std::rename(tmp.c_str(), clock_file().c_str()) != 0) throw HarnessError("cannot write " + clock_file());
}

std::chrono::seconds Bastion::clock_shift() const {
  if (!test_clock_ || !file_exists(clock_file())) return std::chrono::seconds(0);
  std::string text = trim(read_file(clock_file()));
  return std::chrono::seconds(text.empty() ? 0 : std::stoll(text));
}

long long Bastion::now_unix() const {
  return static_cast<long long>(std::time(nullptr)) + clock_shift().count();
}

}  // namespace bastion::e2e
