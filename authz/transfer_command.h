#pragma once
// Transfer commands: the server sides of scp (OpenSSH's legacy protocol) and rsync (over a remote
// shell), recognised by grammar. Both programs take options on the target that have nothing to do
// with moving files where the operator was allowed to (rsync --daemon with its `early exec`,
// --log-file, --temp-dir, …), so a line is a transfer only if every option is on the allow-list of
// what the real clients send and the paths are plain paths. The lists, and why each refused option is
// refused, are in transfer_command.cc and in the README ("Catalogue patterns").
#include <optional>
#include <string>
#include <vector>

#include "authz/model.h"
#include "authz/result.h"

namespace bastion::authz {

enum class TransferDirection { None, Upload, Download };

// TransferLine: a recognised server command line.
struct TransferLine {
  OpType type = OpType::Scp;  // Scp or Rsync
  TransferDirection direction = TransferDirection::None;
  // The paths on the server the transfer reads or writes, as the server side will use them (scp:
  // every path after the options; rsync: every argument after the lone ".").
  std::vector<std::string> paths;
};

// parse_transfer reads a split command line (split_command_line). std::nullopt: argv is no attempt
// at an scp or rsync server side at all (e.g. "rsync --version"). An Error: it is one (an scp with
// -t or -f, an rsync with --server or a daemon option) but breaks the grammar; the message names the
// word and why. Otherwise the transfer.
std::optional<Result<TransferLine>> parse_transfer(const std::vector<std::string>& argv);

}  // namespace bastion::authz
