#include "chat/settings.hpp"

#include <gtest/gtest.h>

using namespace perch;

TEST(Settings, EachIsSetFromTextWithinItsRange) {
    chat::Settings s;
    chat::set_setting(s, "max_message_chars", "20");
    chat::set_setting(s, "max_file_size_kb", "1");
    chat::set_setting(s, "room_management_url", "https://intranet.example.org/rooms");
    EXPECT_EQ(s.max_message_chars, 20);
    EXPECT_EQ(s.max_file_size_kb, 1);
    EXPECT_EQ(chat::setting_text(s, "room_management_url"), "https://intranet.example.org/rooms");
    chat::set_setting(s, "room_management_url", "");  // back to the server's own pages
    EXPECT_EQ(s.room_management_url, "");
}

TEST(Settings, BadValuesAreRefusedAndChangeNothing) {
    chat::Settings s;
    for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"max_message_chars", "0"},
             {"max_message_chars", "20x"},
             {"max_message_chars", ""},
             {"default_history", "501"},
             {"participant_update_limit", "-1"},
             {"max_file_size_kb", "99999999999999"},
             {"room_management_url", "javascript:alert(1)"},
             {"room_management_url", "https://a.example.org/\"onload"},
             {"no_such_setting", "1"}}) {
        EXPECT_THROW(chat::set_setting(s, name, value), std::invalid_argument)
            << name << "=" << value;
    }
    EXPECT_EQ(s.max_message_chars, chat::Settings{}.max_message_chars);
    EXPECT_EQ(s.default_history, chat::Settings{}.default_history);
}

TEST(Settings, StoredValuesWinOverTheFileAndBadOnesAreSkipped) {
    chat::Settings file;
    file.max_story_chars = 1000;
    auto now = chat::with_stored(file, {{"max_story_chars", "500"}, {"default_history", "0"}});
    EXPECT_EQ(now.max_story_chars, 500);
    EXPECT_EQ(now.default_history, file.default_history);  // out of range: the file's stays
}

TEST(Settings, LiveSettingsAreReplacedWhole) {
    chat::Settings first;
    chat::LiveSettings live(first);
    EXPECT_EQ(live.max_file_bytes(), uint64_t(first.max_file_size_kb) * 1024);
    chat::Settings next;
    next.participant_update_limit = 3;
    next.room_management_url = "https://x.example.org/";
    live.set(next);
    EXPECT_EQ(live.participant_update_limit(), 3u);
    EXPECT_EQ(live.get().room_management_url, "https://x.example.org/");
}
