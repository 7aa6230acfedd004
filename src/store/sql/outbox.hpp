#pragma once
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// The compliance outbox in the content database: events written in the transaction of the
// change they describe, until the compliance service has moved them (docs/COMPLIANCE.md).
namespace perch::store::sql::outbox {

// A stored message as its CHAT event: who, where (room and category), what.
ComplianceEvent chat_event(Connection& db, const Message& m);
void insert(Connection& db, const std::vector<ComplianceEvent>& events);
std::vector<ComplianceEvent> oldest(Connection& db, int limit);
void forget_up_to(Connection& db, int64_t id);

}  // namespace perch::store::sql::outbox
