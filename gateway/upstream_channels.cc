// Upstream channels: the bastion's own SSH sessions to the client's servers (one per login@server,
// reused by the connection's channels) and the channels opened on them for each admitted request.
#include "gateway/keys.h"
#include "gateway/net_session.h"

namespace bastion::gateway {

Result<ssh_session> NetSession::upstream_for(const Decided& d, const std::string& login) {
  // One upstream per login, server and grant: a certificate carries the extensions of its grant.
  std::string key = login + "@" + d.server + "#" + std::to_string(d.grant_id);
  if (auto it = upstreams_.find(key); it != upstreams_.end()) {
    if (ssh_is_connected(it->second.get())) return it->second.get();
    // Bridges may still hold channels of the dead session: it is freed only after them.
    ssh_event_remove_session(event_.get(), it->second.get());
    retired_upstreams_.push_back(std::move(it->second));
    upstreams_.erase(it);
  }
  // The monitor connects the TCP socket (this process may make none) and hands over what this decided
  // login needs: a certificate and its ephemeral key, or (key mode) an agent socket it answers.
  auto r = monitor_.ask(monitor::upstream(d.id));
  if (!r) {
    monitor_gone_ = true;
    return Error{"cannot reach server " + d.server + ": the bastion's monitor is gone"};
  }
  if (r->message.type == monitor::Type::Verdict) return Error{r->message.strings[0]};
  if (r->message.type != monitor::Type::UpstreamKey || !r->fd.valid())
    return Error{"cannot reach server " + d.server + ": the bastion's monitor sent no connection"};
  monitor::Message& m = r->message;
  authz::Server server;
  server.name = m.strings[2];
  server.host = m.strings[3];
  server.port = static_cast<int>(m.numbers[0]);
  server.host_key = m.strings[1];
  audit::UniqueFd connected = std::move(r->fd);
  EgressCredential credential;
  KeyPtr certified;
  if (!m.strings[4].empty()) {
    // Certificate mode: an ephemeral key and its certificate, valid for this login for 2 minutes.
    auto key = import_private_key(m.strings[0]);
    if (!key) return key.error();
    if (auto st = attach_certificate(key->get(), m.strings[4]); !st) return st.error();
    certified = std::move(*key);
    credential.certified_key = certified.get();
  } else {
    // Key mode: the monitor keeps the egress key and signs this login through an agent socket.
    auto a = monitor_.ask(monitor::egress_agent(d.id));
    if (!a) {
      monitor_gone_ = true;
      return Error{"cannot reach server " + d.server + ": the bastion's monitor is gone"};
    }
    if (a->message.type != monitor::Type::Verdict || a->message.numbers[0] != monitor::kOk || !a->fd.valid())
      return Error{a->message.type == monitor::Type::Verdict && !a->message.strings[0].empty()
                       ? a->message.strings[0]
                       : "cannot log in to " + d.server + ": the bastion's monitor opened no egress agent"};
    credential.agent_fd = a->fd.release();
  }
  auto s = connect_upstream(server, login, credential, settings_.upstream, connected.release());
  if (!s) return s.error();
  ssh_session raw = s->get();
  ssh_set_blocking(raw, 0);
  ssh_event_add_session(event_.get(), raw);
  upstreams_.emplace(key, std::move(*s));
  return raw;
}

Result<ChannelPtr> NetSession::open_upstream_channel(ssh_session up, const ChannelBridge& b, const Route& r,
                                                         const std::vector<authz::EnvRequest>& env) {
  // Blocking for the few round trips of opening; the operator's side keeps buffering meanwhile.
  struct Blocking {
    ssh_session s;
    explicit Blocking(ssh_session s) : s(s) { ssh_set_blocking(s, 1); }
    ~Blocking() { ssh_set_blocking(s, 0); }
  } blocking(up);
  ChannelPtr ch(ssh_channel_new(up));
  if (!ch) return Error{"out of memory opening a channel"};
  const ChannelRequest& req = b.request();
  if (r.kind == RequestKind::Forward) {
    if (ssh_channel_open_forward(ch.get(), req.forward_host.c_str(), req.forward_port, req.originator.c_str(),
                                 req.originator_port) != SSH_OK)
      return Error{"the server could not connect to " + r.command + ": " + ssh_get_error(up)};
    return ch;
  }
  if (ssh_channel_open_session(ch.get()) != SSH_OK)
    return Error{std::string("the server refused a session channel: ") + ssh_get_error(up)};
  if (req.pty && ssh_channel_request_pty_size(ch.get(), req.pty->term.c_str(), req.pty->cols, req.pty->rows) != SSH_OK)
    return Error{"the server refused a terminal"};
  for (const auto& [name, value] : env) ssh_channel_request_env(ch.get(), name.c_str(), value.c_str());
  int rc = SSH_ERROR;
  switch (r.kind) {
    case RequestKind::Shell: rc = ssh_channel_request_shell(ch.get()); break;
    case RequestKind::Exec: rc = ssh_channel_request_exec(ch.get(), r.command.c_str()); break;
    case RequestKind::Subsystem: rc = ssh_channel_request_subsystem(ch.get(), r.command.c_str()); break;
    case RequestKind::Forward:
    case RequestKind::None: break;
  }
  if (rc != SSH_OK) return Error{"the server refused to start the " + std::string(r.kind == RequestKind::Subsystem ? "subsystem" : "command")};
  return ch;
}


}  // namespace bastion::gateway
