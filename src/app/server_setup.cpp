#include "app/server_setup.hpp"

#include <netdb.h>
#include <sys/resource.h>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "app/compliance_setup.hpp"
#include "net/tls.hpp"
#include "util/url.hpp"
#include "xmpp/bookmarks.hpp"
#include "xmpp/muc_render.hpp"

namespace perch::app {

namespace asio = boost::asio;

void raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) spdlog::info("open file limit: {}", r.rlim_cur);
}

namespace {

// Upload and download links, and host-meta, are built from http.public_url: a host this
// machine cannot resolve is most likely a mistake (clients elsewhere may still resolve it).
void warn_if_unresolvable(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return;
    std::string host = url.substr(scheme + 3);
    host = host.substr(0, host.find('/'));
    if (host.starts_with('[')) {
        host = host.substr(1, host.find(']') - 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
        host.resize(colon);
    }
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, nullptr, &found);
    if (found) freeaddrinfo(found);
    if (rc != 0)
        spdlog::warn(
            "http.public_url {} names the host {}, which does not resolve here ({}): "
            "upload and download links and host-meta are built from it",
            url, host, gai_strerror(rc));
}

// Data exports and imports an earlier run left behind when it stopped part way
// (DATA_DIR/tmp/export-*, import-*, upload-*): nobody waits for them any more.
void remove_unfinished_work(const Config& config) {
    std::error_code ec;
    auto tmp = std::filesystem::path(config.data_dir) / "tmp";
    if (!std::filesystem::is_directory(tmp, ec)) return;
    size_t removed = 0;
    for (const auto& e : std::filesystem::directory_iterator(tmp, ec)) {
        std::string name = e.path().filename().string();
        if (name.starts_with("export-") || name.starts_with("import-") ||
            name.starts_with("upload-"))
            removed += std::filesystem::remove_all(e.path(), ec) > 0 ? 1 : 0;
    }
    if (removed)
        spdlog::info("removed {} unfinished data exports or imports from {}", removed,
                     tmp.string());
}

// The pool port when the admin API has a port of its own (or none): requests are told so.
class AdminElsewhere final : public net::HttpHandler {
  public:
    explicit AdminElsewhere(int port) : port_(port) {}
    net::BodyPlan plan_body(const net::HttpRequest&) override { return {}; }
    void handle(net::HttpRequest, std::function<void(net::HttpResponse)> respond) override {
        respond(web::json_error(
            404, port_ > 0 ? "The admin API is on port " + std::to_string(port_) + ", not here"
                           : "The admin API is off (admin.port = 0)"));
    }

  private:
    int port_;
};

}  // namespace

void prepare_files(const Config& config) {
    remove_unfinished_work(config);
    warn_if_unresolvable(config.http.public_url);
    if (config.tls.defaults) {
        net::ensure_certificate(config.tls.cert, config.tls.key, config.domain);
        return;
    }
    for (const auto& [setting, path] :
         {std::pair{"tls.cert", config.tls.cert}, {"tls.key", config.tls.key}})
        if (!std::filesystem::is_regular_file(path))
            throw std::runtime_error(
                std::string(setting) + " " + path + " does not exist (tls.cert " + config.tls.cert +
                ", tls.key " + config.tls.key +
                "): configured paths are used as they are; give both, or neither to have a "
                "self-signed pair made in DATA_DIR/tls/");
}

// Compliance: events move from the content database's outbox to the compliance database.
std::unique_ptr<compliance::Service> start_compliance(const Config& config, store::Store& store) {
    if (!config.compliance.enabled) return nullptr;
    compliance::ServiceConfig cc;
    cc.path = config.compliance.path;
    cc.url = config.compliance.url;
    cc.export_dir = config.compliance.export_dir;
    cc.checkpoint_key = config.compliance.checkpoint_key;
    cc.options = compliance::with_stored(config.compliance_options(), store.stored_settings());
    cc.xml_options = xml_options(config, store);
    auto service = std::make_unique<compliance::Service>(cc, config.store);
    service->start();
    store::StoreConfig target;
    target.backend = cc.url.empty() ? "sqlite" : "postgres";
    target.path = cc.path;
    target.url = cc.url;
    spdlog::info("compliance on: log {}, exports every {} s to {}", store::describe(target),
                 cc.options.run_interval.count(), cc.export_dir);
    return service;
}

chat::RoomServiceConfig room_service_config(const Config& config,
                                            std::shared_ptr<const chat::LiveSettings> settings,
                                            compliance::Service* compliance, net::IoPool& io,
                                            pool::Membership* membership) {
    chat::RoomServiceConfig rooms;
    rooms.settings = std::move(settings);
    rooms.max_history = config.muc.max_history;
    rooms.history_cache = size_t(config.muc.history_cache);
    rooms.post_rate = {double(config.muc.posts_per_second), double(config.muc.post_burst)};
    rooms.allow_user_rooms = config.muc.allow_user_rooms;
    rooms.default_category = config.muc.default_category;
    rooms.occupant_id_secret = config.secret;
    rooms.compliance = config.compliance.enabled;
    if (compliance && config.compliance.on_failure == "refuse")
        rooms.posts_allowed = [compliance] { return compliance->healthy(); };
    std::string muc_domain = config.muc_domain();
    rooms.tombstone = [muc_domain](const std::string& room, const std::string& by_nick,
                                   const std::string& reason, int64_t at_us) {
        std::string room_jid = room + "@" + muc_domain;
        return xmpp::muc::render_tombstone(by_nick.empty() ? room_jid : room_jid + "/" + by_nick,
                                           reason, at_us);
    };
    rooms.followed_rooms = [muc_domain](store::Store& s, const std::string& user) {
        return xmpp::bookmarks::followed_rooms(s, user, muc_domain);
    };
    if (!membership) return rooms;
    rooms.claim = [name = config.pool.name](store::Store& s, const std::vector<int64_t>& ids) {
        return s.claim_rooms(ids, name);
    };
    rooms.serves = [membership](const std::string& node) { return membership->serves(node); };
    rooms.release = [name = config.pool.name](store::Store& s, int64_t id, int64_t epoch) {
        s.release_room(id, name, epoch);
    };
    rooms.after = [&io](std::chrono::milliseconds delay, std::function<void()> work) {
        auto timer = std::make_shared<asio::steady_timer>(io.context(), delay);
        timer->async_wait([timer, work = std::move(work)](const boost::system::error_code& ec) {
            if (!ec) work();
        });
    };
    return rooms;
}

web::WebConfig web_config(const Config& config, const pool::Membership* membership) {
    web::WebConfig web;
    web.domain = config.domain;
    web.muc_domain = config.muc_domain();
    web.public_url = config.http.public_url;
    web.www_dir = config.http.www_dir;
    web.converse_dir = config.http.converse_dir;
    web.files_dir = config.files.dir;
    web.max_body_bytes = uint64_t(config.http.max_body_kb) * 1024;
    web.metrics_for_anyone = config.http.metrics_access == "anyone";
    web.metrics_token = config.http.metrics_token;
    if (membership)
        web.pool_web_urls = [membership] {
            std::vector<std::string> urls;
            for (const auto& m : membership->live())
                if (m.number != membership->self().number) urls.push_back(m.web_url);
            return urls;
        };
    return web;
}

net::HttpOptions http_options(const Config& config, std::shared_ptr<util::Admission> admission) {
    net::HttpOptions http;
    http.max_send_queue = size_t(config.c2s.max_send_queue_kb) * 1024;
    http.login_timeout = std::chrono::seconds(config.c2s.login_timeout_s);
    http.websocket_origins = config.http.websocket_origins;
    http.admission = std::move(admission);
    http.min_body_rate = uint64_t(config.http.min_body_rate);
    http.body_grace = std::chrono::seconds(config.http.body_grace_s);
    // The public URL's origin (behind a proxy, what browsers see) is this server's own.
    if (auto origin = util::url_origin(config.http.public_url))
        http.websocket_origins.push_back(*origin);
    return http;
}

std::unique_ptr<net::HttpHandler> admin_api_elsewhere(int admin_port) {
    return std::make_unique<AdminElsewhere>(admin_port);
}

}  // namespace perch::app
