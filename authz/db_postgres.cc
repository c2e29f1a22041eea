// The PostgreSQL backend of db::Database, through libpq. Stores write their SQL once, with SQLite's
// `?` and `?N` placeholders; here they become `$N`. A store's statement is prepared once per
// connection (PQprepare: the server parses and plans it once, with parameters of unknown type that
// it infers from their context as it would a literal's) and then only executed (PQexecPrepared);
// its rows are read from the result. Prepared statements are the connection's: a reconnect
// forgets them, and they outlive a rolled-back transaction.
//
// Transactions: a Transaction is what SQLite's BEGIN IMMEDIATE makes it, one writer at a time for
// the whole database: BEGIN then a transaction-scoped advisory lock every Transaction takes, on any
// node (its key names the schema, so two bastions in two schemas of one database do not wait on
// each other). Stores rely on it for their read-then-write sequences (a TOTP step read then raised,
// failures counted then a ban placed, the live-session cap counted then a row added, the audit
// chain's last hash read then the next event written), and so does the migration. Inside, READ
// COMMITTED: each statement sees what the writer before committed (under REPEATABLE READ or
// SERIALIZABLE the snapshot would be taken before the lock is held, and the chain would fork or
// fail). Waiting for the lock is bounded by lock_timeout (set_busy_timeout), whose expiry, like a
// deadlock, a serialization failure or a lost connection, is a busy DbError: "try again".
// Statements outside a Transaction are single statements, atomic on their own.
//
// Change notices (Database::listen_for_changes): LISTEN bastion_access on this same connection; the
// triggers of migration 20 NOTIFY it, at commit, with the new access version and the schema (two
// bastions in two schemas of one database share the channel: another schema's notices are not
// ours). A reconnect listens again before its first statement; the notices sent meanwhile are lost,
// so the take after it says Some.
#include <libpq-fe.h>

#include <charconv>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "authz/db.h"
#include "authz/db_backend.h"

namespace bastion::db {
namespace {


struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

// translate_placeholders turns SQLite's `?` and `?N` into `$N`, leaving quoted text, quoted names
// and comments alone. A bare `?` takes the number after the largest seen so far, as in SQLite.
// count receives the number of parameters the statement takes.
std::string translate_placeholders(std::string_view sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 8);
  count = 0;
  std::size_t i = 0;
  auto copy_until = [&](std::string_view end) {
    const std::size_t stop = sql.find(end, i);
    const std::size_t upto = stop == std::string_view::npos ? sql.size() : stop + end.size();
    out.append(sql.substr(i, upto - i));
    i = upto;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // A doubled quote inside is the quote itself: copying up to the next quote and going on
      // copies both halves of it.
      out.push_back(c);
      ++i;
      copy_until(std::string_view(&c, 1));
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      copy_until("*/");
    } else if (c == '?') {
      ++i;
      std::size_t j = i;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
      int n = count + 1;
      if (j > i) std::from_chars(sql.data() + i, sql.data() + j, n);
      i = j;
      if (n > count) count = n;
      out += '$' + std::to_string(n);
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

// Why a failed result or connection is "busy": the advice is to try again.
bool retry_state(std::string_view sqlstate) {
  return sqlstate == "40001" ||  // serialization_failure
         sqlstate == "40P01" ||  // deadlock_detected
         sqlstate == "55P03" ||  // lock_not_available (lock_timeout)
         sqlstate == "57014" ||  // query_canceled (statement_timeout)
         sqlstate == "57P01" ||  // admin_shutdown: the server is going down
         sqlstate.starts_with("08");  // connection_exception
}

class PgBackend;

class PgStatement final : public StatementBackend {
 public:
  PgStatement(PgBackend& db, std::string sql, int count) : db_(db), sql_(std::move(sql)), params_(count) {}
  void bind_int(int i, std::int64_t v) override { slot(i) = std::to_string(v); }
  void bind_text(int i, std::string_view v) override {
    // Parameters travel as C strings: a NUL inside would silently cut the value short.
    if (v.find('\0') != std::string_view::npos) {
      throw DbError("bind: PostgreSQL cannot store a text holding a NUL byte");
    }
    slot(i) = std::string(v);
  }
  void bind_null(int i) override { slot(i).reset(); }
  bool step() override;
  std::int64_t col_int(int i) const override {
    if (col_null(i)) return 0;
    const char* v = PQgetvalue(result_.get(), row_, i);
    // A comparison's value comes back as PostgreSQL's boolean.
    if (v[0] == 't' && v[1] == '\0') return 1;
    if (v[0] == 'f' && v[1] == '\0') return 0;
    std::int64_t out = 0;
    const char* end = v + std::char_traits<char>::length(v);
    auto [p, ec] = std::from_chars(v, end, out);
    if (ec != std::errc() || p != end) {
      // numeric (sum, avg) and text read as integers, as SQLite would read them.
      return static_cast<std::int64_t>(std::strtod(v, nullptr));
    }
    return out;
  }
  std::string col_text(int i) const override {
    if (col_null(i)) return {};
    const auto length = static_cast<std::size_t>(PQgetlength(result_.get(), row_, i));
    return std::string(PQgetvalue(result_.get(), row_, i), length);
  }
  bool col_null(int i) const override {
    if (!result_ || row_ >= PQntuples(result_.get()) || i < 0 || i >= PQnfields(result_.get())) return true;
    return PQgetisnull(result_.get(), row_, i) != 0;
  }
  void reset() override {
    result_.reset();
    row_ = -1;
    for (auto& p : params_) p.reset();
  }

 private:
  std::optional<std::string>& slot(int i) {
    if (i < 1 || i > static_cast<int>(params_.size())) throw DbError("bind: column index out of range");
    return params_[static_cast<std::size_t>(i - 1)];
  }
  PgBackend& db_;
  std::string sql_;
  std::vector<std::optional<std::string>> params_;
  ResultPtr result_;
  int row_ = -1;
};

class PgBackend final : public Backend {
 public:
  explicit PgBackend(ConnPtr conn) : conn_(std::move(conn)) {
    const char* host = PQhost(conn_.get());
    where_ = host != nullptr && host[0] != '\0' && host[0] != '/' ? host : "its local socket";
  }

  bool is_postgres() const override { return true; }

  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    int count = 0;
    std::string text = translate_placeholders(sql, count);
    return std::make_unique<PgStatement>(*this, std::move(text), count);
  }

  void exec(std::string_view sql) override {
    const std::string text(sql);
    run(text, {});
  }

  int changes() const override { return changes_; }

  // The version lives in a table of its own (PostgreSQL has no user_version), which an empty
  // database does not have yet.
  int schema_version() override {
    ResultPtr exists = run("SELECT to_regclass('bastion_schema') IS NOT NULL", {});
    if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") return 0;
    ResultPtr r = run("SELECT max(version) FROM bastion_schema", {});
    return PQgetisnull(r.get(), 0, 0) ? 0 : std::atoi(PQgetvalue(r.get(), 0, 0));
  }
  void set_schema_version(int version) override {
    run("CREATE TABLE IF NOT EXISTS bastion_schema (version INTEGER NOT NULL)", {});
    run("DELETE FROM bastion_schema", {});
    run("INSERT INTO bastion_schema(version) VALUES (" + std::to_string(version) + ")", {});
  }

  // A connection lost (the server down) takes the timeout when it is opened again (configure): a
  // caller setting it, such as a retry loop about to try its writes, must not fail for that (the
  // statement after it finds the connection lost, and says so).
  void set_busy_timeout(std::chrono::milliseconds wait) override {
    lock_timeout_ms_ = wait.count();
    if (PQstatus(conn_.get()) != CONNECTION_OK) return;
    try {
      run("SET lock_timeout = " + std::to_string(lock_timeout_ms_), {});
    } catch (const DbError&) {
      if (PQstatus(conn_.get()) == CONNECTION_OK) throw;
    }
  }

  // configure sets what every connection of ours runs with, at connect and at each reconnect.
  void configure() {
    set_busy_timeout(std::chrono::milliseconds(lock_timeout_ms_));
  }

  // A connection lost inside a transaction says "unknown": whether a new Transaction is an outer one
  // is asked of the connection opened again.
  bool in_transaction() override {
    reconnect_if_lost();
    return PQtransactionStatus(conn_.get()) != PQTRANS_IDLE;
  }
  void begin() override {
    exec("BEGIN ISOLATION LEVEL READ COMMITTED");
    try {
      exec("SELECT pg_advisory_xact_lock(hashtext('bastion writer ' || current_schema()))");
    } catch (const DbError&) {
      rollback_quietly(false);  // no Transaction exists to do it: its constructor is what failed
      throw;
    }
  }
  // After a failed statement PostgreSQL aborts the whole transaction (SQLite undoes the statement
  // alone), and answers COMMIT with ROLLBACK, not an error: a caller that went on after the failure
  // must not believe its writes were kept.
  void commit() override {
    ResultPtr r = run("COMMIT", {});
    if (std::string_view(PQcmdStatus(r.get())) == "ROLLBACK") {
      throw DbError("commit failed: a statement of the transaction failed, and PostgreSQL rolled it all back");
    }
  }
  void rollback_quietly(bool nested) noexcept override {
    PGresult* r = PQexec(conn_.get(), nested ? "ROLLBACK TO bastion_nested; RELEASE bastion_nested" : "ROLLBACK");
    PQclear(r);
  }

  bool listen_for_changes() override {
    listening_ = true;
    reconnect_if_lost();  // listens
    return true;
  }
  int change_fd() const override {
    return listening_ && heard_ && PQstatus(conn_.get()) == CONNECTION_OK ? PQsocket(conn_.get()) : -1;
  }
  void read_changes() noexcept override {
    if (!listening_ || !heard_) return;
    if (PQstatus(conn_.get()) != CONNECTION_OK || PQconsumeInput(conn_.get()) == 0 ||
        PQstatus(conn_.get()) != CONNECTION_OK) {
      heard_ = false;  // lost: the next statement connects again and listens again
      return;
    }
    // Also those libpq took in while it read a statement's rows: they left nothing on the socket.
    while (PGnotify* n = PQnotifies(conn_.get())) {
      const std::string_view payload = n->extra != nullptr ? n->extra : "";
      const auto space = payload.find(' ');
      if (space != std::string_view::npos && payload.substr(space + 1) == schema_) since_take_ = Database::Changes::Some;
      PQfreemem(n);
    }
  }
  Database::Changes take_changes() override {
    read_changes();
    if (!listening_ || !heard_) return Database::Changes::Unknown;
    return std::exchange(since_take_, Database::Changes::None);
  }

  // run executes one statement; the failure of the server or the connection throws DbError.
  ResultPtr run(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    reconnect_if_lost();
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    ResultPtr r(params.empty() ? PQexec(conn_.get(), sql.c_str())
                               : PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                              values.data(), nullptr, nullptr, 0));
    return checked(std::move(r));
  }

  // run_prepared executes a store's statement, prepared on this connection the first time it is
  // run. Past kMaxPrepared distinct texts (a store building its SQL from a filter), the rest run
  // unprepared: the cache never grows without bound.
  ResultPtr run_prepared(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    reconnect_if_lost();
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      if (prepared_.size() >= kMaxPrepared) return run(sql, params);
      std::string name = "bastion_" + std::to_string(prepared_.size() + 1);
      ResultPtr made(PQprepare(conn_.get(), name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr));
      if (!made || PQresultStatus(made.get()) != PGRES_COMMAND_OK) throw failure(made.get());
      it = prepared_.emplace(sql, std::move(name)).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    ResultPtr r(PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(values.size()), values.data(),
                               nullptr, nullptr, 0));
    // A plan whose rows changed shape under it ("cached plan must not change result type": another
    // node migrated a table) fails this once and is prepared again the next time.
    if (r && PQresultStatus(r.get()) == PGRES_FATAL_ERROR) {
      const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      if (state != nullptr && std::string_view(state) == "0A000") prepared_.erase(it);
    }
    return checked(std::move(r));
  }

 private:
  // A lost connection (the server restarted, a proxy dropped an idle connection) is opened again by
  // the statement after the one that found it lost: that one fails as busy ("try again"), whether or
  // not it was in a transaction, because it may have reached the server before the connection died,
  // and running it again could run it twice.
  // checked returns a statement's result, or throws its failure; it counts the rows it changed.
  ResultPtr checked(ResultPtr r) {
    const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw failure(r.get());
    const char* n = PQcmdTuples(r.get());
    changes_ = n != nullptr && n[0] != '\0' ? std::atoi(n) : 0;
    return r;
  }

  void reconnect_if_lost() {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      prepared_.clear();  // the new connection has none of them
      heard_ = false;     // nor listens
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_OK) throw unreachable();
      configure();
    }
    // Outside a transaction only: a LISTEN inside one would be undone with it.
    if (listening_ && !heard_ && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) listen();
  }

  // listen makes this connection hear the change notices of its schema. Whatever was notified
  // before went unheard: the next take says Some.
  void listen() {
    heard_ = true;  // first: its own statements come through reconnect_if_lost
    try {
      run("LISTEN bastion_access", {});
      ResultPtr r = run("SELECT current_schema()", {});
      schema_ = PQgetisnull(r.get(), 0, 0) ? "" : PQgetvalue(r.get(), 0, 0);
    } catch (const DbError&) {
      heard_ = false;
      throw;
    }
    since_take_ = Database::Changes::Some;
  }

  DbError unreachable() const {
    std::string why = PQerrorMessage(conn_.get());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return DbError("PostgreSQL at " + where_ + " cannot be reached; try again: " + why, true,
                   "the bastion's database (PostgreSQL at " + where_ + ") cannot be reached; try again");
  }

  DbError failure(const PGresult* r) const {
    if (PQstatus(conn_.get()) != CONNECTION_OK) return unreachable();
    const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string_view sqlstate = state != nullptr ? state : "";
    std::string message = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    if (retry_state(sqlstate)) return DbError("query failed (retry it): " + message, true);
    return DbError("query failed: " + message);
  }

  static constexpr std::size_t kMaxPrepared = 512;

  ConnPtr conn_;
  std::string where_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → its name on this connection
  int changes_ = 0;
  std::int64_t lock_timeout_ms_ = Database::kBusyTimeout.count();
  // Change notices: asked for (listen_for_changes); in force on this connection; this connection's
  // schema, as the notices name it; what came since the last take.
  bool listening_ = false;
  bool heard_ = false;
  std::string schema_;
  Database::Changes since_take_ = Database::Changes::Some;
};

bool PgStatement::step() {
  if (!result_) {
    result_ = db_.run_prepared(sql_, params_);
    row_ = 0;
  } else {
    ++row_;
  }
  return row_ < PQntuples(result_.get());
}

}  // namespace

Result<std::unique_ptr<Backend>> open_postgres(const std::string& url) {
  ConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn) return Error{"cannot connect to PostgreSQL: out of memory"};
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn.get());
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return Error{"the bastion's database (PostgreSQL) cannot be reached: " + why};
  }
  // Server notices and warnings (a ROLLBACK with no transaction left to end) would go to stderr,
  // which is an operator's terminal or the daemon's log: they are not for either.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  auto backend = std::make_unique<PgBackend>(std::move(conn));
  try {
    backend->configure();
  } catch (const DbError& e) {
    return Error{std::string("PostgreSQL: ") + e.what()};
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace bastion::db
