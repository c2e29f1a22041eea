#pragma once
// The one RAII binding of each libssh handle to its free function. libssh calls stay inside gateway/.
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <memory>

namespace bastion::gateway {

struct SshSessionFree { void operator()(ssh_session s) const { ssh_free(s); } };
struct SshBindFree { void operator()(ssh_bind b) const { ssh_bind_free(b); } };
struct SshChannelFree { void operator()(ssh_channel c) const { ssh_channel_free(c); } };
struct SshKeyFree { void operator()(ssh_key k) const { ssh_key_free(k); } };
struct SshEventFree { void operator()(ssh_event e) const { ssh_event_free(e); } };
struct SshMessageFree { void operator()(ssh_message m) const { ssh_message_free(m); } };
struct SshStringFree { void operator()(char* s) const { ssh_string_free_char(s); } };

using SessionPtr = std::unique_ptr<ssh_session_struct, SshSessionFree>;
using BindPtr = std::unique_ptr<ssh_bind_struct, SshBindFree>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, SshChannelFree>;
using KeyPtr = std::unique_ptr<ssh_key_struct, SshKeyFree>;
using EventPtr = std::unique_ptr<ssh_event_struct, SshEventFree>;
using MessagePtr = std::unique_ptr<ssh_message_struct, SshMessageFree>;
using SshCharPtr = std::unique_ptr<char, SshStringFree>;

}  // namespace bastion::gateway
