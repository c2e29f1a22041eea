#pragma once
// DatabasePool: the portal's connections to the bastion database, kept open between requests.
// Opening one per request cost a connection, a schema check and, on PostgreSQL, a new server
// process and fresh prepared statements each time; the pool keeps up to `keep` idle connections
// and hands them out again. A connection serves one request at a time (httplib answers requests
// on several threads; no handle of either engine is used by two threads at once): what take()
// returns goes back to the pool when its last copy is gone (the request's stores, and a streaming
// response's provider, hold copies), never earlier.
//
// A connection taken from the pool is checked first with one cheap statement: one the server
// dropped while it sat idle (PostgreSQL restarted, a proxy closed an idle connection) is discarded,
// not handed to a request whose first statement would then fail. A transaction never outlives its
// request (db::Transaction rolls back in its destructor), so a connection comes back idle.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "authz/db.h"

namespace bastion::web {

class DatabasePool {
 public:
  static constexpr std::size_t kKeep = 8;  // httplib's default worker count on a small machine

  explicit DatabasePool(std::string location, std::size_t keep = kKeep);

  // take: a connection for one request, from the pool or newly opened (never creating the
  // database). Error: why the database cannot be opened, as db::Database::open says it.
  Result<db::DatabasePtr> take();

  // idle: connections waiting in the pool now.
  std::size_t idle() const;

 private:
  struct State {
    std::string location;
    std::size_t keep;
    mutable std::mutex mutex;
    std::vector<db::DatabasePtr> idle;
    void give_back(db::DatabasePtr db) noexcept;
  };
  std::shared_ptr<State> state_;  // shared with the handed-out connections, which may outlive the pool
};

}  // namespace bastion::web
