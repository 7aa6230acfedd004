#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Pools on the shared database: members by lease, rooms by epoch (see Store::join_pool), and
// the notices of changes made outside the servers (Store::note_change).
namespace perch::store::sql::pool {

uint32_t join(Connection& db, const PoolMember& me, int64_t lease_ms);
std::vector<PoolMember> renew(Connection& db, const PoolMember& me, int64_t lease_ms);
bool end_if_gone(Connection& db, uint32_t number);
void mark_gone(Connection& db, const PoolMember& m);
void leave(Connection& db, const PoolMember& me);
std::vector<std::pair<PoolMember, bool>> members(Connection& db);
int64_t publish_topology(Connection& db, const std::string& text, const std::string& by);
std::optional<PublishedTopology> published_topology(Connection& db);
void sync_slots(Connection& db, const std::string& pool, const std::vector<std::string>& active);
std::vector<PoolSlot> slots(Connection& db);
std::optional<std::string> take_slot(Connection& db, const std::string& pool, const std::string& me,
                                     int64_t down_ms);
void set_active_list(Connection& db, const std::string& pool,
                     const std::vector<std::string>& servers);
std::vector<std::string> active_list(Connection& db, const std::string& pool);
bool assign_slot(Connection& db, const std::string& pool, const std::string& slot,
                 const std::string& from, const std::string& holder);
std::optional<int64_t> claim_room(Connection& db, int64_t room_id, const std::string& server);
std::map<int64_t, int64_t> claim_rooms(Connection& db, const std::vector<int64_t>& room_ids,
                                       const std::string& server);
void release_room(Connection& db, int64_t room_id, const std::string& server, int64_t epoch);
// See Store::lead; `held` is what this connection believed at the last call.
bool lead(Connection& db, const std::string& role, bool& held);

void note_change(Connection& db, std::string_view kind, std::string_view name);
std::vector<ChangeNotice> changes_after(Connection& db, int64_t id, int limit);
int64_t last_change(Connection& db);

}  // namespace perch::store::sql::pool
