#pragma once
#include <set>
#include <string>
#include <vector>

#include "store/types.hpp"

// Who may do what with a room: the rules of categories, room privacy and room roles, as pure
// functions so that every combination can be tested (tests/chat/authz_test.cpp).
namespace perch::chat {

// A user or a group named in a category's or a room's lists; `everyone` matches all users.
struct Principal {
    enum class Kind { user, group, everyone } kind = Kind::user;
    std::string name;
    static Principal user(std::string n) { return {Kind::user, std::move(n)}; }
    static Principal group(std::string n) { return {Kind::group, std::move(n)}; }
    static Principal all() { return {Kind::everyone, {}}; }
    friend bool operator==(const Principal&, const Principal&) = default;
};

// The one asking, as the server knows them at the time of the request.
struct Subject {
    std::string user;              // bare username
    std::set<std::string> groups;  // every group the user belongs to
    bool administrator = false;    // may do anything, anywhere
    bool chat_enabled = true;      // persistent chat policy (global, group and user combined)
};

struct CategoryRules {
    std::vector<Principal> allowed;   // may find and join rooms of the category
    std::vector<Principal> denied;    // never, whatever else says so (deny wins)
    std::vector<Principal> creators;  // may create rooms in the category
    bool invitations = true;
    bool file_upload = true;
    bool chat_history = true;
};

struct RoomRules {
    store::Privacy privacy = store::Privacy::open;
    store::RoomType type = store::RoomType::normal;
    std::vector<Principal> members;
    std::vector<Principal> managers;
    std::vector<Principal> presenters;
    bool disabled = false;
    bool invitations = true;
};

enum class Action {
    find,          // see the room listed, or learn that it exists at all
    join,          // enter the room
    post,          // say something in it
    invite,        // invite somebody into it
    configure,     // change its settings and member lists
    read_history,  // read its archive (history on join, MAM)
    search,        // find its messages in a search
};
inline constexpr Action kAllActions[] = {Action::find,   Action::join,      Action::post,
                                         Action::invite, Action::configure, Action::read_history,
                                         Action::search};
std::string_view to_string(Action a);

bool matches(const Subject& who, const std::vector<Principal>& list);
// In the category: allowed there and not denied.
bool in_category(const Subject& who, const CategoryRules& category);
bool is_member(const Subject& who, const RoomRules& room);  // member, manager or presenter
bool is_manager(const Subject& who, const RoomRules& room);
bool may(const Subject& who, const CategoryRules& category, const RoomRules& room, Action action);
bool may_create_room(const Subject& who, const CategoryRules& category);

}  // namespace perch::chat
