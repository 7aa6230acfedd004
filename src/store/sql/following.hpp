#pragma once
#include <string_view>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Read marks of followed rooms and what they leave unread (see Store::mark_read).
namespace perch::store::sql::following {

void mark_read(Connection& db, const std::vector<ReadMark>& marks);
std::vector<RoomActivity> activity(Connection& db, std::string_view username,
                                   const std::vector<int64_t>& room_ids, int64_t cap);
std::vector<ReadMark> all_marks(Connection& db);

}  // namespace perch::store::sql::following
