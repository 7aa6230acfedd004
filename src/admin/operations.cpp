#include "admin/operations.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "chat/settings.hpp"
#include "compliance/service.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"
#include "xmpp/credentials.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/scram.hpp"

namespace perch::admin {

namespace {

using Why = Refused::Why;

// Iterations of an admin account's key derivation: more than a chat login's (4096), as these
// accounts may change everything and are checked far less often.
constexpr int kAdminIterations = 20'000;

void with_event(store::Store& s, const std::string& type, const std::string& room,
                const std::string& category,
                std::vector<std::pair<std::string, std::string>> details, const std::string& by,
                const std::function<void()>& work) {
    details.emplace_back("by", by);
    s.with_events({store::make_event(type, {}, room, category, details)}, work);
}

store::Category require_category(store::Store& s, const std::string& name) {
    auto cat = s.find_category(name);
    if (!cat) throw Refused(Why::not_found, "no category named " + name);
    return *cat;
}

store::Room require_room(store::Store& s, const std::string& node) {
    auto room = s.find_room(node);
    if (!room) throw Refused(Why::not_found, "no room " + node);
    return *room;
}

store::AdminAccount require_admin(store::Store& s, const std::string& name) {
    auto a = s.find_admin(name);
    if (!a) throw Refused(Why::not_found, "no admin account named " + name);
    return *a;
}

store::AdminRole role_or_throw(const std::string& text) {
    auto role = store::parse_admin_role(text);
    if (!role)
        throw Refused(Why::bad_input, "'" + text +
                                          "' is not a role: administrator, compliance-officer "
                                          "or read-only");
    return *role;
}

// Changing `name` so that it no longer administers must leave another account that does:
// otherwise only the local bootstrap command could administer again.
void keep_an_administrator(store::Store& s, const std::string& name) {
    auto self = s.find_admin(name);
    if (!self || self->role != store::AdminRole::administrator || self->disabled) return;
    for (const auto& a : s.list_admins())
        if (a.name != name && a.role == store::AdminRole::administrator && !a.disabled) return;
    throw Refused(Why::conflict,
                  "'" + name + "' is the last enabled administrator account: add another first");
}

std::string admin_credential(const std::string& password) {
    return xmpp::ScramCredential::derive(util::Hash::sha256, password, util::random_bytes(16),
                                         kAdminIterations)
        .encode();
}

void user_change(store::Store& s, const std::string& by, const std::string& user,
                 const std::string& change, const std::function<void()>& work) {
    with_event(s, "USERCHANGE", {}, {}, {{"user", user}, {"change", change}}, by, work);
}

}  // namespace

std::string username(const std::string& raw) {
    auto node = xmpp::nodeprep(raw);
    if (!node || node->empty())
        throw Refused(Why::bad_input, "'" + raw + "' is not a valid user name (JID localpart)");
    return *node;
}

store::Principal principal(const std::string& text) {
    auto p = store::parse_principal(text);
    if (!p)
        throw Refused(Why::bad_input,
                      "'" + text + "' is not a principal: use user:NAME, group:NAME or everyone");
    if (p->kind == store::Principal::Kind::user) p->name = username(p->name);
    if (p->kind == store::Principal::Kind::group && p->name.empty())
        throw Refused(Why::bad_input, "a group principal needs a name: group:NAME");
    return *p;
}

std::optional<bool> on_off_unset(const std::string& text) {
    if (text == "on") return true;
    if (text == "off") return false;
    return std::nullopt;
}

std::string generated_password() {
    return util::random_id().substr(0, 16);
}

// Users ---------------------------------------------------------------------------------------

CreatedUser create_user(store::Store& s, const std::string& by, const NewUser& request) {
    CreatedUser out;
    store::User& u = out.user;
    u.username = username(request.name);
    u.display_name = request.display_name;
    u.email = request.email;
    if (util::utf8_length(u.display_name) > 256 || util::utf8_length(u.email) > 256)
        throw Refused(Why::bad_input,
                      "a display name or e-mail address has at most 256 characters");
    std::string password = request.password;
    if (password.empty()) password = out.generated_password = generated_password();
    xmpp::Credentials::set_password(u, password);
    try {
        user_change(s, by, u.username, "created", [&] { u.id = s.add_user(u); });
    } catch (const store::Conflict&) {
        throw Refused(Why::conflict, "a user named " + u.username + " exists");
    }
    if (auto stored = s.find_user(u.username)) u = *stored;
    return out;
}

store::User require_user(store::Store& s, const std::string& name) {
    auto u = s.find_user(username(name));
    if (!u) throw Refused(Why::not_found, "no user named " + name);
    return *u;
}

std::string set_password(store::Store& s, const std::string& by, const std::string& name,
                         const std::string& password) {
    auto u = require_user(s, name);
    std::string generated = password.empty() ? generated_password() : "";
    xmpp::Credentials::set_password(u, password.empty() ? generated : password);
    user_change(s, by, u.username, "password", [&] { s.update_user(u); });
    return generated;
}

void set_disabled(store::Store& s, const std::string& by, const std::string& name, bool disabled) {
    auto u = require_user(s, name);
    u.disabled = disabled;
    user_change(s, by, u.username, disabled ? "disabled" : "enabled", [&] {
        s.update_user(u);
        s.note_change("user", u.username);
    });
}

void set_chat_administrator(store::Store& s, const std::string& by, const std::string& name,
                            bool administrator) {
    auto u = require_user(s, name);
    u.administrator = administrator;
    user_change(s, by, u.username, administrator ? "administrator on" : "administrator off", [&] {
        s.update_user(u);
        s.note_change("user", u.username);
    });
}

void disconnect_user(store::Store& s, const std::string& by, const std::string& name) {
    auto u = require_user(s, name);
    user_change(s, by, u.username, "disconnected",
                [&] { s.note_change("disconnect", u.username); });
}

void update_profile(store::Store& s, const std::string& by, const std::string& name,
                    const std::optional<std::string>& display_name,
                    const std::optional<std::string>& email) {
    auto u = require_user(s, name);
    if ((display_name && util::utf8_length(*display_name) > 256) ||
        (email && util::utf8_length(*email) > 256))
        throw Refused(Why::bad_input,
                      "a display name or e-mail address has at most 256 characters");
    if (display_name) u.display_name = *display_name;
    if (email) u.email = *email;
    user_change(s, by, u.username, "profile", [&] { s.update_user(u); });
}

// Groups --------------------------------------------------------------------------------------

void create_group(store::Store& s, const std::string& by, const std::string& name,
                  const std::string& description) {
    if (name.empty() || util::utf8_length(name) > 256 || name.find('\n') != std::string::npos)
        throw Refused(Why::bad_input, "a group name has 1 to 256 characters on one line");
    try {
        with_event(s, "GROUPCHANGE", {}, {}, {{"group", name}, {"change", "created"}}, by, [&] {
            s.add_group({0, name, description});
        });
    } catch (const store::Conflict&) {
        throw Refused(Why::conflict, "a group named " + name + " exists");
    }
}

void set_group_member(store::Store& s, const std::string& by, const std::string& group,
                      const std::string& user, bool member) {
    auto u = require_user(s, user);
    auto groups = s.list_groups();
    if (std::none_of(groups.begin(), groups.end(), [&](const auto& g) { return g.name == group; }))
        throw Refused(Why::not_found, "no group named " + group);
    with_event(s, "GROUPCHANGE", {}, {},
               {{"group", group}, {"user", u.username}, {"change", member ? "joined" : "left"}}, by,
               [&] {
                   s.set_group_member(group, u.username, member);
                   s.note_change("user", u.username);
               });
}

// Categories ----------------------------------------------------------------------------------

void create_category(store::Store& s, const std::string& by, const NewCategory& request) {
    if (request.name.empty() || util::utf8_length(request.name) > 256)
        throw Refused(Why::bad_input, "a category name has 1 to 256 characters");
    store::Category cat;
    cat.name = request.name;
    cat.description = request.description;
    cat.invitations = request.invitations;
    cat.file_upload = request.file_upload;
    cat.chat_history = request.chat_history;
    // Every principal checked before anything is written.
    std::vector<std::pair<store::CategoryList, store::Principal>> lists;
    for (const auto& a :
         request.allowed.empty() ? std::vector<std::string>{"everyone"} : request.allowed)
        lists.emplace_back(store::CategoryList::allowed, principal(a));
    for (const auto& d : request.denied)
        lists.emplace_back(store::CategoryList::denied, principal(d));
    for (const auto& c : request.creators)
        lists.emplace_back(store::CategoryList::creator, principal(c));
    try {
        with_event(s, "CATEGORYCHANGE", {}, cat.name, {{"change", "created"}}, by, [&] {
            int64_t id = s.add_category(cat);
            for (const auto& [list, p] : lists) s.set_category_principal(id, list, p, true);
            s.note_change("category", cat.name);
        });
    } catch (const store::Conflict&) {
        throw Refused(Why::conflict, "a category named " + cat.name + " exists");
    }
}

void change_category_list(store::Store& s, const std::string& by, const std::string& category,
                          const std::string& list, const std::string& who, bool present) {
    auto which = store::parse_category_list(list);
    if (!which)
        throw Refused(Why::bad_input,
                      "'" + list + "' is not a list of a category: allowed, denied or creator");
    auto p = principal(who);
    auto cat = require_category(s, category);
    with_event(s, "CATEGORYCHANGE", {}, category,
               {{"principal", store::to_string(p)},
                {"list", list},
                {"change", present ? "added" : "removed"}},
               by, [&] {
                   s.set_category_principal(cat.id, *which, p, present);
                   s.note_change("category", category);
               });
}

// Rooms ---------------------------------------------------------------------------------------

void change_category(store::Store& s, const std::string& by, const std::string& name,
                     const CategoryChange& change) {
    auto cat = require_category(s, name);
    if (change.description && util::utf8_length(*change.description) > 1024)
        throw Refused(Why::bad_input, "a description has at most 1024 characters");
    if (change.description) cat.description = *change.description;
    if (change.invitations) cat.invitations = *change.invitations;
    if (change.file_upload) cat.file_upload = *change.file_upload;
    if (change.chat_history) cat.chat_history = *change.chat_history;
    auto flag = [](bool b) { return std::string(b ? "on" : "off"); };
    with_event(s, "CATEGORYCHANGE", {}, cat.name,
               {{"change", "settings"},
                {"invitations", flag(cat.invitations)},
                {"file_upload", flag(cat.file_upload)},
                {"chat_history", flag(cat.chat_history)}},
               by, [&] {
                   s.update_category(cat);
                   s.note_change("category", cat.name);
               });
}

void delete_category(store::Store& s, const std::string& by, const std::string& name) {
    auto cat = require_category(s, name);
    std::string rooms;
    for (const auto& r : s.list_rooms())
        if (r.category_id == cat.id) rooms += (rooms.empty() ? "" : ", ") + r.node;
    if (!rooms.empty())
        throw Refused(Why::conflict,
                      "category " + name + " holds rooms " + rooms + ": move or delete them first");
    with_event(s, "CATEGORYCHANGE", {}, cat.name, {{"change", "deleted"}}, by, [&] {
        s.delete_category(cat.id);
        s.note_change("category", cat.name);
    });
}

void create_room(store::Store& s, const std::string& by, store::Room room,
                 const std::string& category) {
    auto node = xmpp::nodeprep(room.node);
    if (!node || node->empty())
        throw Refused(Why::bad_input, "'" + room.node + "' is not a valid room address");
    room.node = *node;
    if (room.name.empty()) room.name = room.node;
    if (util::utf8_length(room.name) > 256)
        throw Refused(Why::bad_input, "a room name has at most 256 characters");
    auto cat = s.find_category(category);
    if (!cat)
        throw Refused(Why::not_found,
                      "no category named " + category + " (see: perch category list)");
    room.category_id = cat->id;
    try {
        with_event(s, "ROOMCREATE", room.node, cat->name,
                   {{"name", room.name},
                    {"privacy", std::string(to_string(room.privacy))},
                    {"type", std::string(to_string(room.type))}},
                   by, [&] {
                       s.add_room(room);
                       s.note_change("room", room.node);
                   });
    } catch (const store::Conflict&) {
        throw Refused(Why::conflict, "a room " + room.node + " exists");
    }
}

void change_room_list(store::Store& s, const std::string& by, const std::string& room,
                      const std::string& list, const std::string& who, bool present) {
    auto which = store::parse_room_list(list);
    if (!which)
        throw Refused(Why::bad_input, "'" + list +
                                          "' is not a list of a room: member, manager, "
                                          "presenter or denied");
    auto p = principal(who);
    auto r = require_room(s, room);
    with_event(s, "MEMBERSHIP", room, {},
               {{"principal", store::to_string(p)},
                {"list", list},
                {"change", present ? "added" : "removed"}},
               by, [&] {
                   s.set_room_principal(r.id, *which, p, present);
                   s.note_change("room", room);
               });
}

int64_t clear_room(store::Store& s, const std::string& by, const std::string& room,
                   const std::string& before) {
    auto r = require_room(s, room);
    auto t = util::parse_timestamp(before);
    if (!t)
        throw Refused(Why::bad_input, "'" + before + "' is not a time like 2026-01-01T00:00:00Z");
    int64_t deleted = 0;
    with_event(s, "CLEARHISTORY", room, {}, {{"before", before}}, by, [&] {
        deleted = s.clear_history(r.id, *t);
        s.note_change("room", room);
    });
    return deleted;
}

// Messages by filter --------------------------------------------------------------------------

namespace {

std::string folded(std::string_view s, bool case_sensitive) {
    std::string out(s);
    if (!case_sensitive)
        for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Words: runs of letters and digits (any byte of a multi-byte UTF-8 character counts as one).
std::vector<std::string> words_of(std::string_view text) {
    std::vector<std::string> out;
    std::string word;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c >= 0x80) {
            word += char(c);
        } else if (!word.empty()) {
            out.push_back(std::move(word));
            word.clear();
        }
    }
    if (!word.empty()) out.push_back(std::move(word));
    return out;
}

}  // namespace

void check_filter(const MessageFilter& f) {
    if (f.match != "any" && f.match != "all" && f.match != "exact")
        throw Refused(Why::bad_input, "match is any, all or exact");
    if (!f.keywords.empty() && words_of(f.keywords).empty())
        throw Refused(Why::bad_input, "the keywords hold no word");
    if (f.keywords.empty() && f.sender.empty() && !f.from_us && !f.to_us)
        throw Refused(Why::bad_input,
                      "name keywords, a sender or a time range (to empty a room, clear it)");
    if (f.from_us && f.to_us && f.from_us > f.to_us)
        throw Refused(Why::bad_input, "the time range ends before it begins");
}

bool matches(const MessageFilter& f, const store::Message& m) {
    if (m.removed) return false;
    if (f.from_us && m.ts_us < f.from_us) return false;
    if (f.to_us && m.ts_us > f.to_us) return false;
    if (!f.sender.empty()) {
        std::string_view user = std::string_view(m.sender).substr(0, m.sender.find('@'));
        if (user != f.sender) return false;
    }
    if (f.keywords.empty()) return true;
    std::string body = folded(m.body, f.case_sensitive);
    std::string keywords = folded(f.keywords, f.case_sensitive);
    if (f.match == "exact") return body.find(keywords) != std::string::npos;
    auto present = words_of(body);
    std::sort(present.begin(), present.end());
    auto has = [&](const std::string& w) {
        return std::binary_search(present.begin(), present.end(), w);
    };
    auto wanted = words_of(keywords);
    return f.match == "all" ? std::all_of(wanted.begin(), wanted.end(), has)
                            : std::any_of(wanted.begin(), wanted.end(), has);
}

FoundMessages find_messages(store::Store& s, const std::string& room, const MessageFilter& f,
                            size_t limit) {
    check_filter(f);
    auto r = require_room(s, room);
    FoundMessages out;
    constexpr int kPage = 1000;
    for (int64_t after = 0; after < r.last_seq;) {
        auto page = s.messages_between(r.id, after, r.last_seq, kPage);
        if (page.empty()) break;
        for (const auto& m : page) {
            if (!matches(f, m)) continue;
            if (out.ids.size() == limit) {
                out.more = true;
                return out;
            }
            out.ids.push_back(m.stanza_id);
        }
        after = page.back().seq;
    }
    return out;
}

// Policy --------------------------------------------------------------------------------------

void set_policy(store::Store& s, const std::string& by, const std::string& scope,
                std::optional<bool> enabled) {
    std::string kind = scope, who;
    if (scope != "global") {
        auto p = principal(scope);
        if (p.kind == store::Principal::Kind::everyone)
            throw Refused(Why::bad_input, "use 'global' for everybody");
        kind = p.kind == store::Principal::Kind::user ? "user" : "group";
        who = p.name;
    }
    with_event(s, "POLICYCHANGE", {}, {},
               {{"scope", scope}, {"chat", enabled ? (*enabled ? "on" : "off") : "unset"}}, by,
               [&] {
                   s.set_policy(kind, who, enabled);
                   s.note_change("policy", scope);
               });
}

// Settings and add-ins -------------------------------------------------------------------------

void set_setting(store::Store& s, const std::string& by, const std::string& name,
                 const std::optional<std::string>& value) {
    const auto& infos = chat::setting_infos();
    if (std::none_of(infos.begin(), infos.end(), [&](const auto& i) { return i.name == name; }))
        throw Refused(Why::not_found, "no setting named " + name);
    chat::Settings checked;
    try {
        if (value) chat::set_setting(checked, name, *value);
    } catch (const std::invalid_argument& e) {
        throw Refused(Why::bad_input, e.what());
    }
    with_event(s, "SETTINGCHANGE", {}, {}, {{"setting", name}, {"value", value.value_or("(file)")}},
               by, [&] {
                   s.store_setting(name, value);
                   s.note_change("settings", name);
               });
}

void set_compliance_options(store::Store& s, const std::string& by,
                            const std::map<std::string, std::optional<std::string>>& values) {
    if (values.empty()) throw Refused(Why::bad_input, "name a compliance setting to change");
    compliance::ServiceOptions checked;
    std::vector<std::pair<std::string, std::string>> details;
    for (const auto& [name, value] : values) {
        const auto& names = compliance::option_names();
        if (std::find(names.begin(), names.end(), name) == names.end())
            throw Refused(Why::bad_input, "no compliance setting named " + name);
        try {
            if (value) compliance::set_option(checked, name, *value);
        } catch (const std::invalid_argument& e) {
            throw Refused(Why::bad_input, e.what());
        }
        details.emplace_back(name, value.value_or("(file)"));
    }
    with_event(s, "COMPLIANCECHANGE", {}, {}, details, by, [&] {
        for (const auto& [name, value] : values) s.store_setting("compliance." + name, value);
        s.note_change("settings", "compliance");
    });
}

void put_addin(store::Store& s, const std::string& by, const std::string& name,
               const std::string& url) {
    bool name_ok = !name.empty() && name.size() <= 64 &&
                   std::all_of(name.begin(), name.end(), [](unsigned char c) {
                       return std::isalnum(c) || c == ' ' || c == '.' || c == '-' || c == '_';
                   });
    if (!name_ok || name.front() == ' ' || name.back() == ' ')
        throw Refused(Why::bad_input,
                      "an add-in's name has 1 to 64 letters, digits, spaces, '.', '-' or '_'");
    try {
        chat::check_web_url("the add-in's URL", url);
    } catch (const std::invalid_argument& e) {
        throw Refused(Why::bad_input, e.what());
    }
    with_event(s, "ADDINCHANGE", {}, {}, {{"addin", name}, {"url", url}}, by, [&] {
        s.put_addin(store::Addin{name, url, 0});
        s.note_change("addin", name);
    });
}

void remove_addin(store::Store& s, const std::string& by, const std::string& name) {
    std::string users;
    for (const auto& r : s.list_rooms())
        if (r.addin == name) users += (users.empty() ? "" : ", ") + r.node;
    if (!users.empty())
        throw Refused(Why::conflict, "add-in " + name + " is shown by rooms " + users +
                                         ": give them another first");
    auto addins = s.list_addins();
    if (std::none_of(addins.begin(), addins.end(), [&](const auto& a) { return a.name == name; }))
        throw Refused(Why::not_found, "no add-in named " + name);
    with_event(s, "ADDINCHANGE", {}, {}, {{"addin", name}, {"change", "removed"}}, by, [&] {
        s.remove_addin(name);
        s.note_change("addin", name);
    });
}

// The synthetic transaction ---------------------------------------------------------------------

TestFixture prepare_test(store::Store& s, const std::string& by) {
    TestFixture out;
    out.room = kTestRoom;
    for (const char* name : kTestUsers) {
        std::string password = generated_password();
        if (s.find_user(name))
            set_password(s, by, name, password);
        else
            create_user(s, by, {name, password, "Synthetic test", ""});
        out.users.emplace_back(name, password);
    }
    // Only the test users see the category and its room.
    if (!s.find_category(kTestCategory)) {
        std::vector<std::string> users(std::begin(kTestUsers), std::end(kTestUsers));
        for (auto& u : users) u.insert(0, "user:");
        create_category(s, by, {kTestCategory, "The synthetic test's room", users, {}, {}});
    }
    if (!s.find_room(kTestRoom)) {
        store::Room room;
        room.node = kTestRoom;
        room.name = "Synthetic test";
        room.privacy = store::Privacy::secret;
        create_room(s, by, room, kTestCategory);
        for (const char* name : kTestUsers)
            change_room_list(s, by, kTestRoom, "member", std::string("user:") + name, true);
    }
    return out;
}

// Accounts of the admin API ---------------------------------------------------------------------

bool valid_admin_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    });
}

std::string add_admin(store::Store& s, const std::string& by, const std::string& name,
                      const std::string& role, const std::string& password) {
    if (!valid_admin_name(name))
        throw Refused(Why::bad_input, "'" + name +
                                          "' is not an admin account name: 1 to 64 letters, "
                                          "digits, '.', '-' or '_'");
    store::AdminAccount a;
    a.name = name;
    a.role = role_or_throw(role);
    std::string generated = password.empty() ? generated_password() : "";
    a.credential = admin_credential(password.empty() ? generated : password);
    try {
        with_event(s, "ADMINCHANGE", {}, {},
                   {{"account", name}, {"role", role}, {"change", "created"}}, by,
                   [&] { s.add_admin(a); });
    } catch (const store::Conflict&) {
        throw Refused(Why::conflict, "an admin account named " + name + " exists");
    }
    return generated;
}

std::string set_admin_password(store::Store& s, const std::string& by, const std::string& name,
                               const std::string& password) {
    auto a = require_admin(s, name);
    std::string generated = password.empty() ? generated_password() : "";
    a.credential = admin_credential(password.empty() ? generated : password);
    with_event(s, "ADMINCHANGE", {}, {}, {{"account", name}, {"change", "password"}}, by,
               [&] { s.update_admin(a); });
    return generated;
}

void set_admin_role(store::Store& s, const std::string& by, const std::string& name,
                    const std::string& role) {
    auto a = require_admin(s, name);
    a.role = role_or_throw(role);
    if (a.role != store::AdminRole::administrator) keep_an_administrator(s, name);
    with_event(s, "ADMINCHANGE", {}, {}, {{"account", name}, {"role", role}, {"change", "role"}},
               by, [&] { s.update_admin(a); });
}

void set_admin_disabled(store::Store& s, const std::string& by, const std::string& name,
                        bool disabled) {
    auto a = require_admin(s, name);
    a.disabled = disabled;
    if (disabled) keep_an_administrator(s, name);
    with_event(s, "ADMINCHANGE", {}, {},
               {{"account", name}, {"change", disabled ? "disabled" : "enabled"}}, by,
               [&] { s.update_admin(a); });
}

void remove_admin(store::Store& s, const std::string& by, const std::string& name) {
    require_admin(s, name);
    keep_an_administrator(s, name);
    with_event(s, "ADMINCHANGE", {}, {}, {{"account", name}, {"change", "removed"}}, by,
               [&] { s.remove_admin(name); });
}

const store::AdminAccount& unknown_admin() {
    static const store::AdminAccount nobody = [] {
        store::AdminAccount a;
        a.credential = admin_credential(generated_password() + generated_password());
        return a;
    }();
    return nobody;
}

bool admin_password_matches(const store::AdminAccount& account, const std::string& password) {
    auto credential = xmpp::ScramCredential::decode(util::Hash::sha256, account.credential);
    return credential && credential->matches_password(password);
}

}  // namespace perch::admin
