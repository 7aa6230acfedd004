#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <memory>

#include "compliance/checkpoint.hpp"
#include "store/sql/db.hpp"
#include "store/types.hpp"

// The compliance database: an append-only log of events, each chained to the one before by a
// SHA-256 hash, so that a changed, removed or inserted event shows (see verify()). Events come
// from the content database's outbox; each outbox id is taken once, whatever crashes between.
namespace perch::compliance {

struct LoggedEvent {
    int64_t seq = 0;        // 1, 2, 3 … in the order of capture
    int64_t outbox_id = 0;  // where it came from in the content database
    store::ComplianceEvent event;
    std::string prev_hash;  // hex; the first event's is 64 zeros
    std::string hash;       // hex SHA-256 of prev_hash and the event's fields
};

// The hash of an event given the one before it (hex in, hex out).
std::string chain_hash(const std::string& prev_hash, int64_t seq, const store::ComplianceEvent& e);

struct Selection {
    int64_t after_seq = 0;  // only events after this one
    std::optional<int64_t> start_us, end_us;
    std::string room, user;  // only this room's / this actor's events
    int limit = 0;           // 0: all
};

struct VerifyResult {
    bool ok = true;
    int64_t checked = 0;
    int64_t broken_at = 0;  // the first broken link's seq
    std::string reason;
    int64_t checkpoints = 0;         // checkpoints the chain was held against
    int64_t checkpoints_purged = 0;  // checkpoints of events retention has forgotten
};

class Log {
  public:
    // Opens (creating when missing) the compliance database: the SQLite file at `path`, or the
    // PostgreSQL database `url` names when it is not empty.
    explicit Log(const std::string& path, const std::string& url = "");

    // Appends outbox events in order, skipping those already taken; one transaction. Returns
    // the highest outbox id now in the log (what the outbox may forget).
    int64_t append(const std::vector<store::ComplianceEvent>& events);
    int64_t last_outbox_id();
    int64_t last_seq();

    std::vector<LoggedEvent> read(const Selection& selection);
    // Walks the chain (a changed, removed or inserted event breaks a link), then holds it
    // against `checkpoints`: each must be signed by one of `keys`, and the chain must pass
    // through its event with its hash (a chain rewritten and rehashed does not) and reach at
    // least that far (a chain cut short does not).
    VerifyResult verify(const std::vector<Checkpoint>& checkpoints = {},
                        const std::vector<CheckpointKey>& keys = {});

    // The chain's head: its last event's seq and hash (the anchor's once retention forgot
    // them all); nullopt while it is empty.
    std::optional<std::pair<int64_t, std::string>> head();
    // Signs the head with `key` and keeps the checkpoint here; nullopt while the chain is
    // empty.
    std::optional<Checkpoint> checkpoint(const CheckpointKey& key);
    std::vector<Checkpoint> checkpoints();

    // Retention: forgets the events older than `before_us` up to `up_to_seq` (what every
    // adapter has exported); the last one forgotten stays as the anchor the chain continues
    // from. Returns how many went.
    int64_t purge(int64_t before_us, int64_t up_to_seq);

    // Durable per-adapter export position.
    int64_t cursor(const std::string& adapter);
    void set_cursor(const std::string& adapter, int64_t seq);

    store::sql::Connection& connection() { return db_; }

  private:
    // The last purged event (seq, hash), if retention has purged any.
    std::optional<std::pair<int64_t, std::string>> anchor();

    std::unique_ptr<store::sql::Connection> connection_;
    store::sql::Connection& db_;
};

}  // namespace perch::compliance
