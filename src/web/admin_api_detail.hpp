#pragma once
// What the admin API's files share (web/admin_api.cpp, web/admin_areas.cpp): answers, the
// checked fields of a request body, records as JSON, and the users as the rules see them.
#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "admin/operations.hpp"
#include "chat/authz.hpp"
#include "net/http_message.hpp"
#include "store/store.hpp"
#include "util/time.hpp"
#include "web/app.hpp"

namespace perch::web::admin_detail {

using json = nlohmann::json;
using net::HttpResponse;
using Refused = admin::Refused;

inline constexpr size_t kDefaultPage = 500;
// Messages one request removes by a filter at most (it says when more match).
inline constexpr size_t kMaxFilteredRemoval = 1000;
inline HttpResponse ok_json(const json& body, unsigned status = 200) {
    return json_answer(status, body);
}

inline HttpResponse no_content() {
    HttpResponse r;
    r.status = 204;
    return r;
}

inline HttpResponse refused(const Refused& e) {
    switch (e.why) {
        case Refused::Why::bad_input:
            return json_error(400, e.what());
        case Refused::Why::not_found:
            return json_error(404, e.what());
        case Refused::Why::conflict:
            return json_error(409, e.what());
    }
    return json_error(400, e.what());
}

inline HttpResponse not_allowed() {
    return json_error(405, "Method not allowed");
}

// The fields of a request body, each checked for its type; the first mistake is kept.
class Fields {
  public:
    explicit Fields(const json& body) : body_(body) {}

    std::optional<std::string> text(const char* key) {
        auto it = body_.find(key);
        if (it == body_.end()) return std::nullopt;
        if (!it->is_string()) return wrong(key, "a string");
        return it->get<std::string>();
    }
    std::optional<bool> flag(const char* key) {
        auto it = body_.find(key);
        if (it == body_.end()) return std::nullopt;
        if (!it->is_boolean()) return wrong(key, "true or false"), std::nullopt;
        return it->get<bool>();
    }
    std::vector<std::string> texts(const char* key) {
        auto it = body_.find(key);
        if (it == body_.end()) return {};
        std::vector<std::string> out;
        if (!it->is_array()) return wrong(key, "a list of strings"), out;
        for (const auto& v : *it) {
            if (!v.is_string()) return wrong(key, "a list of strings"), out;
            out.push_back(v.get<std::string>());
        }
        return out;
    }
    // The body may hold these keys and no other.
    void only(std::initializer_list<const char*> known) {
        for (const auto& item : body_.items())
            if (std::none_of(known.begin(), known.end(),
                             [&](const char* k) { return item.key() == k; }))
                if (error_.empty()) error_ = "unknown field " + item.key();
    }
    std::optional<HttpResponse> mistake() const {
        if (error_.empty()) return std::nullopt;
        return json_error(400, error_);
    }

  private:
    std::nullopt_t wrong(const char* key, const char* what) {
        if (error_.empty()) error_ = std::string(key) + " must be " + what;
        return std::nullopt;
    }
    const json& body_;
    std::string error_;
};

inline json user_json(const store::User& u) {
    return json{{"name", u.username},
                {"display_name", u.display_name},
                {"email", u.email},
                {"disabled", u.disabled},
                {"administrator", u.administrator},
                {"created", util::format_timestamp(u.created_us)}};
}

inline json account_json(const store::AdminAccount& a) {
    return json{{"name", a.name},
                {"role", store::to_string(a.role)},
                {"disabled", a.disabled},
                {"created", util::format_timestamp(a.created_us)}};
}

inline json principals_json(const std::vector<store::Principal>& list) {
    json out = json::array();
    for (const auto& p : list) out.push_back(store::to_string(p));
    return out;
}

// The lists of a category and a room as the URLs name them.
inline std::optional<std::string> category_list(const std::string& plural) {
    if (plural == "allowed") return "allowed";
    if (plural == "denied") return "denied";
    if (plural == "creators") return "creator";
    return std::nullopt;
}

inline std::optional<store::RoomList> room_list(const std::string& plural) {
    if (plural == "members") return store::RoomList::member;
    if (plural == "managers") return store::RoomList::manager;
    if (plural == "presenters") return store::RoomList::presenter;
    if (plural == "denied") return store::RoomList::denied;
    return std::nullopt;
}

// Every user as the rules see them (their groups, the administrator flag), in name order.
inline std::vector<chat::Subject> subjects(store::Store& s) {
    std::map<std::string, std::set<std::string>> groups;
    for (const auto& g : s.list_groups())
        for (const auto& member : s.group_members(g.name)) groups[member].insert(g.name);
    std::vector<chat::Subject> out;
    for (const auto& u : s.list_users()) {
        if (u.disabled) continue;
        chat::Subject who;
        who.user = u.username;
        who.groups = groups[u.username];
        who.administrator = u.administrator;
        out.push_back(std::move(who));
    }
    return out;
}

// A listing's "limit" parameter: kDefaultPage when empty; nullopt when not 1 to 10,000.
inline std::optional<size_t> page_limit(const std::string& text) {
    if (text.empty()) return kDefaultPage;
    if (text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    size_t limit = std::stoul(text);
    if (limit == 0 || limit > 10'000) return std::nullopt;
    return limit;
}

// The names of the users for whom `test` holds, at most `limit` ("more" says if there are).
inline json eligible(const std::vector<chat::Subject>& everyone, size_t limit,
                     const std::function<bool(const chat::Subject&)>& test) {
    json names = json::array();
    bool more = false;
    for (const auto& who : everyone) {
        if (!test(who)) continue;
        if (names.size() == limit) {
            more = true;
            break;
        }
        names.push_back(who.user);
    }
    return json{{"users", names}, {"more", more}};
}

// The answer to a path or method the area does not have.
inline HttpResponse unmatched(size_t parts) {
    return parts <= 2 ? not_allowed() : json_error(404, "Not found");
}

}  // namespace perch::web::admin_detail
