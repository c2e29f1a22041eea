#pragma once
// The access model: people, their keys, servers, catalogues of allowed operations, grants.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "authz/clock.h"

namespace bastion::authz {

enum class Role { Operator, Officer, Client };
enum class ServerKind { Dedicated, Shared };
// How the bastion logs in to a server (gateway/egress_ca.h): a certificate issued for each login
// by its egress CA (the default), or its standing egress key, which the monitor signs with.
enum class EgressMode { Certificate, Key };
// The kinds of operation a catalogue entry can allow (DESIGN.md, issue 3).
enum class OpType { Shell, Exec, Sftp, Scp, Rsync, Forward };

const char* to_string(Role r);
const char* to_string(ServerKind k);
const char* to_string(EgressMode m);
const char* to_string(OpType t);
std::optional<Role> parse_role(std::string_view s);
std::optional<ServerKind> parse_server_kind(std::string_view s);
std::optional<EgressMode> parse_egress_mode(std::string_view s);
std::optional<OpType> parse_op_type(std::string_view s);

struct Operator {
  std::int64_t id = 0;
  std::string name;
  Role role = Role::Operator;
  std::string client;  // only for Role::Client
  bool disabled = false;
  std::string totp_secret;  // base32
};

struct OperatorKey {
  std::int64_t id = 0;
  std::int64_t operator_id = 0;
  std::string type;     // "ssh-ed25519", "ssh-rsa", …
  std::string base64;   // the key blob, base64 as in authorized_keys
  std::string comment;
  std::string fingerprint;  // "SHA256:…"
};

struct Server {
  std::int64_t id = 0;
  std::string name;
  std::string host;
  int port = 22;
  std::string client;
  ServerKind kind = ServerKind::Dedicated;
  std::string host_key;  // "ssh-ed25519 AAAA…" as registered by the officer
  std::vector<std::string> allowed_env;  // names an operator may send besides LANG/LC_* (authz/env_policy.h)
  EgressMode egress = EgressMode::Certificate;
};

// Which way a transfer entry (scp, rsync, sftp) lets files move, seen from the operator.
enum class TransferLimit { Both, Upload, Download };
const char* to_string(TransferLimit l);
std::optional<TransferLimit> parse_transfer_limit(std::string_view s);

struct CatalogueEntry {
  std::int64_t id = 0;
  std::int64_t server_id = 0;
  std::string name;     // e.g. "status", "shell"
  OpType type = OpType::Shell;
  std::string pattern;  // exec: exact command or glob over argv; forward: host:port; else empty
  // scp, rsync, sftp: the direction allowed and the paths (a path pattern, authz/operation.h
  // path_glob_match; empty: any path). Other types: Both and empty.
  TransferLimit direction = TransferLimit::Both;
  std::string path;
};

struct Grant {
  std::int64_t id = 0;
  std::int64_t operator_id = 0;
  std::string operator_name;
  std::int64_t server_id = 0;
  std::string server_name;
  std::string login;
  std::vector<std::string> ops;  // names of catalogue entries of that server
  Seconds not_before{};
  Seconds not_after{};           // exclusive
  std::string reason;
  std::string granted_by;
  std::optional<Seconds> revoked_at;
  Seconds created_at{};
  // emergency: given with `grant add --emergency` (break-glass), bypassing the approvals the
  // server's policy names; flagged for the client's review.
  bool emergency = false;
};

}  // namespace bastion::authz
