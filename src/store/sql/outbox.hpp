#pragma once
#include <string>
#include <utility>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// The compliance outbox in the content database: events written in the transaction of the
// change they describe, until the compliance service has moved them (docs/COMPLIANCE.md).
namespace perch::store::sql::outbox {

// Stored messages as their CHAT events: who, where (room and category), what.
std::vector<ComplianceEvent> chat_events(Connection& db, const std::vector<Message>& messages);
ComplianceEvent chat_event(const Message& m, const std::pair<std::string, std::string>& where);
void insert(Connection& db, const std::vector<ComplianceEvent>& events);
std::vector<ComplianceEvent> oldest(Connection& db, int limit);
void forget_up_to(Connection& db, int64_t id);

}  // namespace perch::store::sql::outbox
