// The REST API under /api/v1, behind the room management pages; described in docs/openapi.yaml.
// Every change goes through the chat service's own code paths (MucService), so the rules, the
// store and the rooms' occupants see it exactly as they see a change made from an XMPP client.
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "util/time.hpp"
#include "util/url.hpp"
#include "util/utf8.hpp"
#include "web/app.hpp"
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

unsigned http_status(xmpp::StanzaError e) {
    using E = xmpp::StanzaError;
    switch (e) {
        case E::item_not_found:
            return 404;
        case E::forbidden:
        case E::not_allowed:
        case E::registration_required:
            return 403;
        case E::conflict:
            return 409;
        case E::not_acceptable:
            return 422;
        case E::bad_request:
        case E::jid_malformed:
            return 400;
        case E::resource_constraint:
            return 503;
        default:
            return 500;
    }
}

// Query string -> decoded values ('+' is a space there).
std::map<std::string, std::string> query_params(const std::string& query) {
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
        if (key && value) out[*key] = *value;
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

json room_json(const xmpp::MucService::RoomView& v, const std::string& muc_domain) {
    return json{
        {"address", v.meta.node + "@" + muc_domain},
        {"node", v.meta.node},
        {"name", v.meta.name},
        {"description", v.meta.description},
        {"category", v.category},
        {"privacy", store::to_string(v.meta.privacy)},
        {"type", store::to_string(v.meta.type)},
        {"invitations", v.meta.invitations},
        {"disabled", v.meta.disabled},
        {"subject", v.meta.subject},
        {"my_roles", {{"manager", v.manager}, {"member", v.member}, {"presenter", v.presenter}}}};
}

std::optional<store::RoomList> list_named(const std::string& s) {
    if (s == "members") return store::RoomList::member;
    if (s == "managers") return store::RoomList::manager;
    if (s == "presenters") return store::RoomList::presenter;
    return std::nullopt;
}

void add_field(xml::Element& form, const std::string& var, const std::string& value) {
    auto& f = form.add_child("field", std::string(xmpp::ns::data_forms));
    f.set_attr("var", var);
    f.add_child("value", std::string(xmpp::ns::data_forms)).add_text(value);
}

// A PATCH body as the room's configuration form; an error text when the body is wrong.
std::variant<xml::Element, std::string> config_form_of(const json& body) {
    xml::Element form("x", std::string(xmpp::ns::data_forms));
    form.set_attr("type", "submit");
    add_field(form, "FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig");
    for (const auto& [key, value] : body.items()) {
        auto text = [&]() -> std::optional<std::string> {
            if (!value.is_string()) return std::nullopt;
            return value.get<std::string>();
        };
        auto flag = [&]() -> std::optional<std::string> {
            if (!value.is_boolean()) return std::nullopt;
            return std::string(value.get<bool>() ? "1" : "0");
        };
        std::optional<std::string> v;
        if (key == "name") {
            if ((v = text())) {
                if (v->empty() || util::utf8_length(*v) > kMaxRoomName)
                    return "name must have 1 to 256 characters";
                add_field(form, "muc#roomconfig_roomname", *v);
            }
        } else if (key == "description") {
            if ((v = text())) add_field(form, "muc#roomconfig_roomdesc", *v);
        } else if (key == "privacy") {
            if ((v = text())) {
                auto p = store::parse_privacy(*v);
                if (!p) return "privacy is open, closed or secret";
                add_field(form, "muc#roomconfig_publicroom",
                          *p == store::Privacy::secret ? "0" : "1");
                add_field(form, "muc#roomconfig_membersonly",
                          *p == store::Privacy::open ? "0" : "1");
            }
        } else if (key == "type") {
            if ((v = text())) {
                auto t = store::parse_room_type(*v);
                if (!t) return "type is normal or auditorium";
                add_field(form, "muc#roomconfig_moderatedroom",
                          *t == store::RoomType::auditorium ? "1" : "0");
            }
        } else if (key == "invitations") {
            if ((v = flag())) add_field(form, "muc#roomconfig_allowinvites", *v);
        } else if (key == "disabled") {
            if ((v = flag())) add_field(form, "{urn:perch:room:0}disabled", *v);
        } else if (key == "category") {
            if ((v = text())) add_field(form, "{urn:perch:room:0}category", *v);
        } else if (key == "drop_outsiders") {
            if ((v = flag())) add_field(form, "{urn:perch:room:0}drop-outsiders", *v);
        } else {
            return "unknown field " + key;
        }
        if (!v) return key + " has the wrong type";
    }
    return form;
}

}  // namespace

void WebApp::api(HttpRequest request, const Respond& respond) {
    auto parts = path_parts(request.path);  // "api", "v1", …
    if (parts.size() < 3 || parts[1] != "v1") return respond(json_error(404, "Not found"));
    parts.erase(parts.begin(), parts.begin() + 2);
    const std::string& method = request.method;

    // A body, where there is one, is JSON (which also keeps other sites' forms out).
    json body;
    if (method == "POST" || method == "PUT" || method == "PATCH") {
        const std::string* type = request.header("content-type");
        if (!request.body.empty() || method != "PUT") {
            if (!type || !type->starts_with("application/json"))
                return respond(json_error(415, "Send JSON (Content-Type: application/json)"));
            body = json::parse(request.body, nullptr, false);
            if (body.is_discarded() || !body.is_object())
                return respond(json_error(400, "Malformed JSON: an object is expected"));
        }
    }

    if (parts[0] == "session" && parts.size() == 1 && method == "POST") {
        if (!body.contains("username") || !body["username"].is_string() ||
            !body.contains("password") || !body["password"].is_string())
            return respond(json_error(400, "username and password are required"));
        bool secure = request.secure;
        return check_password(
            deps_.credentials, body["username"], body["password"],
            [this, respond, secure](AuthResult result, std::optional<WebUser> user) {
                if (result == AuthResult::disabled)
                    return respond(json_error(403, "This account is disabled"));
                if (result != AuthResult::ok)
                    return respond(json_error(401, "Wrong user name or password"));
                std::string token = sessions_.open(*user);
                auto opened = sessions_.find(token);
                spdlog::info("{} signed in to the web pages", user->username);
                auto r = json_response(200, json{{"user", user->username},
                                                 {"csrf_token", opened->csrf},
                                                 {"administrator", user->subject->administrator}}
                                                .dump());
                r.set("Set-Cookie", std::string(kSessionCookie) + "=" + token +
                                        "; Path=/; HttpOnly; SameSite=Strict" +
                                        (secure ? "; Secure" : ""));
                respond(std::move(r));
            });
    }

    authenticate(
        request, sessions_, deps_.credentials,
        [this, request, respond, parts, body](AuthResult result, std::optional<WebUser> user) {
            if (result == AuthResult::csrf)
                return respond(json_error(403, "Missing or wrong X-CSRF-Token"));
            if (result == AuthResult::disabled) return respond(json_error(403, "Account disabled"));
            if (result != AuthResult::ok || !user->subject)
                return respond(json_error(401, "Sign in first"));
            api_as(*user, request, parts, body, respond);
        });
}

void WebApp::api_as(const WebUser& user, const HttpRequest& request,
                    const std::vector<std::string>& parts, const nlohmann::json& body,
                    const Respond& respond) {
    const std::string& method = request.method;
    const auto& who = *user.subject;
    auto refused = [respond](const std::optional<xmpp::MucService::Refusal>& r) {
        respond(json_error(http_status(r->first), r->second));
    };

    if (parts[0] == "session" && parts.size() == 1) {
        if (method == "GET")
            return respond(json_response(200, json{{"user", user.username},
                                                   {"csrf_token", user.csrf},
                                                   {"administrator", who.administrator}}
                                                  .dump()));
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
        for (const auto& c : deps_.muc.categories_for(who))
            out.push_back({{"name", c.name}, {"may_create", c.may_create}});
        return respond(json_response(200, out.dump()));
    }

    if (parts[0] == "rooms" && parts.size() == 1) {
        if (method == "GET") {
            // Default: the rooms I manage or belong to; ?scope=all: every room I may find.
            bool all = query_params(request.query)["scope"] == "all";
            json out = json::array();
            for (const auto& v : deps_.muc.rooms_for(who))
                if (all || v.member) out.push_back(room_json(v, config_.muc_domain));
            return respond(json_response(200, out.dump()));
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
        store::Room r;
        r.node = *node;
        r.name = name->empty() ? *node : *name;
        if (util::utf8_length(r.name) > kMaxRoomName)
            return respond(json_error(400, "name has at most 256 characters"));
        r.description = *description;
        auto p = store::parse_privacy(*privacy);
        auto t = store::parse_room_type(*type);
        if (!p || !t)
            return respond(
                json_error(400, "privacy is open, closed or secret; type is normal or auditorium"));
        r.privacy = *p;
        r.type = *t;
        return deps_.muc.create_room(
            user.subject, r, *category,
            [this, respond, refused, node = *node,
             subject = user.subject](std::optional<xmpp::MucService::Refusal> r) {
                if (r) return refused(r);
                auto v = deps_.muc.room_for(*subject, node);
                respond(json_response(201, room_json(*v, config_.muc_domain).dump()));
            });
    }

    if (parts[0] == "rooms" && parts.size() >= 2) {
        std::string node = parts[1];
        auto view = deps_.muc.room_for(who, node);
        if (!view) return respond(json_error(404, "No such room"));
        bool manages = who.administrator || view->manager;
        if (parts.size() == 2 && method == "GET") {
            json out = room_json(*view, config_.muc_domain);
            if (!manages) return respond(json_response(200, out.dump()));
            // Managers see the lists, read fresh from the store.
            bool queued =
                deps_.workers.submit([out, respond, id = view->meta.id](store::Store& s) mutable {
                    out["members"] = json::array();
                    out["managers"] = json::array();
                    out["presenters"] = json::array();
                    for (const auto& [list, p] : s.room_principals(id))
                        out[list == store::RoomList::member    ? "members"
                            : list == store::RoomList::manager ? "managers"
                                                               : "presenters"]
                            .push_back(store::to_string(p));
                    respond(json_response(200, out.dump()));
                });
            if (!queued) respond(json_error(503, "Server busy, try again"));
            return;
        }
        if (parts.size() == 2 && method == "PATCH") {
            auto form = config_form_of(body);
            if (auto* err = std::get_if<std::string>(&form)) return respond(json_error(400, *err));
            return deps_.muc.configure_room(
                user.subject, node, std::get<xml::Element>(std::move(form)),
                [this, respond, refused, node,
                 subject = user.subject](std::optional<xmpp::MucService::Refusal> r) {
                    if (r) return refused(r);
                    auto v = deps_.muc.room_for(*subject, node);
                    if (!v) return respond(json_response(200, json{{"node", node}}.dump()));
                    respond(json_response(200, room_json(*v, config_.muc_domain).dump()));
                });
        }
        if (parts.size() == 4 && (method == "PUT" || method == "DELETE")) {
            auto list = list_named(parts[2]);
            auto principal = store::parse_principal(parts[3]);
            if (!list)
                return respond(json_error(404, "Lists are members, managers and presenters"));
            if (!principal)
                return respond(
                    json_error(400, "Name a principal as user:NAME, group:NAME or everyone"));
            return deps_.muc.change_room_list(
                user.subject, node, *list, *principal, method == "PUT",
                [respond, refused](std::optional<xmpp::MucService::Refusal> r) {
                    if (r) return refused(r);
                    HttpResponse ok;
                    ok.status = 204;
                    respond(std::move(ok));
                });
        }
        return respond(json_error(405, "Method not allowed"));
    }

    if (parts[0] == "search" && parts.size() == 1) {
        if (method != "GET") return respond(json_error(405, "Method not allowed"));
        return search(who, request, respond);
    }
    respond(json_error(404, "Not found"));
}

void WebApp::search(const chat::Subject& who, const HttpRequest& request, const Respond& respond) {
    auto params = query_params(request.query);
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
    auto rooms = std::make_shared<std::map<int64_t, std::string>>(deps_.muc.searchable_rooms(who));
    for (const auto& [id, jid] : *rooms) q.room_ids.push_back(id);
    if (q.room_ids.empty())
        return respond(json_response(
            200, json{{"results", json::array()}, {"count", 0}, {"truncated", false}}.dump()));
    bool queued = deps_.workers.submit(
        [q, rooms, respond, limit](store::Store& s) {
            try {
                auto page = s.query_archive(q);
                json results = json::array();
                // Newest first.
                for (auto it = page.messages.rbegin(); it != page.messages.rend(); ++it)
                    results.push_back({{"room", rooms->at(it->room_id)},
                                       {"id", it->stanza_id},
                                       {"nick", it->nick},
                                       {"sender", it->sender},
                                       {"time", util::format_timestamp(it->ts_us)},
                                       {"body", it->body}});
                bool truncated = page.count > int64_t(results.size());
                respond(json_response(200, json{{"results", results},
                                                {"count", page.count},
                                                {"count_exact", page.count_exact},
                                                {"truncated", truncated},
                                                {"limit", limit}}
                                               .dump()));
            } catch (const std::exception& e) {
                respond(json_error(400, std::string("Search failed: ") + e.what()));
            }
        },
        store::StoreWorkers::Lane::slow);
    if (!queued) respond(json_error(503, "Server busy, try again"));
}

}  // namespace perch::web
