#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sql/db.hpp"
#include "store/store.hpp"
#include "store/types.hpp"

// Who may do what: groups and their members, the principals listed on categories and rooms,
// and the chat policies (see Store's methods of the same names).
namespace perch::store::sql::access {

int64_t add_group(Connection& db, const Group& g);  // Conflict when the name is taken
std::vector<Group> list_groups(Connection& db);
// Conflict when there is no such group.
void set_group_member(Connection& db, std::string_view group, std::string_view username,
                      bool member);
std::vector<std::string> group_members(Connection& db, std::string_view group);
std::vector<std::string> groups_of(Connection& db, std::string_view username);

// A category's or a room's principals: `table` is category_principals or room_principals,
// `owner` its key column. Conflict when the category or room does not exist.
void set_principal(Connection& db, const char* table, const char* owner, int64_t id,
                   std::string_view list, const Principal& p, bool present);
std::vector<std::pair<std::string, Principal>> principals(Connection& db, const char* table,
                                                          const char* owner, int64_t id);

void set_policy(Connection& db, std::string_view scope, std::string_view name,
                std::optional<bool> enabled);
std::vector<Store::PolicyEntry> list_policies(Connection& db);
PolicySettings policy_for(Connection& db, std::string_view username);

}  // namespace perch::store::sql::access
