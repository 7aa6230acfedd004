#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

// The settings of the original's persistent chat configuration that an administrator changes
// while the servers run (admin API /settings, `perch admin settings`): the configuration file
// gives each its starting value, a value set through the API is kept in the database and
// wins over the file, on every server of a pool (each reads it again on the change notice).
namespace perch::chat {

struct Settings {
    int default_history = 30;           // messages replayed on join when the client does not say
    int participant_update_limit = 75;  // above it, comings and goings are not announced
    int max_message_chars = 8000;       // longest message body, in characters
    int max_story_chars = 64000;        // longest story body
    int max_file_size_kb = 20000;       // largest file posted into a room
    std::string room_management_url;    // where clients send people to manage rooms; empty:
                                        // this server's own room pages
};

// One setting as the API shows and takes it.
struct SettingInfo {
    std::string name;
    bool number = true;
    int64_t min = 0, max = 0;  // for numbers
    std::string description;
};
const std::vector<SettingInfo>& setting_infos();

// A web address an administrator gives (the room management URL, an add-in's page): http or
// https, at most 2000 characters, no spaces, quotes or angle brackets; else
// std::invalid_argument naming it as `what`.
void check_web_url(const std::string& what, const std::string& url);
// The value of `name` in `s`, as text.
std::string setting_text(const Settings& s, const std::string& name);
// Sets `name` in `s` from text, or throws std::invalid_argument saying what is wrong (an
// unknown name, a value out of its range, a URL that is not http or https).
void set_setting(Settings& s, const std::string& name, const std::string& value);
// `base` (the configuration file's values) with the values kept in the database over it; a
// stored value no longer valid (a range changed) is skipped with a warning.
Settings with_stored(Settings base, const std::map<std::string, std::string>& stored);

// The settings in force, read by every thread (rooms on their shards, sessions, uploads) and
// replaced as a whole when an administrator changes them.
class LiveSettings {
  public:
    explicit LiveSettings(const Settings& s = {}) { set(s); }
    void set(const Settings& s);
    Settings get() const;

    int default_history() const { return default_history_.load(std::memory_order_relaxed); }
    size_t participant_update_limit() const {
        return size_t(participant_update_limit_.load(std::memory_order_relaxed));
    }
    size_t max_message_chars() const {
        return size_t(max_message_chars_.load(std::memory_order_relaxed));
    }
    size_t max_story_chars() const {
        return size_t(max_story_chars_.load(std::memory_order_relaxed));
    }
    uint64_t max_file_bytes() const {
        return uint64_t(max_file_size_kb_.load(std::memory_order_relaxed)) * 1024;
    }
    std::string room_management_url() const;

  private:
    std::atomic<int> default_history_{0}, participant_update_limit_{0}, max_message_chars_{0},
        max_story_chars_{0}, max_file_size_kb_{0};
    mutable std::mutex mutex_;
    std::string room_management_url_;
};

}  // namespace perch::chat
