#include "store/types.hpp"

#include "util/json.hpp"
#include "util/time.hpp"

namespace perch::store {

std::string_view to_string(Privacy p) {
    switch (p) {
        case Privacy::open:
            return "open";
        case Privacy::closed:
            return "closed";
        case Privacy::secret:
            return "secret";
    }
    return "open";
}

std::string_view to_string(RoomType t) {
    return t == RoomType::auditorium ? "auditorium" : "normal";
}

std::optional<Privacy> parse_privacy(std::string_view s) {
    if (s == "open") return Privacy::open;
    if (s == "closed") return Privacy::closed;
    if (s == "secret") return Privacy::secret;
    return std::nullopt;
}

std::optional<RoomType> parse_room_type(std::string_view s) {
    if (s == "normal") return RoomType::normal;
    if (s == "auditorium") return RoomType::auditorium;
    return std::nullopt;
}

std::string_view to_string(AdminRole r) {
    switch (r) {
        case AdminRole::administrator:
            return "administrator";
        case AdminRole::compliance_officer:
            return "compliance-officer";
        case AdminRole::read_only:
            return "read-only";
    }
    return "read-only";
}

std::optional<AdminRole> parse_admin_role(std::string_view s) {
    if (s == "administrator") return AdminRole::administrator;
    if (s == "compliance-officer") return AdminRole::compliance_officer;
    if (s == "read-only") return AdminRole::read_only;
    return std::nullopt;
}

ComplianceEvent make_event(std::string type, std::string actor, std::string room,
                           std::string category,
                           const std::vector<std::pair<std::string, std::string>>& details) {
    ComplianceEvent e;
    e.ts_us = util::now_us();
    e.type = std::move(type);
    e.actor = std::move(actor);
    e.room = std::move(room);
    e.category = std::move(category);
    e.content = util::json_object(details);
    return e;
}

std::string to_string(const Principal& p) {
    switch (p.kind) {
        case Principal::Kind::user:
            return "user:" + p.name;
        case Principal::Kind::group:
            return "group:" + p.name;
        case Principal::Kind::everyone:
            return "everyone";
    }
    return "everyone";
}

std::optional<Principal> parse_principal(std::string_view s) {
    if (s == "everyone") return Principal::all();
    if (s.substr(0, 5) == "user:" && s.size() > 5) return Principal::user(std::string(s.substr(5)));
    if (s.substr(0, 6) == "group:" && s.size() > 6)
        return Principal::group(std::string(s.substr(6)));
    return std::nullopt;
}

std::string_view to_string(CategoryList l) {
    return l == CategoryList::allowed  ? "allowed"
           : l == CategoryList::denied ? "denied"
                                       : "creator";
}
std::string_view to_string(RoomList l) {
    switch (l) {
        case RoomList::member:
            return "member";
        case RoomList::manager:
            return "manager";
        case RoomList::presenter:
            return "presenter";
        case RoomList::denied:
            return "denied";
    }
    return "member";
}
std::optional<CategoryList> parse_category_list(std::string_view s) {
    if (s == "allowed") return CategoryList::allowed;
    if (s == "denied") return CategoryList::denied;
    if (s == "creator") return CategoryList::creator;
    return std::nullopt;
}
std::optional<RoomList> parse_room_list(std::string_view s) {
    if (s == "member") return RoomList::member;
    if (s == "manager") return RoomList::manager;
    if (s == "presenter") return RoomList::presenter;
    if (s == "denied") return RoomList::denied;
    return std::nullopt;
}

}  // namespace perch::store
