#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Uploaded files' metadata and the rooms each was posted into (see Store's file methods).
namespace perch::store::sql::files {

void add(Connection& db, const FileRecord& f);
std::optional<FileRecord> find(Connection& db, std::string_view id);
std::vector<FileRecord> list(Connection& db);
void attach(Connection& db, std::string_view id, int64_t room_id);
std::vector<int64_t> rooms_of(Connection& db, std::string_view id);

}  // namespace perch::store::sql::files
