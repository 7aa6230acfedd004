#include "app/config.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "util/ids.hpp"

namespace perch::app {

namespace {

class Reader {
  public:
    Reader(const toml::table& root, std::string file) : root_(root), file_(std::move(file)) {}

    template <typename T>
    void get(std::string_view section, std::string_view key, T& out) {
        const toml::table* t = section.empty() ? &root_ : root_[section].as_table();
        known_.insert(section.empty() ? std::string(key)
                                      : std::string(section) + "." + std::string(key));
        if (!t) return;
        const toml::node* n = t->get(key);
        if (!n) return;
        std::optional<T> v;
        if constexpr (std::is_same_v<T, int>) {
            if (auto i = n->value<int64_t>()) v = int(*i);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            if (const toml::array* a = n->as_array()) {
                v.emplace();
                for (const auto& item : *a) {
                    auto text = item.value<std::string>();
                    if (!text) {
                        v.reset();
                        break;
                    }
                    v->push_back(*text);
                }
            }
        } else {
            v = n->value<T>();
        }
        if (!v) {
            throw std::runtime_error(file_ + ":" + std::to_string(n->source().begin.line) + ": " +
                                     std::string(key) + " has the wrong type");
        }
        out = *v;
    }

    void refuse_unknown() {
        for (const auto& [k, v] : root_) {
            std::string key(k.str());
            if (const auto* t = v.as_table()) {
                for (const auto& [k2, v2] : *t) {
                    std::string full = key + "." + std::string(k2.str());
                    if (!known_.count(full))
                        throw std::runtime_error(file_ + ":" +
                                                 std::to_string(v2.source().begin.line) +
                                                 ": unknown setting " + full);
                }
            } else if (!known_.count(key)) {
                throw std::runtime_error(file_ + ":" + std::to_string(v.source().begin.line) +
                                         ": unknown setting " + key);
            }
        }
    }

  private:
    const toml::table& root_;
    std::string file_;
    std::set<std::string> known_;
};

void check_range(const std::string& name, int v, int lo, int hi) {
    if (v < lo || v > hi)
        throw std::runtime_error(name + " must be between " + std::to_string(lo) + " and " +
                                 std::to_string(hi));
}

void check_pool(Config& c, const std::string& path) {
    check_range("pool.peer_port", c.pool.peer_port, 1, 65535);
    check_range("pool.lease_ms", c.pool.lease_ms, 1000, 600000);
    check_range("pool.drain_timeout_s", c.pool.drain_timeout_s, 0, 86400);
    if (c.store.backend != "postgres")
        throw std::runtime_error(
            path +
            ": a pool needs PostgreSQL: every server of a pool works on one shared "
            "database, which SQLite (a file of one process) cannot be. Set [store] "
            "backend = \"postgres\" and url on every server of the pool (the same "
            "database), or remove the [pool] section to run a single server");
    if (!c.pool.secret_file.empty()) {
        if (!c.pool.secret.empty())
            throw std::runtime_error(path + ": pool.secret and pool.secret_file: give one");
        std::ifstream in(c.pool.secret_file);
        if (!in || !(in >> c.pool.secret))
            throw std::runtime_error(path + ": pool.secret_file " + c.pool.secret_file +
                                     " cannot be read");
    }
    if (c.pool.secret.size() < 16)
        throw std::runtime_error(
            path +
            ": pool.secret (or pool.secret_file) must hold at least 16 characters, the "
            "same on every server of the pool (e.g. the output of `openssl rand -hex "
            "32`)");
    if (c.pool.peer_address.empty()) {
        if (c.pool.peer_bind == "0.0.0.0" || c.pool.peer_bind == "::")
            throw std::runtime_error(path +
                                     ": pool.peer_address must say how the other servers reach "
                                     "this one (host:port) when pool.peer_bind is a wildcard");
        c.pool.peer_address = c.pool.peer_bind + ":" + std::to_string(c.pool.peer_port);
    }
    if (c.pool.client_address.empty())
        c.pool.client_address = c.domain + ":" + std::to_string(c.c2s.port);
}

}  // namespace

Config load_config(const std::string& path) {
    Config c;
    if (path.empty()) return c;
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw std::runtime_error(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                 std::string(e.description()));
    }
    Reader r(root, path);
    r.get("", "domain", c.domain);
    r.get("", "data_dir", c.data_dir);
    r.get("", "io_threads", c.io_threads);
    r.get("", "log_level", c.log_level);
    r.get("", "secret", c.secret);
    r.get("", "log_file", c.log_file);
    r.get("", "log_max_mb", c.log_max_mb);
    r.get("", "log_files", c.log_files);
    r.get("c2s", "bind", c.c2s.bind);
    r.get("c2s", "port", c.c2s.port);
    r.get("c2s", "direct_tls_port", c.c2s.direct_tls_port);
    r.get("c2s", "tls_required", c.c2s.tls_required);
    r.get("c2s", "max_stanza_kb", c.c2s.max_stanza_kb);
    r.get("c2s", "max_send_queue_kb", c.c2s.max_send_queue_kb);
    r.get("c2s", "login_timeout_s", c.c2s.login_timeout_s);
    r.get("c2s", "max_pending_joins", c.c2s.max_pending_joins);
    r.get("c2s", "stanzas_per_second", c.c2s.stanzas_per_second);
    r.get("c2s", "stanza_burst", c.c2s.stanza_burst);
    r.get("c2s", "max_offline_messages", c.c2s.max_offline_messages);
    r.get("c2s", "personal_storage_kb", c.c2s.personal_storage_kb);
    r.get("c2s", "max_roster_items", c.c2s.max_roster_items);
    r.get("c2s", "resume_timeout_s", c.c2s.resume_timeout_s);
    r.get("login", "free_failures", c.login.free_failures);
    r.get("login", "max_delay_s", c.login.max_delay_s);
    r.get("login", "lockout_failures", c.login.lockout_failures);
    r.get("login", "lockout_s", c.login.lockout_s);
    r.get("muc", "subdomain", c.muc.subdomain);
    r.get("muc", "default_history", c.muc.default_history);
    r.get("muc", "max_history", c.muc.max_history);
    r.get("muc", "history_cache", c.muc.history_cache);
    r.get("muc", "participant_update_limit", c.muc.participant_update_limit);
    r.get("muc", "max_message_chars", c.muc.max_message_chars);
    r.get("muc", "max_story_chars", c.muc.max_story_chars);
    r.get("muc", "posts_per_second", c.muc.posts_per_second);
    r.get("muc", "post_burst", c.muc.post_burst);
    r.get("muc", "allow_user_rooms", c.muc.allow_user_rooms);
    r.get("muc", "default_category", c.muc.default_category);
    r.get("muc", "room_management_url", c.muc.room_management_url);
    r.get("muc", "shards", c.muc.shards);
    r.get("http", "bind", c.http.bind);
    r.get("http", "port", c.http.port);
    r.get("http", "tls_port", c.http.tls_port);
    r.get("http", "public_url", c.http.public_url);
    r.get("http", "websocket_origins", c.http.websocket_origins);
    r.get("http", "www_dir", c.http.www_dir);
    r.get("http", "converse_dir", c.http.converse_dir);
    r.get("http", "max_body_kb", c.http.max_body_kb);
    r.get("http", "min_body_rate", c.http.min_body_rate);
    r.get("http", "body_grace_s", c.http.body_grace_s);
    r.get("http", "metrics_access", c.http.metrics_access);
    r.get("http", "metrics_token", c.http.metrics_token);
    r.get("files", "dir", c.files.dir);
    r.get("files", "max_file_size_kb", c.files.max_file_size_kb);
    r.get("files", "slot_lifetime_s", c.files.slot_lifetime_s);
    r.get("files", "max_open_slots", c.files.max_open_slots);
    r.get("files", "daily_quota_mb", c.files.daily_quota_mb);
    r.get("compliance", "enabled", c.compliance.enabled);
    r.get("compliance", "path", c.compliance.path);
    r.get("compliance", "url", c.compliance.url);
    r.get("compliance", "export_dir", c.compliance.export_dir);
    r.get("compliance", "checkpoint_key", c.compliance.checkpoint_key);
    r.get("compliance", "run_interval_s", c.compliance.run_interval_s);
    r.get("compliance", "xml", c.compliance.xml);
    r.get("compliance", "jsonl", c.compliance.jsonl);
    r.get("compliance", "one_room_per_file", c.compliance.one_room_per_file);
    r.get("compliance", "user_details", c.compliance.user_details);
    r.get("compliance", "room_details", c.compliance.room_details);
    r.get("compliance", "file_manifest", c.compliance.file_manifest);
    r.get("compliance", "on_failure", c.compliance.on_failure);
    r.get("tls", "cert", c.tls.cert);
    r.get("tls", "key", c.tls.key);
    r.get("store", "backend", c.store.backend);
    r.get("store", "path", c.store.path);
    r.get("store", "url", c.store.url);
    r.get("store", "pool_size", c.store.pool_size);
    r.get("store", "cache_mb", c.store.cache_mb);
    r.get("store", "mmap_mb", c.store.mmap_mb);
    r.get("store", "synchronous_full", c.store.synchronous_full);
    r.get("store", "retention_days", c.store.retention_days);
    r.get("store", "outage_wait_s", c.store.outage_wait_s);
    r.get("compliance", "retention_days", c.compliance.retention_days);
    r.get("admin", "bind", c.admin.bind);
    r.get("admin", "port", c.admin.port);
    r.get("admin", "session_hours", c.admin.session_hours);
    r.get("pool", "name", c.pool.name);
    r.get("pool", "peer_bind", c.pool.peer_bind);
    r.get("pool", "peer_port", c.pool.peer_port);
    r.get("pool", "peer_address", c.pool.peer_address);
    r.get("pool", "client_address", c.pool.client_address);
    r.get("pool", "secret", c.pool.secret);
    r.get("pool", "secret_file", c.pool.secret_file);
    r.get("pool", "lease_ms", c.pool.lease_ms);
    r.get("pool", "drain_timeout_s", c.pool.drain_timeout_s);
    r.refuse_unknown();

    check_range("log_max_mb", c.log_max_mb, 1, 100000);
    check_range("log_files", c.log_files, 1, 1000);
    check_range("admin.port", c.admin.port, 0, 65535);
    check_range("admin.session_hours", c.admin.session_hours, 1, 720);
    check_range("c2s.port", c.c2s.port, 0, 65535);
    check_range("c2s.direct_tls_port", c.c2s.direct_tls_port, 0, 65535);
    check_range("c2s.max_stanza_kb", c.c2s.max_stanza_kb, 1, 16384);
    check_range("c2s.max_send_queue_kb", c.c2s.max_send_queue_kb, 16, 1024 * 1024);
    check_range("c2s.login_timeout_s", c.c2s.login_timeout_s, 1, 3600);
    check_range("c2s.max_pending_joins", c.c2s.max_pending_joins, 0, 10000000);
    check_range("c2s.stanzas_per_second", c.c2s.stanzas_per_second, 0, 1000000);
    check_range("c2s.max_offline_messages", c.c2s.max_offline_messages, 0, 1000000);
    check_range("c2s.personal_storage_kb", c.c2s.personal_storage_kb, 0, 16 * 1024 * 1024);
    check_range("c2s.max_roster_items", c.c2s.max_roster_items, 0, 1000000);
    check_range("c2s.resume_timeout_s", c.c2s.resume_timeout_s, 0, 86400);
    check_range("c2s.stanza_burst", c.c2s.stanza_burst, 1, 1000000);
    check_range("muc.posts_per_second", c.muc.posts_per_second, 0, 1000000);
    check_range("muc.post_burst", c.muc.post_burst, 1, 1000000);
    check_range("login.free_failures", c.login.free_failures, 1, 1000);
    check_range("login.max_delay_s", c.login.max_delay_s, 1, 3600);
    check_range("login.lockout_failures", c.login.lockout_failures, c.login.free_failures + 1,
                100000);
    check_range("login.lockout_s", c.login.lockout_s, 1, 86400);
    check_range("muc.default_history", c.muc.default_history, 1, 500);
    check_range("muc.max_history", c.muc.max_history, 0, 10000);
    check_range("muc.history_cache", c.muc.history_cache, 0, 10000);
    check_range("muc.participant_update_limit", c.muc.participant_update_limit, 0, 1'000'000);
    check_range("muc.max_message_chars", c.muc.max_message_chars, 1, 1'000'000);
    check_range("muc.max_story_chars", c.muc.max_story_chars, 1, 1'000'000);
    check_range("io_threads", c.io_threads, 0, 256);
    check_range("http.port", c.http.port, 0, 65535);
    check_range("http.tls_port", c.http.tls_port, 0, 65535);
    check_range("http.max_body_kb", c.http.max_body_kb, 1, 16384);
    check_range("http.min_body_rate", c.http.min_body_rate, 0, 1 << 30);
    check_range("http.body_grace_s", c.http.body_grace_s, 1, 300);
    check_range("files.max_file_size_kb", c.files.max_file_size_kb, 1, 4 * 1024 * 1024);
    check_range("files.slot_lifetime_s", c.files.slot_lifetime_s, 10, 86400);
    check_range("files.max_open_slots", c.files.max_open_slots, 1, 10000);
    check_range("files.daily_quota_mb", c.files.daily_quota_mb, 0, 100 * 1024 * 1024);
    check_range("compliance.run_interval_s", c.compliance.run_interval_s, 60, 30 * 86400);
    check_range("store.retention_days", c.store.retention_days, 0, 36500);
    check_range("store.outage_wait_s", c.store.outage_wait_s, 0, 3600);
    check_range("store.pool_size", c.store.pool_size, 1, 64);
    check_range("store.cache_mb", c.store.cache_mb, 1, 1024 * 1024);
    check_range("store.mmap_mb", c.store.mmap_mb, 0, 1024 * 1024);
    if (c.http.metrics_access != "loopback" && c.http.metrics_access != "anyone")
        throw std::runtime_error("http.metrics_access must be \"loopback\" or \"anyone\"");
    if (c.store.backend != "sqlite" && c.store.backend != "postgres")
        throw std::runtime_error("store.backend must be \"sqlite\" or \"postgres\"");
    if (c.store.backend == "postgres" && c.store.url.empty())
        throw std::runtime_error(
            "store.url must give the PostgreSQL connection string when store.backend is "
            "\"postgres\" (e.g. \"host=db.example.org dbname=perch user=perch\")");
    check_range("compliance.retention_days", c.compliance.retention_days, 0, 36500);
    if (c.compliance.on_failure != "queue" && c.compliance.on_failure != "refuse")
        throw std::runtime_error("compliance.on_failure must be \"queue\" or \"refuse\"");
    c.store.compliance = c.compliance.enabled;
    try {
        chat::Settings checked;
        chat::set_setting(checked, "room_management_url", c.muc.room_management_url);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(std::string("muc.") + e.what());
    }
    if (c.pooled()) check_pool(c, path);
    if (c.domain.empty()) throw std::runtime_error("domain must not be empty");
    return c;
}

std::vector<std::string> restart_needed(const Config& a, const Config& b) {
    std::vector<std::string> out;
    auto check = [&](const char* name, const auto& x, const auto& y) {
        if (x != y) out.emplace_back(name);
    };
    check("domain", a.domain, b.domain);
    check("data_dir", a.data_dir, b.data_dir);
    check("io_threads", a.io_threads, b.io_threads);
    check("log_file", a.log_file, b.log_file);
    check("c2s.bind", a.c2s.bind, b.c2s.bind);
    check("c2s.port", a.c2s.port, b.c2s.port);
    check("c2s.direct_tls_port", a.c2s.direct_tls_port, b.c2s.direct_tls_port);
    check("c2s.tls_required", a.c2s.tls_required, b.c2s.tls_required);
    check("c2s.max_stanza_kb", a.c2s.max_stanza_kb, b.c2s.max_stanza_kb);
    check("c2s.max_send_queue_kb", a.c2s.max_send_queue_kb, b.c2s.max_send_queue_kb);
    check("c2s.login_timeout_s", a.c2s.login_timeout_s, b.c2s.login_timeout_s);
    check("c2s.max_pending_joins", a.c2s.max_pending_joins, b.c2s.max_pending_joins);
    check("c2s.stanzas_per_second", a.c2s.stanzas_per_second, b.c2s.stanzas_per_second);
    check("c2s.stanza_burst", a.c2s.stanza_burst, b.c2s.stanza_burst);
    check("c2s.max_offline_messages", a.c2s.max_offline_messages, b.c2s.max_offline_messages);
    check("c2s.personal_storage_kb", a.c2s.personal_storage_kb, b.c2s.personal_storage_kb);
    check("c2s.max_roster_items", a.c2s.max_roster_items, b.c2s.max_roster_items);
    check("c2s.resume_timeout_s", a.c2s.resume_timeout_s, b.c2s.resume_timeout_s);
    check("login",
          std::tie(a.login.free_failures, a.login.max_delay_s, a.login.lockout_failures,
                   a.login.lockout_s),
          std::tie(b.login.free_failures, b.login.max_delay_s, b.login.lockout_failures,
                   b.login.lockout_s));
    check("muc.subdomain", a.muc.subdomain, b.muc.subdomain);
    check("muc.max_history", a.muc.max_history, b.muc.max_history);
    check("muc.history_cache", a.muc.history_cache, b.muc.history_cache);
    check("muc.posts_per_second", a.muc.posts_per_second, b.muc.posts_per_second);
    check("muc.post_burst", a.muc.post_burst, b.muc.post_burst);
    check("muc.allow_user_rooms", a.muc.allow_user_rooms, b.muc.allow_user_rooms);
    check("muc.default_category", a.muc.default_category, b.muc.default_category);
    check("muc.shards", a.muc.shards, b.muc.shards);
    check("http",
          std::tie(a.http.bind, a.http.port, a.http.tls_port, a.http.public_url,
                   a.http.websocket_origins, a.http.www_dir, a.http.converse_dir,
                   a.http.max_body_kb, a.http.min_body_rate, a.http.body_grace_s,
                   a.http.metrics_access, a.http.metrics_token),
          std::tie(b.http.bind, b.http.port, b.http.tls_port, b.http.public_url,
                   b.http.websocket_origins, b.http.www_dir, b.http.converse_dir,
                   b.http.max_body_kb, b.http.min_body_rate, b.http.body_grace_s,
                   b.http.metrics_access, b.http.metrics_token));
    check("files",
          std::tie(a.files.dir, a.files.slot_lifetime_s, a.files.max_open_slots,
                   a.files.daily_quota_mb),
          std::tie(b.files.dir, b.files.slot_lifetime_s, b.files.max_open_slots,
                   b.files.daily_quota_mb));
    // The compliance service's options (run interval, adapters, details, retention) apply on
    // SIGHUP; where it writes does not.
    check("compliance",
          std::tie(a.compliance.enabled, a.compliance.path, a.compliance.url,
                   a.compliance.export_dir, a.compliance.checkpoint_key, a.compliance.on_failure),
          std::tie(b.compliance.enabled, b.compliance.path, b.compliance.url,
                   b.compliance.export_dir, b.compliance.checkpoint_key, b.compliance.on_failure));
    check("tls", std::tie(a.tls.cert, a.tls.key), std::tie(b.tls.cert, b.tls.key));
    check("admin", std::tie(a.admin.bind, a.admin.port, a.admin.session_hours),
          std::tie(b.admin.bind, b.admin.port, b.admin.session_hours));
    check("pool",
          std::tie(a.pool.name, a.pool.peer_bind, a.pool.peer_port, a.pool.peer_address,
                   a.pool.client_address, a.pool.secret, a.pool.secret_file, a.pool.lease_ms),
          std::tie(b.pool.name, b.pool.peer_bind, b.pool.peer_port, b.pool.peer_address,
                   b.pool.client_address, b.pool.secret, b.pool.secret_file, b.pool.lease_ms));
    check("store",
          std::tie(a.store.backend, a.store.path, a.store.url, a.store.pool_size, a.store.cache_mb,
                   a.store.mmap_mb, a.store.synchronous_full, a.store.retention_days,
                   a.store.outage_wait_s),
          std::tie(b.store.backend, b.store.path, b.store.url, b.store.pool_size, b.store.cache_mb,
                   b.store.mmap_mb, b.store.synchronous_full, b.store.retention_days,
                   b.store.outage_wait_s));
    return out;
}

compliance::ServiceOptions Config::compliance_options() const {
    compliance::ServiceOptions o;
    o.run_interval = std::chrono::seconds(compliance.run_interval_s);
    o.xml = compliance.xml;
    o.jsonl = compliance.jsonl;
    o.one_room_per_file = compliance.one_room_per_file;
    o.user_details = compliance.user_details;
    o.room_details = compliance.room_details;
    o.file_manifest = compliance.file_manifest;
    o.retention_days = compliance.retention_days;
    return o;
}

chat::Settings Config::chat_settings() const {
    chat::Settings s;
    s.default_history = muc.default_history;
    s.participant_update_limit = muc.participant_update_limit;
    s.max_message_chars = muc.max_message_chars;
    s.max_story_chars = muc.max_story_chars;
    s.max_file_size_kb = files.max_file_size_kb;
    s.room_management_url = muc.room_management_url;
    return s;
}

void prepare_data_dir(Config& c) {
    namespace fs = std::filesystem;
    fs::create_directories(c.data_dir);
    auto in_data = [&](const std::string& p, const char* fallback) {
        if (p.empty()) return (fs::path(c.data_dir) / fallback).string();
        return p;
    };
    c.tls.defaults = c.tls.cert.empty() && c.tls.key.empty();
    c.tls.cert = in_data(c.tls.cert, "tls/cert.pem");
    c.tls.key = in_data(c.tls.key, "tls/key.pem");
    c.files.dir = in_data(c.files.dir, "files");
    c.compliance.path = in_data(c.compliance.path, "compliance.db");
    c.compliance.export_dir = in_data(c.compliance.export_dir, "compliance-export");
    c.compliance.checkpoint_key = in_data(c.compliance.checkpoint_key, "compliance-checkpoint.pem");
    if (c.http.public_url.empty()) {
        bool plain = c.http.port > 0;
        c.http.public_url = std::string(plain ? "http://" : "https://") + c.domain + ":" +
                            std::to_string(plain ? c.http.port : c.http.tls_port);
    }
    while (!c.http.public_url.empty() && c.http.public_url.back() == '/')
        c.http.public_url.pop_back();
    if (c.store.path == store::StoreConfig{}.path)
        c.store.path = (fs::path(c.data_dir) / "perch.db").string();
}

void make_server_files(Config& c) {
    namespace fs = std::filesystem;
    fs::create_directories(c.files.dir);
    if (c.secret.empty()) {
        fs::path secret_file = fs::path(c.data_dir) / "secret";
        if (fs::exists(secret_file)) {
            std::ifstream(secret_file) >> c.secret;
        } else {
            c.secret = util::random_id() + util::random_id();
            std::ofstream(secret_file) << c.secret << "\n";
            fs::permissions(secret_file, fs::perms::owner_read | fs::perms::owner_write);
        }
    }
}

}  // namespace perch::app
