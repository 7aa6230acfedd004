#pragma once
#include <string>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Rooms read many at once, for serving them (Store::find_rooms, Store::rooms_to_serve).
// PostgreSQL: one statement per kind of row, whatever the number of rooms; SQLite: room by
// room, which costs nothing more in process.
namespace perch::store::sql::room_loads {

std::vector<Room> find(Connection& db, const std::vector<std::string>& nodes);
std::vector<ServedRoom> to_serve(Connection& db, const std::vector<int64_t>& room_ids, int history);

}  // namespace perch::store::sql::room_loads
