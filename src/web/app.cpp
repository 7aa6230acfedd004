#include "web/app.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "util/crypto.hpp"
#include "util/time.hpp"
#include "xml/serializer.hpp"

namespace perch::web {

namespace fs = std::filesystem;
using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;

namespace {

// What our pages may load: only this server (Converse.js's sponsor logos on other sites are
// blocked), WebSockets to it, and Converse's WebAssembly.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' "
    "ws: wss:; worker-src 'self' blob:; media-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

HttpResponse redirect(const std::string& to) {
    HttpResponse r;
    r.status = 302;
    r.set("Location", to);
    return r;
}

}  // namespace

bool metrics_allowed(const WebConfig& config, const HttpRequest& request) {
    if (config.metrics_for_anyone || request.loopback) return true;
    const std::string* auth = request.header("authorization");
    return !config.metrics_token.empty() && auth && auth->starts_with("Bearer ") &&
           util::constant_time_equal(auth->substr(7), config.metrics_token);
}

HttpResponse json_error(unsigned status, const std::string& text) {
    return json_answer(status, json{{"error", text}});
}

HttpResponse json_answer(unsigned status, const json& body) {
    return json_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse json_response(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.set("Content-Type", "application/json");
    r.set("Cache-Control", "no-store");
    r.body = std::move(body);
    return r;
}

std::string mime_type(const std::string& path) {
    static const std::map<std::string, std::string> types = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".wasm", "application/wasm"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".eot", "application/vnd.ms-fontobject"},
        {".mp3", "audio/mpeg"},
        {".ogg", "audio/ogg"},
        {".txt", "text/plain; charset=utf-8"},
        {".yaml", "application/yaml"},
    };
    auto ext = fs::path(path).extension().string();
    for (auto& c : ext) c = char(std::tolower(uint8_t(c)));
    auto it = types.find(ext);
    return it == types.end() ? "application/octet-stream" : it->second;
}

WebApp::WebApp(WebConfig config, WebDeps deps) : config_(std::move(config)), deps_(deps) {
    fs::create_directories(fs::path(config_.files_dir) / "tmp");
}

void WebApp::count(unsigned status) {
    size_t cls = std::min<size_t>(status / 100, 5);
    responses_[cls].fetch_add(1, std::memory_order_relaxed);
}

net::BodyPlan WebApp::plan_body(const HttpRequest& head) {
    net::BodyPlan plan;
    if (head.method == "PUT" && head.path.starts_with("/upload/")) {
        // The slot decides: its size exactly, into a temporary file of the file store.
        std::string rest = head.path.substr(8);
        std::string token = rest.substr(0, rest.find('/'));
        auto slot = deps_.uploads.find(token, util::now_us());
        if (!slot) {
            plan.refuse =
                json_error(404, "No such upload slot: it expired, was used, or never existed");
            return plan;
        }
        auto declared = head.content_length();
        if (!declared || *declared != slot->size) {
            plan.refuse =
                json_error(declared && *declared > slot->size ? 413 : (declared ? 400 : 411),
                           "Content-Length must be " + std::to_string(slot->size) +
                               ", the size the slot was requested for");
            return plan;
        }
        plan.limit = slot->size;
        plan.to_file = upload_temp_path(token);
        std::error_code ec;
        fs::remove(plan.to_file, ec);  // a failed earlier attempt
        return plan;
    }
    plan.limit = head.path.starts_with("/api/") ? config_.max_body_bytes : uint64_t{8} * 1024;
    return plan;
}

void WebApp::handle(HttpRequest request, std::function<void(HttpResponse)> respond) {
    const std::string& path = request.path;
    const std::string& method = request.method;
    // No ".." segment and no NUL anywhere ("a..b.txt" is a fine file name).
    if (path.find("/../") != std::string::npos || path.ends_with("/..") ||
        path.find('\0') != std::string::npos)
        return respond(json_error(400, "Bad path"));
    if (path == "/healthz") {
        json body{{"status", "ok"},
                  {"sessions", deps_.router.session_count()},
                  {"rooms", deps_.directory.room_count()}};
        return respond(json_answer(200, body));
    }
    if (path == "/metrics") {
        if (!metrics_allowed(config_, request))
            return respond(json_error(403, "Metrics are for this machine (http.metrics_access)"));
        return respond(metrics());
    }
    if (path == "/.well-known/host-meta") return respond(host_meta(false));
    if (path == "/.well-known/host-meta.json") return respond(host_meta(true));
    if (path.starts_with("/upload/")) {
        if (method == "OPTIONS") {
            HttpResponse r;
            r.status = 204;
            r.set("Access-Control-Allow-Origin", "*");
            r.set("Access-Control-Allow-Methods", "PUT, OPTIONS");
            r.set("Access-Control-Allow-Headers", "Content-Type");
            r.set("Access-Control-Max-Age", "86400");
            return respond(std::move(r));
        }
        if (method != "PUT") return respond(json_error(405, "Upload with PUT"));
        return upload(request, respond);
    }
    if (path.starts_with("/files/")) {
        if (method != "GET" && method != "HEAD")
            return respond(json_error(405, "Download with GET"));
        return download(request, respond);
    }
    if (path == "/api/v1/info") return respond(info());
    if (path.starts_with("/api/")) return api(request, respond);
    if (method != "GET" && method != "HEAD") return respond(json_error(405, "Method not allowed"));
    if (path == "/") return respond(redirect("/chat/"));
    if (path == "/chat" || path == "/rooms") return respond(redirect(path + "/"));
    if (path.starts_with("/chat/") || path.starts_with("/rooms/") || path.starts_with("/static/"))
        return serve_static(config_.www_dir, path.substr(1), respond, "no-cache");
    if (path.starts_with("/dist/"))
        return serve_static(config_.converse_dir, path.substr(6), respond, "max-age=3600");
    respond(json_error(404, "Not found"));
}

void WebApp::serve_static(const std::string& root, std::string relative, const Respond& respond,
                          const std::string& cache_control) {
    respond(static_file(root, std::move(relative), cache_control));
}

HttpResponse static_file(const std::string& root, std::string relative,
                         const std::string& cache_control, const char* page_policy) {
    if (relative.empty() || relative.back() == '/') relative += "index.html";
    // No path from the client is trusted: the file must resolve inside the root.
    std::error_code ec;
    fs::path base = fs::weakly_canonical(root, ec);
    fs::path file = fs::weakly_canonical(base / relative, ec);
    auto [b, f] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
    if (ec || b != base.end() || !fs::is_regular_file(file, ec))
        return json_error(404, "Not found");
    HttpResponse r;
    r.file = file.string();
    r.set("Content-Type", mime_type(r.file));
    r.set("Cache-Control", cache_control);
    r.set("X-Content-Type-Options", "nosniff");
    if (r.file.ends_with(".html")) {
        r.set("Content-Security-Policy", page_policy ? page_policy : kPagePolicy);
        r.set("Referrer-Policy", "same-origin");
    }
    return r;
}

HttpResponse WebApp::host_meta(bool as_json) const {
    // XEP-0156: where the WebSocket endpoints are: this server's first, then (in a pool) the
    // other live servers', each from its public URL; one URL shared by all is listed once.
    auto websocket = [&](std::string url) {
        if (url.starts_with("https://"))
            url = "wss://" + url.substr(8);
        else if (url.starts_with("http://"))
            url = "ws://" + url.substr(7);
        return url + config_.websocket_path;
    };
    std::vector<std::string> endpoints{websocket(config_.public_url)};
    if (config_.pool_web_urls)
        for (const auto& url : config_.pool_web_urls()) {
            if (url.empty()) continue;
            auto ws = websocket(url);
            if (std::find(endpoints.begin(), endpoints.end(), ws) == endpoints.end())
                endpoints.push_back(std::move(ws));
        }
    HttpResponse r;
    r.set("Access-Control-Allow-Origin", "*");
    // A pool's list follows its live servers: clients ask again after a minute.
    r.set("Cache-Control", config_.pool_web_urls ? "max-age=60" : "max-age=3600");
    if (as_json) {
        r.set("Content-Type", "application/json");
        json links = json::array();
        for (const auto& ws : endpoints)
            links.push_back(json{{"rel", "urn:xmpp:alt-connections:websocket"}, {"href", ws}});
        r.body = json{{"links", links}}.dump();
    } else {
        r.set("Content-Type", "application/xrd+xml");
        r.body =
            "<?xml version='1.0' encoding='utf-8'?>\n<XRD "
            "xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n";
        for (const auto& ws : endpoints) {
            r.body += "  <Link rel='urn:xmpp:alt-connections:websocket' href='";
            xml::escape_attr(r.body, ws);
            r.body += "'/>\n";
        }
        r.body += "</XRD>\n";
    }
    return r;
}

std::string WebApp::room_management_url() const {
    std::string url = deps_.room_service.config().settings->room_management_url();
    return url.empty() ? config_.public_url + "/rooms/" : url;
}

HttpResponse WebApp::info() const {
    json body{{"domain", config_.domain},
              {"muc_domain", config_.muc_domain},
              {"websocket_path", config_.websocket_path},
              {"max_file_size", deps_.uploads.max_bytes()},
              {"room_management_url", room_management_url()}};
    return json_answer(200, body);
}

HttpResponse WebApp::metrics() const {
    // Prometheus text exposition format 0.0.4.
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, auto value) {
        out +=
            fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
    };
    metric("perch_sessions", "gauge", "Bound XMPP sessions (TCP and WebSocket).",
           deps_.router.session_count());
    metric("perch_rooms", "gauge", "Rooms known to the chat service.",
           deps_.directory.room_count());
    metric("perch_messages_posted_total", "counter", "Room messages stored and delivered.",
           deps_.room_service.messages_posted());
    if (const auto* a = deps_.admission) {
        metric("perch_room_joins_running", "gauge",
               "Room joins of this server's clients under way (c2s.max_pending_joins at most).",
               a->running());
        metric("perch_room_joins_waiting", "gauge",
               "Room joins of this server's clients waiting their turn.", a->waiting());
    }
    metric("perch_logins_total", "counter", "Successful logins.", deps_.stats.logins.load());
    auto& guard = deps_.credentials.guard();
    auto by_channel = [&](const char* name, const char* help, auto count) {
        out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
        for (auto channel : {xmpp::LoginChannel::xmpp, xmpp::LoginChannel::http})
            out += fmt::format("{}{{channel=\"{}\"}} {}\n", name, xmpp::to_string(channel),
                               count(channel));
    };
    by_channel("perch_failed_logins_total", "Logins refused for a wrong name or password.",
               [&](auto c) { return guard.failures(c); });
    by_channel("perch_login_refusals_total",
               "Logins refused unchecked: too many failures from the address or on the account.",
               [&](auto c) { return guard.refusals(c); });
    out +=
        "# HELP perch_stream_errors_total Streams ended by an error, by its condition.\n"
        "# TYPE perch_stream_errors_total counter\n";
    for (size_t i = 0; i <= xmpp::kStreamConditions.size(); ++i)
        out +=
            fmt::format("perch_stream_errors_total{{condition=\"{}\"}} {}\n",
                        i < xmpp::kStreamConditions.size() ? xmpp::kStreamConditions[i] : "other",
                        deps_.stats.stream_errors_by[i].load());
    metric("perch_sessions_resumed_total", "counter",
           "Sessions resumed on a new connection after theirs dropped (XEP-0198).",
           deps_.stats.sessions_resumed.load());
    out +=
        "# HELP perch_rate_limited_total Stanzas and posts refused for coming faster than their "
        "limit.\n# TYPE perch_rate_limited_total counter\n";
    out += fmt::format("perch_rate_limited_total{{limit=\"session\"}} {}\n",
                       deps_.stats.stanzas_over_rate.load());
    out += fmt::format("perch_rate_limited_total{{limit=\"occupant\"}} {}\n",
                       deps_.room_service.posts_over_rate());
    auto writer = deps_.writer.stats();
    metric("perch_store_commits_total", "counter", "Group commits of room messages.",
           writer.commits);
    metric("perch_store_commit_seconds_total", "counter", "Time spent in group commits.",
           writer.commit_seconds);
    auto workers = deps_.workers.stats();
    metric("perch_store_jobs_total", "counter", "Store jobs run (reads, admin writes).",
           workers.jobs);
    metric("perch_store_job_wait_seconds_total", "counter", "Time store jobs waited in queue.",
           workers.wait_seconds);
    metric("perch_store_job_run_seconds_total", "counter", "Time store jobs ran.",
           workers.run_seconds);
    metric("perch_store_jobs_queued", "gauge", "Store jobs waiting.", workers.queued);
    // Latencies, as histograms (seconds).
    out += deps_.writer.latency().render("perch_post_commit_seconds",
                                         "A room message from its submission to its commit.");
    out += deps_.stats.delivery_seconds.render(
        "perch_delivery_seconds", "A committed room message handed to this server's occupants.");
    out += deps_.room_service.archive_seconds().render(
        "perch_mam_query_seconds", "Reading one archive page of a room (MAM), in the store.");
    out += deps_.room_service.search_seconds().render("perch_search_seconds",
                                                      "One search across rooms, in the store.");
    out += deps_.stats.login_seconds.render(
        "perch_login_seconds", "A client stream from its first byte to its bound resource.");
    out += deps_.workers.wait_histogram().render("perch_store_job_wait_seconds",
                                                 "A store job waiting for a store thread.");
    metric("perch_file_uploads_total", "counter", "Files uploaded.", uploads_.load());
    metric("perch_file_downloads_total", "counter", "Files downloaded.", downloads_.load());
    out +=
        "# HELP perch_http_responses_total HTTP responses by status class.\n"
        "# TYPE perch_http_responses_total counter\n";
    for (size_t c = 1; c < responses_.size(); ++c)
        out += fmt::format("perch_http_responses_total{{class=\"{}xx\"}} {}\n", c,
                           responses_[c].load());
    HttpResponse r;
    r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.set("Cache-Control", "no-store");
    r.body = std::move(out);
    return r;
}

}  // namespace perch::web
