#pragma once
// recording_text: a recording file as the review commands read it — decrypted in memory with its
// client's data key if it is sealed (audit/data_keys.h), never written anywhere decrypted.
#include <string>

#include "audit/data_keys.h"
#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {

// command_key_lookup: a KeyLookup (audit/sealed_stream.h) for ctx's database, which loads the
// master key the first time a sealed file needs it, and names a destroyed key (when, by whom)
// without looking for the master key at all. ctx must outlive it.
audit::KeyLookup command_key_lookup(CommandContext& ctx);

// recording_text reads the file at path; a sealed one is opened with the client key its preamble
// names, unwrapped under ctx.keys.master_key. An Error names what stops it: the file, a destroyed
// key ("the data of client acme was destroyed on DATE by WHOM …"), the master key, an alteration.
Result<audit::RecordingText> recording_text(CommandContext& ctx, const std::string& path);

}  // namespace bastion::gateway::admin
