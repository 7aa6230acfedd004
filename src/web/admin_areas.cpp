// The admin API's areas of the directory (web/admin_api.hpp): users, groups, categories,
// rooms, and the compliance officer's.
#include "web/admin_api.hpp"

#include <spdlog/spdlog.h>

#include "web/admin_api_detail.hpp"
#include "web/json_api.hpp"
#include "xmpp/jid.hpp"

namespace perch::web {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using namespace admin_detail;

void AdminApi::users(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                     const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = caller.by();
    if (parts.size() == 1 && method == "GET") {
        auto params = query_params(request.query);
        if (!params) return respond(json_error(400, "malformed query string"));
        std::string prefix = (*params)["prefix"];
        auto page = page_limit((*params)["limit"]);
        if (!page) return respond(json_error(400, "limit must be between 1 and 10000"));
        size_t limit = *page;
        std::string after = (*params)["after"];
        return on_store(respond, [prefix, limit, after](store::Store& s) {
            json out = json::array();
            bool more = false;
            for (const auto& u : s.list_users()) {
                if (!u.username.starts_with(prefix) || u.username <= after) continue;
                if (out.size() == limit) {
                    more = true;
                    break;
                }
                out.push_back(user_json(u));
            }
            return ok_json({{"users", out}, {"more", more}});
        });
    }
    if (parts.size() == 1 && method == "POST") {
        Fields f(body);
        f.only({"name", "password", "display_name", "email"});
        admin::NewUser u{f.text("name").value_or(""), f.text("password").value_or(""),
                         f.text("display_name").value_or(""), f.text("email").value_or("")};
        if (auto m = f.mistake()) return respond(std::move(*m));
        return on_store(respond, [by, u](store::Store& s) {
            auto made = admin::create_user(s, by, u);
            json out = user_json(made.user);
            if (!made.generated_password.empty()) out["password"] = made.generated_password;
            return ok_json(out, 201);
        });
    }
    if (parts.size() != 2)
        return respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
    const std::string& name = parts[1];
    if (method == "GET")
        return on_store(respond, [name](store::Store& s) {
            auto u = admin::require_user(s, name);
            json out = user_json(u);
            out["groups"] = s.groups_of(u.username);
            return ok_json(out);
        });
    if (method != "PATCH") return respond(not_allowed());
    Fields f(body);
    f.only({"disabled", "administrator", "display_name", "email", "password"});
    auto disabled = f.flag("disabled"), administrator = f.flag("administrator");
    auto display_name = f.text("display_name"), email = f.text("email");
    auto password = f.text("password");
    if (auto m = f.mistake()) return respond(std::move(*m));
    on_store(
        respond,
        [by, name, disabled, administrator, display_name, email, password](store::Store& s) {
            admin::require_user(s, name);
            if (display_name || email) admin::update_profile(s, by, name, display_name, email);
            std::string generated;
            if (password) generated = admin::set_password(s, by, name, *password);
            if (administrator) admin::set_chat_administrator(s, by, name, *administrator);
            if (disabled) admin::set_disabled(s, by, name, *disabled);
            json out = user_json(admin::require_user(s, name));
            if (!generated.empty()) out["password"] = generated;
            return ok_json(out);
        },
        true);
}

void AdminApi::groups(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                      const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = caller.by();
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [](store::Store& s) {
            json out = json::array();
            for (const auto& g : s.list_groups())
                out.push_back({{"name", g.name},
                               {"description", g.description},
                               {"members", s.group_members(g.name)}});
            return ok_json(out);
        });
    if (parts.size() == 1 && method == "POST") {
        Fields f(body);
        f.only({"name", "description"});
        auto name = f.text("name").value_or(""), description = f.text("description").value_or("");
        if (auto m = f.mistake()) return respond(std::move(*m));
        return on_store(respond, [by, name, description](store::Store& s) {
            admin::create_group(s, by, name, description);
            return ok_json({{"name", name}, {"description", description}}, 201);
        });
    }
    if (parts.size() == 4 && parts[2] == "members" && (method == "PUT" || method == "DELETE")) {
        bool join = method == "PUT";
        return on_store(
            respond,
            [by, group = parts[1], user = parts[3], join](store::Store& s) {
                admin::set_group_member(s, by, group, user, join);
                return no_content();
            },
            true);
    }
    respond(unmatched(parts.size()));
}

void AdminApi::categories(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                          const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = caller.by();
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [](store::Store& s) {
            json out = json::array();
            for (const auto& c : s.list_categories()) {
                std::vector<store::Principal> allowed, denied, creators;
                for (const auto& [list, p] : s.category_principals(c.id))
                    (list == store::CategoryList::allowed  ? allowed
                     : list == store::CategoryList::denied ? denied
                                                           : creators)
                        .push_back(p);
                out.push_back({{"name", c.name},
                               {"description", c.description},
                               {"invitations", c.invitations},
                               {"file_upload", c.file_upload},
                               {"chat_history", c.chat_history},
                               {"allowed", principals_json(allowed)},
                               {"denied", principals_json(denied)},
                               {"creators", principals_json(creators)}});
            }
            return ok_json(out);
        });
    if (parts.size() == 1 && method == "POST") {
        Fields f(body);
        f.only({"name", "description", "allowed", "denied", "creators", "invitations",
                "file_upload", "chat_history"});
        admin::NewCategory c{f.text("name").value_or(""),
                             f.text("description").value_or(""),
                             f.texts("allowed"),
                             f.texts("denied"),
                             f.texts("creators"),
                             f.flag("invitations").value_or(true),
                             f.flag("file_upload").value_or(true),
                             f.flag("chat_history").value_or(true)};
        if (auto m = f.mistake()) return respond(std::move(*m));
        return on_store(
            respond,
            [by, c](store::Store& s) {
                admin::create_category(s, by, c);
                return ok_json({{"name", c.name}}, 201);
            },
            true);
    }
    if (parts.size() == 3 && parts[2] == "eligible" && method == "GET") {
        // Who may find and join the category's rooms, and who may create rooms in it.
        return on_store(respond, [category = parts[1]](store::Store& s) {
            auto cat = s.find_category(category);
            if (!cat) throw Refused(Refused::Why::not_found, "no category named " + category);
            auto rules = chat::category_rules(*cat, s.category_principals(cat->id));
            auto everyone = subjects(s);
            return ok_json(
                {{"members",
                  eligible(everyone, kDefaultPage,
                           [&](const chat::Subject& w) { return chat::in_category(w, rules); })},
                 {"creators", eligible(everyone, kDefaultPage, [&](const chat::Subject& w) {
                      return chat::may_create_room(w, rules);
                  })}});
        });
    }
    if (parts.size() == 2 && method == "PATCH") {
        Fields f(body);
        f.only({"description", "invitations", "file_upload", "chat_history"});
        admin::CategoryChange change{f.text("description"), f.flag("invitations"),
                                     f.flag("file_upload"), f.flag("chat_history")};
        if (auto m = f.mistake()) return respond(std::move(*m));
        return on_store(
            respond,
            [by, name = parts[1], change](store::Store& s) {
                admin::change_category(s, by, name, change);
                return no_content();
            },
            true);
    }
    if (parts.size() == 2 && method == "DELETE")
        return on_store(
            respond,
            [by, name = parts[1]](store::Store& s) {
                admin::delete_category(s, by, name);
                return no_content();
            },
            true);
    if (parts.size() == 4 && (method == "PUT" || method == "DELETE")) {
        auto list = category_list(parts[2]);
        if (!list) return respond(json_error(404, "A category's lists: allowed, denied, creators"));
        return on_store(
            respond,
            [by, category = parts[1], list = *list, who = parts[3],
             present = method == "PUT"](store::Store& s) {
                admin::change_category_list(s, by, category, list, who, present);
                return no_content();
            },
            true);
    }
    respond(unmatched(parts.size()));
}

namespace {

// Messages chosen by a filter, removed (or replaced) one after the other as an administrator's
// moderation: each is a room command, so occupants see each retraction as it happens.
struct FilteredRemoval {
    chat::RoomCommands& rooms;
    chat::ModerateCommand proto;
    std::vector<std::string> ids;
    bool more = false;
    size_t next = 0, removed = 0;
    std::function<void(HttpResponse)> respond;
};

void remove_next(const std::shared_ptr<FilteredRemoval>& r) {
    if (r->next == r->ids.size()) {
        spdlog::info("admin API: {} messages of {} {} by {}", r->removed, r->proto.room,
                     r->proto.replacement.empty() ? "removed" : "replaced", r->proto.actor.user());
        return r->respond(ok_json({{"matched", r->ids.size()},
                                   {"removed", r->removed},
                                   {"ids", r->ids},
                                   {"more", r->more}}));
    }
    auto c = r->proto;
    c.stanza_id = r->ids[r->next++];
    r->rooms.moderate(std::move(c), [r](const chat::Result<chat::Ok>& result) {
        if (result) {
            ++r->removed;
        } else if (result.error().fault != chat::Fault::not_found) {  // gone meanwhile: fine
            return r->respond(json_error(503, "stopped after " + std::to_string(r->removed) +
                                                  " messages: " + result.error().text +
                                                  "; send the request again to go on"));
        }
        remove_next(r);
    });
}

}  // namespace

void AdminApi::remove_messages(const chat::Actor& actor, const std::string& node, const Json& body,
                               const Respond& respond) {
    Fields f(body);
    f.only({"keywords", "match", "case_sensitive", "from", "to", "sender", "replace_with", "reason",
            "dry_run"});
    admin::MessageFilter filter;
    filter.keywords = f.text("keywords").value_or("");
    filter.match = f.text("match").value_or("any");
    filter.case_sensitive = f.flag("case_sensitive").value_or(false);
    filter.sender = f.text("sender").value_or("");
    auto from = f.text("from"), to = f.text("to");
    auto replacement = f.text("replace_with").value_or("");
    auto reason = f.text("reason").value_or("");
    bool dry_run = f.flag("dry_run").value_or(false);
    if (auto m = f.mistake()) return respond(std::move(*m));
    for (auto [text, into] : {std::pair{&from, &filter.from_us}, {&to, &filter.to_us}}) {
        if (!*text) continue;
        auto t = util::parse_timestamp(**text);
        if (!t) return respond(json_error(400, "from and to are times like 2026-01-01T00:00:00Z"));
        *into = *t;
    }
    if (!filter.sender.empty()) {
        auto user = xmpp::nodeprep(filter.sender.substr(0, filter.sender.find('@')));
        if (!user || user->empty()) return respond(json_error(400, "sender is a user name"));
        filter.sender = *user;
    }
    auto removal = std::make_shared<FilteredRemoval>(FilteredRemoval{
        deps_.rooms,
        chat::ModerateCommand{
            node, actor, {}, replacement.empty() ? reason : replacement, replacement},
        {},
        false,
        0,
        0,
        respond});
    bool queued = deps_.jobs.submit(
        [removal, filter, node, dry_run](store::Store& s) {
            try {
                auto found = admin::find_messages(s, node, filter, kMaxFilteredRemoval);
                removal->ids = std::move(found.ids);
                removal->more = found.more;
            } catch (const Refused& e) {
                return removal->respond(refused(e));
            } catch (const std::exception& e) {
                spdlog::error("admin API: finding messages of {}: {}", node, e.what());
                return removal->respond(
                    json_error(500, "The database failed; nothing was changed"));
            }
            if (dry_run)
                return removal->respond(ok_json({{"matched", removal->ids.size()},
                                                 {"removed", 0},
                                                 {"ids", removal->ids},
                                                 {"more", removal->more}}));
            remove_next(removal);
        },
        store::StoreWorkers::Lane::slow);
    if (!queued) respond(json_error(503, "The server is busy: try again"));
}

void AdminApi::rooms(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                     const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    // Room changes go to the room service as an administrator's commands, named as such.
    auto subject = std::make_shared<chat::Subject>();
    subject->user = caller.by();
    subject->administrator = true;
    chat::Actor actor{subject, {}, {}};
    auto answer = [respond](auto ok) {
        return [respond, ok = std::move(ok)](auto result) mutable {
            if (!result) return respond(refusal(result.error()));
            ok(result.value());
        };
    };
    if (parts.size() == 1 && method == "GET") {
        auto params = query_params(request.query);
        if (!params) return respond(json_error(400, "malformed query string"));
        std::string category = (*params)["category"];
        return on_store(respond, [category](store::Store& s) {
            std::map<int64_t, std::string> names;
            for (const auto& c : s.list_categories()) names[c.id] = c.name;
            json out = json::array();
            for (const auto& r : s.list_rooms()) {
                if (!category.empty() && names[r.category_id] != category) continue;
                out.push_back({{"node", r.node},
                               {"name", r.name},
                               {"category", names[r.category_id]},
                               {"privacy", store::to_string(r.privacy)},
                               {"type", store::to_string(r.type)},
                               {"disabled", r.disabled},
                               {"messages", r.last_seq}});
            }
            return ok_json(out);
        });
    }
    if (parts.size() == 1 && method == "POST") {
        Fields f(body);
        f.only({"node", "category", "name", "description", "privacy", "type"});
        store::Room r;
        r.node = f.text("node").value_or("");
        r.name = f.text("name").value_or("");
        r.description = f.text("description").value_or("");
        auto privacy = f.text("privacy").value_or("open"), type = f.text("type").value_or("normal");
        auto category = f.text("category");
        if (auto m = f.mistake()) return respond(std::move(*m));
        auto node = xmpp::nodeprep(r.node);
        if (!node || node->empty())
            return respond(json_error(400, "node must be a valid room address (its localpart)"));
        r.node = *node;
        if (!category) return respond(json_error(400, "category is required"));
        auto p = store::parse_privacy(privacy);
        auto t = store::parse_room_type(type);
        if (!p) return respond(json_error(400, "privacy is open, closed or secret"));
        if (!t) return respond(json_error(400, "type is normal or auditorium"));
        r.privacy = *p;
        r.type = *t;
        chat::CreateCommand c{actor, r, *category};
        c.creator_manages = false;
        return deps_.rooms.create(std::move(c), answer([respond, node = r.node](const chat::Ok&) {
                                      respond(ok_json({{"node", node}}, 201));
                                  }));
    }
    if (parts.size() < 2) return respond(not_allowed());
    const std::string& node = parts[1];
    if (parts.size() == 2 && method == "GET")
        return deps_.rooms.info(
            node, actor, answer([this, respond](const chat::RoomInfo& i) {
                const auto& m = i.meta;
                respond(ok_json({{"node", m.node},
                                 {"address", m.node + "@" + config_.muc_domain},
                                 {"name", m.name},
                                 {"description", m.description},
                                 {"category", i.category},
                                 {"addin", m.addin},
                                 {"addin_url", i.addin_url},
                                 {"privacy", store::to_string(m.privacy)},
                                 {"type", store::to_string(m.type)},
                                 {"invitations", m.invitations},
                                 {"occupants_change_subject", m.occupants_change_subject},
                                 {"disabled", m.disabled},
                                 {"subject", m.subject},
                                 {"messages", m.last_seq},
                                 {"occupants", i.occupants},
                                 {"members", principals_json(i.rules.members)},
                                 {"managers", principals_json(i.rules.managers)},
                                 {"presenters", principals_json(i.rules.presenters)},
                                 {"denied", principals_json(i.rules.denied)}}));
            }));
    if (parts.size() == 3 && parts[2] == "eligible" && method == "GET") {
        // Who may join the room, post in it and manage it, by its rules and its category's.
        return on_store(respond, [node](store::Store& s) {
            auto room = s.find_room(node);
            if (!room) throw Refused(Refused::Why::not_found, "no room " + node);
            std::optional<store::Category> cat;
            for (auto& c : s.list_categories())
                if (c.id == room->category_id) cat = c;
            if (!cat) throw Refused(Refused::Why::not_found, "the room's category is gone");
            auto category = chat::category_rules(*cat, s.category_principals(cat->id));
            auto rules = chat::room_rules(*room, s.room_principals(room->id));
            auto everyone = subjects(s);
            json out;
            for (const auto& asked : {std::pair{"join", chat::Action::join},
                                      {"post", chat::Action::post},
                                      {"configure", chat::Action::configure}}) {
                chat::Action action = asked.second;
                out[asked.first] = eligible(everyone, kDefaultPage, [&](const chat::Subject& w) {
                    return chat::may(w, category, rules, action);
                });
            }
            return ok_json(out);
        });
    }
    if (parts.size() == 2 && method == "PATCH") {
        auto change = settings_of(body);
        if (auto* err = std::get_if<std::string>(&change)) return respond(json_error(400, *err));
        return deps_.rooms.configure(
            chat::ConfigureCommand{node, actor, std::get<chat::SettingsChange>(std::move(change))},
            answer([respond, node](const chat::Ok&) {
                respond(ok_json({{"node", node}}));
            }));
    }
    if (parts.size() == 2 && method == "DELETE") {
        Fields f(body);
        f.only({"reason"});
        auto reason = f.text("reason").value_or("Deleted by an administrator");
        if (auto m = f.mistake()) return respond(std::move(*m));
        return deps_.rooms.destroy(chat::DestroyCommand{node, actor, reason},
                                   answer([respond](const chat::Ok&) { respond(no_content()); }));
    }
    if (parts.size() == 3 && parts[2] == "clear" && method == "POST") {
        Fields f(body);
        f.only({"before"});
        auto before = f.text("before");
        if (auto m = f.mistake()) return respond(std::move(*m));
        auto t = before ? util::parse_timestamp(*before) : std::nullopt;
        if (!t) return respond(json_error(400, "before must be a time like 2026-01-01T00:00:00Z"));
        return deps_.rooms.clear_history(chat::ClearHistoryCommand{node, actor, *t},
                                         answer([respond](int64_t n) {
                                             respond(ok_json({{"deleted", n}}));
                                         }));
    }
    if (parts.size() == 4 && parts[2] == "messages" && parts[3] == "remove" && method == "POST")
        return remove_messages(actor, node, body, respond);
    if (parts.size() == 4 && parts[2] == "messages" && method == "DELETE") {
        Fields f(body);
        f.only({"reason"});
        auto reason = f.text("reason").value_or("");
        if (auto m = f.mistake()) return respond(std::move(*m));
        return deps_.rooms.moderate(chat::ModerateCommand{node, actor, parts[3], reason, {}},
                                    answer([respond](const chat::Ok&) { respond(no_content()); }));
    }
    if (parts.size() == 4 && (method == "PUT" || method == "DELETE")) {
        auto list = room_list(parts[2]);
        if (!list)
            return respond(
                json_error(404, "A room's lists: members, managers, presenters, denied"));
        store::Principal who;
        try {
            who = admin::principal(parts[3]);
        } catch (const Refused& e) {
            return respond(refused(e));
        }
        return deps_.rooms.change_lists(
            chat::ListsCommand{node, actor, {chat::ListChange{*list, who, method == "PUT", {}}}},
            answer([respond](const chat::Ok&) { respond(no_content()); }));
    }
    respond(unmatched(parts.size()));
}

void AdminApi::compliance(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                          const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    if (!deps_.compliance) {
        if (parts.size() == 1 && method == "GET") return respond(ok_json({{"enabled", false}}));
        return respond(json_error(409, "Compliance is off on this server (compliance.enabled)"));
    }
    const ComplianceAdmin& c = *deps_.compliance;
    if (parts.size() == 1) {
        if (method != "GET") return respond(not_allowed());
        return on_store(respond, [&c](store::Store& s) { return ok_json(c.status(s)); });
    }
    if (parts.size() == 2 && parts[1] == "settings") {
        // The compliance service's options for every server: {"NAME": value or null}.
        if (method != "PATCH") return respond(not_allowed());
        std::map<std::string, std::optional<std::string>> values;
        for (const auto& item : body.items()) {
            const auto& v = item.value();
            if (v.is_boolean())
                values[item.key()] = v.get<bool>() ? "true" : "false";
            else if (v.is_number_integer())
                values[item.key()] = std::to_string(v.get<int64_t>());
            else if (v.is_null())
                values[item.key()] = std::nullopt;
            else
                return respond(
                    json_error(400, item.key() + " must be a number, true, false or null"));
        }
        return on_store(
            respond,
            [by = caller.by(), values](store::Store& s) {
                admin::set_compliance_options(s, by, values);
                return no_content();
            },
            true);
    }
    if (parts.size() == 2 && parts[1] == "verify") {
        if (method != "POST") return respond(not_allowed());
        Fields f(body);
        f.only({"checkpoints"});
        auto checkpoints = f.texts("checkpoints");
        if (auto m = f.mistake()) return respond(std::move(*m));
        return on_store(
            respond, [&c, checkpoints](store::Store&) { return ok_json(c.verify(checkpoints)); });
    }
    if (parts.size() == 2 && parts[1] == "export") {
        if (method != "POST") return respond(not_allowed());
        Fields f(body);
        f.only({"format", "from", "to", "room", "user"});
        ComplianceAdmin::Selection sel;
        sel.format = f.text("format").value_or("xml");
        auto from = f.text("from"), to = f.text("to");
        sel.room = f.text("room").value_or("");
        sel.user = f.text("user").value_or("");
        if (auto m = f.mistake()) return respond(std::move(*m));
        if (sel.format != "xml" && sel.format != "jsonl")
            return respond(json_error(400, "format is xml or jsonl"));
        for (auto [text, target] : {std::pair{&from, &sel.from_us}, {&to, &sel.to_us}}) {
            if (!*text) continue;
            auto t = util::parse_timestamp(**text);
            if (!t)
                return respond(json_error(400, "not a time like 2026-01-31T00:00:00Z: " + **text));
            *target = *t;
        }
        return on_store(respond, [&c, sel](store::Store&) {
            auto done = c.export_events(sel);
            HttpResponse r;
            r.file = done.file;
            r.remove_file = true;
            r.set("Content-Type", sel.format == "xml" ? "application/xml" : "application/x-ndjson");
            r.set("Content-Disposition",
                  std::string("attachment; filename=\"compliance.") + sel.format + "\"");
            r.set("X-Perch-Events", std::to_string(done.events));
            if (!done.checkpoint.empty()) r.set("X-Perch-Checkpoint", done.checkpoint);
            return r;
        });
    }
    respond(json_error(404, "Not found: compliance, compliance/verify, compliance/export"));
}

// Settings and add-ins --------------------------------------------------------------------------

void AdminApi::settings(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                        const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [this](store::Store& s) {
            auto stored = s.stored_settings();
            auto file = config_.file_settings ? config_.file_settings() : chat::Settings{};
            auto now = chat::with_stored(file, stored);
            json out = json::array();
            for (const auto& info : chat::setting_infos()) {
                json item{{"name", info.name},
                          {"value", chat::setting_text(now, info.name)},
                          {"file_value", chat::setting_text(file, info.name)},
                          {"set_here", stored.count(info.name) > 0},
                          {"description", info.description}};
                if (info.number) {
                    item["min"] = info.min;
                    item["max"] = info.max;
                }
                out.push_back(std::move(item));
            }
            return ok_json(out);
        });
    if (parts.size() != 2 || (method != "PUT" && method != "DELETE"))
        return respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
    std::optional<std::string> value;
    if (method == "PUT") {
        // Numbers as numbers or text; the URL as text.
        auto it = body.find("value");
        if (it == body.end() || body.size() != 1 || !(it->is_string() || it->is_number_integer()))
            return respond(json_error(400,
                                      "send {\"value\": V}; DELETE returns a setting to "
                                      "the configuration file's value"));
        value = it->is_string() ? it->get<std::string>() : std::to_string(it->get<int64_t>());
    }
    on_store(
        respond,
        [by = caller.by(), name = parts[1], value](store::Store& s) {
            admin::set_setting(s, by, name, value);
            return no_content();
        },
        true);
}

void AdminApi::addins(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                      const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [](store::Store& s) {
            std::map<std::string, std::vector<std::string>> shown_by;
            for (const auto& r : s.list_rooms())
                if (!r.addin.empty()) shown_by[r.addin].push_back(r.node);
            json out = json::array();
            for (const auto& a : s.list_addins())
                out.push_back({{"name", a.name},
                               {"url", a.url},
                               {"rooms", shown_by[a.name]},
                               {"created", util::format_timestamp(a.created_us)}});
            return ok_json(out);
        });
    if (parts.size() != 2)
        return respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
    if (method == "PUT") {
        Fields f(body);
        f.only({"url"});
        auto url = f.text("url");
        if (auto bad = f.mistake()) return respond(std::move(*bad));
        if (!url) return respond(json_error(400, "send {\"url\": \"https://…\"}"));
        return on_store(
            respond,
            [by = caller.by(), name = parts[1], url = *url](store::Store& s) {
                admin::put_addin(s, by, name, url);
                return no_content();
            },
            true);
    }
    if (method == "DELETE")
        return on_store(
            respond,
            [by = caller.by(), name = parts[1]](store::Store& s) {
                admin::remove_addin(s, by, name);
                return no_content();
            },
            true);
    respond(not_allowed());
}

}  // namespace perch::web
