// The schema migrations embedded from migrations/*.sql at build time.
#pragma once

#include <cstddef>

namespace barrot::store {

struct Migration {
  int version;      // 1, 2, ... in order; PRAGMA user_version after applying it
  const char* name; // "0001_initial"
  const char* sql;
};

extern const Migration k_migrations[];
extern const std::size_t k_migration_count;

} // namespace barrot::store
