#include "gateway/admin/command_line.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <ostream>

namespace bastion::gateway::admin {

CommandLine::CommandLine(std::string_view name, std::string_view synopsis, std::string_view summary)
    : name_(name), synopsis_(synopsis), summary_(summary) {
  visible_.add_options()("help,h", "show this help")("json", po::bool_switch(), "machine-readable JSON output");
}

CommandLine& CommandLine::positional(const char* name) {
  hidden_.add_options()(name, po::value<std::string>());
  positional_.add(name, 1);
  positional_names_.emplace_back(name);
  return *this;
}

std::optional<po::variables_map> CommandLine::parse(const Args& args, CommandContext& ctx) {
  return parse(args, ctx.out, ctx.program);
}

std::optional<po::variables_map> CommandLine::parse(const Args& args, std::ostream& out, std::string_view program) {
  po::options_description all;
  all.add(visible_).add(hidden_);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional_).run(), vm);
    if (vm.count("help") != 0) {
      print_help(out, program);
      return std::nullopt;
    }
    po::notify(vm);  // after --help, so that help works without the required options
  } catch (const po::error& e) {
    throw UsageError(option_error_text(e));
  }
  for (const auto& p : positional_names_) {
    if (vm.count(p) == 0) throw UsageError("missing " + p);
  }
  return vm;
}

void CommandLine::print_help(std::ostream& out, std::string_view program) const {
  out << "usage: " << program << " " << name_ << " " << synopsis_ << "\n\n"
      << summary_ << "\n\n"
      << visible_;
}

namespace {
// SubstitutionsOf reads the protected texts a Boost option error substitutes into its message.
struct SubstitutionsOf : po::error_with_option_name {
  static const std::map<std::string, std::string>& of(const po::error_with_option_name& e) {
    return e.*(&SubstitutionsOf::m_substitutions);
  }
};
}  // namespace

std::string option_error_text(const po::error& e) {
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  if (named == nullptr) return e.what();
  po::error_with_option_name safe = *named;
  for (const auto& [placeholder, text] : SubstitutionsOf::of(*named)) {
    if (text.find('%') == std::string::npos) continue;
    std::string shown;
    for (char c : text) shown += c == '%' ? std::string("\uFF05") : std::string(1, c);
    safe.set_substitute(placeholder, shown);
  }
  return safe.what();
}

bool wants_json(const po::variables_map& vm) { return vm.count("json") != 0 && vm["json"].as<bool>(); }

void print_json(CommandContext& ctx, const nlohmann::json& j) { ctx.out << j.dump(2) << "\n"; }

int refuse(CommandContext& ctx, std::string_view reason) {
  ctx.err << ctx.program << ": " << reason << "\n";
  return kExitRefused;
}

Result<std::vector<std::string>> read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read key file " + path};
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    keys.push_back(line.substr(first));
  }
  if (in.bad()) return Error{"cannot read key file " + path};
  if (keys.empty()) return Error{"key file " + path + " holds no public key"};
  return keys;
}

std::vector<std::string> comma_list(const std::string& text, std::string_view option) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    if (comma == start) throw UsageError("--" + std::string(option) + " has an empty entry: give OP[,OP…]");
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace bastion::gateway::admin
