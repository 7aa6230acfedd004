// The admin API under /admin/v1 (docs/ADMIN_API.md). Every change names its maker in the
// compliance record: "admin:NAME".
#include "web/admin_api.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "admin/operations.hpp"
#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "util/time.hpp"
#include "web/app.hpp"
#include "web/json_api.hpp"
#include "xmpp/jid.hpp"

namespace perch::web {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using Refused = admin::Refused;

namespace {

constexpr size_t kDefaultPage = 500;
// The console's pages: its own scripts and styles, the API, nothing else.
constexpr const char* kConsolePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

HttpResponse ok_json(const json& body, unsigned status = 200) {
    return json_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse no_content() {
    HttpResponse r;
    r.status = 204;
    return r;
}

HttpResponse refused(const Refused& e) {
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

HttpResponse not_allowed() {
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

json user_json(const store::User& u) {
    return json{{"name", u.username},
                {"display_name", u.display_name},
                {"email", u.email},
                {"disabled", u.disabled},
                {"administrator", u.administrator},
                {"created", util::format_timestamp(u.created_us)}};
}

json account_json(const store::AdminAccount& a) {
    return json{{"name", a.name},
                {"role", store::to_string(a.role)},
                {"disabled", a.disabled},
                {"created", util::format_timestamp(a.created_us)}};
}

json principals_json(const std::vector<store::Principal>& list) {
    json out = json::array();
    for (const auto& p : list) out.push_back(store::to_string(p));
    return out;
}

// The lists of a category and a room as the URLs name them.
std::optional<std::string> category_list(const std::string& plural) {
    if (plural == "allowed") return "allowed";
    if (plural == "denied") return "denied";
    if (plural == "creators") return "creator";
    return std::nullopt;
}

std::optional<store::RoomList> room_list(const std::string& plural) {
    if (plural == "members") return store::RoomList::member;
    if (plural == "managers") return store::RoomList::manager;
    if (plural == "presenters") return store::RoomList::presenter;
    if (plural == "denied") return store::RoomList::denied;
    return std::nullopt;
}

// What each role may do: read-only accounts read everything but compliance, and run the
// synthetic test; compliance officers only compliance (and who they are); administrators
// everything.
bool permitted(store::AdminRole role, const std::string& method, const std::string& area) {
    if (area == "whoami" || area == "health" || area == "session") return true;
    if (role == store::AdminRole::administrator) return true;
    // Monitoring runs the synthetic test with a read-only account: it changes nothing but the
    // test's own users' passwords.
    if (area == "test-message") return role == store::AdminRole::read_only;
    if (area == "compliance") return role == store::AdminRole::compliance_officer;
    return role == store::AdminRole::read_only && (method == "GET" || method == "HEAD");
}

// Every user as the rules see them (their groups, the administrator flag), in name order.
std::vector<chat::Subject> subjects(store::Store& s) {
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

// The names of the users for whom `test` holds, at most `limit` ("more" says if there are).
json eligible(const std::vector<chat::Subject>& everyone, size_t limit,
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

std::string bearer_token() {
    return util::base64_encode(util::random_bytes(24));
}

}  // namespace

AdminApi::AdminApi(AdminConfig config, AdminDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)), guard_(config_.guard) {}

net::BodyPlan AdminApi::plan_body(const HttpRequest& head) {
    net::BodyPlan plan;
    plan.limit = uint64_t{64} * 1024;
    if (!head.path.starts_with("/admin/v1/") && head.method != "GET" && head.method != "HEAD")
        plan.refuse = json_error(404, "Not found: the admin API is under /admin/v1/");
    return plan;
}

void AdminApi::count(unsigned status) {
    size_t cls = std::min<size_t>(status / 100, responses_.size() - 1);
    responses_[cls].fetch_add(1, std::memory_order_relaxed);
}

void AdminApi::handle(HttpRequest request, std::function<void(HttpResponse)> respond) {
    // The console: its pages under /admin/, the shared style and icon under /static/.
    if ((request.method == "GET" || request.method == "HEAD") &&
        !request.path.starts_with("/admin/v1/")) {
        const std::string& path = request.path;
        if (path == "/" || path == "/admin") {
            HttpResponse r;
            r.status = 302;
            r.set("Location", "/admin/");
            return respond(std::move(r));
        }
        if (path.starts_with("/admin/") || path.starts_with("/static/"))
            return respond(
                static_file(config_.www_dir, path.substr(1), "no-cache", kConsolePolicy));
        return respond(json_error(404, "Not found: the console is at /admin/"));
    }
    auto parts = path_parts(request.path);  // "admin", "v1", area, …
    if (parts.size() < 3 || parts[0] != "admin" || parts[1] != "v1")
        return respond(json_error(404, "Not found: the admin API is under /admin/v1/"));
    parts.erase(parts.begin(), parts.begin() + 2);
    const std::string& method = request.method;
    json body = json::object();
    if (method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE") {
        auto parsed = json_body(request, method != "POST" && method != "PATCH");
        if (auto* refusal = std::get_if<HttpResponse>(&parsed)) return respond(std::move(*refusal));
        body = std::move(std::get<json>(parsed));
    }
    if (parts[0] == "session" && parts.size() == 1 && method == "POST")
        return sign_in(request, respond);
    authenticate(request, [this, request, respond, parts, body](std::optional<AdminCaller> caller,
                                                                HttpResponse refusal) {
        if (!caller) return respond(std::move(refusal));
        if (!permitted(caller->role, request.method, parts[0]))
            return respond(json_error(
                403,
                "The role " + std::string(store::to_string(caller->role)) + " may not do this"));
        dispatch(*caller, request, parts, body, respond);
    });
}

// Authentication ------------------------------------------------------------------------------

void AdminApi::authenticate(
    const HttpRequest& request,
    const std::function<void(std::optional<AdminCaller>, HttpResponse)>& done) {
    const std::string* authorization = request.header("authorization");
    auto unauthorized = [](const std::string& text) {
        auto r = json_error(401, text);
        // Never a Basic challenge: a browser would then keep and replay the credentials on
        // its own, for other sites' requests too.
        r.set("WWW-Authenticate", "Bearer realm=\"perch admin\"");
        return r;
    };
    if (!authorization)
        return done(std::nullopt,
                    unauthorized("Sign in: HTTP Basic with an admin account, or a bearer token "
                                 "from POST /admin/v1/session"));
    std::string name, password;
    bool bearer = authorization->starts_with("Bearer ");
    if (bearer) {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(authorization->substr(7));
        if (it == sessions_.end() || it->second.expires < std::chrono::steady_clock::now()) {
            if (it != sessions_.end()) sessions_.erase(it);
            return done(std::nullopt, unauthorized("Signed out: sign in again"));
        }
        name = it->second.name;
    } else if (authorization->starts_with("Basic ")) {
        auto decoded = util::base64_decode(authorization->substr(6));
        size_t colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos)
            return done(std::nullopt, unauthorized("Malformed Basic credentials"));
        name = decoded->substr(0, colon);
        password = decoded->substr(colon + 1);
    } else {
        return done(std::nullopt, unauthorized("Use Basic or Bearer authorization"));
    }
    xmpp::LoginGuard::Ticket ticket;
    if (!bearer) {
        auto admission = guard_.admit(name, request.peer, xmpp::LoginChannel::admin);
        if (!admission.allowed) return done(std::nullopt, too_many_attempts(admission.retry_after));
        ticket = admission.ticket;
    }
    bool queued = deps_.jobs.submit([this, done, name, password, bearer, ticket,
                                     peer = request.peer, unauthorized](store::Store& s) {
        std::optional<store::AdminAccount> account;
        try {
            account = s.find_admin(name);
        } catch (const std::exception& e) {
            spdlog::error("admin API: reading account {} failed: {}", name, e.what());
            return done(std::nullopt, json_error(500, "The database cannot be read"));
        }
        if (bearer) {
            // Each request sees the account as it is now: removed or disabled, it is out.
            if (!account || account->disabled)
                return done(std::nullopt, unauthorized("Signed out: the account was disabled"));
            return done(AdminCaller{account->name, account->role}, {});
        }
        // A PBKDF2 run: here on a store thread, never on an I/O thread. An unknown name costs
        // the same run, so that the answer's time does not tell which accounts exist.
        if (!account) admin::admin_password_matches(admin::unknown_admin(), password);
        if (!account || !admin::admin_password_matches(*account, password)) {
            guard_.failed(name, peer, xmpp::LoginChannel::admin);
            return done(std::nullopt, unauthorized("Wrong admin account name or password"));
        }
        guard_.succeeded(name, peer, ticket);
        if (account->disabled)
            return done(std::nullopt, json_error(403, "This admin account is disabled"));
        done(AdminCaller{account->name, account->role}, {});
    });
    if (!queued) done(std::nullopt, json_error(503, "The server is busy: try again"));
}

void AdminApi::sign_in(const HttpRequest& request, const Respond& respond) {
    // The same check as Basic authentication, with the credentials in the body.
    auto parsed = json_body(request, false);
    if (auto* refusal = std::get_if<HttpResponse>(&parsed)) return respond(std::move(*refusal));
    Fields f(std::get<json>(parsed));
    f.only({"name", "password"});
    auto name = f.text("name"), password = f.text("password");
    if (auto m = f.mistake()) return respond(std::move(*m));
    if (!name || !password) return respond(json_error(400, "name and password are required"));
    HttpRequest basic = request;
    basic.headers["authorization"] = "Basic " + util::base64_encode(*name + ":" + *password);
    authenticate(basic, [this, respond](std::optional<AdminCaller> caller, HttpResponse refusal) {
        if (!caller) return respond(std::move(refusal));
        std::string token = bearer_token();
        {
            std::lock_guard lock(mutex_);
            auto now = std::chrono::steady_clock::now();
            std::erase_if(sessions_, [&](const auto& s) { return s.second.expires < now; });
            sessions_[token] = {caller->name, now + config_.session_lifetime};
        }
        spdlog::info("admin API: {} signed in", caller->name);
        respond(ok_json({{"token", token},
                         {"name", caller->name},
                         {"role", store::to_string(caller->role)},
                         {"expires_in_s", config_.session_lifetime.count()}}));
    });
}

// Requests ------------------------------------------------------------------------------------

void AdminApi::on_store(const Respond& respond, std::function<HttpResponse(store::Store&)> work,
                        bool changes) {
    bool queued = deps_.jobs.submit(
        [this, respond, work = std::move(work), changes](store::Store& s) {
            try {
                auto answer = work(s);
                if (changes && answer.status < 300 && deps_.changed) deps_.changed();
                respond(std::move(answer));
            } catch (const Refused& e) {
                respond(refused(e));
            } catch (const store::Conflict& e) {
                respond(json_error(409, e.what()));
            } catch (const std::exception& e) {
                spdlog::error("admin API: {}", e.what());
                respond(json_error(500, "The database failed; nothing was changed"));
            }
        },
        store::StoreWorkers::Lane::slow);
    if (!queued) respond(json_error(503, "The server is busy: try again"));
}

void AdminApi::dispatch(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                        const Json& body, const Respond& respond) {
    const std::string& area = parts[0];
    const std::string& method = request.method;
    if (area == "whoami" && parts.size() == 1) {
        if (method != "GET") return respond(not_allowed());
        return respond(ok_json({{"name", caller.name}, {"role", store::to_string(caller.role)}}));
    }
    if (area == "session" && parts.size() == 1) {
        if (method != "DELETE") return respond(not_allowed());
        if (const std::string* a = request.header("authorization");
            a && a->starts_with("Bearer ")) {
            std::lock_guard lock(mutex_);
            sessions_.erase(a->substr(7));
        }
        return respond(no_content());
    }
    if (area == "health" && parts.size() == 1) {
        if (method != "GET") return respond(not_allowed());
        json out = deps_.status ? deps_.status() : json::object();
        out["version"] = config_.version;
        out["domain"] = config_.domain;
        out["admin_failed_logins"] = failed_logins();
        return respond(ok_json(out));
    }
    if (area == "users") return users(caller, request, parts, body, respond);
    if (area == "groups") return groups(caller, request, parts, body, respond);
    if (area == "categories") return categories(caller, request, parts, body, respond);
    if (area == "rooms") return rooms(caller, request, parts, body, respond);
    if (area == "policy") return policy(caller, request, parts, body, respond);
    if (area == "sessions") return sessions(request, parts, respond);
    if (area == "accounts") return accounts(caller, request, parts, body, respond);
    if (area == "compliance") return compliance(request, parts, body, respond);
    if (area == "test-message" && parts.size() == 1) {
        // The synthetic transaction's users and room, with fresh passwords for the caller
        // (`perch admin test-message`), who then signs them in over XMPP.
        if (method != "POST") return respond(not_allowed());
        return on_store(
            respond,
            [this, by = "admin:" + caller.name](store::Store& s) {
                auto fixture = admin::prepare_test(s, by);
                json users = json::array();
                for (const auto& [name, password] : fixture.users)
                    users.push_back({{"name", name}, {"password", password}});
                return ok_json({{"domain", config_.domain},
                                {"room", fixture.room + "@" + config_.muc_domain},
                                {"users", users}});
            },
            true);
    }
    respond(json_error(404, "Not found: no " + area + " in the admin API"));
}

void AdminApi::users(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                     const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = "admin:" + caller.name;
    if (parts.size() == 1 && method == "GET") {
        auto params = query_params(request.query);
        if (!params) return respond(json_error(400, "malformed query string"));
        std::string prefix = (*params)["prefix"];
        size_t limit = kDefaultPage;
        if (auto l = (*params)["limit"]; !l.empty()) {
            limit = size_t(std::strtoull(l.c_str(), nullptr, 10));
            if (limit == 0 || limit > 10'000)
                return respond(json_error(400, "limit must be between 1 and 10000"));
        }
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
    std::string by = "admin:" + caller.name;
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
    respond(parts.size() <= 2 ? not_allowed() : json_error(404, "Not found"));
}

void AdminApi::categories(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                          const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = "admin:" + caller.name;
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
    respond(parts.size() <= 2 ? not_allowed() : json_error(404, "Not found"));
}

void AdminApi::rooms(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                     const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    // Room changes go to the room service as an administrator's commands, named as such.
    auto subject = std::make_shared<chat::Subject>();
    subject->user = "admin:" + caller.name;
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
    if (parts.size() == 4 && parts[2] == "messages" && method == "DELETE") {
        Fields f(body);
        f.only({"reason"});
        auto reason = f.text("reason").value_or("");
        if (auto m = f.mistake()) return respond(std::move(*m));
        return deps_.rooms.moderate(chat::ModerateCommand{node, actor, parts[3], reason},
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
    respond(parts.size() <= 2 ? not_allowed() : json_error(404, "Not found"));
}

void AdminApi::policy(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                      const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [](store::Store& s) {
            json out = json::array();
            for (const auto& p : s.list_policies())
                out.push_back({{"scope", p.scope == "global" ? "global" : p.scope + ":" + p.name},
                               {"chat", p.enabled}});
            return ok_json(out);
        });
    if (parts.size() != 2 || method != "PUT")
        return respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
    auto it = body.find("chat");
    if (it == body.end() || !(it->is_boolean() || it->is_null()) || body.size() != 1)
        return respond(json_error(400, "send {\"chat\": true, false or null (unset)}"));
    std::optional<bool> enabled;
    if (it->is_boolean()) enabled = it->get<bool>();
    on_store(respond, [by = "admin:" + caller.name, scope = parts[1], enabled](store::Store& s) {
        admin::set_policy(s, by, scope, enabled);
        return no_content();
    });
}

void AdminApi::sessions(const HttpRequest& request, const Parts& parts, const Respond& respond) {
    const std::string& method = request.method;
    if (parts.size() == 1 && method == "GET") {
        json out = json::array();
        for (const auto& s : deps_.router.all())
            out.push_back({{"jid", s->address()}, {"connected", s->connected()}});
        return respond(ok_json(out));
    }
    if (parts.size() == 2 && method == "DELETE") {
        auto node = xmpp::nodeprep(parts[1]);
        if (!node || node->empty()) return respond(json_error(400, "not a user name"));
        auto sessions = deps_.router.resources(xmpp::Jid::make(*node, config_.domain));
        for (auto& s : sessions)
            s->terminate("policy-violation", "Disconnected by an administrator");
        spdlog::info("admin API: {} sessions of {} disconnected", sessions.size(), *node);
        return respond(ok_json({{"disconnected", sessions.size()}}));
    }
    respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
}

void AdminApi::compliance(const HttpRequest& request, const Parts& parts, const Json& body,
                          const Respond& respond) {
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

void AdminApi::accounts(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                        const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = "admin:" + caller.name;
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [](store::Store& s) {
            json out = json::array();
            for (const auto& a : s.list_admins()) out.push_back(account_json(a));
            return ok_json(out);
        });
    if (parts.size() == 1 && method == "POST") {
        Fields f(body);
        f.only({"name", "role", "password"});
        auto name = f.text("name").value_or(""), role = f.text("role").value_or("");
        auto password = f.text("password").value_or("");
        if (auto m = f.mistake()) return respond(std::move(*m));
        return on_store(respond, [by, name, role, password](store::Store& s) {
            auto generated = admin::add_admin(s, by, name, role, password);
            json out = account_json(*s.find_admin(name));
            if (!generated.empty()) out["password"] = generated;
            return ok_json(out, 201);
        });
    }
    if (parts.size() != 2)
        return respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
    const std::string& name = parts[1];
    if (method == "DELETE")
        return on_store(respond, [by, name](store::Store& s) {
            admin::remove_admin(s, by, name);
            return no_content();
        });
    if (method != "PATCH") return respond(not_allowed());
    Fields f(body);
    f.only({"role", "disabled", "password"});
    auto role = f.text("role");
    auto disabled = f.flag("disabled");
    auto password = f.text("password");
    if (auto m = f.mistake()) return respond(std::move(*m));
    on_store(respond, [by, name, role, disabled, password](store::Store& s) {
        std::string generated;
        if (role) admin::set_admin_role(s, by, name, *role);
        if (disabled) admin::set_admin_disabled(s, by, name, *disabled);
        if (password) generated = admin::set_admin_password(s, by, name, *password);
        auto a = s.find_admin(name);
        if (!a) throw Refused(Refused::Why::not_found, "no admin account named " + name);
        json out = account_json(*a);
        if (!generated.empty()) out["password"] = generated;
        return ok_json(out);
    });
}

}  // namespace perch::web
