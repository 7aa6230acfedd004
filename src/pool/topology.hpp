#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.hpp"

// The deployment's topology (docs/TOPOLOGY.md): its pools, their servers with their roles and
// sites, the databases they share, as an operator writes it in a TOML file. Checked against
// the original's rules before it is published into the database, where every server reads it.
namespace perch::pool {

struct TopologyServer {
    std::string name;             // its pool.name
    std::string client_address;   // host:port of its XMPP service
    std::string peer_address;     // host:port of its pool port
    std::string role = "active";  // "active" or "standby"
    std::string site;             // where it stands (two sites: the second holds the standbys)
    // The databases it uses; the pool's when not given (and then they must be the pool's).
    std::string content_database, compliance_database;
    int line = 0;  // in the file, for messages
};

struct TopologyPool {
    std::string name;
    bool multi = true;             // "multi-server" (up to 4 active + 4 standby) or "single-server"
    std::string content_database;  // names under [databases.*]
    std::string compliance_database;  // may be empty: no compliance service
    std::string file_store;           // the directory every server mounts
    int standby_after_s = 30;         // an active server down this long: a standby takes over
    std::vector<TopologyServer> servers;
    int line = 0;

    size_t active() const;
};

struct TopologyDatabase {
    std::string name;
    std::string url;                    // libpq connection string (may name several hosts)
    std::vector<std::string> replicas;  // its streaming replicas' hosts, for the record
    int line = 0;
};

struct Topology {
    std::map<std::string, TopologyDatabase> databases;
    std::vector<TopologyPool> pools;

    const TopologyPool* pool(std::string_view name) const;
    // The pool holding the server named `server`, and the server in it.
    std::optional<std::pair<const TopologyPool*, const TopologyServer*>> server(
        std::string_view server) const;
};

// A file that is not TOML, or lacks what a topology needs: "FILE:LINE: what".
class TopologyError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

inline constexpr size_t kMaxActive = 4;  // the original's limits per pool
inline constexpr size_t kMaxServers = 8;

// Reads a topology file's text (`source` names it in errors). Throws TopologyError.
Topology parse_topology(std::string_view text, const std::string& source);

// Where `t` breaks the rules, each with its reason and what to do instead (empty: none). With
// `published`, the topology in force: a pool created as single-server never gains servers.
std::vector<std::string> topology_problems(const Topology& t, const Topology* published);

nlohmann::json topology_json(const Topology& t);

// A running server's place in the published topology (its pool and role), read at start and
// again on each publication's change notice. Thread-safe.
class TopologyView {
  public:
    explicit TopologyView(std::string server) : server_(std::move(server)) {}
    // Reads the newest publication from `s` and logs what it says of this server.
    void load(store::Store& s);
    // {"version", "pool", "role"}; version 0 when none is published.
    nlohmann::json state() const;
    // Its pool (empty when not listed) and the pool's standby_after_s (Membership::set_takeover).
    std::pair<std::string, int> takeover() const;

  private:
    std::string server_;  // pool.name; empty for a single server outside any pool
    mutable std::mutex mutex_;
    int64_t version_ = 0;
    std::string pool_, role_;
    int standby_after_s_ = 30;
};

}  // namespace perch::pool
