#include "web/database_pool.h"

#include <utility>

namespace bastion::web {

DatabasePool::DatabasePool(std::string location, std::size_t keep)
    : state_(std::make_shared<State>()) {
  state_->location = std::move(location);
  state_->keep = keep;
}

void DatabasePool::State::give_back(db::DatabasePtr db) noexcept {
  std::lock_guard lock(mutex);
  if (idle.size() < keep) idle.push_back(std::move(db));
  // else: the pool is full; the connection closes here.
}

Result<db::DatabasePtr> DatabasePool::take() {
  db::DatabasePtr db;
  for (;;) {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->idle.empty()) break;
      db = std::move(state_->idle.back());
      state_->idle.pop_back();
    }
    try {
      db->exec("SELECT 1");
      break;  // alive
    } catch (const db::DbError&) {
      db.reset();  // dropped while idle: closed, and the next one is tried
    }
  }
  if (!db) {
    auto opened = db::Database::open(state_->location, false);
    if (!opened) return opened.error();
    db = std::move(*opened);
  }
  // The request's copies share one owner; when the last goes, the connection goes back.
  db::Database* raw = db.get();
  return db::DatabasePtr(raw, [state = state_, held = std::move(db)](db::Database*) mutable {
    state->give_back(std::move(held));
  });
}

std::size_t DatabasePool::idle() const {
  std::lock_guard lock(state_->mutex);
  return state_->idle.size();
}

}  // namespace bastion::web
