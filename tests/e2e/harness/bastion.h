#pragma once
// Bastion: the real bastionctl and bastiond on a real SQLite file in a private directory.
// OperatorIdentity: an operator as a person has one — an ed25519 key and a TOTP secret — plus the argv
// of stock ssh/scp/sftp/rsync that log in as that operator non-interactively.
//
// TOTP and repeated logins. The bastion accepts each code once (per operator, per 30 s step, and
// never a step older than one already used), within ±1 step. The askpass script therefore computes
// the code for the current time with oathtool, and a given operator can log in successfully at most
// once per 30 s step. Tests that log in several times therefore either use a new operator per login
// (Bastion::add_operator / TestEnv::new_operator are cheap: one ssh-keygen, one bastionctl call) or
// multiplex their channels over one authenticated connection (ControlMaster).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/harness/process.h"

namespace bastion::e2e {

class OperatorIdentity {
 public:
  OperatorIdentity(std::string name, std::string dir, std::string key, std::string totp_secret,
                   std::string known_hosts, int bastion_port);

  const std::string& name() const { return name_; }
  const std::string& key() const { return key_; }  // private key path; key() + ".pub" beside it
  const std::string& totp_secret() const { return totp_secret_; }
  const std::string& dir() const { return dir_; }

  // with_key_of: the same operator name and TOTP secret, but presenting another operator's key.
  OperatorIdentity with_key_of(const OperatorIdentity& other) const;
  // with_port: the same identity aimed at another bastion port (set once the bastion listens).
  void set_port(int port) { port_ = port; }

  // totp_code: the code of this operator's secret at unix_time (oathtool --totp --now @T).
  std::string totp_code(long long unix_time) const;
  // use_fixed_code makes the askpass script print `code` every time; use_current_code restores the
  // default (oathtool for the current time at each prompt).
  void use_fixed_code(const std::string& code) const;
  void use_current_code() const;
  // askpass_prompts: the prompts ssh passed to the askpass script so far (one per line).
  std::vector<std::string> askpass_prompts() const;

  // user: "name+login+server", or just "name" when login and server are empty.
  std::string user(const std::string& login = "", const std::string& server = "") const;
  // remote: "name+login+server@127.0.0.1:path" for scp and rsync.
  std::string remote(const std::string& login, const std::string& server, const std::string& path) const;

  // The options every client gets: -F /dev/null, this key only, no agent, a private known_hosts, both
  // authentication methods, a connect timeout. No port, no destination.
  std::vector<std::string> common_options() const;
  // ssh: ssh OPTIONS [extra…] -p PORT user@127.0.0.1 [command…]
  std::vector<std::string> ssh(const std::string& user, const std::vector<std::string>& command = {},
                               const std::vector<std::string>& extra = {}) const;
  // scp: scp OPTIONS -P PORT args…   (args carry the remote() specs and flags such as -r, -O)
  std::vector<std::string> scp(const std::vector<std::string>& args) const;
  // sftp: sftp OPTIONS -o BatchMode=no -P PORT -b BATCHFILE user@127.0.0.1 (sftp aborts on the first
  // failing batch command)
  std::vector<std::string> sftp(const std::string& user, const std::string& batch_file) const;
  // rsync: rsync args… -e "ssh OPTIONS -p PORT"
  std::vector<std::string> rsync(const std::vector<std::string>& args) const;
  // env: what the clients need to answer the TOTP prompt through the askpass script.
  Env env() const;

  // follow_clock: from now on the current-code askpass (use_current_code) answers with the code for
  // the real time plus the shift held in clock_file, as a bastion on a shifted test clock expects
  // (Bastion::use_test_clock). Bastion::add_operator calls it when that clock is in use.
  void follow_clock(const std::string& clock_file);

 private:
  std::string askpass_path() const { return dir_ + "/askpass"; }

  std::string name_, dir_, key_, totp_secret_, known_hosts_;
  int port_;
  std::string clock_file_;  // "" unless follow_clock
};

class Bastion {
 public:
  // dir is created; the database is dir/bastion.db, the daemon's state dir is dir/state.
  Bastion(std::string dir, std::string bastionctl, std::string bastiond);
  ~Bastion();

  // init: `bastionctl --db DB init`. Throws HarnessError if it fails.
  void init();
  // ctl: `bastionctl --db DB args…`, whatever its exit status. ctl_ok throws unless it exits 0.
  RunResult ctl(const std::vector<std::string>& args) const;
  RunResult ctl_ok(const std::vector<std::string>& args) const;
  // ctl_json: ctl_ok(args + --json), stdout parsed as JSON.
  nlohmann::json ctl_json(std::vector<std::string> args) const;
  // recording_text: a recording file as `bastionctl recording decrypt FILE` writes it (recordings
  // are encrypted on disk): the decrypted bytes, or "" if it refuses (see ctl for why).
  std::string recording_text(const std::string& path) const;
  // master_key_file: the master key beside the database (audit/data_keys.h).
  std::string master_key_file() const { return key_dir_ + "/data_master_key"; }
  // egress_key: the public key line printed by `bastionctl egress-key`.
  std::string egress_key() const;
  // egress_ca_public_file: the egress CA's public key file beside the database (what a target's
  // TrustedUserCAKeys names).
  std::string egress_ca_public_file() const { return key_dir_ + "/egress_ca_ed25519_key.pub"; }

  // start runs `bastiond --listen 127.0.0.1:0 --db DB --state-dir STATE` and returns once
  // STATE/bastiond.port holds the bound port (decimal) and a TCP connect to it succeeds (10 s).
  void start();
  // stop: SIGTERM, SIGKILL after 5 s. Returns how the daemon ended.
  ExitStatus stop();
  bool running() const { return proc_ != nullptr; }
  // signal_daemon sends sig to the listener (pid()), and only to it.
  void signal_daemon(int sig) const;
  // wait_daemon: how bastiond ended, or nullopt if it still runs after timeout. Once it has ended,
  // running() is false.
  std::optional<ExitStatus> wait_daemon(std::chrono::milliseconds timeout);
  int port() const { return port_; }

  const std::string& dir() const { return dir_; }
  // db: what --db names, dir/bastion.db unless use_database said otherwise.
  const std::string& db() const { return db_; }
  // key_dir: the directory of the bastion's keys (beside the database unless use_database said otherwise).
  const std::string& key_dir() const { return key_dir_; }
  // use_database: bastionctl and bastiond use `location` (a postgresql:// URL that several Bastions
  // share: several nodes) and the keys in key_dir (--key-dir: the nodes share one host key, one
  // master key…). Before init() and start().
  void use_database(std::string location, std::string key_dir);
  std::string state_dir() const { return dir_ + "/state"; }
  std::string log() const;
  std::string known_hosts() const { return dir_ + "/known_hosts"; }

  // add_operator creates operator `name` with a fresh ed25519 key through
  // `operator add NAME --key KEY.pub --json`, keeping its TOTP secret.
  OperatorIdentity add_operator(const std::string& name, const std::vector<std::string>& extra = {}) const;
  // grant: `grant add --operator … --server … --login … --ops a,b --reason … window…` (window e.g.
  // {"--for", "1h"}); returns the new grant's id from the JSON output. Throws if refused.
  std::int64_t grant(const std::string& op, const std::string& server, const std::string& login,
                     const std::vector<std::string>& ops, const std::vector<std::string>& window = {"--for", "1h"},
                     const std::string& reason = "e2e test") const;
  // add_server: `server add` plus a catalogue entry for each of shell, exec-any (pattern '*'), sftp,
  // scp and rsync (only for dedicated servers: catalogue entries for shared ones are optional).
  void add_server(const std::string& name, int port, const std::string& kind, const std::string& host_key,
                  const std::string& client = "acme") const;

  // Daemon options and the test clock (set before start(); they hold for every later start()).
  // set_daemon_args: extra bastiond options after the defaults, e.g. {"--ban-source-failures", "50"}.
  void set_daemon_args(std::vector<std::string> args) { daemon_args_ = std::move(args); }
  // set_listen replaces "127.0.0.1:0", e.g. "[::]:0" (dual stack: 127.0.0.1 still connects).
  void set_listen(std::string spec) { listen_ = std::move(spec); }
  // use_test_clock runs bastiond and bastionctl with BASTION_TEST_CLOCK_FILE=clock_file() (authz/clock.h),
  // shift 0 until shift_clock(); operators added afterwards answer TOTP prompts for the shifted time.
  void use_test_clock();
  bool uses_test_clock() const { return test_clock_; }
  // shift_clock sets how far ahead of the real time both programs run, from their next reading of the
  // time on. clock_shift reads it back (0 without a test clock).
  void shift_clock(std::chrono::seconds ahead) const;
  std::chrono::seconds clock_shift() const;
  std::string clock_file() const { return dir_ + "/clock_shift"; }
  // now_unix: the bastion's own time (the real time plus the shift), in unix seconds.
  long long now_unix() const;
  // pid: the daemon's (the listener's) process id, -1 when it is not running.
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }

 private:
  std::string dir_, ctl_path_, d_path_;
  std::string db_, key_dir_;
  bool own_key_dir_ = false;  // key_dir_ was given by use_database: passed as --key-dir
  int port_ = 0;
  std::unique_ptr<Process> proc_;
  std::vector<std::string> daemon_args_;
  std::string listen_ = "127.0.0.1:0";
  Env program_env_;  // added to base_env() for bastiond and bastionctl
  bool test_clock_ = false;
};

// The catalogue entries add_server creates, in that order.
inline const std::vector<std::string> kAllOps = {"shell", "exec-any", "sftp", "scp", "rsync"};

}  // namespace bastion::e2e
