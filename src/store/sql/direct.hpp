#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// A user's one-to-one messages (offline storage and archive), blocking list and vCard.
namespace perch::store::sql::direct {

void add(Connection& db, const std::vector<DirectMessage>& copies);
int64_t count_pending(Connection& db, std::string_view owner);
std::vector<DirectMessage> take_pending(Connection& db, std::string_view owner, int limit);
void keep_undelivered(Connection& db, const std::vector<DirectMessage>& copies);
DirectPage query(Connection& db, std::string_view owner, const ArchiveQuery& q);
std::vector<DirectMessage> in_order(Connection& db, int64_t after, int limit);
// Archived copies older than `before_us` that no longer wait for delivery (retention).
int64_t purge_before(Connection& db, int64_t before_us);

std::vector<std::string> blocked(Connection& db, std::string_view username);
void set_blocked(Connection& db, std::string_view username, const std::vector<std::string>& jids,
                 bool block);
void unblock_all(Connection& db, std::string_view username);
std::vector<std::pair<std::string, std::string>> all_blocked(Connection& db);

std::optional<std::string> vcard(Connection& db, std::string_view username);
void set_vcard(Connection& db, std::string_view username, const std::string& xml);

}  // namespace perch::store::sql::direct
