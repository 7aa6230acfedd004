#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "store/sql/db.hpp"
#include "store/types.hpp"

// Writing history: the rooms' sequence counters and the message rows of a group commit.
namespace perch::store::sql::messages {

// What a batch asks of one room: how many sequence numbers, under which epoch (0: no check).
struct RoomShare {
    int64_t count = 0;
    int64_t epoch = 0;
};
// Bumps each room's counter by its count of new messages; returns each room's first new
// sequence number. A room that does not exist, or whose epoch is no longer the one given
// (another server of the pool claimed it), is left out of the answer and unchanged.
std::map<int64_t, int64_t> reserve_sequence(Connection& db,
                                            const std::map<int64_t, RoomShare>& per_room);
// A room's messages with after_seq < seq <= up_to_seq, oldest first, at most `limit`.
std::vector<Message> between(Connection& db, int64_t room_id, int64_t after_seq, int64_t up_to_seq,
                             int limit);
// The sequence number of each message of `batch` by its stanza id, 0 when not stored.
std::vector<int64_t> stored_seqs(Connection& db, const std::vector<NewMessage>& batch);

// Commits a batch (Store::append_messages): sequence numbers, rows, compliance events.
std::vector<Message> append(Connection& db, std::vector<NewMessage>&& batch, bool compliance);
// Stores the messages as given, in order.
void insert(Connection& db, const std::vector<Message>& messages);

}  // namespace perch::store::sql::messages
