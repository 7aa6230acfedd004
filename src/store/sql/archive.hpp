#pragma once
#include "store/sql/db.hpp"
#include "store/types.hpp"

namespace perch::store::sql {

// One page of one room's archive, or of several rooms' (ArchiveQuery::room_ids), paged by
// insertion order; see Store::query_archive.
ArchivePage query_archive(Connection& db, const ArchiveQuery& q);

}  // namespace perch::store::sql
