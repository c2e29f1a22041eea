#pragma once
// MonitorClient: how the network process asks its monitor (gateway/monitor.h) for anything
// privileged. One request, one answer, in order, over the connection's SOCK_SEQPACKET socketpair.
#include "audit/unique_fd.h"
#include "authz/result.h"
#include "gateway/monitor_protocol.h"

namespace bastion::gateway {

class MonitorClient {
 public:
  explicit MonitorClient(audit::UniqueFd sock) : sock_(std::move(sock)) {}

  // ask sends `request` and returns the monitor's answer with the descriptor that came with it, if
  // any. An Error means the monitor is gone (it ends the connection on a violation) or answered
  // with something that is not an answer: the network process must end the connection.
  Result<monitor::Received> ask(const monitor::Message& request);

 private:
  audit::UniqueFd sock_;
};

}  // namespace bastion::gateway
