#include "chat/settings.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <stdexcept>

namespace perch::chat {

namespace {

int Settings::*number_field(const std::string& name) {
    if (name == "default_history") return &Settings::default_history;
    if (name == "participant_update_limit") return &Settings::participant_update_limit;
    if (name == "max_message_chars") return &Settings::max_message_chars;
    if (name == "max_story_chars") return &Settings::max_story_chars;
    if (name == "max_file_size_kb") return &Settings::max_file_size_kb;
    return nullptr;
}

const SettingInfo* info_of(const std::string& name) {
    for (const auto& i : setting_infos())
        if (i.name == name) return &i;
    return nullptr;
}

}  // namespace

const std::vector<SettingInfo>& setting_infos() {
    // The ranges of the configuration file's checks (app/config.cpp), so that a value set here
    // is one the file could have said.
    static const std::vector<SettingInfo> infos{
        {"default_history", true, 1, 500, "messages shown on joining when the client does not say"},
        {"participant_update_limit", true, 0, 1'000'000,
         "above this many occupants, joins and leaves are not announced"},
        {"max_message_chars", true, 1, 1'000'000, "longest message, in characters"},
        {"max_story_chars", true, 1, 1'000'000, "longest story, in characters"},
        {"max_file_size_kb", true, 1, int64_t{4} * 1024 * 1024,
         "largest file posted into a room, in KiB"},
        {"room_management_url", false, 0, 0,
         "the room management pages clients link to (empty: this server's own)"},
    };
    return infos;
}

void check_web_url(const std::string& what, const std::string& url) {
    if (!url.starts_with("https://") && !url.starts_with("http://"))
        throw std::invalid_argument(what + " must be an http:// or https:// URL");
    if (url.size() > 2000) throw std::invalid_argument(what + " is longer than 2000 characters");
    if (url.find_first_of(" \t\r\n\"<>") != std::string::npos)
        throw std::invalid_argument(what + " may not hold spaces, quotes or angle brackets");
}

std::string setting_text(const Settings& s, const std::string& name) {
    if (auto field = number_field(name)) return std::to_string(s.*field);
    if (name == "room_management_url") return s.room_management_url;
    throw std::invalid_argument("no setting named '" + name + "'");
}

void set_setting(Settings& s, const std::string& name, const std::string& value) {
    const SettingInfo* info = info_of(name);
    if (!info) throw std::invalid_argument("no setting named '" + name + "'");
    if (!info->number) {
        if (!value.empty()) check_web_url(name, value);  // empty: this server's own pages
        s.room_management_url = value;
        return;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty())
        throw std::invalid_argument(name + " must be a whole number, not '" + value + "'");
    if (n < info->min || n > info->max)
        throw std::invalid_argument(name + " must be between " + std::to_string(info->min) +
                                    " and " + std::to_string(info->max));
    s.*number_field(name) = int(n);
}

Settings with_stored(Settings base, const std::map<std::string, std::string>& stored) {
    for (const auto& [name, value] : stored) {
        if (name.starts_with("compliance.")) continue;  // the compliance service's
        try {
            set_setting(base, name, value);
        } catch (const std::invalid_argument& e) {
            spdlog::warn("stored setting skipped: {}", e.what());
        }
    }
    return base;
}

void LiveSettings::set(const Settings& s) {
    default_history_.store(s.default_history, std::memory_order_relaxed);
    participant_update_limit_.store(s.participant_update_limit, std::memory_order_relaxed);
    max_message_chars_.store(s.max_message_chars, std::memory_order_relaxed);
    max_story_chars_.store(s.max_story_chars, std::memory_order_relaxed);
    max_file_size_kb_.store(s.max_file_size_kb, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    room_management_url_ = s.room_management_url;
}

Settings LiveSettings::get() const {
    Settings s;
    s.default_history = default_history_.load(std::memory_order_relaxed);
    s.participant_update_limit = participant_update_limit_.load(std::memory_order_relaxed);
    s.max_message_chars = max_message_chars_.load(std::memory_order_relaxed);
    s.max_story_chars = max_story_chars_.load(std::memory_order_relaxed);
    s.max_file_size_kb = max_file_size_kb_.load(std::memory_order_relaxed);
    s.room_management_url = room_management_url();
    return s;
}

std::string LiveSettings::room_management_url() const {
    std::lock_guard lock(mutex_);
    return room_management_url_;
}

}  // namespace perch::chat
