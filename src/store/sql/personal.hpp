#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// A user's personal storage: PEP nodes and items (XEP-0163), private XML (XEP-0049) and the
// roster (RFC 6121).
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
int64_t size_but(Connection& db, std::string_view user, const PersonalEntry& replaced);

std::vector<RosterItem> roster(Connection& db, std::string_view user);
void set_roster_item(Connection& db, std::string_view user, const RosterItem& item);
void remove_roster_item(Connection& db, std::string_view user, std::string_view jid);

}  // namespace perch::store::sql::personal
