#pragma once
// Shared plumbing of the admin commands: option parsing with Boost.Program_options (each command
// has its own description; --help and --json everywhere), refusals, JSON output.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/commands.h"

namespace bastion::gateway::admin {

namespace po = boost::program_options;
using Args = std::vector<std::string>;

// UsageError: the command line is wrong (missing or unknown option, malformed value). run_command
// prints it with a pointer to --help and exits kExitUsage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// CommandLine describes one command's arguments: named options and positional arguments.
class CommandLine {
 public:
  CommandLine(std::string_view name, std::string_view synopsis, std::string_view summary);
  po::options_description_easy_init options() { return visible_.add_options(); }
  // positional declares the next required positional argument, e.g. positional("NAME").
  CommandLine& positional(const char* name);

  // parse returns the parsed values, or std::nullopt after printing help for --help.
  // Throws UsageError for anything wrong with args.
  std::optional<po::variables_map> parse(const Args& args, CommandContext& ctx);
  std::optional<po::variables_map> parse(const Args& args, std::ostream& out, std::string_view program);

 private:
  void print_help(std::ostream& out, std::string_view program) const;
  std::string name_, synopsis_, summary_;
  po::options_description visible_{"options"};
  po::options_description hidden_;
  po::positional_options_description positional_;
  std::vector<std::string> positional_names_;
};

// option_error_text is e.what(), made safe: Boost 1.74 builds the message by replacing %option%,
// %value%… in a loop that never ends when the replacing text holds a placeholder itself (an option
// named "x%value%", a value "%canonical_option%"), so any '%' in a substituted text is shown as '％'
// (U+FF05) instead. Every catch of a po::error prints through this.
std::string option_error_text(const po::error& e);

bool wants_json(const po::variables_map& vm);
void print_json(CommandContext& ctx, const nlohmann::json& j);

// comma_list splits "A,B,C" (the value of --OPTION); an empty entry is a UsageError.
std::vector<std::string> comma_list(const std::string& text, std::string_view option);

// refuse prints "<program>: <reason>" on ctx.err and returns kExitRefused.
int refuse(CommandContext& ctx, std::string_view reason);

// read_key_file returns the key lines of an authorized_keys-style file (blank lines and # comments
// skipped); an error if it cannot be read or holds no key.
Result<std::vector<std::string>> read_key_file(const std::string& path);

}  // namespace bastion::gateway::admin
