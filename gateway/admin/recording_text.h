#pragma once
// recording_text: a recording file as the review commands read it — decrypted in memory with its
// client's data key if it is sealed (audit/data_keys.h), never written anywhere decrypted.
#include <string>

#include "audit/data_keys.h"
#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {

// recording_text reads the file at path; a sealed one is opened with the client key its preamble
// names, unwrapped under ctx.keys.master_key. An Error names what stops it: the file, a destroyed
// key ("the data of client acme was destroyed on DATE by WHOM …"), the master key, an alteration.
Result<audit::RecordingText> recording_text(CommandContext& ctx, const std::string& path);

}  // namespace bastion::gateway::admin
