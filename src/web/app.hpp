#pragma once
#include <array>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/files.hpp"
#include "chat/room_service.hpp"
#include "net/http.hpp"
#include "store/workers.hpp"
#include "web/auth.hpp"
#include "xmpp/router.hpp"
#include "xmpp/session.hpp"

// The web services behind the HTTP listeners: pages (/chat with Converse.js, /rooms), the
// REST API (/api/v1), file upload and download (XEP-0363), host-meta, health and metrics.
namespace perch::web {

struct WebConfig {
    std::string domain;
    std::string muc_domain;
    std::string public_url;    // base of upload and download URLs
    std::string www_dir;       // our pages
    std::string converse_dir;  // Converse.js dist/, served at /dist/
    std::string files_dir;     // content-addressed file store
    uint64_t max_body_bytes = uint64_t{64} * 1024;
    std::string websocket_path = "/xmpp-websocket";
    bool metrics_for_anyone = false;  // else loopback clients only (and the token's bearers)
    std::string metrics_token;
    // In a pool: the public URLs of the other live servers, listed after this one in host-meta
    // so that a web client whose server is gone can go to another.
    std::function<std::vector<std::string>()> pool_web_urls;
};

// Who reads /metrics: this machine's clients, anyone (http.metrics_access = "anyone"), or the
// bearer of http.metrics_token.
bool metrics_allowed(const WebConfig& config, const net::HttpRequest& request);

struct WebDeps {
    xmpp::Router& router;
    chat::RoomCommands& rooms;
    chat::Directory& directory;
    const chat::RoomService& room_service;  // for the metrics
    xmpp::Credentials& credentials;
    store::StoreWorkers& workers;
    store::MessageWriter& writer;
    xmpp::ServerStats& stats;
    chat::UploadSlots& uploads;
    const util::Admission* admission = nullptr;  // the clients' room joins, for the metrics
};

class WebApp final : public net::HttpHandler {
  public:
    WebApp(WebConfig config, WebDeps deps);

    net::BodyPlan plan_body(const net::HttpRequest& head) override;
    // Where people manage rooms: the setting, or this server's room pages.
    std::string room_management_url() const;
    void handle(net::HttpRequest request, std::function<void(net::HttpResponse)> respond) override;
    void count(unsigned status) override;
    // The user's browser sessions end (the account was disabled).
    void sign_out(const std::string& username) { sessions_.close_user(username); }
    // Browser sign-ins follow a change to their user's groups or policy.
    void set_subject(const std::string& username, const std::shared_ptr<const chat::Subject>& who) {
        sessions_.set_subject(username, who);
    }
    std::set<std::string> signed_in_users() { return sessions_.users(); }

    using Respond = std::function<void(net::HttpResponse)>;

  private:
    void serve_static(const std::string& root, std::string relative, const Respond& respond,
                      const std::string& cache_control);
    net::HttpResponse host_meta(bool json) const;
    net::HttpResponse metrics() const;
    net::HttpResponse info() const;

    // Files (web/files.cpp).
    void upload(const net::HttpRequest& request, const Respond& respond);
    void download(const net::HttpRequest& request, const Respond& respond);
    std::string upload_temp_path(const std::string& token) const;

    // REST API (web/api.cpp).
    void api(const net::HttpRequest& request, const Respond& respond);
    void api_as(const WebUser& user, const net::HttpRequest& request,
                const std::vector<std::string>& parts, const nlohmann::json& body,
                const Respond& respond);
    void search(std::shared_ptr<const chat::Subject> subject, const net::HttpRequest& request,
                const Respond& respond);

    WebConfig config_;
    WebDeps deps_;
    WebSessions sessions_{std::chrono::hours(12)};
    std::array<std::atomic<uint64_t>, 6> responses_{};  // by status class, 1xx to 5xx
    std::atomic<uint64_t> uploads_{0}, downloads_{0};
};

// A JSON error body {"error": text} with the status.
net::HttpResponse json_error(unsigned status, const std::string& text);
// A JSON body.
net::HttpResponse json_response(unsigned status, std::string body);
// `body` as the JSON body: text that is not UTF-8 (a name kept from long ago, given in
// another encoding) is written as U+FFFD rather than failing the request.
net::HttpResponse json_answer(unsigned status, const nlohmann::json& body);
// A file of `root` (a page, a script…) as an answer: 404 unless `relative` resolves inside
// `root`; pages get a Content-Security-Policy (`page_policy`, or the web pages' own).
net::HttpResponse static_file(const std::string& root, std::string relative,
                              const std::string& cache_control, const char* page_policy = nullptr);
// Content type by file extension (what the static pages and Converse.js need).
std::string mime_type(const std::string& path);

}  // namespace perch::web
