#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "store/workers.hpp"

namespace perch::chat {

// Following: how far users have read in rooms. Marks move when a user joins or leaves a room;
// they are gathered here and written by one store job, so a wave of joins costs one
// transaction, not one per join. Thread-safe.
class ReadMarks {
  public:
    explicit ReadMarks(store::StoreJobs& jobs) : jobs_(jobs) {}
    void note(const std::string& user, int64_t room_id, int64_t seq);

  private:
    void flush(store::Store& s);

    store::StoreJobs& jobs_;
    std::mutex mutex_;
    std::map<std::pair<std::string, int64_t>, int64_t> pending_;  // (user, room) -> seq
    bool flush_queued_ = false;
};

}  // namespace perch::chat
