#include "chat/authz.hpp"

#include <algorithm>

namespace perch::chat {

std::string_view to_string(Action a) {
    switch (a) {
        case Action::find:
            return "find";
        case Action::join:
            return "join";
        case Action::post:
            return "post";
        case Action::invite:
            return "invite";
        case Action::configure:
            return "configure";
        case Action::read_history:
            return "read-history";
        case Action::search:
            return "search";
    }
    return "?";
}

bool matches(const Subject& who, const std::vector<Principal>& list) {
    return std::any_of(list.begin(), list.end(), [&](const Principal& p) {
        switch (p.kind) {
            case Principal::Kind::everyone:
                return true;
            case Principal::Kind::user:
                return p.name == who.user;
            case Principal::Kind::group:
                return who.groups.count(p.name) > 0;
        }
        return false;
    });
}

bool in_category(const Subject& who, const CategoryRules& category) {
    return matches(who, category.allowed) && !matches(who, category.denied);
}

std::vector<std::pair<store::RoomList, Principal>> outside_category(
    const std::vector<std::pair<store::RoomList, Principal>>& lists, const CategoryRules& category,
    const std::function<std::set<std::string>(const std::string&)>& groups_of) {
    std::vector<std::pair<store::RoomList, Principal>> out;
    for (const auto& [list, p] : lists) {
        if (list == store::RoomList::denied) continue;  // a ban stays, wherever the room goes
        Subject who;
        if (p.kind == Principal::Kind::user) {
            who.user = p.name;
            who.groups = groups_of(p.name);
        } else if (p.kind == Principal::Kind::group) {
            who.groups = {p.name};
        }
        // "everyone" stays only where everyone is allowed and nobody is denied.
        bool admitted = p.kind == Principal::Kind::everyone
                            ? matches(who, category.allowed) && category.denied.empty()
                            : in_category(who, category);
        if (!admitted) out.emplace_back(list, p);
    }
    return out;
}

bool is_member(const Subject& who, const RoomRules& room) {
    return matches(who, room.members) || matches(who, room.managers) ||
           matches(who, room.presenters);
}

bool is_banned(const Subject& who, const RoomRules& room) {
    return matches(who, room.denied);
}

bool is_manager(const Subject& who, const RoomRules& room) {
    return matches(who, room.managers);
}

bool may(const Subject& who, const CategoryRules& category, const RoomRules& room, Action action) {
    if (who.administrator) return true;
    // Without persistent chat, or outside the category (deny wins over every role), nothing.
    if (!who.chat_enabled || !in_category(who, category)) return false;
    // Banned from the room: none of their roles in it count, and they may not enter it.
    bool banned = is_banned(who, room);
    bool member = !banned && is_member(who, room);
    bool manager = !banned && is_manager(who, room);
    bool open = room.privacy == store::Privacy::open;
    // A secret room does not exist for a non-member; a closed one is listed to the category.
    bool visible = room.privacy != store::Privacy::secret || member;
    bool can_enter = !banned && !room.disabled && (open || member);
    switch (action) {
        case Action::find:
            return visible;
        case Action::join:
            return can_enter;
        case Action::post:
            if (!can_enter) return false;
            return room.type == store::RoomType::normal || manager || matches(who, room.presenters);
        case Action::invite:
            return can_enter && room.invitations && category.invitations;
        case Action::configure:
            return manager;
        case Action::read_history:
        case Action::search:
            return !banned && (open || member) && category.chat_history;
    }
    return false;
}

bool may_create_room(const Subject& who, const CategoryRules& category) {
    if (who.administrator) return true;
    return who.chat_enabled && in_category(who, category) && matches(who, category.creators);
}

bool chat_enabled(const store::PolicySettings& policy) {
    if (policy.user) return *policy.user;
    bool any_on = false, any_off = false;
    for (const auto& [group, on] : policy.groups) (on ? any_on : any_off) = true;
    if (any_off) return false;
    if (any_on) return true;
    return policy.global.value_or(true);
}

CategoryRules category_rules(const store::Category& category,
                             const std::vector<std::pair<store::CategoryList, Principal>>& lists) {
    CategoryRules c;
    c.name = category.name;
    c.invitations = category.invitations;
    c.file_upload = category.file_upload;
    c.chat_history = category.chat_history;
    for (const auto& [list, p] : lists) {
        switch (list) {
            case store::CategoryList::allowed:
                c.allowed.push_back(p);
                break;
            case store::CategoryList::denied:
                c.denied.push_back(p);
                break;
            case store::CategoryList::creator:
                c.creators.push_back(p);
                break;
        }
    }
    return c;
}

RoomRules room_rules(const store::Room& room,
                     const std::vector<std::pair<store::RoomList, Principal>>& lists) {
    RoomRules r;
    r.privacy = room.privacy;
    r.type = room.type;
    r.disabled = room.disabled;
    r.invitations = room.invitations;
    for (const auto& [list, p] : lists) {
        switch (list) {
            case store::RoomList::member:
                r.members.push_back(p);
                break;
            case store::RoomList::manager:
                r.managers.push_back(p);
                break;
            case store::RoomList::presenter:
                r.presenters.push_back(p);
                break;
            case store::RoomList::denied:
                r.denied.push_back(p);
                break;
        }
    }
    return r;
}

}  // namespace perch::chat
