// The product's schema. Times are INTEGER unix seconds UTC everywhere.
#include "authz/schema.h"

#include <array>
#include <string>

#include "authz/db.h"
#include "authz/db_backend.h"

namespace bastion::db {
namespace {

// Migration 1 creates every table of the product, including those written by audit/, so that a
// database initialised by any version of bastionctl is complete for that version.
constexpr std::string_view kV1[] = {
    R"(CREATE TABLE clients (
         id   INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE))",

    R"(CREATE TABLE operators (
         id             INTEGER PRIMARY KEY,
         name           TEXT NOT NULL UNIQUE,
         role           TEXT NOT NULL CHECK (role IN ('operator', 'officer', 'client')),
         client         TEXT REFERENCES clients(name),
         disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
         totp_secret    TEXT NOT NULL,
         totp_last_step INTEGER NOT NULL DEFAULT -1,
         created_at     INTEGER NOT NULL,
         CHECK ((role = 'client') = (client IS NOT NULL))))",

    R"(CREATE TABLE operator_keys (
         id          INTEGER PRIMARY KEY,
         operator_id INTEGER NOT NULL REFERENCES operators(id),
         type        TEXT NOT NULL,
         base64      TEXT NOT NULL,
         comment     TEXT NOT NULL DEFAULT '',
         fingerprint TEXT NOT NULL,
         UNIQUE (type, base64)))",
    "CREATE INDEX operator_keys_by_operator ON operator_keys(operator_id)",

    R"(CREATE TABLE servers (
         id         INTEGER PRIMARY KEY,
         name       TEXT NOT NULL UNIQUE,
         host       TEXT NOT NULL,
         port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
         client     TEXT NOT NULL REFERENCES clients(name),
         kind       TEXT NOT NULL CHECK (kind IN ('dedicated', 'shared')),
         host_key   TEXT NOT NULL,
         created_at INTEGER NOT NULL))",

    R"(CREATE TABLE catalogue (
         id        INTEGER PRIMARY KEY,
         server_id INTEGER NOT NULL REFERENCES servers(id),
         name      TEXT NOT NULL,
         type      TEXT NOT NULL CHECK (type IN ('shell', 'exec', 'sftp', 'scp', 'rsync', 'forward')),
         pattern   TEXT NOT NULL DEFAULT '',
         UNIQUE (server_id, name)))",

    R"(CREATE TABLE grants (
         id          INTEGER PRIMARY KEY,
         operator_id INTEGER NOT NULL REFERENCES operators(id),
         server_id   INTEGER NOT NULL REFERENCES servers(id),
         login       TEXT NOT NULL,
         ops         TEXT NOT NULL,
         not_before  INTEGER NOT NULL,
         not_after   INTEGER NOT NULL,
         reason      TEXT NOT NULL,
         granted_by  TEXT NOT NULL,
         revoked_at  INTEGER,
         created_at  INTEGER NOT NULL,
         CHECK (not_after > not_before)))",
    "CREATE INDEX grants_by_target ON grants(operator_id, server_id, login)",
    "CREATE INDEX grants_by_server ON grants(server_id)",

    R"(CREATE TABLE sessions (
         id          INTEGER PRIMARY KEY,
         operator    TEXT NOT NULL,
         server      TEXT NOT NULL,
         login       TEXT NOT NULL,
         grant_id    INTEGER REFERENCES grants(id),
         client      TEXT NOT NULL DEFAULT '',
         source      TEXT NOT NULL DEFAULT '',
         started_at  INTEGER NOT NULL,
         ended_at    INTEGER,
         exit_status INTEGER,
         status      TEXT NOT NULL DEFAULT 'live',
         reason      TEXT NOT NULL DEFAULT '',
         pid         INTEGER))",
    "CREATE INDEX sessions_by_start ON sessions(started_at)",
    // Client reviewers only ever see their own servers' sessions.
    "CREATE INDEX sessions_by_client ON sessions(client, started_at)",
    "CREATE INDEX sessions_by_status ON sessions(status)",

    R"(CREATE TABLE recordings (
         id         INTEGER PRIMARY KEY,
         session_id INTEGER NOT NULL REFERENCES sessions(id),
         channel    INTEGER NOT NULL,
         kind       TEXT NOT NULL,
         path       TEXT NOT NULL,
         sha256     TEXT NOT NULL DEFAULT '',
         bytes_in   INTEGER NOT NULL DEFAULT 0,
         bytes_out  INTEGER NOT NULL DEFAULT 0,
         started_at INTEGER NOT NULL,
         ended_at   INTEGER))",
    "CREATE INDEX recordings_by_session ON recordings(session_id)",

    // The audit hash chain: hash covers prev_hash and the row's content (audit/).
    R"(CREATE TABLE events (
         id         INTEGER PRIMARY KEY,
         at         INTEGER NOT NULL,
         kind       TEXT NOT NULL,
         actor      TEXT NOT NULL DEFAULT '',
         source     TEXT NOT NULL DEFAULT '',
         server     TEXT NOT NULL DEFAULT '',
         session_id INTEGER REFERENCES sessions(id),
         details    TEXT NOT NULL DEFAULT '{}',
         prev_hash  TEXT NOT NULL,
         hash       TEXT NOT NULL))",
    "CREATE INDEX events_by_session ON events(session_id)",
};

// Migration 2: an officer's request to end a live session (the session's own process polls for
// it and cuts the channel), and each client's contract terms for retention and reversibility.
constexpr std::string_view kV2[] = {
    "ALTER TABLE sessions ADD COLUMN kill_requested_by TEXT",
    "ALTER TABLE sessions ADD COLUMN kill_requested_at INTEGER",
    "ALTER TABLE clients ADD COLUMN recording_retention_days INTEGER",
    "ALTER TABLE clients ADD COLUMN event_retention_days INTEGER",
    "ALTER TABLE clients ADD COLUMN contract_end INTEGER",
    "ALTER TABLE clients ADD COLUMN grace_days INTEGER NOT NULL DEFAULT 90",
    "CREATE INDEX events_by_server ON events(server, at)",
};

// Migration 3: removing a server keeps its row (grants and sessions name it; its name is not
// reused, so history stays unambiguous), and bastion-wide settings officers change by command.
constexpr std::string_view kV3[] = {
    "ALTER TABLE servers ADD COLUMN removed_at INTEGER",
    R"(CREATE TABLE settings (
         name  TEXT PRIMARY KEY,
         value TEXT NOT NULL))",
};

// Migration 4: exec recordings store at most a configured number of bytes; beyond it bytes are
// counted and hashed only (audit/exec_recording.h). Rows from before keep NULL totals, which read
// as their stored counts (nothing was capped then).
constexpr std::string_view kV4[] = {
    "ALTER TABLE recordings ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1))",
    "ALTER TABLE recordings ADD COLUMN bytes_total_in INTEGER",
    "ALTER TABLE recordings ADD COLUMN bytes_total_out INTEGER",
    "ALTER TABLE recordings ADD COLUMN stdin_sha256 TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE recordings ADD COLUMN stdout_sha256 TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE recordings ADD COLUMN stderr_sha256 TEXT NOT NULL DEFAULT ''",
};

// Migration 5: brute-force protection shared by every session process. auth_failures is a sliding
// window (rows older than a day are pruned as new ones arrive); bans keeps every ban ever placed,
// lifted or expired, so that repeated bans of one source escalate and officers see the history.
constexpr std::string_view kV5[] = {
    R"(CREATE TABLE auth_failures (
         id      INTEGER PRIMARY KEY,
         source  TEXT NOT NULL,
         account TEXT NOT NULL DEFAULT '',
         at      INTEGER NOT NULL))",
    "CREATE INDEX auth_failures_by_source ON auth_failures(source, at)",
    "CREATE INDEX auth_failures_by_account ON auth_failures(account, at)",
    "CREATE INDEX auth_failures_by_time ON auth_failures(at)",
    R"(CREATE TABLE bans (
         id         INTEGER PRIMARY KEY,
         kind       TEXT NOT NULL CHECK (kind IN ('source', 'account')),
         subject    TEXT NOT NULL,
         until      INTEGER NOT NULL,
         level      INTEGER NOT NULL CHECK (level >= 1),
         reason     TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         lifted_by  TEXT,
         lifted_at  INTEGER,
         CHECK (until > created_at)))",
    // The listener's per-connection question: "is this source banned now?"
    "CREATE INDEX bans_by_subject ON bans(kind, subject, until)",
    "CREATE INDEX bans_by_until ON bans(until)",
};

// Migration 6: a ban that runs out is an audit event (ban.expired) like one that is lifted; the
// flag says it was written. Bans that ended before this version had no such event and get none.
// Source subjects are IPv4 addresses or IPv6 /64s (authz/ban_subject.h): IPv4-mapped rows written
// by a dual-stack listener become plain IPv4. (Rows of single IPv6 addresses cannot be rewritten
// in SQL; they are at most a day old and simply stop counting.)
constexpr std::string_view kV6[] = {
    "ALTER TABLE bans ADD COLUMN expiry_recorded INTEGER NOT NULL DEFAULT 0 CHECK (expiry_recorded IN (0, 1))",
    "UPDATE bans SET expiry_recorded = 1 WHERE until <= CAST(strftime('%s', 'now') AS INTEGER)",
    "UPDATE bans SET subject = substr(subject, 8) WHERE kind = 'source' AND lower(subject) GLOB '::ffff:*.*.*.*'",
    "UPDATE auth_failures SET source = substr(source, 8) WHERE lower(source) GLOB '::ffff:*.*.*.*'",
    // The daemon's question at each connection: "which bans ran out unrecorded?"
    "CREATE INDEX bans_expiry_unrecorded ON bans(until) WHERE expiry_recorded = 0 AND lifted_at IS NULL",
};

// Migration 7: scp, rsync and sftp entries limited to a direction and a path pattern (issue 13).
// Entries of an older version that named their direction in `pattern` ("upload"/"download", as
// decide() once read it) move it to `direction`; "both" or empty mean both. Any other pattern left
// on a transfer entry stays where it is, and decide() lets such an entry allow nothing (fail
// closed) until an officer re-creates it.
constexpr std::string_view kV7[] = {
    "ALTER TABLE catalogue ADD COLUMN direction TEXT NOT NULL DEFAULT 'both' "
    "CHECK (direction IN ('both', 'upload', 'download'))",
    "ALTER TABLE catalogue ADD COLUMN path TEXT NOT NULL DEFAULT ''",
    "UPDATE catalogue SET direction = pattern, pattern = '' "
    "WHERE type IN ('scp', 'rsync', 'sftp') AND pattern IN ('upload', 'download')",
    "UPDATE catalogue SET pattern = '' WHERE type IN ('scp', 'rsync', 'sftp') AND pattern = 'both'",
};

// Migration 8: the environment variables, beyond LANG and LC_*, that the server's officer lets an
// operator send (authz/env_policy.h), comma-separated; empty lets none through.
constexpr std::string_view kV8[] = {
    "ALTER TABLE servers ADD COLUMN allowed_env TEXT NOT NULL DEFAULT ''",
};

// Migration 9: a session row names its process by pid AND that process's start time (clock ticks
// since boot, /proc/PID/stat field 22), so that a pid reused by an unrelated process is never
// taken for the session's own (the recovery sweep and the per-operator cap both ask "is it alive?").
constexpr std::string_view kV9[] = {
    "ALTER TABLE sessions ADD COLUMN pid_start INTEGER NOT NULL DEFAULT 0",
};

// Migration 10: access on request (issue 17). A request keeps the policy in force when it was
// made (needs); its approvals are one per slot and one per person, so the two-person rule holds in
// the schema as well as in authz/access_request.cc. approved/active/expired/revoked are read off
// the grant the last approval created (grant_id). servers.approvals and clients.approvals hold a
// policy set by officers; NULL means the default (the client's, then officer alone).
constexpr std::string_view kV10[] = {
    R"(CREATE TABLE access_requests (
         id              INTEGER PRIMARY KEY,
         operator_id     INTEGER NOT NULL REFERENCES operators(id),
         server_id       INTEGER NOT NULL REFERENCES servers(id),
         login           TEXT NOT NULL,
         ops             TEXT NOT NULL,
         duration        INTEGER NOT NULL CHECK (duration > 0),
         from_at         INTEGER,
         reason          TEXT NOT NULL CHECK (reason <> ''),
         needs           TEXT NOT NULL CHECK (needs IN ('officer', 'client', 'client,officer')),
         status          TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'approved', 'denied', 'cancelled', 'lapsed')),
         created_at      INTEGER NOT NULL,
         lapses_at       INTEGER NOT NULL CHECK (lapses_at > created_at),
         decided_by      TEXT,
         decided_at      INTEGER,
         decision_reason TEXT NOT NULL DEFAULT '',
         grant_id        INTEGER REFERENCES grants(id),
         CHECK ((status = 'approved') = (grant_id IS NOT NULL))))",
    "CREATE INDEX access_requests_pending ON access_requests(lapses_at) WHERE status = 'pending'",
    "CREATE INDEX access_requests_by_grant ON access_requests(grant_id)",
    R"(CREATE TABLE request_approvals (
         id          INTEGER PRIMARY KEY,
         request_id  INTEGER NOT NULL REFERENCES access_requests(id),
         approver_id INTEGER REFERENCES operators(id),
         approver    TEXT NOT NULL,
         as_role     TEXT NOT NULL CHECK (as_role IN ('client', 'officer')),
         at          INTEGER NOT NULL,
         reason      TEXT NOT NULL DEFAULT '',
         UNIQUE (request_id, as_role),
         UNIQUE (request_id, approver)))",
    "ALTER TABLE servers ADD COLUMN approvals TEXT CHECK (approvals IN ('officer', 'client', 'client,officer'))",
    "ALTER TABLE clients ADD COLUMN approvals TEXT CHECK (approvals IN ('officer', 'client', 'client,officer'))",
};

// Migration 11: break-glass (issue 17, point 6). A grant an officer gave without a request, with
// `grant add --emergency`, bypassed the approvals its server's policy names; the flag stays on the
// row so the client's reviewer sees it in `grant list` and in the client's export. Grants before
// this version were ordinary ones.
constexpr std::string_view kV11[] = {
    "ALTER TABLE grants ADD COLUMN emergency INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1))",
};

// Migration 12: the web portal (web/, issue 18). A reviewer's password is an argon2id string
// (libsodium crypto_pwhash_str); enrolment links and portal sessions are known by the SHA-256 of
// their token only, so a copy of the database opens no account and no session.
constexpr std::string_view kV12[] = {
    R"(CREATE TABLE web_passwords (
         operator_id INTEGER PRIMARY KEY REFERENCES operators(id),
         hash        TEXT NOT NULL,
         set_at      INTEGER NOT NULL))",
    R"(CREATE TABLE web_enrolments (
         id          INTEGER PRIMARY KEY,
         operator_id INTEGER NOT NULL REFERENCES operators(id),
         token_hash  TEXT NOT NULL UNIQUE,
         created_at  INTEGER NOT NULL,
         expires_at  INTEGER NOT NULL CHECK (expires_at > created_at),
         used_at     INTEGER))",
    R"(CREATE TABLE web_sessions (
         id          INTEGER PRIMARY KEY,
         operator_id INTEGER NOT NULL REFERENCES operators(id),
         token_hash  TEXT NOT NULL UNIQUE,
         source      TEXT NOT NULL,
         created_at  INTEGER NOT NULL,
         last_seen   INTEGER NOT NULL,
         ended_at    INTEGER))",
};

// Migration 13: egress by certificate (issue 15). Servers registered before it trust the bastion's
// standing egress key in their authorized_keys, so they keep `key`; `server add` makes new ones
// `certificate` unless told otherwise.
constexpr std::string_view kV13[] = {
    "ALTER TABLE servers ADD COLUMN egress TEXT NOT NULL DEFAULT 'key' CHECK (egress IN ('certificate', 'key'))",
};


// Migration 14: one-time sign-in links (`ssh carol@bastion web-login`, issue 18). Someone who has
// just passed key + TOTP over SSH gets a link that opens a portal session once, within 2 minutes;
// like enrolment links, only the SHA-256 of its token is kept.
constexpr std::string_view kV14[] = {
    R"(CREATE TABLE web_login_links (
         id          INTEGER PRIMARY KEY,
         operator_id INTEGER NOT NULL REFERENCES operators(id),
         token_hash  TEXT NOT NULL UNIQUE,
         created_at  INTEGER NOT NULL,
         expires_at  INTEGER NOT NULL CHECK (expires_at > created_at),
         used_at     INTEGER))",
};

// Migration 15: the portal's sessions list, sorted and paged in SQL (issue 18: a page in < 50 ms
// with 100 000 sessions). One index per sort key of audit::SessionOrder, each the very expression
// the ORDER BY names (audit/sqlite_session_store.cc order_by; the row id, the tie-breaker, is in
// every index), so a page is read in index order and stops after its rows; and one for the client
// scope of a reviewer's list.
constexpr std::string_view kV15[] = {
    "CREATE INDEX sessions_by_end ON sessions(coalesce(ended_at, 9223372036854775807))",
    "CREATE INDEX sessions_by_duration ON sessions(coalesce(ended_at - started_at, 9223372036854775807))",
    "CREATE INDEX sessions_by_server ON sessions(server)",
    R"(CREATE INDEX sessions_by_operator ON sessions("operator"))",
    // A reviewer's sessions are those whose chained session.start states her client
    // (audit/sql_evidence_store.h chained_sessions_of_client_indexed_sql).
    "CREATE INDEX events_session_start_client ON events(json_extract(details, '$.client'), server, session_id) "
    "WHERE kind = 'session.start'",
};



// Migration 16: signed audit checkpoints (issue 20, audit/checkpoint.h). Each row is one signed
// statement "the chain ended at event E with hash H at time T on node N"; emitted_at is when the
// daemon copied it to its sinks (NULL until then: one written by bastionctl waits for the daemon).
constexpr std::string_view kV16[] = {
    R"(CREATE TABLE checkpoints (
         seq        INTEGER PRIMARY KEY,
         at         INTEGER NOT NULL,
         node       TEXT NOT NULL,
         event_id   INTEGER NOT NULL CHECK (event_id >= 0),
         event_hash TEXT NOT NULL,
         key        TEXT NOT NULL,
         signature  TEXT NOT NULL,
         emitted_at INTEGER))",
    "CREATE INDEX checkpoints_unemitted ON checkpoints(seq) WHERE emitted_at IS NULL",
};

// Migration 17: a client reviewer's sessions list and session page at 100 000 sessions (issue 18,
// point 6). One (client, sort key) index per sort key of audit::SessionOrder, the key being the very
// expression of order_by (audit/sqlite_session_store.cc), and (client, status) for the status
// filter: a reviewer's page walks her client's part of an index, not every session
// (sessions_by_client, migration 1, is already (client, started_at)). The page uses them only when
// every session the chain gives her client says that client in its row too (the count checks it),
// so an edited column hides nothing. And the retention.purge events by their kind: the check of one
// session (audit::verify_session) reads them, and must not read the whole chain to find them.
constexpr std::string_view kV17[] = {
    "CREATE INDEX sessions_by_client_end ON sessions(client, coalesce(ended_at, 9223372036854775807))",
    "CREATE INDEX sessions_by_client_duration ON sessions(client, coalesce(ended_at - started_at, 9223372036854775807))",
    "CREATE INDEX sessions_by_client_server ON sessions(client, server)",
    R"(CREATE INDEX sessions_by_client_operator ON sessions(client, "operator"))",
    "CREATE INDEX sessions_by_client_status ON sessions(client, status)",
    "CREATE INDEX events_retention_purge ON events(id) WHERE kind = 'retention.purge'",
};

// Migration 18: per-client data keys (issue 20, points 2 and 3; audit/data_keys.h). Each client's
// recordings are sealed under keys derived from its data key, held here only wrapped (encrypted and
// authenticated) under the bastion's master key, a file outside the database. Shredding a client
// NULLs `wrapped` and says when and by whom: every copy of its recordings, in any backup, is then
// unreadable. The row stays, so that a reader of such a copy is told what happened.
constexpr std::string_view kV18[] = {
    R"(CREATE TABLE client_data_keys (
         key_id       TEXT PRIMARY KEY,
         client       TEXT NOT NULL UNIQUE,
         created_at   INTEGER NOT NULL,
         wrapped      TEXT,
         destroyed_at INTEGER,
         destroyed_by TEXT,
         CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))))",
};

// Several bastions on one database (README, Running several bastions): each session row names the
// node that serves it (NULL: a row from before, served by the only node there was), and each node
// writes its heartbeat, so that the others can end the rows of a node that died.
constexpr std::string_view kV19[] = {
    "ALTER TABLE sessions ADD COLUMN node TEXT",
    R"(CREATE TABLE nodes (
         name         TEXT PRIMARY KEY,
         pid          INTEGER NOT NULL,
         started_at   INTEGER NOT NULL,
         heartbeat_at INTEGER NOT NULL))",
    "CREATE INDEX sessions_live_by_node ON sessions(node) WHERE status = 'live'",
    // The access version: one number that every change a running session's re-check depends on
    // moves (a grant, an account, its keys, a server, a session killed or ended elsewhere), in the
    // same transaction, by trigger, whichever program or person makes the change. A re-check reads
    // it alone, and the rows again only when it moved (gateway/monitor.cc, grant_live).
    "CREATE TABLE access_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
    "INSERT INTO access_version (id, version) VALUES (1, 0)",
    "CREATE TRIGGER grants_insert_access AFTER INSERT ON grants BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER grants_update_access AFTER UPDATE ON grants BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER grants_delete_access AFTER DELETE ON grants BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER operators_insert_access AFTER INSERT ON operators BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    // Not a login's TOTP step (totp_last_step) nor a new secret: a live check reads neither.
    "CREATE TRIGGER operators_update_access AFTER UPDATE OF name, role, client, disabled ON operators BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER operators_delete_access AFTER DELETE ON operators BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER operator_keys_insert_access AFTER INSERT ON operator_keys BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER operator_keys_update_access AFTER UPDATE ON operator_keys BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER operator_keys_delete_access AFTER DELETE ON operator_keys BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER servers_insert_access AFTER INSERT ON servers BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER servers_update_access AFTER UPDATE ON servers BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER servers_delete_access AFTER DELETE ON servers BEGIN "
    "UPDATE access_version SET version = version + 1; END",
    "CREATE TRIGGER sessions_end_access AFTER UPDATE OF kill_requested_by, status ON sessions BEGIN "
    "UPDATE access_version SET version = version + 1; END",
};

// Migrations 20 and 21 are PostgreSQL's alone (authz/schema_postgres.cc: the access version's changes
// announced by NOTIFY, the wake-up of other nodes' live checks). SQLite has one node, whose live
// checks read the version each time: nothing to do, only the number kept in step. (21: on
// PostgreSQL the version moves once per transaction; SQLite's per-row triggers cost nothing of the
// kind, its single writer updating the row in place.)
constexpr std::array<Migration, 21> kMigrations{{
    {1, "all tables of the product", kV1},
    {2, "session kill requests, client retention terms", kV2},
    {3, "removed servers, settings", kV3},
    {4, "capped exec recordings: totals and stream digests", kV4},
    {5, "authentication failures and bans", kV5},
    {6, "ban expiry events, IPv4-mapped ban subjects", kV6},
    {7, "transfer limits of catalogue entries: direction and path", kV7},
    {8, "per-server environment allow-list", kV8},
    {9, "session process start time beside its pid", kV9},
    {10, "access requests, approvals and approval policies", kV10},
    {11, "emergency (break-glass) grants", kV11},
    {12, "web portal passwords, enrolment links and sessions", kV12},
    {13, "egress mode of servers: certificate or key", kV13},
    {14, "one-time web sign-in links", kV14},
    {15, "indexes of the sorted sessions list", kV15},
    {16, "signed audit checkpoints", kV16},
    {17, "indexes of a client reviewer's sessions list and of retention purges", kV17},
    {18, "per-client data keys, wrapped under the master key (encrypted recordings)", kV18},
    {19, "the node of each session, and the nodes' heartbeats", kV19},
    {20, "(PostgreSQL only: changes of the access version notified)", {}},
    {21, "(PostgreSQL only: the access version moved once per transaction)", {}},
}};

// apply re-reads the version under the write lock (BEGIN IMMEDIATE; on PostgreSQL the
// Transaction's advisory lock), so two processes opening a fresh database at once do not both run the same migration.
void apply(Database& db, const Migration& m) {
  Database::Transaction tx(db);
  if (db.schema_version() >= m.version) return;
  for (std::string_view sql : m.statements) db.exec(sql);
  db.backend().set_schema_version(m.version);
  tx.commit();
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

Status migrate(Database& db) {
  const int current = db.schema_version();
  if (current > latest_schema_version()) {
    return Error{"database " + db.path() + " has schema version " + std::to_string(current) +
                 ", newer than this program understands (" + std::to_string(latest_schema_version()) +
                 "); upgrade bastion"};
  }
  static_assert(kMigrations.back().version == 21, "add the new migration to authz/schema_postgres.cc too");
  for (const Migration& m : db.is_postgres() ? postgres_migrations() : migrations()) {
    if (m.version > current) apply(db, m);
  }
  return ok_status();
}

}  // namespace bastion::db
