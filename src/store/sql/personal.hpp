#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sql/db.hpp"

// A user's personal storage: PEP nodes and items (XEP-0163) and private XML (XEP-0049).
namespace perch::store::sql::personal {

using Items = std::vector<std::pair<std::string, std::string>>;  // (item id, payload)

void put_item(Connection& db, std::string_view user, std::string_view node,
              std::string_view item_id, const std::string& payload);
bool remove_item(Connection& db, std::string_view user, std::string_view node,
                 std::string_view item_id);
std::optional<Items> items(Connection& db, std::string_view user, std::string_view node);
std::vector<std::string> nodes(Connection& db, std::string_view user);
std::optional<std::string> private_xml(Connection& db, std::string_view user, std::string_view key);
void set_private_xml(Connection& db, std::string_view user, std::string_view key,
                     const std::string& xml);
Items private_entries(Connection& db, std::string_view user);  // (key, xml)

}  // namespace perch::store::sql::personal
