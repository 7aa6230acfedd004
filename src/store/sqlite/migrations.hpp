#pragma once
#include "store/sqlite/db.hpp"

namespace perch::store::sqlite {

// The schema version this build writes. Each migration moves the database one version forward;
// a database newer than this build is refused rather than touched.
inline constexpr int kSchemaVersion = 5;

void migrate(Connection& db);
int schema_version(Connection& db);

}  // namespace perch::store::sqlite
