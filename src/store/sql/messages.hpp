#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Writing history: the rooms' sequence counters and the message rows of a group commit.
namespace perch::store::sql::messages {

// Bumps each room's counter by its count of new messages; returns each room's first new
// sequence number. Throws Conflict for a room that does not exist.
std::map<int64_t, int64_t> reserve_sequence(Connection& db,
                                            const std::map<int64_t, int64_t>& per_room);
// Stores the messages as given, in order.
void insert(Connection& db, const std::vector<Message>& messages);

}  // namespace perch::store::sql::messages
