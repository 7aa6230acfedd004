// The REST API under /api/v1, behind the room management pages; described in docs/openapi.yaml.
// Every change is a command of the room service (chat::RoomCommands), so the rules, the
// store and the rooms' occupants see it exactly as they see a change made from an XMPP client.
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "util/time.hpp"
#include "util/url.hpp"
#include "util/utf8.hpp"
#include "web/app.hpp"
#include "web/json_api.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::web {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;

namespace {

constexpr size_t kMaxRoomName = 256;
constexpr int kMaxSearchResults = 500;  // a search answers at most this many, and says so

json room_json(const chat::Directory::Listing& v, const chat::Subject& who,
               const std::string& muc_domain, const chat::Directory& directory) {
    return json{{"address", v.meta.node + "@" + muc_domain},
                {"node", v.meta.node},
                {"name", v.meta.name},
                {"description", v.meta.description},
                {"category", v.category},
                {"addin", v.meta.addin},
                {"addin_url", directory.addin_url(v.meta.addin)},
                {"privacy", store::to_string(v.meta.privacy)},
                {"type", store::to_string(v.meta.type)},
                {"invitations", v.meta.invitations},
                {"occupants_change_subject", v.meta.occupants_change_subject},
                {"disabled", v.meta.disabled},
                {"subject", v.meta.subject},
                {"my_roles",
                 {{"manager", chat::is_manager(who, v.rules)},
                  {"member", chat::is_member(who, v.rules)},
                  {"presenter", chat::matches(who, v.rules.presenters)}}}};
}

const char* list_name(store::RoomList list) {
    switch (list) {
        case store::RoomList::member:
            return "members";
        case store::RoomList::manager:
            return "managers";
        case store::RoomList::presenter:
            return "presenters";
        case store::RoomList::denied:
            return "denied";
    }
    return "members";
}

std::optional<store::RoomList> list_named(const std::string& s) {
    if (s == "members") return store::RoomList::member;
    if (s == "managers") return store::RoomList::manager;
    if (s == "presenters") return store::RoomList::presenter;
    if (s == "denied") return store::RoomList::denied;
    return std::nullopt;
}

}  // namespace

// The HTTP status a room command's refusal becomes.
unsigned http_status(chat::Fault f) {
    using F = chat::Fault;
    switch (f) {
        case F::not_found:
            return 404;
        case F::forbidden:
        case F::not_allowed:
        case F::members_only:
        case F::not_occupant:
            return 403;
        case F::conflict:
            return 409;
        case F::not_acceptable:
            return 422;
        case F::bad_request:
        case F::bad_address:
            return 400;
        case F::busy:
            return 503;
        case F::too_fast:
            return 429;
        case F::internal:
            return 500;
    }
    return 500;
}

net::HttpResponse refusal(const chat::Error& e) {
    return json_error(http_status(e.fault),
                      e.text.empty() ? std::string(chat::to_string(e.fault)) : e.text);
}

std::optional<std::map<std::string, std::string>> query_params(const std::string& query) {
    std::map<std::string, std::string> out;
    size_t start = 0;
    while (start < query.size()) {
        size_t amp = query.find('&', start);
        if (amp == std::string::npos) amp = query.size();
        std::string pair = query.substr(start, amp - start);
        std::replace(pair.begin(), pair.end(), '+', ' ');
        size_t eq = pair.find('=');
        auto key = util::url_decode(pair.substr(0, eq));
        auto value = util::url_decode(eq == std::string::npos ? "" : pair.substr(eq + 1));
        if (!key || !value) return std::nullopt;
        out[*key] = *value;
        start = amp + 1;
    }
    return out;
}

std::vector<std::string> path_parts(const std::string& path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        if (slash > start) parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

std::variant<json, net::HttpResponse> json_body(const HttpRequest& request, bool optional) {
    if (request.body.empty() && optional) return json::object();
    const std::string* type = request.header("content-type");
    if (!type || !type->starts_with("application/json"))
        return json_error(415, "Send JSON (Content-Type: application/json)");
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return json_error(400, "Malformed JSON: an object is expected");
    return body;
}

std::variant<chat::SettingsChange, std::string> settings_of(const json& body) {
    chat::SettingsChange c;
    for (const auto& item : body.items()) {
        const std::string& key = item.key();
        const json& value = item.value();
        auto text = [&]() -> std::optional<std::string> {
            if (!value.is_string()) return std::nullopt;
            return value.get<std::string>();
        };
        auto flag = [&]() -> std::optional<bool> {
            if (!value.is_boolean()) return std::nullopt;
            return value.get<bool>();
        };
        bool typed = true;
        if (key == "name") {
            if ((typed = bool(c.name = text())) &&
                (c.name->empty() || util::utf8_length(*c.name) > kMaxRoomName))
                return "name must have 1 to 256 characters";
        } else if (key == "description") {
            typed = bool(c.description = text());
        } else if (key == "addin") {
            typed = bool(c.addin = text());
        } else if (key == "privacy") {
            auto v = text();
            if ((typed = bool(v)) && !(c.privacy = store::parse_privacy(*v)))
                return "privacy is open, closed or secret";
        } else if (key == "type") {
            auto v = text();
            if ((typed = bool(v)) && !(c.type = store::parse_room_type(*v)))
                return "type is normal or auditorium";
        } else if (key == "invitations") {
            typed = bool(c.invitations = flag());
        } else if (key == "disabled") {
            typed = bool(c.disabled = flag());
        } else if (key == "occupants_change_subject") {
            typed = bool(c.occupants_change_subject = flag());
        } else if (key == "category") {
            typed = bool(c.category = text());
        } else if (key == "drop_outsiders") {
            auto v = flag();
            typed = bool(v);
            c.drop_outsiders = v.value_or(false);
        } else {
            return "unknown field " + key;
        }
        if (!typed) return key + " has the wrong type";
    }
    return c;
}

void WebApp::api(const HttpRequest& request, const Respond& respond) {
    auto parts = path_parts(request.path);  // "api", "v1", …
    if (parts.size() < 3 || parts[1] != "v1") return respond(json_error(404, "Not found"));
    parts.erase(parts.begin(), parts.begin() + 2);
    const std::string& method = request.method;

    // A body, where there is one, is JSON (which also keeps other sites' forms out).
    json body;
    if (method == "POST" || method == "PUT" || method == "PATCH") {
        auto parsed = json_body(request, method == "PUT");
        if (auto* refused = std::get_if<HttpResponse>(&parsed)) return respond(std::move(*refused));
        body = std::move(std::get<json>(parsed));
    }

    if (parts[0] == "session" && parts.size() == 1 && method == "POST") {
        if (!body.contains("username") || !body["username"].is_string() ||
            !body.contains("password") || !body["password"].is_string())
            return respond(json_error(400, "username and password are required"));
        bool secure = request.secure;
        return check_password(
            deps_.credentials, body["username"], body["password"], request.peer, config_.domain,
            [this, respond, secure](AuthAnswer answer) {
                if (answer.result == AuthResult::throttled)
                    return respond(too_many_attempts(answer.retry_after));
                if (answer.result == AuthResult::disabled)
                    return respond(json_error(403, "This account is disabled"));
                if (answer.result != AuthResult::ok)
                    return respond(json_error(401, "Wrong user name or password"));
                auto& user = answer.user;
                std::string token = sessions_.open(*user);
                auto opened = sessions_.find(token);
                spdlog::info("{} signed in to the web pages", user->username);
                auto r = json_answer(200, json{{"user", user->username},
                                               {"csrf_token", opened->csrf},
                                               {"administrator", user->subject->administrator}});
                r.set("Set-Cookie", std::string(kSessionCookie) + "=" + token +
                                        "; Path=/; HttpOnly; SameSite=Strict" +
                                        (secure ? "; Secure" : ""));
                respond(std::move(r));
            });
    }

    authenticate(request, sessions_, deps_.credentials, config_.domain,
                 [this, request, respond, parts, body](AuthAnswer answer) {
                     if (answer.result == AuthResult::throttled)
                         return respond(too_many_attempts(answer.retry_after));
                     if (answer.result == AuthResult::csrf)
                         return respond(json_error(403, "Missing or wrong X-CSRF-Token"));
                     if (answer.result == AuthResult::disabled)
                         return respond(json_error(403, "Account disabled"));
                     if (answer.result != AuthResult::ok || !answer.user->subject)
                         return respond(json_error(401, "Sign in first"));
                     api_as(*answer.user, request, parts, body, respond);
                 });
}

void WebApp::api_as(const WebUser& user, const HttpRequest& request,
                    const std::vector<std::string>& parts, const nlohmann::json& body,
                    const Respond& respond) {
    const std::string& method = request.method;
    const auto& who = *user.subject;
    chat::Actor actor{user.subject, {}, {}};
    // Answers with the refusal, or runs `ok`.
    auto answer = [respond](auto ok) {
        return [respond, ok = std::move(ok)](auto result) mutable {
            if (!result) return respond(refusal(result.error()));
            ok(result.value());
        };
    };

    if (parts[0] == "session" && parts.size() == 1) {
        if (method == "GET")
            return respond(json_answer(200, json{{"user", user.username},
                                                 {"csrf_token", user.csrf},
                                                 {"administrator", who.administrator}}));
        if (method == "DELETE") {
            if (auto token = cookie(request, kSessionCookie)) sessions_.close(*token);
            HttpResponse r;
            r.status = 204;
            r.set("Set-Cookie",
                  std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
            return respond(std::move(r));
        }
        return respond(json_error(405, "Method not allowed"));
    }

    if (parts[0] == "categories" && parts.size() == 1) {
        if (method != "GET") return respond(json_error(405, "Method not allowed"));
        json out = json::array();
        for (const auto& c : deps_.directory.categories_for(who))
            out.push_back({{"name", c.name}, {"may_create", c.may_create}});
        return respond(json_answer(200, out));
    }

    // The add-ins a manager may give a room (registered by administrators).
    if (parts[0] == "addins" && parts.size() == 1) {
        if (method != "GET") return respond(json_error(405, "Method not allowed"));
        json out = json::array();
        for (const auto& [name, url] : deps_.directory.addins())
            out.push_back({{"name", name}, {"url", url}});
        return respond(json_answer(200, out));
    }

    if (parts[0] == "rooms" && parts.size() == 1) {
        if (method == "GET") {
            // Default: the rooms I manage or belong to; ?scope=all: every room I may find.
            auto params = query_params(request.query);
            if (!params) return respond(json_error(400, "malformed query string"));
            bool all = (*params)["scope"] == "all";
            json out = json::array();
            for (const auto& v : deps_.directory.rooms_for(who))
                if (all || chat::is_member(who, v.rules))
                    out.push_back(room_json(v, who, config_.muc_domain, deps_.directory));
            return respond(json_answer(200, out));
        }
        if (method != "POST") return respond(json_error(405, "Method not allowed"));
        auto str = [&](const char* key, std::string fallback) -> std::optional<std::string> {
            if (!body.contains(key)) return fallback;
            if (!body[key].is_string()) return std::nullopt;
            return body[key].get<std::string>();
        };
        auto address = str("address", ""), name = str("name", ""),
             description = str("description", ""), category = str("category", ""),
             privacy = str("privacy", "open"), type = str("type", "normal");
        if (!address || !name || !description || !category || !privacy || !type)
            return respond(json_error(
                400, "address, name, description, category, privacy and type are strings"));
        auto node = xmpp::nodeprep(*address);
        if (address->empty() || !node || node->size() > 256)
            return respond(
                json_error(400, "address must be a valid room address (the part before @)"));
        if (category->empty()) return respond(json_error(400, "category is required"));
        chat::CreateCommand c{actor, {}, *category};
        c.room.node = *node;
        c.room.name = name->empty() ? *node : *name;
        if (util::utf8_length(c.room.name) > kMaxRoomName)
            return respond(json_error(400, "name has at most 256 characters"));
        c.room.description = *description;
        auto p = store::parse_privacy(*privacy);
        auto t = store::parse_room_type(*type);
        if (!p || !t)
            return respond(
                json_error(400, "privacy is open, closed or secret; type is normal or auditorium"));
        c.room.privacy = *p;
        c.room.type = *t;
        return deps_.rooms.create(
            std::move(c),
            answer([this, respond, node = *node, subject = user.subject](const chat::Ok&) {
                auto v = deps_.directory.room_for(*subject, node, chat::Action::find);
                if (!v) return respond(json_answer(201, json{{"node", node}}));
                respond(
                    json_answer(201, room_json(*v, *subject, config_.muc_domain, deps_.directory)));
            }));
    }

    if (parts[0] == "rooms" && parts.size() >= 2) {
        const std::string& node = parts[1];
        auto view = deps_.directory.room_for(who, node, chat::Action::find);
        if (!view) return respond(json_error(404, "No such room"));
        bool manages = who.administrator || chat::is_manager(who, view->rules);
        if (parts.size() == 2 && method == "GET") {
            json out = room_json(*view, who, config_.muc_domain, deps_.directory);
            if (!manages) return respond(json_answer(200, out));
            // Managers see the lists, read fresh from the store.
            using Lists = std::vector<std::pair<store::RoomList, store::Principal>>;
            return deps_.rooms.lists(node, actor,
                                     answer([out, respond](const Lists& lists) mutable {
                                         out["members"] = json::array();
                                         out["managers"] = json::array();
                                         out["presenters"] = json::array();
                                         out["denied"] = json::array();
                                         for (const auto& [list, p] : lists)
                                             out[list_name(list)].push_back(store::to_string(p));
                                         respond(json_answer(200, out));
                                     }));
        }
        if (parts.size() == 2 && method == "PATCH") {
            auto change = settings_of(body);
            if (auto* err = std::get_if<std::string>(&change))
                return respond(json_error(400, *err));
            return deps_.rooms.configure(
                chat::ConfigureCommand{node, actor,
                                       std::get<chat::SettingsChange>(std::move(change))},
                answer([this, respond, node, subject = user.subject](const chat::Ok&) {
                    auto v = deps_.directory.room_for(*subject, node, chat::Action::find);
                    if (!v) return respond(json_answer(200, json{{"node", node}}));
                    respond(json_answer(
                        200, room_json(*v, *subject, config_.muc_domain, deps_.directory)));
                }));
        }
        if (parts.size() == 4 && (method == "PUT" || method == "DELETE")) {
            auto list = list_named(parts[2]);
            auto principal = store::parse_principal(parts[3]);
            if (!list)
                return respond(
                    json_error(404, "Lists are members, managers, presenters and denied"));
            if (!principal)
                return respond(
                    json_error(400, "Name a principal as user:NAME, group:NAME or everyone"));
            chat::ListsCommand c{
                node, actor, {chat::ListChange{*list, *principal, method == "PUT", {}}}};
            return deps_.rooms.change_lists(std::move(c), answer([respond](const chat::Ok&) {
                                                HttpResponse ok;
                                                ok.status = 204;
                                                respond(std::move(ok));
                                            }));
        }
        return respond(json_error(405, "Method not allowed"));
    }

    if (parts[0] == "search" && parts.size() == 1) {
        if (method != "GET") return respond(json_error(405, "Method not allowed"));
        return search(user.subject, request, respond);
    }
    respond(json_error(404, "Not found"));
}

void WebApp::search(std::shared_ptr<const chat::Subject> subject, const HttpRequest& request,
                    const Respond& respond) {
    auto decoded = query_params(request.query);
    if (!decoded) return respond(json_error(400, "malformed query string"));
    auto& params = *decoded;
    store::ArchiveQuery q;
    q.text = params["q"];
    q.any_word = params["any"] == "true" || params["any"] == "1";
    q.case_sensitive = params["case"] == "true" || params["case"] == "1";
    if (!params["sender"].empty()) q.with_sender = params["sender"] + "@" + config_.domain;
    for (const char* key : {"start", "end"}) {
        if (params[key].empty()) continue;
        auto t = util::parse_timestamp(params[key]);
        if (!t)
            return respond(
                json_error(400, std::string(key) + " must be a time like 2026-01-31T12:00:00Z"));
        (std::string(key) == "start" ? q.start_us : q.end_us) = *t;
    }
    int limit = 50;
    if (!params["limit"].empty()) {
        try {
            limit = std::stoi(params["limit"]);
        } catch (...) {
            limit = -1;
        }
        if (limit < 1) return respond(json_error(400, "limit is a positive number"));
    }
    limit = std::min(limit, kMaxSearchResults);
    q.max = limit;
    q.last_page = true;  // the newest matches
    if (q.text.empty() && q.with_sender.empty())
        return respond(json_error(400, "Search for words (q) or a sender"));
    chat::SearchCommand c{chat::Actor{std::move(subject), {}, {}}, std::move(q), false};
    deps_.rooms.search(std::move(c), [this, respond, limit](chat::Result<chat::SearchResult> r) {
        if (!r) return respond(refusal(r.error()));
        const auto& page = r->page;
        json results = json::array();
        // Newest first.
        for (auto it = page.messages.rbegin(); it != page.messages.rend(); ++it)
            results.push_back({{"room", r->rooms.at(it->room_id) + "@" + config_.muc_domain},
                               {"id", it->stanza_id},
                               {"nick", it->nick},
                               {"sender", it->sender},
                               {"time", util::format_timestamp(it->ts_us)},
                               {"body", it->body}});
        bool truncated = page.count > int64_t(results.size());
        respond(json_answer(200, json{{"results", results},
                                      {"count", page.count},
                                      {"count_exact", page.count_exact},
                                      {"truncated", truncated},
                                      {"limit", limit}}));
    });
}

}  // namespace perch::web
