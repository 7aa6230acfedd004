#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// The admin API's accounts (see Store's admin account methods).
namespace perch::store::sql::admins {

std::optional<AdminAccount> find(Connection& db, std::string_view name);
std::vector<AdminAccount> list(Connection& db);
void add(Connection& db, const AdminAccount& a);  // Conflict when the name is taken
void update(Connection& db, const AdminAccount& a);
bool remove(Connection& db, std::string_view name);

}  // namespace perch::store::sql::admins
