#include "app/server.hpp"

#include <malloc.h>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>

#include "app/admin_commands.hpp"
#include "app/compliance_setup.hpp"
#include "app/pool_node.hpp"
#include "app/server_setup.hpp"
#include "chat/room_service.hpp"
#include "compliance/service.hpp"
#include "net/c2s_listener.hpp"
#include "net/http.hpp"
#include "net/io.hpp"
#include "net/tls.hpp"
#include "pool/fanout.hpp"
#include "pool/membership.hpp"
#include "pool/topology.hpp"
#include "store/change_feed.hpp"
#include "store/workers.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "web/admin_api.hpp"
#include "web/app.hpp"
#include "xmpp/credentials.hpp"
#include "xmpp/muc_delivery.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/router.hpp"
#include "xmpp/session.hpp"

#ifndef PERCH_VERSION
#define PERCH_VERSION "0.1.0"
#endif

namespace perch::app {

namespace asio = boost::asio;

int serve(Config config, const std::string& config_path) {
    raise_fd_limit();
    prepare_data_dir(config);
    // Opening the store applies migrations before anything listens.
    auto store = store::open_store(config.store);
    // Only now, with a database to serve from, is anything else written into data_dir.
    make_server_files(config);
    prepare_files(config);

    // Compliance: events move from the content database's outbox to the compliance database.
    std::unique_ptr<compliance::Service> compliance_service = start_compliance(config, *store);
    store::StoreWorkers workers(config.store, config.store.pool_size);
    store::MessageWriter writer(config.store);

    int threads = config.io_threads > 0 ? config.io_threads
                                        : int(std::max(1u, std::thread::hardware_concurrency()));
    net::IoPool io(threads);

    // The chat domain: the room service owns the rooms, each on one of the shards; what
    // happens in them reaches this server's clients through the XMPP delivery.
    xmpp::Router router;
    std::vector<util::ExecutorPtr> executors;
    int shard_count = config.muc.shards > 0 ? config.muc.shards : threads * 4;
    executors.reserve(size_t(shard_count));
    for (int i = 0; i < shard_count; ++i) executors.push_back(io.make_executor());
    util::Shards shards(std::move(executors));
    // Where the published topology puts this server (docs/TOPOLOGY.md).
    pool::TopologyView topology(config.pool.name);
    topology.load(*store);
    chat::Directory directory;
    directory.load(*store);
    // Default history, participant update limit, message, story and file limits, the room
    // management URL: the file's values, with those an administrator set over them (admin API).
    // The file's values are read again on SIGHUP.
    std::mutex file_settings_mutex;
    chat::Settings file_settings = config.chat_settings();
    compliance::ServiceOptions file_compliance = config.compliance_options();
    auto current_file_settings = [&] {
        std::lock_guard lock(file_settings_mutex);
        return file_settings;
    };
    auto settings = std::make_shared<chat::LiveSettings>(
        chat::with_stored(config.chat_settings(), store->stored_settings()));
    // Who blocks whom: read on every delivery, so in memory (changes come through the
    // sessions and, from other servers of a pool, as change notices).
    xmpp::direct::Blocklists blocklists;
    auto load_blocklists = [&blocklists](store::Store& s) {
        std::map<std::string, std::vector<std::string>> lists;
        for (auto& [user, item] : s.all_blocked()) lists[user].push_back(item);
        for (auto& [user, items] : lists) blocklists.set(user, std::move(items));
    };
    load_blocklists(*store);
    xmpp::ServerStats stats;
    xmpp::MucDelivery delivery(config.muc_domain(), config.domain, shards, router);
    delivery.set_timing(&stats.delivery_seconds);
    delivery.set_blocklists(&blocklists);

    // In a pool the rooms' events go through the fan-out, which also sends them to the other
    // servers with occupants; alone, straight to this server's delivery.
    std::unique_ptr<pool::Membership> membership;
    std::unique_ptr<pool::Fanout> fanout;
    if (config.pooled()) {
        membership = std::make_unique<pool::Membership>(
            pool::PoolConfig{config.pool.name, config.pool.peer_address, config.pool.client_address,
                             config.http.public_url, config.pool.secret, config.pool.lease_ms});
        membership->start(store::open_store(config.store));
        fanout = std::make_unique<pool::Fanout>(delivery, directory, shards, *membership, workers,
                                                settings);
    }
    chat::RoomEventSink& events = fanout ? static_cast<chat::RoomEventSink&>(*fanout) : delivery;

    auto rooms_config =
        room_service_config(config, settings, compliance_service.get(), io, membership.get());
    chat::RoomService rooms(rooms_config, directory, shards, workers, writer, events);

    // A pool member sends the commands for rooms served elsewhere to their server, over the
    // peer links, and serves the commands of the others for its own rooms.
    // (app/pool_node.hpp).
    std::unique_ptr<PoolNode> pool_node;
    // Renewed certificates are picked up without a restart: the files are looked at every
    // minute (housekeeping) and read at once on SIGHUP.
    auto certificate_or_throw = [&] {
        try {
            return std::make_unique<net::ServerCertificate>(config.tls.cert, config.tls.key);
        } catch (const std::exception& e) {
            throw std::runtime_error("tls.cert " + config.tls.cert + " and tls.key " +
                                     config.tls.key + " cannot be used together: " + e.what());
        }
    };
    auto certificate_holder = certificate_or_throw();
    net::ServerCertificate& certificate = *certificate_holder;
    auto tls = net::make_server_tls(certificate);
    if (membership) {
        pool_node =
            std::make_unique<PoolNode>(*membership, rooms, *fanout, shards, router, workers);
        auto [pool_name, standby_after_s] = topology.takeover();
        membership->set_takeover(pool_name, standby_after_s);
    }
    chat::RoomCommands& room_commands =
        pool_node ? static_cast<chat::RoomCommands&>(pool_node->rooms()) : rooms;

    bool web = config.http.port > 0 || config.http.tls_port > 0;
    // A reconnection storm waits at the door and in order, not in the rooms (util/admission.hpp).
    auto admission = std::make_shared<util::Admission>(
        config.c2s.max_pending_joins,
        [&io](std::function<void()> work) { asio::post(io.context(), std::move(work)); });
    xmpp::MucConfig muc_config;
    muc_config.admission = admission;
    if (pool_node) pool_node->hold_joins_while_rooms_move(admission);
    muc_config.domain = config.muc_domain();
    muc_config.user_domain = config.domain;
    muc_config.max_history = config.muc.max_history;
    muc_config.settings = settings;
    if (web) muc_config.files_url = config.http.public_url + "/files/";
    if (web) muc_config.rooms_url = config.http.public_url + "/rooms/";
    xmpp::MucService muc(muc_config, room_commands, directory, delivery, shards);
    router.add_service(muc);

    xmpp::LoginGuardOptions guard;
    guard.free_failures = config.login.free_failures;
    guard.max_delay = std::chrono::seconds(config.login.max_delay_s);
    guard.lockout_failures = config.login.lockout_failures;
    guard.lockout = guard.forget_after = std::chrono::seconds(config.login.lockout_s);
    xmpp::Credentials credentials(workers, config.secret, guard);
    chat::UploadSlots uploads(settings->max_file_bytes(),
                              int64_t(config.files.slot_lifetime_s) * 1'000'000,
                              size_t(config.files.max_open_slots));
    uploads.set_daily_quota(uint64_t(config.files.daily_quota_mb) * 1024 * 1024);
    // Sessions whose connection dropped wait here to be resumed (XEP-0198); each is ended
    // once its time is up, checked every second.
    xmpp::Resumption resumption(std::chrono::seconds(config.c2s.resume_timeout_s));
    asio::steady_timer resumption_timer(io.context());
    std::function<void()> end_unresumed = [&] {
        resumption_timer.expires_after(std::chrono::seconds(1));
        resumption_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            resumption.expire();
            end_unresumed();
        });
    };
    end_unresumed();
    xmpp::ServerContext ctx{
        config.domain,
        router,
        credentials,
        workers,
        xml::ParserLimits{.max_stanza_bytes = size_t(config.c2s.max_stanza_kb) * 1024},
        config.c2s.tls_required,
        PERCH_VERSION,
        stats,
        web ? &uploads : nullptr,
        config.http.public_url,
        config.compliance.enabled,
        util::Rate{double(config.c2s.stanzas_per_second), double(config.c2s.stanza_burst)},
        &blocklists,
        config.c2s.max_offline_messages,
        pool_node ? &pool_node->users() : nullptr,
        &resumption,
        &directory,
        config.muc_domain()};
    ctx.personal_storage = int64_t{config.c2s.personal_storage_kb} * 1024;
    ctx.max_roster_items = size_t(config.c2s.max_roster_items);
    ctx.settings = settings.get();
    if (membership) {
        // A standby sends new clients to the active servers in turn.
        ctx.elsewhere = PoolNode::elsewhere(
            *membership, [](const store::PoolMember& m) { return m.client_address; });
        // Its public web URL as a WebSocket one (the endpoint's path is fixed).
        ctx.elsewhere_websocket = PoolNode::elsewhere(*membership, [](const store::PoolMember& m) {
            std::string url = m.web_url;
            if (url.starts_with("https://"))
                url.replace(0, 5, "wss");
            else if (url.starts_with("http://"))
                url.replace(0, 4, "ws");
            else
                return std::string();
            return url + (url.ends_with("/") ? "" : "/") + "xmpp-websocket";
        });
    }

    auto address = asio::ip::make_address(config.c2s.bind);
    net::C2sOptions options;
    options.limits.max_send_queue = size_t(config.c2s.max_send_queue_kb) * 1024;
    options.limits.login_timeout = std::chrono::seconds(config.c2s.login_timeout_s);
    options.admission = admission;
    std::vector<std::unique_ptr<net::C2sListener>> listeners;
    listeners.push_back(std::make_unique<net::C2sListener>(
        io, ctx, tls, asio::ip::tcp::endpoint(address, uint16_t(config.c2s.port)), options));
    if (config.c2s.direct_tls_port > 0) {
        auto direct = options;
        direct.direct_tls = true;
        listeners.push_back(std::make_unique<net::C2sListener>(
            io, ctx, tls, asio::ip::tcp::endpoint(address, uint16_t(config.c2s.direct_tls_port)),
            direct));
    }
    for (auto& l : listeners) l->start();

    // The web services: HTTP and HTTPS on the same I/O threads.
    web::WebApp web_app(web_config(config, membership.get()),
                        web::WebDeps{router, room_commands, directory, rooms, credentials, workers,
                                     writer, stats, uploads, admission.get()});
    std::vector<std::unique_ptr<net::HttpListener>> http_listeners;
    auto http_address = asio::ip::make_address(config.http.bind);
    net::HttpOptions http_options = app::http_options(config, admission);
    std::string http_ports;
    for (auto [port, secure] : {std::pair{config.http.port, false}, {config.http.tls_port, true}}) {
        if (port <= 0) continue;
        http_options.tls = secure;
        http_options.setting = secure ? "http.tls_port" : "http.port";
        http_listeners.push_back(std::make_unique<net::HttpListener>(
            io, ctx, web_app, tls, asio::ip::tcp::endpoint(http_address, uint16_t(port)),
            http_options));
        http_listeners.back()->start();
        http_ports += fmt::format(", {} on {}:{}", secure ? "HTTPS" : "HTTP", config.http.bind,
                                  http_listeners.back()->port());
    }

    // Housekeeping: give memory freed after bursts (joins, floods) back to the system, so
    // that the process size follows the live sessions.
    // Retention (store.retention_days): once an hour, messages older than that go from the
    // database and from the rooms' caches.
    asio::steady_timer housekeeping(io.context());
    int ticks = 0;
    auto retention = [&] {
        if (config.store.retention_days <= 0) return;
        int64_t cutoff = util::now_us() - int64_t(config.store.retention_days) * 86'400'000'000;
        workers.submit(
            [cutoff, &rooms](store::Store& s) {
                if (int64_t n = s.purge_before(cutoff)) {
                    spdlog::info("retention: {} messages older than {} purged", n,
                                 util::format_timestamp(cutoff));
                    rooms.forget_before(cutoff);
                }
            },
            store::StoreWorkers::Lane::slow);
    };
    std::function<void()> tidy = [&] {
        housekeeping.expires_after(std::chrono::seconds(10));
        housekeeping.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            malloc_trim(0);
            if (++ticks % 360 == 1) retention();
            if (ticks % 6 == 0) certificate.reload();
            tidy();
        });
    };
    tidy();

    // A user disabled outside the server: their sessions end (a stream error, also for one
    // waiting to be resumed) and their browser sign-ins with them. On a store thread.
    // Every XMPP session of the user on this server ends with a stream error; how many.
    auto end_sessions = [&](const std::string& name, const char* condition, const char* text) {
        auto sessions = router.resources(xmpp::Jid::make(name, config.domain));
        for (auto& session : sessions) session->terminate(condition, text);
        return sessions.size();
    };
    auto end_if_disabled = [&](store::Store& s, const std::string& name) {
        auto user = s.find_user(name);
        if (!user || !user->disabled) return false;
        size_t ended = end_sessions(name, "not-authorized", "This account has been disabled");
        web_app.sign_out(name);
        spdlog::info("user {} disabled: {} sessions ended", name, ended);
        return true;
    };
    // The settings in force: the file's, with the database's over them. On a store thread.
    auto apply_settings = [&](store::Store& s) {
        auto stored = s.stored_settings();
        settings->set(chat::with_stored(current_file_settings(), stored));
        uploads.set_max_bytes(settings->max_file_bytes());
        if (compliance_service) {
            compliance::ServiceOptions file;
            {
                std::lock_guard lock(file_settings_mutex);
                file = file_compliance;
            }
            compliance_service->set_options(compliance::with_stored(file, stored));
        }
    };
    // Users' groups, policy or administrator flag changed (`users`; everybody: nullopt): their
    // sessions here judge their next requests by what the store says now, and this server's
    // rooms judge their occupants again. On a store thread.
    auto refresh_subjects = [&](store::Store& s,
                                const std::optional<std::set<std::string>>& users) {
        std::map<std::string, std::shared_ptr<const chat::Subject>> fresh;
        auto subject = [&](const std::string& name) -> std::shared_ptr<const chat::Subject> {
            if (users && !users->count(name)) return nullptr;
            auto it = fresh.find(name);
            if (it == fresh.end()) {
                auto user = s.find_user(name);
                if (!user) return nullptr;
                it = fresh.emplace(name, chat::subject_of(s, *user)).first;
            }
            return it->second;
        };
        for (const auto& session : router.all())
            if (auto who = subject(session->jid().local())) session->set_subject(who);
        for (const auto& name : web_app.signed_in_users())
            if (auto who = subject(name)) web_app.set_subject(name, who);
        rooms.refresh_subjects(users);
    };
    auto policy_changed = [&](store::Store& s, const std::string& scope) {
        if (scope.starts_with("user:"))
            return refresh_subjects(s, std::set<std::string>{scope.substr(5)});
        if (scope.starts_with("group:")) {
            auto members = s.group_members(scope.substr(6));
            return refresh_subjects(s, std::set<std::string>(members.begin(), members.end()));
        }
        refresh_subjects(s, std::nullopt);
    };
    // Changes made outside the server (the command line, on this machine or another; another
    // server of a pool; the admin API): read every second and applied to the rooms, the
    // directory and the sessions (store/change_feed.hpp). The admin API reads them too before
    // it answers, so that what it changed is in force (a category it created takes rooms at
    // once).
    store::ChangeFeed changes(
        store->last_change(), [&](store::Store& s, const store::ChangeNotice& c) {
            if (c.kind == "user" && !end_if_disabled(s, c.name))
                refresh_subjects(s, std::set<std::string>{c.name});
            if (c.kind == "policy") policy_changed(s, c.name);
            if (c.kind == "disconnect") {
                if (size_t ended = end_sessions(c.name, "policy-violation",
                                                "Disconnected by an administrator"))
                    spdlog::info("{} sessions of {} ended by an administrator", ended, c.name);
            }
            if (c.kind == "addin") directory.load_addins(s);
            if (c.kind == "settings") {
                apply_settings(s);
                spdlog::info("setting {} changed by an administrator", c.name);
            }
            if (c.kind == "room") rooms.reload(c.name);
            if (c.kind == "category") rooms.reload_category(s, c.name);
            if (c.kind == "blocklist") blocklists.set(c.name, s.blocked(c.name));
            if (c.kind == "topology") {
                topology.load(s);
                auto [pool_name, standby_after_s] = topology.takeover();
                if (membership) membership->set_takeover(pool_name, standby_after_s);
            }
            if (c.kind == "import") {
                // A data import into the empty database: everything it brought.
                directory.load(s);
                apply_settings(s);
                load_blocklists(s);
                spdlog::info("data imported: {} rooms", directory.room_count());
            }
        });
    asio::steady_timer changes_timer(io.context());
    auto reading = std::make_shared<std::atomic<bool>>(false);
    std::function<void()> read_changes = [&, reading] {
        if (reading->exchange(true)) return;  // the read under way sees what is there
        bool queued = workers.submit([&, reading](store::Store& s) {
            changes.read(s);
            reading->store(false);
        });
        if (!queued) reading->store(false);
    };
    std::function<void()> watch_changes = [&] {
        changes_timer.expires_after(std::chrono::seconds(1));
        changes_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            read_changes();
            watch_changes();
        });
    };
    watch_changes();

    // The admin API (and, in a pool, the peer links on the same port).
    web::AdminConfig admin_config;
    admin_config.domain = config.domain;
    admin_config.muc_domain = config.muc_domain();
    admin_config.version = PERCH_VERSION;
    admin_config.www_dir = config.http.www_dir;
    admin_config.session_lifetime = std::chrono::hours(config.admin.session_hours);
    admin_config.guard = guard;
    admin_config.file_settings = current_file_settings;
    admin_config.upload_dir = (std::filesystem::path(config.data_dir) / "tmp").string();
    const auto started = std::chrono::steady_clock::now();
    std::optional<web::ComplianceAdmin> admin_compliance;
    if (compliance_service) admin_compliance = compliance_admin(config, *compliance_service);
    web::AdminApi admin_api(
        admin_config,
        web::AdminDeps{
            workers, room_commands, router, [&changes](store::Store& s) { changes.read(s); },
            [&, started] {
                auto commits = writer.stats();
                auto jobs = workers.stats();
                nlohmann::json out{
                    {"status", "ok"},
                    {"sessions", router.session_count()},
                    {"logins", stats.logins.load()},
                    {"stream_errors", stats.stream_errors.load()},
                    {"rooms", directory.room_count()},
                    {"messages_posted", rooms.messages_posted()},
                    {"failed_logins", credentials.guard().failures(xmpp::LoginChannel::xmpp) +
                                          credentials.guard().failures(xmpp::LoginChannel::http)},
                    {"store",
                     {{"commits", commits.commits},
                      {"commit_seconds", commits.commit_seconds},
                      {"jobs", jobs.jobs},
                      {"job_wait_seconds", jobs.wait_seconds},
                      {"jobs_queued", jobs.queued}}},
                    {"topology", topology.state()},
                    {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count()}};
                if (membership) {
                    nlohmann::json servers = nlohmann::json::array();
                    for (const auto& m : membership->live())
                        servers.push_back({{"name", m.name},
                                           {"number", m.number},
                                           {"client_address", m.client_address},
                                           {"active", m.active}});
                    out["pool"] = {{"server", config.pool.name},
                                   {"live", servers},
                                   {"active", membership->active()}};
                }
                return out;
            },
            std::move(admin_compliance),
            [&config](store::Store& s) { return export_archive(s, config); },
            [&config](store::Store& s, const std::string& archive, const std::string& by) {
                return import_archive(s, config, archive, by);
            },
            [&](size_t limit, std::function<void(nlohmann::json)> done) {
                if (pool_node) return pool_node->users().list_sessions(limit, std::move(done));
                done(nlohmann::json::array({pool::PoolUsers::local_sessions(router, limit)}));
            }});
    net::HttpOptions admin_options;
    admin_options.setting = "admin.port";
    admin_options.tls = true;
    admin_options.websocket_path.clear();  // no XMPP here
    admin_options.min_body_rate = http_options.min_body_rate;
    admin_options.body_grace = http_options.body_grace;
    auto no_admin_api = admin_api_elsewhere(config.admin.port);
    std::vector<std::unique_ptr<net::HttpListener>> admin_listeners;
    std::string admin_ports;
    bool shared_port = membership && config.admin.port == config.pool.peer_port;
    if (membership) {
        auto pool_options = admin_options;
        pool_options.peers = &pool_node->links();
        pool_options.setting = "pool.peer_port";
        admin_listeners.push_back(std::make_unique<net::HttpListener>(
            pool_node->io(), ctx,
            shared_port ? static_cast<net::HttpHandler&>(admin_api) : *no_admin_api, tls,
            asio::ip::tcp::endpoint(asio::ip::make_address(config.pool.peer_bind),
                                    uint16_t(config.pool.peer_port)),
            pool_options));
        admin_ports += fmt::format(", pool peers{} on {}:{}", shared_port ? " and admin API" : "",
                                   config.pool.peer_bind, admin_listeners.back()->port());
    }
    if (config.admin.port > 0 && !shared_port) {
        admin_listeners.push_back(std::make_unique<net::HttpListener>(
            io, ctx, admin_api, tls,
            asio::ip::tcp::endpoint(asio::ip::make_address(config.admin.bind),
                                    uint16_t(config.admin.port)),
            admin_options));
        admin_ports +=
            fmt::format(", admin API on {}:{}", config.admin.bind, admin_listeners.back()->port());
    }
    for (auto& l : admin_listeners) l->start();

    // A pool's once-a-second work (PoolNode::tick).
    asio::steady_timer pool_timer(io.context());
    std::function<void()> pool_tick = [&] {
        pool_timer.expires_after(std::chrono::seconds(1));
        pool_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            pool_node->tick(router, ctx.elsewhere,
                            std::chrono::seconds(config.pool.drain_timeout_s));
            pool_tick();
        });
    };
    if (pool_node) pool_tick();

    // SIGHUP: the configuration file again. What applies without a restart applies (the log
    // level, the run-time settings' file values, under those an administrator set); the rest
    // is named, in force from the next restart. A file that no longer loads changes nothing.
    auto reload_config = [&] {
        if (config_path.empty()) return;
        try {
            Config fresh = load_config(config_path);
            prepare_data_dir(fresh);
            spdlog::set_level(spdlog::level::from_str(fresh.log_level));
            {
                std::lock_guard lock(file_settings_mutex);
                file_settings = fresh.chat_settings();
                file_compliance = fresh.compliance_options();
            }
            bool queued = workers.submit([&](store::Store& s) {
                apply_settings(s);
                spdlog::info("SIGHUP: log level {} and the settings' file values applied",
                             spdlog::level::to_string_view(spdlog::get_level()));
            });
            if (!queued)
                spdlog::warn("SIGHUP: the store is busy; settings applied at the next change");
            if (auto later = restart_needed(config, fresh); !later.empty())
                spdlog::warn("SIGHUP: {} changed in {}: in force from the next restart",
                             fmt::join(later, ", "), config_path);
        } catch (const std::exception& e) {
            spdlog::error("SIGHUP: {} not applied, the configuration in force stays: {}",
                          config_path, e.what());
        }
    };
    asio::signal_set hangup(io.context(), SIGHUP);
    std::function<void()> on_hangup = [&] {
        hangup.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            spdlog::info("SIGHUP: reading the TLS certificate and the configuration again");
            certificate.reload(true);
            reload_config();
            on_hangup();
        });
    };
    on_hangup();

    // Shutdown: stop accepting, tell every client (system-shutdown), give the goodbyes a moment
    // to be written, then stop the I/O threads. On a signal; or when this server is a member of
    // its pool no more (taken for gone while it was paused or cut off): it ends with status 75
    // (EX_TEMPFAIL) for its supervisor to start it again, and its clients go to the others.
    asio::signal_set signals(io.context(), SIGINT, SIGTERM);
    asio::steady_timer grace(io.context());
    std::atomic<int> exit_status{0};
    std::atomic<bool> shutting_down{false};
    auto shut_down = [&](const std::string& why) {
        if (shutting_down.exchange(true)) return;
        spdlog::info("{}: shutting down ({} sessions)", why, router.session_count());
        signals.cancel();
        for (auto& l : listeners) l->stop();
        for (auto& l : http_listeners) l->stop();
        for (auto& l : admin_listeners) l->stop();
        housekeeping.cancel();
        hangup.cancel();
        pool_timer.cancel();
        changes_timer.cancel();
        resumption_timer.cancel();
        // Leaving the pool first lets the others take this server's rooms at once; its
        // commits still in flight are then refused by the rooms' epochs. A server that is no
        // member any more has nothing to leave, and may be cut off from the database: its
        // clients are told at once, not after a renewal stuck on the network.
        if (membership && exit_status == 0) membership->stop();
        if (pool_node) pool_node->links().stop();
        for (auto& s : router.all()) s->terminate("system-shutdown", "The server is shutting down");
        grace.expires_after(std::chrono::milliseconds(300));
        grace.async_wait([&](const boost::system::error_code&) {
            io.stop();
            if (pool_node) pool_node->io().stop();
        });
    };
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (!ec) shut_down(fmt::format("signal {}", sig));
    });
    if (membership)
        membership->on_lost([&](const std::string& why) {
            asio::post(io.context(), [&, why] {
                exit_status = 75;
                shut_down("no member of the pool any more (" + why + ")");
            });
        });
    if (pool_node) pool_node->io().start();
    io.start();
    spdlog::info(
        "Perch {} serving {} (rooms on {}): XMPP on {}:{}{}{}{}, {} rooms, {} I/O threads, store "
        "{}",
        PERCH_VERSION, config.domain, config.muc_domain(), config.c2s.bind, listeners[0]->port(),
        config.c2s.direct_tls_port > 0 ? fmt::format(", direct TLS on {}", listeners[1]->port())
                                       : "",
        http_ports, admin_ports, directory.room_count(), threads, store::describe(config.store));
    if (membership)
        spdlog::info("pool member {} (number {}): {} live servers", config.pool.name,
                     membership->self().number, membership->live().size());
    io.join();
    if (pool_node) pool_node->io().join();
    // Posts already accepted are committed before the process ends, and their events moved.
    writer.stop();
    workers.stop();
    if (compliance_service) compliance_service->stop();
    if (exit_status != 0)
        spdlog::info("stopped, status {}: to be started again", exit_status.load());
    else
        spdlog::info("stopped");
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // Everything that must outlive the process is written. Freeing what tens of thousands of
    // sessions held, one object at a time, took minutes (a pool server with 19,400 sessions
    // was still freeing after 18 minutes): leave that to the system. Sanitizer builds free
    // everything, so that their leak checks still see every object.
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(exit_status);
#endif
    return exit_status;
}

}  // namespace perch::app
