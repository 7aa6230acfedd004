#include "pool/topology.hpp"

#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>

namespace perch::pool {

namespace {

class Parser {
  public:
    explicit Parser(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const toml::node* at, const std::string& what) const {
        std::string where = source_;
        if (at && at->source().begin.line) where += ":" + std::to_string(at->source().begin.line);
        throw TopologyError(where + ": " + what);
    }

    // Refuses keys that are not `known`: a misspelt key would otherwise be silently ignored.
    void only(const toml::table& t, std::initializer_list<std::string_view> known,
              const std::string& within) const {
        for (const auto& [key, value] : t)
            if (std::find(known.begin(), known.end(), key.str()) == known.end())
                fail(&value, "unknown key " + within + std::string(key.str()));
    }

    std::string text(const toml::table& t, std::string_view key, const std::string& within,
                     bool required, const toml::node* owner) const {
        const toml::node* n = t.get(key);
        if (!n) {
            if (required) fail(owner, within + std::string(key) + " is required");
            return {};
        }
        auto v = n->value<std::string>();
        if (!v) fail(n, within + std::string(key) + " must be a string");
        if (v->empty() && required) fail(n, within + std::string(key) + " must not be empty");
        return *v;
    }

    void address(const toml::table& t, std::string_view key, const std::string& within,
                 bool required, const toml::node* owner, std::string& out) const {
        out = text(t, key, within, required, owner);
        if (out.empty()) return;
        size_t colon = out.rfind(':');
        bool ok = colon != std::string::npos && colon > 0 && colon + 1 < out.size() &&
                  out.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                  out.size() - colon - 1 <= 5 && std::stoi(out.substr(colon + 1)) > 0 &&
                  std::stoi(out.substr(colon + 1)) <= 65535;
        if (!ok) fail(t.get(key), within + std::string(key) + " must be host:port, not " + out);
    }

    const toml::table& table(const toml::node& n, const std::string& what) const {
        const toml::table* t = n.as_table();
        if (!t) fail(&n, what + " must be a table");
        return *t;
    }

    int line(const toml::node& n) const { return int(n.source().begin.line); }

  private:
    std::string source_;
};

}  // namespace

size_t TopologyPool::active() const {
    return size_t(std::count_if(servers.begin(), servers.end(),
                                [](const TopologyServer& s) { return s.role == "active"; }));
}

const TopologyPool* Topology::pool(std::string_view name) const {
    for (const auto& p : pools)
        if (p.name == name) return &p;
    return nullptr;
}

std::optional<std::pair<const TopologyPool*, const TopologyServer*>> Topology::server(
    std::string_view name) const {
    for (const auto& p : pools)
        for (const auto& s : p.servers)
            if (s.name == name) return std::pair{&p, &s};
    return std::nullopt;
}

Topology parse_topology(std::string_view text, const std::string& source) {
    Parser p(source);
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        throw TopologyError(source + ":" + std::to_string(e.source().begin.line) + ": " +
                            std::string(e.description()));
    }
    p.only(root, {"databases", "pools"}, "");
    Topology t;
    if (const toml::node* dbs = root.get("databases")) {
        for (const auto& [name, value] : p.table(*dbs, "databases")) {
            std::string within = "databases." + std::string(name.str()) + ".";
            const auto& d = p.table(value, within.substr(0, within.size() - 1));
            p.only(d, {"url", "replicas"}, within);
            TopologyDatabase db;
            db.name = std::string(name.str());
            db.url = p.text(d, "url", within, true, &value);
            db.line = p.line(value);
            if (const toml::node* r = d.get("replicas")) {
                const toml::array* a = r->as_array();
                if (!a) p.fail(r, within + "replicas must be a list of strings");
                for (const auto& item : *a) {
                    auto host = item.value<std::string>();
                    if (!host) p.fail(&item, within + "replicas must be a list of strings");
                    db.replicas.push_back(*host);
                }
            }
            t.databases[db.name] = std::move(db);
        }
    }
    const toml::node* pools = root.get("pools");
    if (!pools) p.fail(nullptr, "no [[pools]]: a topology has at least one pool");
    const toml::array* list = pools->as_array();
    if (!list) p.fail(pools, "pools must be written as [[pools]] tables");
    for (const auto& node : *list) {
        const auto& pt = p.table(node, "[[pools]]");
        p.only(pt,
               {"name", "type", "content_database", "compliance_database", "file_store",
                "standby_after_s", "servers"},
               "pools.");
        TopologyPool pool;
        pool.line = p.line(node);
        pool.name = p.text(pt, "name", "pools.", true, &node);
        std::string within = "pool " + pool.name + ": ";
        std::string type = p.text(pt, "type", within, false, &node);
        if (!type.empty() && type != "multi-server" && type != "single-server")
            p.fail(pt.get("type"), within + "type is \"multi-server\" or \"single-server\"");
        pool.multi = type != "single-server";
        pool.content_database = p.text(pt, "content_database", within, true, &node);
        pool.compliance_database = p.text(pt, "compliance_database", within, false, &node);
        pool.file_store = p.text(pt, "file_store", within, false, &node);
        if (const toml::node* n = pt.get("standby_after_s")) {
            auto v = n->value<int64_t>();
            if (!v || *v < 5 || *v > 3600)
                p.fail(n, within + "standby_after_s must be a number of seconds from 5 to 3600");
            pool.standby_after_s = int(*v);
        }
        const toml::node* servers = pt.get("servers");
        if (servers && !servers->as_array())
            p.fail(servers, within + "servers must be written as [[pools.servers]] tables");
        if (servers) {
            for (const auto& sn : *servers->as_array()) {
                const auto& st = p.table(sn, "[[pools.servers]]");
                p.only(st,
                       {"name", "client_address", "peer_address", "role", "site",
                        "content_database", "compliance_database"},
                       within + "servers.");
                TopologyServer s;
                s.line = p.line(sn);
                s.name = p.text(st, "name", within + "servers.", true, &sn);
                std::string w = "server " + s.name + ": ";
                p.address(st, "client_address", w, true, &sn, s.client_address);
                p.address(st, "peer_address", w, pool.multi, &sn, s.peer_address);
                s.role = p.text(st, "role", w, false, &sn);
                if (s.role.empty()) s.role = "active";
                if (s.role != "active" && s.role != "standby")
                    p.fail(st.get("role"), w + "role is \"active\" or \"standby\"");
                s.site = p.text(st, "site", w, false, &sn);
                s.content_database = p.text(st, "content_database", w, false, &sn);
                s.compliance_database = p.text(st, "compliance_database", w, false, &sn);
                pool.servers.push_back(std::move(s));
            }
        }
        t.pools.push_back(std::move(pool));
    }
    return t;
}

std::vector<std::string> topology_problems(const Topology& t, const Topology* published) {
    std::vector<std::string> out;
    std::map<std::string, std::string> pool_of;  // server name -> its pool
    std::map<std::string, std::string> peer_of;  // peer address -> its server
    std::set<std::string> pool_names;
    for (const auto& pool : t.pools) {
        const std::string& name = pool.name;
        if (!pool_names.insert(name).second)
            out.push_back("pool " + name + " is defined twice: give each pool its own name");
        for (const auto* db : {&pool.content_database, &pool.compliance_database})
            if (!db->empty() && !t.databases.count(*db))
                out.push_back("pool " + name + " names the database " + *db +
                              ", which no [databases." + *db + "] defines: add it");
        if (pool.servers.empty())
            out.push_back("pool " + name + " has no servers: add one with [[pools.servers]]");
        if (!pool.multi && pool.servers.size() > 1)
            out.push_back("pool " + name + " is single-server and lists " +
                          std::to_string(pool.servers.size()) +
                          " servers: a single-server pool has exactly one and never gains more; "
                          "for more, use a multi-server pool (type = \"multi-server\"), which "
                          "may also hold just one");
        if (!pool.multi && pool.servers.size() == 1 && pool.servers[0].role == "standby")
            out.push_back("pool " + name +
                          " is single-server: its server cannot be a standby (role = \"active\")");
        if (pool.active() > kMaxActive)
            out.push_back("pool " + name + " has " + std::to_string(pool.active()) +
                          " active servers; at most " + std::to_string(kMaxActive) +
                          " may be active: give the others role = \"standby\"");
        if (pool.servers.size() > kMaxServers)
            out.push_back("pool " + name + " has " + std::to_string(pool.servers.size()) +
                          " servers; a pool holds at most " + std::to_string(kMaxServers) + " (" +
                          std::to_string(kMaxActive) +
                          " active and the rest standby): put the others in another pool");
        if (!pool.servers.empty() && pool.active() == 0)
            out.push_back("pool " + name +
                          " has no active server: make at least one role = \"active\"");
        if (pool.multi && pool.file_store.empty())
            out.push_back("pool " + name +
                          " has no file_store: the servers of a multi-server pool share one "
                          "directory for files; name it (file_store = \"/srv/perch-files\")");
        for (const auto& s : pool.servers) {
            auto [it, fresh] = pool_of.emplace(s.name, name);
            if (!fresh)
                out.push_back("server " + s.name + " is in " +
                              (it->second == name ? "pool " + name + " twice"
                                                  : "pools " + it->second + " and " + name) +
                              ": a server belongs to one pool, once; give the other its own name");
            if (!s.peer_address.empty()) {
                auto [at, unused] = peer_of.emplace(s.peer_address, s.name);
                if (at->second != s.name)
                    out.push_back("servers " + at->second + " and " + s.name +
                                  " have the same peer_address " + s.peer_address +
                                  ": each server has its own");
            }
            for (auto [mine, pools, what] :
                 {std::tuple{&s.content_database, &pool.content_database, "content"},
                  std::tuple{&s.compliance_database, &pool.compliance_database, "compliance"}})
                if (!mine->empty() && *mine != *pools)
                    out.push_back("server " + s.name + " uses the " + what + " database " + *mine +
                                  " but pool " + name + " uses " +
                                  (pools->empty() ? std::string("none") : *pools) +
                                  ": every server of a pool uses the pool's databases; remove "
                                  "the server's own, or move it to a pool on those databases");
        }
        if (!published) continue;
        const TopologyPool* before = published->pool(name);
        if (!before) continue;
        if (!before->multi && (pool.multi || pool.servers.size() > 1))
            out.push_back("pool " + name +
                          " was published as a single-server pool, which can never gain servers "
                          "or become multi-server: create a multi-server pool (of one server, "
                          "if need be) beside it and move the data there (perch data export, "
                          "perch data import)");
        if (before->multi && !pool.multi)
            out.push_back("pool " + name +
                          " was published as a multi-server pool and stays one (a pool of one "
                          "server is fine): keep type = \"multi-server\"");
    }
    return out;
}

namespace {

// A connection string as shown: a password in it is not.
std::string without_password(std::string url) {
    for (size_t at = url.find("password="); at != std::string::npos;
         at = url.find("password=", at + 1)) {
        size_t end = url.find(' ', at);
        url.replace(at + 9, (end == std::string::npos ? url.size() : end) - at - 9, "***");
    }
    return url;
}

}  // namespace

nlohmann::json topology_json(const Topology& t) {
    nlohmann::json dbs = nlohmann::json::object();
    for (const auto& [name, d] : t.databases)
        dbs[name] = {{"url", without_password(d.url)}, {"replicas", d.replicas}};
    nlohmann::json pools = nlohmann::json::array();
    for (const auto& p : t.pools) {
        nlohmann::json servers = nlohmann::json::array();
        for (const auto& s : p.servers)
            servers.push_back({{"name", s.name},
                               {"client_address", s.client_address},
                               {"peer_address", s.peer_address},
                               {"role", s.role},
                               {"site", s.site}});
        pools.push_back({{"name", p.name},
                         {"type", p.multi ? "multi-server" : "single-server"},
                         {"content_database", p.content_database},
                         {"compliance_database", p.compliance_database},
                         {"file_store", p.file_store},
                         {"standby_after_s", p.standby_after_s},
                         {"servers", servers}});
    }
    return {{"databases", dbs}, {"pools", pools}};
}

void TopologyView::load(store::Store& s) {
    auto published = s.published_topology();
    if (!published) return;
    std::string pool, role;
    int standby_after_s = 30;
    try {
        auto t = parse_topology(published->text, "version " + std::to_string(published->version));
        if (auto found = server_.empty() ? std::nullopt : t.server(server_)) {
            pool = found->first->name;
            role = found->second->role;
            standby_after_s = found->first->standby_after_s;
        }
    } catch (const TopologyError& e) {
        spdlog::error("topology version {} cannot be read: {}", published->version, e.what());
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (published->version == version_) return;
        version_ = published->version;
        pool_ = pool;
        role_ = role;
        standby_after_s_ = standby_after_s;
    }
    if (pool.empty())
        spdlog::warn("topology version {} (published by {}) does not list this server{}",
                     published->version, published->by,
                     server_.empty() ? " (it has no pool.name)" : " " + server_);
    else
        spdlog::info("topology version {} (published by {}): this server is {}, {} in pool {}",
                     published->version, published->by, server_, role, pool);
}

std::pair<std::string, int> TopologyView::takeover() const {
    std::lock_guard lock(mutex_);
    return {pool_, standby_after_s_};
}

nlohmann::json TopologyView::state() const {
    std::lock_guard lock(mutex_);
    return {{"version", version_}, {"pool", pool_}, {"role", role_}};
}

}  // namespace perch::pool
