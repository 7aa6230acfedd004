#pragma once
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "store/types.hpp"

// Who may do what with a room: the rules of categories, room privacy and room roles, as pure
// functions so that every combination can be tested (tests/chat/authz_test.cpp).
namespace perch::chat {

using store::Principal;

// The one asking, as the server knows them at the time of the request.
struct Subject {
    std::string user;              // bare username
    std::set<std::string> groups;  // every group the user belongs to
    bool administrator = false;    // may do anything, anywhere
    bool chat_enabled = true;      // persistent chat policy (global, group and user combined)
};

struct CategoryRules {
    std::string name;
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
    std::vector<Principal> denied;  // banned from this room: wins over the lists above
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
bool is_banned(const Subject& who, const RoomRules& room);  // on the room's denied list
bool is_manager(const Subject& who, const RoomRules& room);
bool may(const Subject& who, const CategoryRules& category, const RoomRules& room, Action action);
bool may_create_room(const Subject& who, const CategoryRules& category);

// The entries of a room's member lists that `category` would not let in, for moving a room
// there: a user is judged with their groups (`groups_of`), a group by its name alone.
std::vector<std::pair<store::RoomList, Principal>> outside_category(
    const std::vector<std::pair<store::RoomList, Principal>>& lists, const CategoryRules& category,
    const std::function<std::set<std::string>(const std::string&)>& groups_of);

// The policy levels combined: the user's own setting wins; else a group that disables it wins
// over one that enables it; else the global setting; persistent chat is on when nothing is set.
bool chat_enabled(const store::PolicySettings& policy);

// Rules from stored records and their principal lists.
CategoryRules category_rules(const store::Category& category,
                             const std::vector<std::pair<store::CategoryList, Principal>>& lists);
RoomRules room_rules(const store::Room& room,
                     const std::vector<std::pair<store::RoomList, Principal>>& lists);

}  // namespace perch::chat
