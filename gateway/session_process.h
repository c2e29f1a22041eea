#pragma once
// The life of one operator connection, in its own forked process: key exchange, two factors,
// then every channel routed, authorized, recorded and proxied until the operator leaves.
#include <cstdint>
#include <string>
#include <vector>

#include "audit/event_sinks.h"
#include "gateway/auth.h"
#include "gateway/listener.h"
#include "gateway/ssh_ptr.h"
#include "gateway/upstream.h"

namespace bastion::gateway {

struct DaemonSettings {
  std::string db_path;
  std::string state_dir;
  std::string host_key_path;
  std::string egress_key_path;
  std::string egress_ca_path;  // the egress certificate authority (gateway/egress_ca.h)
  std::string checkpoint_key_path;  // signs the audit checkpoints (gateway/checkpoint_key.h)
  std::string master_key_path;      // wraps the clients' data keys (audit/data_keys.h); read by monitors only
  // --egress-source-address: the bastion's own addresses as client servers see them; when set, each
  // egress certificate may be used only from them (critical option source-address).
  std::vector<std::string> egress_source_addresses;
  // --preauth-user: the account the sandboxed network process runs as when bastiond is root.
  std::string preauth_user = "bastion-net";
  int login_grace_seconds = 60;
  AuthSettings auth;
  UpstreamSettings upstream;
  audit::EventSinks sinks;
  // Exec/scp/rsync/sftp recordings store at most this many bytes (0 = no cap); beyond it bytes
  // are still counted and hashed, and the recording says it was capped.
  std::uint64_t recording_cap_bytes = std::uint64_t{1} << 30;
  // Live proxied sessions one operator may hold at once, over all connections (0 = no cap).
  int max_sessions_per_operator = 10;
  // A connection with no byte moving on any channel for idle_timeout_seconds is closed (0 = never);
  // idle_warning_seconds before that, each channel's operator is warned on stderr.
  int idle_timeout_seconds = 0;
  int idle_warning_seconds = 60;
  // Keepalive probes (keepalive@openssh.com, which clients must answer) go to an operator who has
  // sent nothing for alive_interval_seconds; a connection silent for alive_count_max intervals is
  // dropped as dead (sshd's ClientAliveInterval / ClientAliveCountMax). 0 = no probes.
  int alive_interval_seconds = 15;
  int alive_count_max = 3;
  // On SIGTERM, live sessions get this long before they are cut (for the notice to operators).
  int stop_grace_seconds = 20;
  // --portal-url: where people reach bastion-web; the base of `web-login` links. Empty: none.
  std::string portal_url;
  // --node: this bastion's name among those sharing one database (default: the host name). Its
  // session rows, heartbeat and checkpoints carry it (README, Running several bastions).
  std::string node;
  // --node-timeout: a node whose heartbeat is older than this is taken for dead, and its live
  // sessions are ended as aborted by whichever node sees it first (gateway/node_watch.h).
  int node_timeout_seconds = 30;
  // --db-grace: while the database cannot be reached, running sessions go on this long (logins are
  // refused at once), then end with the reason.
  int db_grace_seconds = 60;
  // --access-poll: on PostgreSQL, while its change notices are heard, the access version is read
  // on a notice and at least this often (seconds), the guarantee should a notice be lost; without
  // notices (SQLite, a notice connection down) it is read at every live check (once a second).
  int access_poll_seconds = 1;
};


// serve_connection runs in the child for one accepted socket; returns the process exit status.
// Once the operator has authenticated, SIGUSR1 means "the bastion is stopping" (each channel's
// operator is told how long is left) and SIGTERM ends the connection cleanly: every channel is
// cut with a message, its recording closed and its row marked "aborted".
int serve_connection(int fd, const Peer& peer, ssh_bind bind, const DaemonSettings& settings);

}  // namespace bastion::gateway
