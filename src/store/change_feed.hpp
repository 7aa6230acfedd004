#pragma once
#include <functional>
#include <mutex>

#include "store/store.hpp"

namespace perch::store {

// The changes made outside a running server (the command line, the admin API, another server
// of the pool), read in order after the last one applied and handed to `apply` one by one.
// Called from store threads (a timer's read every second, the admin API waiting for its own
// change): one caller at a time, so that a caller returns once every notice written before
// its call is applied.
//
// The database out of reach (store::Unreachable) stops the read; the next one goes on from the
// same notice. A notice whose application fails otherwise is tried again at each read, up to
// `attempts` times, and then skipped with an error in the log: one bad notice does not hold up
// every later change for good.
class ChangeFeed {
  public:
    using Apply = std::function<void(Store&, const ChangeNotice&)>;
    ChangeFeed(int64_t after, Apply apply, int attempts = 30)
        : last_(after), apply_(std::move(apply)), attempts_(attempts) {}

    void read(Store& s);
    int64_t last() const;

  private:
    // False: not applied, to be tried again (the failure counted).
    bool apply_one(Store& s, const ChangeNotice& c);

    mutable std::mutex mutex_;
    int64_t last_;  // the last notice applied (or skipped)
    Apply apply_;
    int attempts_;
    bool failing_ = false;  // reading failed: said once, not every second
    int64_t failing_id_ = 0;
    int failures_ = 0;  // of failing_id_
};

}  // namespace perch::store
