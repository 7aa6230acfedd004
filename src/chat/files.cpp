#include "chat/files.hpp"

#include <algorithm>
#include <cctype>

#include "util/ids.hpp"

namespace perch::chat {

std::string safe_file_name(std::string_view name) {
    size_t slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out;
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '%' || c == '?' || c == '#' ||
            c == ';' || c == '<' || c == '>' || c == '&')
            out += '_';
        else
            out += char(c);
    }
    while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
    if (out.size() > 200) {
        out.resize(200);
        while (!out.empty() && (uint8_t(out.back()) & 0xC0) == 0x80) out.pop_back();  // UTF-8
        if (!out.empty() && uint8_t(out.back()) >= 0xC0) out.pop_back();
    }
    return out.empty() ? "file" : out;
}

std::string safe_content_type(std::string_view type) {
    size_t slash = type.find('/');
    bool ok = !type.empty() && type.size() <= 100 && slash != std::string_view::npos && slash > 0 &&
              slash + 1 < type.size();
    for (unsigned char c : type)
        ok = ok && (std::isalnum(c) || c == '/' || c == '-' || c == '+' || c == '.' || c == '_');
    return ok ? std::string(type) : "application/octet-stream";
}

std::variant<UploadSlot, SlotRefusal> UploadSlots::issue(const std::string& owner,
                                                         std::string_view name, uint64_t size,
                                                         std::string_view content_type,
                                                         int64_t now_us) {
    if (name.empty()) return SlotRefusal{SlotRefusal::Why::bad_request, "A file name is required"};
    if (size == 0) return SlotRefusal{SlotRefusal::Why::bad_request, "The file is empty"};
    uint64_t max_bytes = max_bytes_.load(std::memory_order_relaxed);
    if (size > max_bytes)
        return SlotRefusal{SlotRefusal::Why::too_large,
                           "Files are limited to " + std::to_string(max_bytes) + " bytes"};
    UploadSlot slot;
    slot.token = util::random_id();
    slot.file_id = util::random_id();
    slot.owner = owner;
    slot.name = safe_file_name(name);
    slot.size = size;
    slot.content_type = safe_content_type(content_type);
    slot.expires_us = now_us + lifetime_us_;
    std::lock_guard lock(mutex_);
    std::erase_if(slots_, [&](const auto& kv) { return kv.second.expires_us <= now_us; });
    auto open = std::count_if(slots_.begin(), slots_.end(),
                              [&](const auto& kv) { return kv.second.owner == owner; });
    if (size_t(open) >= max_open_)
        return SlotRefusal{SlotRefusal::Why::too_many,
                           "You have " + std::to_string(open) +
                               " uploads waiting; use them or let them expire first"};
    int64_t day = now_us / 86'400'000'000;
    if (day != today_) {
        today_ = day;
        issued_today_.clear();
    }
    uint64_t& issued = issued_today_[owner];
    constexpr uint64_t kMiB = uint64_t{1} << 20;
    if (uint64_t quota = daily_quota_.load(std::memory_order_relaxed);
        quota > 0 && issued + size > quota)
        return SlotRefusal{SlotRefusal::Why::over_quota,
                           "You may upload " + std::to_string(quota / kMiB) + " MB a day; " +
                               std::to_string(issued / kMiB) +
                               " MB of it are used (it starts again at midnight UTC)"};
    issued += size;
    slots_[slot.token] = slot;
    return slot;
}

std::optional<UploadSlot> UploadSlots::find(const std::string& token, int64_t now_us) const {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(token);
    if (it == slots_.end() || it->second.expires_us <= now_us) return std::nullopt;
    return it->second;
}

std::optional<UploadSlot> UploadSlots::take(const std::string& token, int64_t now_us) {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(token);
    if (it == slots_.end()) return std::nullopt;
    auto slot = std::move(it->second);
    slots_.erase(it);
    if (slot.expires_us <= now_us) return std::nullopt;
    return slot;
}

}  // namespace perch::chat
