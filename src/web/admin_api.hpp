#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chat/room_service.hpp"
#include "net/http.hpp"
#include "store/workers.hpp"
#include "xmpp/login_guard.hpp"
#include "xmpp/router.hpp"

// The admin API (/admin/v1, HTTPS on the admin port, 8011 by default; docs/ADMIN_API.md): what
// `perch admin` and the console at /admin call, with accounts of its own (not chat logins)
// and roles. Changes to rooms are room commands (occupants see them at once, as a change made
// from a client); changes to users, groups, categories and policy are admin operations on the
// store (admin/operations.hpp), applied by this server at once and by the others of a pool
// from the change notice.
namespace perch::web {

struct AdminConfig {
    std::string domain;
    std::string muc_domain;
    std::string version;
    std::string www_dir;  // the console's pages are www/admin/
    std::chrono::seconds session_lifetime{8 * 3600};
    xmpp::LoginGuardOptions guard;
    std::function<chat::Settings()> file_settings;  // the configuration file's (the database's win)
    std::string upload_dir;  // where an uploaded data import is kept while it loads
};

// The compliance officer's area, given by the server when compliance is on. The functions
// block (they read the compliance database): called on store threads.
struct ComplianceAdmin {
    std::function<nlohmann::json(store::Store&)> status;
    // The chain against every checkpoint the server knows and these (JSON texts).
    std::function<nlohmann::json(const std::vector<std::string>& checkpoints)> verify;
    struct Selection {
        std::string format = "xml";  // or "jsonl"
        int64_t from_us = 0, to_us = 0;
        std::string room, user;
    };
    struct Exported {
        std::string file;  // to send, then remove
        size_t events = 0;
        std::string checkpoint;  // the chain's head, signed (JSON), or empty
    };
    std::function<Exported(const Selection&)> export_events;
};

struct AdminDeps {
    store::StoreJobs& jobs;
    chat::RoomCommands& rooms;
    xmpp::Router& router;
    // Changes written to the store: the change notices applied now, on this store thread,
    // before the answer goes (not at the next second).
    std::function<void(store::Store&)> changed;
    // Figures of the running server (and its pool) for the dashboard and /health.
    std::function<nlohmann::json()> status;
    std::optional<ComplianceAdmin> compliance;  // none: compliance is off
    // Writes the data export (`perch data export`) as a tar archive; on a store thread.
    struct DataExport {
        std::string file;  // to send, then remove
        uint64_t bytes = 0;
        std::string counts;  // JSON: how many of each part
    };
    std::function<DataExport(store::Store&)> export_data;
    // Loads an uploaded tar archive of a data export into the (empty) database and returns its
    // counts; on a store thread. Throws admin::Refused when it cannot, having loaded nothing.
    std::function<nlohmann::json(store::Store&, const std::string& archive, const std::string& by)>
        import_data;
    // The sessions of this server and the pool's other live servers, at most `limit` each, as
    // pool::PoolUsers::list_sessions gives them (`done` may run on another thread).
    std::function<void(size_t limit, std::function<void(nlohmann::json servers)> done)>
        list_sessions;
};

// Who is asking, once authenticated.
struct AdminCaller {
    std::string name;
    store::AdminRole role = store::AdminRole::read_only;
    // How the compliance record and the room service name its changes.
    std::string by() const { return "admin:" + name; }
};

class AdminApi final : public net::HttpHandler {
  public:
    AdminApi(AdminConfig config, AdminDeps deps);

    net::BodyPlan plan_body(const net::HttpRequest& head) override;
    void handle(net::HttpRequest request, std::function<void(net::HttpResponse)> respond) override;
    void count(unsigned status) override;

    uint64_t failed_logins() const { return guard_.failures(xmpp::LoginChannel::admin); }
    using Respond = std::function<void(net::HttpResponse)>;

  private:
    using Parts = std::vector<std::string>;
    using Json = nlohmann::json;

    void authenticate(
        const net::HttpRequest& request,
        const std::function<void(std::optional<AdminCaller>, net::HttpResponse)>& done);
    void sign_in(const net::HttpRequest& request, const Respond& respond);
    void dispatch(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                  const Json& body, const Respond& respond);

    // Runs `work` on a store thread; its JSON (or refusal) is the answer.
    void on_store(const Respond& respond, std::function<net::HttpResponse(store::Store&)> work,
                  bool changes = false);

    void users(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
               const Json& body, const Respond& respond);
    void groups(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                const Json& body, const Respond& respond);
    void categories(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                    const Json& body, const Respond& respond);
    void rooms(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
               const Json& body, const Respond& respond);
    void remove_messages(const chat::Actor& actor, const std::string& node, const Json& body,
                         const Respond& respond);
    void policy(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                const Json& body, const Respond& respond);
    void sessions(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                  const Respond& respond);
    void settings(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                  const Json& body, const Respond& respond);
    void addins(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                const Json& body, const Respond& respond);
    void compliance(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                    const Json& body, const Respond& respond);
    void accounts(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                  const Json& body, const Respond& respond);
    void pool(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
              const Json& body, const Respond& respond);
    void topology(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
                  const Json& body, const Respond& respond);
    void data(const AdminCaller& caller, const net::HttpRequest& request, const Parts& parts,
              const Respond& respond);
    // An import's upload: only from a signed-in administrator (a bearer token, checked before
    // the body is read), into a file of upload_dir.
    net::BodyPlan plan_import(const net::HttpRequest& head);

    AdminConfig config_;
    AdminDeps deps_;
    xmpp::LoginGuard guard_;

    // Console sign-ins: a bearer token per sign-in, in memory (a restart signs everybody out).
    struct Session {
        std::string name;
        store::AdminRole role = store::AdminRole::read_only;  // when signed in
        std::chrono::steady_clock::time_point expires;
    };
    std::mutex mutex_;
    std::map<std::string, Session> sessions_;
    std::atomic<bool> importing_{false};  // one data import at a time
    std::array<std::atomic<uint64_t>, 6> responses_{};
};

}  // namespace perch::web
