#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "store/store.hpp"

// What `perch data export` writes and `perch data import` reads (app/data_commands.cpp,
// app/data_import.cpp): a folder of JSON-lines files, one per part, with manifest.json.
namespace perch::app {

inline constexpr int kDataFormatVersion = 1;
// An export made before a part existed lacks its file and its checksum; it imports without it.
inline constexpr const char* kDataParts[] = {
    "users", "groups",    "policies",   "categories",      "rooms",    "messages",
    "files", "user_data", "read_marks", "direct_messages", "settings", "addins"};

// The counts a database holds, as the manifest records them.
std::map<std::string, int64_t> count_all(store::Store& s);
// Whether it holds users, groups, categories or rooms (an import needs none; admin accounts,
// settings and the like may be there).
bool holds_content(store::Store& s);

}  // namespace perch::app
