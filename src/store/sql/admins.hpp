#pragma once
#include <map>
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

// Settings changed at run time, and add-ins (see Store).
std::map<std::string, std::string> settings(Connection& db);
void store_setting(Connection& db, std::string_view name, const std::optional<std::string>& value);
std::vector<Addin> addins(Connection& db);
void put_addin(Connection& db, const Addin& addin);
bool remove_addin(Connection& db, std::string_view name);

}  // namespace perch::store::sql::admins
