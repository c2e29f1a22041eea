// The names of the model's enumerations, as stored in the database and typed on the command line.
#include "authz/model.h"

#include <array>
#include <string_view>
#include <utility>

namespace bastion::authz {
namespace {

constexpr std::array<std::pair<Role, const char*>, 3> kRoles{{
    {Role::Operator, "operator"},
    {Role::Officer, "officer"},
    {Role::Client, "client"},
}};

constexpr std::array<std::pair<ServerKind, const char*>, 2> kKinds{{
    {ServerKind::Dedicated, "dedicated"},
    {ServerKind::Shared, "shared"},
}};
constexpr std::array<std::pair<EgressMode, const char*>, 2> kEgressModes{{
    {EgressMode::Certificate, "certificate"},
    {EgressMode::Key, "key"},
}};

constexpr std::array<std::pair<OpType, const char*>, 6> kOpTypes{{
    {OpType::Shell, "shell"},
    {OpType::Exec, "exec"},
    {OpType::Sftp, "sftp"},
    {OpType::Scp, "scp"},
    {OpType::Rsync, "rsync"},
    {OpType::Forward, "forward"},
}};

constexpr std::array<std::pair<TransferLimit, const char*>, 3> kLimits{{
    {TransferLimit::Both, "both"},
    {TransferLimit::Upload, "upload"},
    {TransferLimit::Download, "download"},
}};

template <typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

// parse_exact is case-sensitive on purpose: stored values are always lower case, and accepting
// "Shared" on input would only invite two spellings into the database.
template <typename E, std::size_t N>
std::optional<E> parse_exact(const std::array<std::pair<E, const char*>, N>& table, std::string_view s) {
  for (const auto& [v, name] : table) {
    if (s == name) return v;
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(Role r) { return name_of(kRoles, r); }
const char* to_string(ServerKind k) { return name_of(kKinds, k); }
const char* to_string(EgressMode m) { return name_of(kEgressModes, m); }
const char* to_string(OpType t) { return name_of(kOpTypes, t); }
const char* to_string(TransferLimit l) { return name_of(kLimits, l); }

std::optional<Role> parse_role(std::string_view s) { return parse_exact(kRoles, s); }
std::optional<ServerKind> parse_server_kind(std::string_view s) { return parse_exact(kKinds, s); }
std::optional<EgressMode> parse_egress_mode(std::string_view s) { return parse_exact(kEgressModes, s); }
std::optional<OpType> parse_op_type(std::string_view s) { return parse_exact(kOpTypes, s); }
std::optional<TransferLimit> parse_transfer_limit(std::string_view s) { return parse_exact(kLimits, s); }

}  // namespace bastion::authz
