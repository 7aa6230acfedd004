#include "store/change_feed.hpp"

#include <spdlog/spdlog.h>

namespace perch::store {

void ChangeFeed::read(Store& s) {
    std::lock_guard lock(mutex_);
    try {
        for (;;) {
            auto notices = s.changes_after(last_, 1000);
            for (const auto& c : notices) {
                if (!apply_one(s, c)) return;  // tried again at the next read
                last_ = c.id;
            }
            if (notices.size() < 1000) break;
        }
        if (failing_) spdlog::info("reading changes made outside the server again");
        failing_ = false;
    } catch (const std::exception& e) {
        if (!failing_)
            spdlog::warn(
                "reading changes made outside the server failed: {}; retrying every "
                "second",
                e.what());
        failing_ = true;
    }
}

bool ChangeFeed::apply_one(Store& s, const ChangeNotice& c) {
    try {
        apply_(s, c);
        return true;
    } catch (const Unreachable&) {
        throw;
    } catch (const std::exception& e) {
        if (failing_id_ != c.id) failing_id_ = c.id, failures_ = 0;
        if (++failures_ < attempts_) {
            if (failures_ == 1)
                spdlog::warn("the change {} of {} could not be applied: {}; trying again", c.kind,
                             c.name, e.what());
            return false;
        }
        spdlog::error("the change {} of {} could not be applied ({} times): {}; skipped", c.kind,
                      c.name, failures_, e.what());
        return true;
    }
}

int64_t ChangeFeed::last() const {
    std::lock_guard lock(mutex_);
    return last_;
}

}  // namespace perch::store
