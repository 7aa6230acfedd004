#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

// Files posted into rooms (XEP-0363): the upload slots handed out and not used yet. A slot
// request names no room; the room's rules apply when the link is posted into it.
namespace perch::chat {

struct UploadSlot {
    std::string token;    // secret part of the PUT URL
    std::string file_id;  // secret part of the GET URL
    std::string owner;    // username of who asked
    std::string name;     // file name, made safe
    uint64_t size = 0;    // exactly this many bytes must be uploaded
    std::string content_type;
    int64_t expires_us = 0;
};

struct SlotRefusal {
    enum class Why { too_large, bad_request, too_many, over_quota } why;
    std::string text;
};

// Thread-safe; slots live in memory only (a restart voids them, the client asks again).
class UploadSlots {
  public:
    // `max_open`: unused, unexpired slots one user may hold at once (each is memory here).
    UploadSlots(uint64_t max_bytes, int64_t lifetime_us, size_t max_open = 20)
        : max_bytes_(max_bytes), lifetime_us_(lifetime_us), max_open_(max_open) {}
    uint64_t max_bytes() const { return max_bytes_.load(std::memory_order_relaxed); }
    void set_max_bytes(uint64_t max_bytes) {
        max_bytes_.store(max_bytes, std::memory_order_relaxed);
    }
    // What one user may be issued slots for in a day (UTC), in bytes; 0: no quota. Counted
    // when a slot is issued, used or not; on this server (each of a pool counts its own).
    void set_daily_quota(uint64_t bytes) { daily_quota_.store(bytes, std::memory_order_relaxed); }

    std::variant<UploadSlot, SlotRefusal> issue(const std::string& owner, std::string_view name,
                                                uint64_t size, std::string_view content_type,
                                                int64_t now_us);
    // The slot of a PUT URL, while it is valid; not consumed.
    std::optional<UploadSlot> find(const std::string& token, int64_t now_us) const;
    // Uses the slot up: a second upload to the same URL finds nothing.
    std::optional<UploadSlot> take(const std::string& token, int64_t now_us);

  private:
    std::atomic<uint64_t> max_bytes_;
    int64_t lifetime_us_;
    size_t max_open_;
    mutable std::mutex mutex_;
    std::map<std::string, UploadSlot> slots_;  // by token
    std::atomic<uint64_t> daily_quota_{0};
    int64_t today_ = -1;                            // the day `issued_today_` counts, since 1970
    std::map<std::string, uint64_t> issued_today_;  // bytes by owner
};

// A file name that is safe as a URL path segment and in Content-Disposition: the last path
// component only, no control characters, no quotes or slashes, at most 200 bytes; "file" when
// nothing is left.
std::string safe_file_name(std::string_view name);
// A media type of the form type/subtype with safe characters, or application/octet-stream.
std::string safe_content_type(std::string_view type);

}  // namespace perch::chat
