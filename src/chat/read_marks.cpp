#include "chat/read_marks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace perch::chat {

void ReadMarks::note(const std::string& user, int64_t room_id, int64_t seq) {
    if (seq <= 0 || user.empty()) return;
    {
        std::lock_guard lock(mutex_);
        auto& mark = pending_[{user, room_id}];
        mark = std::max(mark, seq);
        if (flush_queued_) return;  // the queued flush takes this one too
        flush_queued_ = true;
    }
    if (!jobs_.submit([this](store::Store& s) { flush(s); })) {
        std::lock_guard lock(mutex_);
        flush_queued_ = false;  // the next mark tries again
    }
}

void ReadMarks::flush(store::Store& s) {
    std::vector<store::ReadMark> marks;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, seq] : pending_) marks.push_back({key.first, key.second, seq});
        pending_.clear();
        flush_queued_ = false;
    }
    try {
        s.mark_read(marks);
    } catch (const std::exception& e) {
        spdlog::warn("{} read marks not written: {}", marks.size(), e.what());
    }
}

}  // namespace perch::chat
