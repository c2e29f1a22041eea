#pragma once
// The life of one operator connection, in its own forked process: key exchange, two factors,
// then every channel routed, authorized, recorded and proxied until the operator leaves.
#include <cstdint>
#include <string>

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
  int login_grace_seconds = 60;
  AuthSettings auth;
  UpstreamSettings upstream;
  audit::EventSinks sinks;
  // Exec/scp/rsync/sftp recordings store at most this many bytes (0 = no cap); beyond it bytes
  // are still counted and hashed, and the recording says it was capped.
  std::uint64_t recording_cap_bytes = std::uint64_t{1} << 30;
};

// serve_connection runs in the child for one accepted socket; returns the process exit status.
int serve_connection(int fd, const Peer& peer, ssh_bind bind, const DaemonSettings& settings);

}  // namespace bastion::gateway
