#pragma once
#include <string>

#include "chat/settings.hpp"
#include "compliance/service.hpp"
#include "store/store.hpp"

namespace perch::app {

// Every setting of one server, with its default. Read from TOML; unknown keys are refused so
// that a typo does not silently fall back to a default.
struct Config {
    std::string domain = "localhost";
    std::string data_dir = "var";
    int io_threads = 0;  // 0: one per core
    std::string log_level = "info";
    // Where the log goes: standard error (the journal, under systemd) when empty, or this file,
    // rotated at log_max_mb, keeping log_files old ones (file.1 … file.N).
    std::string log_file;
    int log_max_mb = 100;
    int log_files = 5;

    struct C2s {
        std::string bind = "0.0.0.0";
        int port = 5222;
        int direct_tls_port = 5223;  // 0 disables XEP-0368 direct TLS
        bool tls_required = true;    // outside loopback
        int max_stanza_kb = 256;
        int max_send_queue_kb = 1024;
        int login_timeout_s = 60;
        int stanzas_per_second = 100;  // per bound session (0: no limit)
        int stanza_burst = 500;
        int max_offline_messages = 1000;  // kept for one offline user (XEP-0160)
        int personal_storage_kb = 8192;   // PEP items and private XML of one user; 0: no limit
        int max_roster_items = 1000;      // contacts in one user's roster; 0: no limit
        int resume_timeout_s = 300;       // a dropped session waits this long (XEP-0198); 0: never
        int max_pending_joins = 2000;  // no new connection while this many joins wait; 0: no limit
    } c2s;

    // Password guessing, on every way in (xmpp/login_guard.hpp).
    struct Login {
        int free_failures = 5;      // per address and per account before delays begin
        int max_delay_s = 60;       // the delay doubles from 1 s up to this
        int lockout_failures = 20;  // then the address or the account is locked
        int lockout_s = 900;        // for this long (and failures are forgotten after it)
    } login;

    struct Muc {
        std::string subdomain = "chat";
        int default_history = 30;
        int max_history = 500;
        int history_cache = 50;
        int participant_update_limit = 75;
        int max_message_chars = 8000;
        int max_story_chars = 64000;
        int posts_per_second = 10;  // per occupant (0: no limit)
        int post_burst = 50;
        bool allow_user_rooms = true;
        std::string default_category = "General";
        // The room management pages clients send people to; empty: this server's /rooms.
        std::string room_management_url;
        int shards = 0;  // 0: four per I/O thread
    } muc;

    struct Http {
        std::string bind = "0.0.0.0";
        int port = 8080;      // 0 disables plain HTTP
        int tls_port = 8443;  // 0 disables HTTPS (same certificate as XMPP)
        // Where uploads and downloads are reached from clients, e.g. https://chat.example.org;
        // default: http://DOMAIN:PORT (or https on the TLS port when plain HTTP is off).
        std::string public_url;
        // Web pages elsewhere allowed to open the chat WebSocket (origins such as
        // "https://intranet.example.com"), besides this server's own.
        std::vector<std::string> websocket_origins;
        std::string www_dir = "www";                                 // our pages
        std::string converse_dir = "node_modules/converse.js/dist";  // Converse.js dist/
        int max_body_kb = 64;                                        // JSON requests
        // A request body must keep coming: after body_grace_s, at min_body_rate bytes a
        // second on average (0: no minimum), and whole within the transfer timeout (300 s).
        int min_body_rate = 1024;
        int body_grace_s = 10;
        // Who reads /metrics: "loopback" (this machine only), or "anyone"; with metrics_token
        // set, also any client that sends it as `Authorization: Bearer TOKEN`.
        std::string metrics_access = "loopback";
        std::string metrics_token;
    } http;

    struct Files {
        std::string dir;               // default: DATA_DIR/files
        int max_file_size_kb = 20000;  // the original's MaxFileSizeKB
        int slot_lifetime_s = 300;     // an upload slot is usable this long
        int max_open_slots = 20;       // unused upload slots one user may hold at once
        int daily_quota_mb = 2048;     // what one user may upload in a day; 0: no quota
    } files;

    struct Compliance {
        bool enabled = false;
        std::string path;        // default: DATA_DIR/compliance.db (a separate database)
        std::string url;         // PostgreSQL connection string: the log goes there instead
        std::string export_dir;  // default: DATA_DIR/compliance-export
        // The Ed25519 key that signs the checkpoints of each export (made when missing);
        // default DATA_DIR/compliance-checkpoint.pem. Keep it away from the compliance
        // database's administrators: it is what a rewritten chain cannot fake.
        std::string checkpoint_key;
        int run_interval_s = 900;  // the original's RunInterval: 1 minute to 30 days
        bool xml = true;
        bool jsonl = true;
        bool one_room_per_file = false;  // the original's OneChatRoomPerOutputFile
        bool user_details = false;
        bool room_details = false;
        bool file_manifest = false;
        // When the compliance database cannot be written: "queue" (events wait in the
        // outbox, posting goes on) or "refuse" (room posts are refused until it recovers).
        std::string on_failure = "queue";
        int retention_days = 0;  // purge exported events older than this; 0 keeps everything
    } compliance;

    struct Tls {
        std::string cert;  // default: DATA_DIR/tls/cert.pem, generated when missing
        std::string key;
        // Neither path was configured: a self-signed pair may be made at the defaults. Paths
        // an operator gave are never written: missing, they stop the server.
        bool defaults = false;
    } tls;

    // The admin API (HTTPS, JSON; docs/ADMIN_API.md) for `perch admin` and the console at
    // /admin. In a pool it shares the pool port when the ports are the same (the default).
    struct Admin {
        std::string bind = "0.0.0.0";
        int port = 8011;        // 0: no admin API
        int session_hours = 8;  // a console sign-in lasts this long
    } admin;

    // A pool: several servers on one PostgreSQL database (docs/OPERATIONS.md, "Pools"). Off
    // while `name` is empty.
    struct Pool {
        std::string name;  // this server's name in the pool, unique and kept
        std::string peer_bind = "0.0.0.0";
        int peer_port = 8011;        // where the other servers link to this one
        std::string peer_address;    // how they reach it (host:port); default peer_bind:port
        std::string client_address;  // where its clients connect (host:port), for the others
        std::string secret;          // shared by all servers of the pool (or secret_file)
        std::string secret_file;
        int lease_ms = 3000;  // down for everyone when not renewed for this long
        // Serving no more (a standby, or out of the active-server list): the sessions left are
        // sent to an active server after this long.
        int drain_timeout_s = 300;
    } pool;
    bool pooled() const { return !pool.name.empty(); }
    // The settings an administrator may change while the server runs, as this file gives them
    // (the database's values win: chat/settings.hpp).
    chat::Settings chat_settings() const;
    // The compliance service's options as this file gives them (the database's win).
    compliance::ServiceOptions compliance_options() const;
    store::StoreConfig store;
    std::string secret;  // keys derived identifiers; generated into DATA_DIR/secret when empty

    std::string muc_domain() const { return muc.subdomain + "." + domain; }
};

// Loads a TOML file; an empty path gives the defaults. Throws std::runtime_error naming the
// file, line and key on any mistake.
Config load_config(const std::string& path);
// The settings that differ between `running` and `fresh` (both prepared) and take effect only
// at a restart: what a SIGHUP cannot apply, named as in the file.
std::vector<std::string> restart_needed(const Config& running, const Config& fresh);
// Resolves paths relative to data_dir and creates the directory.
void prepare_data_dir(Config& config);
// What a starting server keeps in data_dir besides the database: the file store's directory
// and the secret (made when missing and not configured). Called once the store has
// connected, so that a server that cannot start leaves nothing behind.
void make_server_files(Config& config);

}  // namespace perch::app
