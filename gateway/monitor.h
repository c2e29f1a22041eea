#pragma once
// Monitor: the privileged half of one connection. It holds what a stranger must never reach — the
// database, the recordings directory, the egress key — and answers the unprivileged network
// process (which runs libssh) over the monitor protocol (gateway/monitor_protocol.h).
//
// It trusts nothing the network process says. Every request is checked against what the monitor
// itself established for this connection: the account the user name bound and whose key and TOTP
// code it checked, the decisions it made (each with an id the network must name later), the
// sessions it started. A request out of turn (a decision before both factors, a TOTP check before
// a key), for something it did not decide (an upstream for a refused or unknown decision, a
// recording or an event for another connection's session), or of a kind the network may not send,
// is a violation: answer() returns an Error, the monitor records a `monitor.violation` event
// naming the request and the reason, and the connection ends (fail closed, visibly).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "audit/event_log.h"
#include "audit/event_sinks.h"
#include "audit/recording_sink.h"
#include "audit/session_closing.h"
#include "authz/db.h"
#include "audit/session_store.h"
#include "audit/unique_fd.h"
#include "authz/clock.h"
#include "authz/decide.h"
#include "authz/store.h"
#include "gateway/monitor_protocol.h"
#include "gateway/auth.h"
#include "gateway/target.h"

namespace bastion::gateway {

// MonitorServices: what the monitor reads and writes, all over its one database connection
// (owned by whoever runs the monitor; they outlive it).
struct MonitorServices {
  authz::Store& store;
  audit::SessionStore& sessions;
  audit::EventLog& events;
  // The connection's database handle (the one the stores above use): admin commands and closing
  // writes need it. Null in unit tests that run neither.
  db::DatabasePtr db;
};

struct MonitorSettings {
  std::string recordings_dir;   // <state dir>/recordings
  std::string egress_key_path;  // servers in key mode: signs their logins (gateway/egress_agent.h), never handed over
  std::string egress_ca_path;   // servers in certificate mode: signs a certificate per login (gateway/egress_ca.h)
  std::vector<std::string> egress_source_addresses;  // source-address of those certificates, if configured
  std::string host_key_path;    // shown by admin commands (fingerprints), never read for the network
  std::string checkpoint_key_path;  // `audit checkpoint` over SSH signs with it (gateway/checkpoint_key.h)
  // The master key (audit/data_keys.h): read when a recording opens, to seal it under a key of its
  // own derived from its client's data key. Empty: recordings are not encrypted (bastiond always
  // sets it; only tests of the monitor alone leave it empty).
  std::string master_key_path;
  long connect_timeout_seconds = 10;
  int max_sessions_per_operator = 10;
  // Failed authentication steps one connection may take (AuthSettings::max_attempts): beyond it the
  // network process, which should have disconnected, is guessing — a violation.
  int max_auth_failures = 6;
  // Bans and account locks (gateway/bans.h), consulted and fed by the monitor alone; null: none.
  AuthGuard* guard = nullptr;
  // The peer's address without its port ("127.0.0.1", "::1"): what bans count under.
  std::string peer_address;
  // Runs once both factors passed (the listener stops counting the connection as unauthenticated).
  std::function<void()> on_authenticated;
  audit::EventSinks sinks;  // where closing events go besides the database
  std::string portal_url;   // bastiond --portal-url: the base of web-login links
  std::string node;         // bastiond --node: what the session rows name
  // bastiond --db-grace: how long running sessions go on while the database cannot be reached
  // (grant_live answers "go on" meanwhile, and ends them after it).
  std::chrono::seconds db_grace{60};
  // bastiond --access-poll: while the database's change notices are heard (PostgreSQL), a live
  // check reads the access version only on a notice and at least this often (Monitor::access_version).
  std::chrono::seconds access_poll{10};
  // Called when a change notice arrives (bastiond: a signal to the connection's network process,
  // whose next pass then asks for a live check at once instead of at its next once-a-second one).
  // The wake-up carries nothing: what ends a session is what the check then reads. Null: none.
  std::function<void()> wake_network;
};

class Monitor {
 public:
  // Reply: the answer to one request and the descriptor that goes with it (a recording file, the
  // connected upstream socket), if any.
  struct Reply {
    monitor::Message message;
    audit::UniqueFd fd;
  };

  // services, clock and settings must outlive the monitor; `source` is the peer ("203.0.113.7:51234").
  Monitor(MonitorServices& services, const Clock& clock, const MonitorSettings& settings, std::string source);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // answer checks and answers one request from the network process. A refusal the operator may
  // see (a wrong key, a wrong code, no grant) is a Verdict with ok = 0. An Error is a violation:
  // it has been recorded as `monitor.violation`, and the caller must end the connection.
  Result<Reply> answer(const monitor::Message& request);

  // serve answers requests on `sock` until the network process closes it (returns 0) or commits
  // a violation, sends something unparseable or oversized (recorded; the socket is shut down so
  // that the network process's next request fails; returns 1). Between requests it finishes the
  // closings of ended sessions (seal, digest, rows). `interrupted`, polled at least every 200 ms,
  // lets the caller forward signals to the network process.
  int serve(int sock, const std::function<void()>& interrupted = {});

  // finish, once the network process is gone: closes every session it started and did not close
  // (status "aborted", `why`), then waits until every closing is committed or spooled.
  void finish(const std::string& why);

  // network_died records that the network process ended abnormally (`why`: killed by which
  // signal, by its sandbox): `connection.network_died`, with the sessions it carried.
  void network_died(const std::string& why);

  // The account bound to this connection once both factors passed (empty before).
  const std::string& account() const { return account_; }

 private:
  // ban_source: what failures count under, the address without the port.
  Result<Reply> login_unrecorded(const Error& e);
  const std::string& ban_source() const { return settings_.peer_address.empty() ? source_ : settings_.peer_address; }

  struct Decided {
    authz::Allow allow;
    authz::Server server;
    std::string login;
    std::string request;  // what the operator asked, as the monitor classified it
    bool as_typed = false;
    bool started = false;
    bool agent_allowed = false;  // key mode: its upstream was handed over, its agent not yet
  };
  // Agent: an ssh-agent socket answered for one upstream login in key mode (gateway/egress_agent.h).
  struct Agent;
  // serve_agent reads what the network process sent on one agent socket and answers it; false when
  // the socket is done with (closed, or its one signature given); an Error is a violation.
  Result<bool> serve_agent(Agent& a);
  std::int64_t session_of(std::int64_t decision_id) const;
  struct Started {
    std::int64_t decision_id = 0;
    int channel = 0;
    Seconds started_at{};
    bool recording_open = false;
    std::string recording_path;
    dev_t recording_dev = 0;
    ino_t recording_ino = 0;
    bool closed = false;
    // The last live check that read the rows and let the session go on: the access version it read
    // (audit/node_store.h) and the grant's window. While the version stays and the clock is inside
    // the window, nothing a re-check reads has changed, and the rows are not read again.
    std::optional<std::int64_t> checked_version;
    Seconds window_start{}, window_end{};
  };
  struct Closing;    // a closing waiting for its recording's digest (monitor.cc)
  struct Unwritten;  // closing writes the database has not taken yet

  int answer_all(int sock, const std::function<void()>& interrupted);
  Result<Reply> user_bind(const monitor::Message& m);
  Result<Reply> key_check(const monitor::Message& m);
  Result<Reply> totp_check(const monitor::Message& m);
  Result<Reply> auth_failure(const monitor::Message& m);
  Result<Reply> decide(const monitor::Message& m);
  Result<Reply> start_session(const monitor::Message& m);
  Result<Reply> open_recording(const monitor::Message& m);
  // sealing_key: the key of one new recording of `client`'s server (its data key made if need be).
  Result<audit::SealingKey> sealing_key(const std::string& client);
  Result<Reply> event(const monitor::Message& m);
  Result<Reply> upstream(const monitor::Message& m);
  Result<Reply> egress_agent(const monitor::Message& m);
  // certificate_for issues the certificate of one upstream login in certificate mode (and records
  // it): the ephemeral private key and the certificate line, or the refusal.
  Result<std::pair<std::string, std::string>> certificate_for(std::int64_t decision_id, const authz::Server& server);
  Result<Reply> grant_live(const monitor::Message& m);
  // grant_live_now: grant_live's answer read from the database; throws db::DbError.
  Result<Reply> grant_live_now(std::int64_t session_id, Started& s);
  // access_version: the access version for a live check, read from the database unless the
  // change notices say nothing moved since it was last read (and that was within access_poll);
  // nullopt without a database handle. Throws db::DbError.
  std::optional<std::int64_t> access_version();
  void take_notices();
  Result<Reply> close_session(const monitor::Message& m);
  Result<Reply> grants(const monitor::Message& m);
  Result<Reply> admin(const monitor::Message& m);

  // auth_failed records a failed step (auth.failure), feeds the bans and counts it; returns the
  // answer (final when the trail cannot be written or too many steps failed).
  Result<Reply> auth_failed(monitor::Type request, const std::string& method, const std::string& reason,
                            std::string shown, bool unknown_user);
  Status record_auth(bool success, const std::string& method, const std::string& reason, bool unknown_user);
  // close_row starts the closing of one session: its recording sealed and digested on a thread,
  // then its row and closing event written (or spooled).
  void close_row(Started& s, audit::ClosingWrites w);
  void reap_closings(bool wait);
  bool write_closings(std::chrono::milliseconds busy_wait);

  // violation records `monitor.violation` (request type and reason) and returns the Error.
  Error violation(monitor::Type request, const std::string& reason);
  Error violation(const std::string& request_name, const std::string& reason);
  Status record(std::string kind, const std::string& server, std::optional<std::int64_t> session,
                nlohmann::json details);
  std::string actor() const;
  Result<Started*> own_session(std::uint64_t session_id, const char* what);

  MonitorServices& services_;
  const Clock& clock_;
  const MonitorSettings& settings_;
  std::string source_;

  std::string user_;                          // the user name as sent, bound by the first request
  std::optional<UserSpec> spec_;             // bound by the first request
  std::optional<authz::Operator> who_;
  std::string key_fingerprint_;               // set once a registered key was presented and signed
  bool authenticated_ = false;                // both factors passed
  int auth_failures_ = 0;
  std::string account_;
  std::map<std::int64_t, Decided> decisions_;  // allowed decisions made for this connection
  std::int64_t next_decision_ = 1;
  std::map<std::int64_t, Started> sessions_;   // session rows this monitor started
  std::vector<std::unique_ptr<Closing>> closing_;
  std::vector<std::unique_ptr<Unwritten>> unwritten_;
  std::vector<std::unique_ptr<Agent>> agents_;
  // Since when the database could not be reached for a live check (MonitorSettings::db_grace).
  std::optional<std::chrono::steady_clock::time_point> db_unreachable_since_;
  // The access version as last read, and when (access_version); whether this connection listens
  // for the database's change notices (from its first live check on).
  std::optional<std::int64_t> known_version_;
  std::chrono::steady_clock::time_point version_read_at_{};
  bool listening_ = false;
  // A change notice came (taken in by the serve loop) since the last read of the access version.
  bool notice_pending_ = false;
};

}  // namespace bastion::gateway
