#pragma once
// sftp_recorder: a ChannelRecorder for an SFTP subsystem channel. Every byte
// still goes, unchanged, to the inner (byte-exact) recorder first; the same
// bytes then feed an SftpParser, and each operation it completes is handed to
// `on_operation` — the gateway appends it to the audit log.
//
// Fail closed (DESIGN.md rule 5): if the inner recorder or on_operation fails,
// record() returns false (the gateway then ends the session) and keeps
// returning false. Stream::Error (the server's stderr) is recorded but not
// parsed. A stream the parser gives up on is reported once as an
// "sftp.unparseable" operation; on_operation decides whether that ends the
// session.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "audit/recorder.h"
#include "audit/sftp_parser.h"
#include "authz/result.h"

namespace bastion::audit {

using SftpOperationSink = std::function<Status(const std::string &kind, nlohmann::json details)>;

// sftp_recorder wraps `inner`. close() first reports the files still open
// ("sftp.close" with status "unclosed"), then closes the inner recorder and
// returns its summary; if reporting failed it returns an error naming the
// sealed recording and its digest instead.
ChannelRecorderPtr sftp_recorder(ChannelRecorderPtr inner, SftpOperationSink on_operation, SftpLimits limits = {});

}  // namespace bastion::audit
