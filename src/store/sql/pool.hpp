#pragma once
#include <optional>
#include <string>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Pools on the shared database: members by lease, rooms by epoch (see Store::join_pool).
namespace perch::store::sql::pool {

uint32_t join(Connection& db, const PoolMember& me, int64_t lease_ms);
std::vector<PoolMember> renew(Connection& db, const PoolMember& me, int64_t lease_ms);
void leave(Connection& db, const PoolMember& me);
std::optional<int64_t> claim_room(Connection& db, int64_t room_id, const std::string& server);
void release_room(Connection& db, int64_t room_id, const std::string& server, int64_t epoch);
// See Store::lead; `held` is what this connection believed at the last call.
bool lead(Connection& db, const std::string& role, bool& held);

}  // namespace perch::store::sql::pool
