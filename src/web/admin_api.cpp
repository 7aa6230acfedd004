// The admin API under /admin/v1 (docs/ADMIN_API.md). Every change names its maker in the
// compliance record: "admin:NAME".
#include "web/admin_api.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <set>

#include "admin/operations.hpp"
#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "web/admin_api_detail.hpp"
#include "web/app.hpp"
#include "web/json_api.hpp"
#include "xmpp/jid.hpp"

namespace perch::web {

namespace fs = std::filesystem;
using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using Refused = admin::Refused;
using namespace admin_detail;

namespace {

// The console's pages: its own scripts and styles, the API, nothing else.
constexpr const char* kConsolePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

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
    // The data export holds every user's credentials: administrators only.
    if (area == "data") return false;
    return role == store::AdminRole::read_only && (method == "GET" || method == "HEAD");
}

std::string bearer_token() {
    return util::base64_encode(util::random_bytes(24));
}

}  // namespace

AdminApi::AdminApi(AdminConfig config, AdminDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)), guard_(config_.guard) {}

net::BodyPlan AdminApi::plan_body(const HttpRequest& head) {
    if (head.method == "POST" && head.path == "/admin/v1/data/import") return plan_import(head);
    net::BodyPlan plan;
    plan.limit = uint64_t{64} * 1024;
    if (!head.path.starts_with("/admin/v1/") && head.method != "GET" && head.method != "HEAD")
        plan.refuse = json_error(404, "Not found: the admin API is under /admin/v1/");
    return plan;
}

net::BodyPlan AdminApi::plan_import(const HttpRequest& head) {
    net::BodyPlan plan;
    if (!deps_.import_data || config_.upload_dir.empty()) {
        plan.refuse = json_error(404, "No data import here");
        return plan;
    }
    // Gigabytes are not read from just anybody: the token is looked at before the body.
    const std::string* authorization = head.header("authorization");
    std::optional<Session> session;
    if (authorization && authorization->starts_with("Bearer ")) {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(authorization->substr(7));
        if (it != sessions_.end() && it->second.expires > std::chrono::steady_clock::now())
            session = it->second;
    }
    if (!session) {
        plan.refuse = json_error(401,
                                 "A data import is sent with a bearer token of an administrator: "
                                 "POST /admin/v1/session first");
        plan.refuse->set("WWW-Authenticate", "Bearer realm=\"perch admin\"");
        return plan;
    }
    if (session->role != store::AdminRole::administrator) {
        plan.refuse = json_error(403, "Only administrators import data");
        return plan;
    }
    if (importing_.load()) {
        plan.refuse = json_error(409, "A data import is under way: wait for its answer");
        return plan;
    }
    std::error_code ec;
    fs::create_directories(config_.upload_dir, ec);
    auto space = fs::space(config_.upload_dir, ec);
    // The archive, its unpacked copy and the database's growth: a third of the free space each.
    plan.limit = ec ? 0 : space.available / 3;
    auto declared = head.content_length();
    if (declared && *declared > plan.limit) {
        plan.refuse = json_error(507, "The archive is " + std::to_string(*declared) +
                                          " bytes; the server's disk has room for " +
                                          std::to_string(plan.limit) +
                                          " (the archive, its unpacked copy and the database)");
        return plan;
    }
    plan.to_file = (fs::path(config_.upload_dir) / ("upload-" + util::random_id() + ".tar"));
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
    // An uploaded archive is removed once answered, whatever the answer.
    std::shared_ptr<void> upload;
    if (!request.body_file.empty())
        upload.reset(static_cast<void*>(nullptr), [file = request.body_file](void*) {
            std::error_code ignored;
            fs::remove(file, ignored);
        });
    bool raw_body = parts.size() == 2 && parts[0] == "data" && parts[1] == "import";
    if (!raw_body &&
        (method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE")) {
        auto parsed = json_body(request, method != "POST" && method != "PATCH");
        if (auto* refusal = std::get_if<HttpResponse>(&parsed)) return respond(std::move(*refusal));
        body = std::move(std::get<json>(parsed));
    }
    if (parts[0] == "session" && parts.size() == 1 && method == "POST")
        return sign_in(request, respond);
    authenticate(request, [this, request, respond, parts, body, upload](
                              std::optional<AdminCaller> caller, HttpResponse refusal) {
        if (!caller) return respond(std::move(refusal));
        if (!permitted(caller->role, request.method, parts[0]))
            return respond(json_error(
                403,
                "The role " + std::string(store::to_string(caller->role)) + " may not do this"));
        // The upload lives until the answer is sent.
        dispatch(*caller, request, parts, body,
                 [respond, upload](HttpResponse r) { respond(std::move(r)); });
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
    bool queued = deps_.jobs.submit(
        [this, done, name, password, bearer, ticket, peer = request.peer,
         unauthorized](store::Store& s) {
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
        },
        // A key derivation per Basic request: never in the way of the clients' quick lane.
        store::StoreJobs::Lane::slow);
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
            sessions_[token] = {caller->name, caller->role, now + config_.session_lifetime};
        }
        spdlog::info("admin API: {} signed in", caller->name);
        respond(ok_json({{"token", token},
                         {"name", caller->name},
                         {"role", store::to_string(caller->role)},
                         {"expires_in_s", config_.session_lifetime.count()}}));
    });
}

// Requests ------------------------------------------------------------------------------------

void AdminApi::data(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                    const Respond& respond) {
    if (parts.size() != 2 || (parts[1] != "export" && parts[1] != "import"))
        return respond(json_error(404, "Not found: data/export, data/import"));
    if (request.method != "POST") return respond(not_allowed());
    if (parts[1] == "export") {
        // Everything in the content database and the file store, as `perch data export`
        // writes it, packed as a tar archive, made for this answer and gone once sent.
        if (!deps_.export_data) return respond(json_error(404, "No data export here"));
        return on_store(respond, [this, by = caller.by()](store::Store& s) {
            auto done = deps_.export_data(s);
            spdlog::info("admin API: data exported by {} ({} bytes)", by, done.bytes);
            HttpResponse r;
            r.file = done.file;
            r.remove_file = true;
            r.set("Content-Type", "application/x-tar");
            r.set("Content-Disposition", "attachment; filename=\"perch-export.tar\"");
            r.set("X-Perch-Counts", done.counts);
            return r;
        });
    }
    // An export's archive into this server's empty database; every server of a pool reloads
    // its rooms, categories, settings and add-ins on the notice.
    if (request.body_file.empty())
        return respond(json_error(400, "Send the archive (perch admin data export) as the body"));
    if (importing_.exchange(true))
        return respond(json_error(409, "A data import is under way: wait for its answer"));
    spdlog::info("admin API: data import of {} bytes started by {}", request.body_bytes,
                 caller.by());
    on_store(
        [this, respond](HttpResponse r) {
            importing_.store(false);
            respond(std::move(r));
        },
        [this, file = request.body_file, by = caller.by()](store::Store& s) {
            auto counts = deps_.import_data(s, file, by);
            spdlog::info("admin API: data imported by {}: {}", by, counts.dump());
            return ok_json({{"imported", counts}});
        },
        true);
}

void AdminApi::on_store(const Respond& respond, std::function<HttpResponse(store::Store&)> work,
                        bool changes) {
    bool queued = deps_.jobs.submit(
        [this, respond, work = std::move(work), changes](store::Store& s) {
            try {
                auto answer = work(s);
                if (changes && answer.status < 300 && deps_.changed) deps_.changed(s);
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
    if (area == "sessions") return sessions(caller, request, parts, respond);
    if (area == "settings") return settings(caller, request, parts, body, respond);
    if (area == "addins") return addins(caller, request, parts, body, respond);
    if (area == "data") return data(caller, request, parts, respond);
    if (area == "topology") return topology(caller, request, parts, body, respond);
    if (area == "pool") return pool(caller, request, parts, body, respond);
    if (area == "accounts") return accounts(caller, request, parts, body, respond);
    if (area == "compliance") return compliance(caller, request, parts, body, respond);
    if (area == "test-message" && parts.size() == 1) {
        // The synthetic transaction's users and room, with fresh passwords for the caller
        // (`perch admin test-message`), who then signs them in over XMPP.
        if (method != "POST") return respond(not_allowed());
        return on_store(
            respond,
            [this, by = caller.by()](store::Store& s) {
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
    on_store(
        respond,
        [by = caller.by(), scope = parts[1], enabled](store::Store& s) {
            admin::set_policy(s, by, scope, enabled);
            return no_content();
        },
        true);
}

void AdminApi::sessions(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                        const Respond& respond) {
    const std::string& method = request.method;
    if (parts.size() == 1 && method == "GET") {
        // Every server's sessions (each at most `limit`).
        auto params = query_params(request.query);
        if (!params) return respond(json_error(400, "malformed query string"));
        auto limit = page_limit((*params)["limit"]);
        if (!limit) return respond(json_error(400, "limit must be between 1 and 10000"));
        auto answer = [respond](const json& servers) {
            json out{{"sessions", json::array()}, {"more", false}, {"unanswered", json::array()}};
            for (const auto& server : servers) {
                if (server.contains("error")) {
                    out["unanswered"].push_back(server.value("server", ""));
                    continue;
                }
                for (auto session : server.at("sessions")) {
                    if (server.contains("server")) session["server"] = server["server"];
                    out["sessions"].push_back(std::move(session));
                }
                if (server.value("more", false)) out["more"] = true;
            }
            respond(ok_json(out));
        };
        if (!deps_.list_sessions) return respond(json_error(404, "No session listing here"));
        return deps_.list_sessions(*limit, answer);
    }
    if (parts.size() == 2 && method == "DELETE") {
        // Every server (this one included) ends the user's sessions when it reads the notice:
        // at once here, within a second on the others of a pool.
        auto node = xmpp::nodeprep(parts[1]);
        if (!node || node->empty()) return respond(json_error(400, "not a user name"));
        size_t here = deps_.router.resources(xmpp::Jid::make(*node, config_.domain)).size();
        return on_store(
            respond,
            [by = caller.by(), name = *node, here](store::Store& s) {
                admin::disconnect_user(s, by, name);
                return ok_json({{"disconnected", here}});
            },
            true);
    }
    respond(parts.size() == 1 ? not_allowed() : json_error(404, "Not found"));
}

void AdminApi::accounts(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                        const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string by = caller.by();
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
