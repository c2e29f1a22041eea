// The PostgreSQL backend of db::Database (not yet: the next commit brings it).
#include "authz/db_backend.h"

namespace bastion::db {

Result<std::unique_ptr<Backend>> open_postgres(const std::string&) {
  return Error{"this bastion is built without PostgreSQL support"};
}

}  // namespace bastion::db
