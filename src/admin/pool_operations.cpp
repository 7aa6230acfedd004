// Administration of the topology and of a pool's slots (admin/operations.hpp, "Topology").
#include <algorithm>
#include <set>

#include "admin/operations.hpp"
#include "pool/topology.hpp"

namespace perch::admin {

std::vector<std::string> check_topology(store::Store& s, const std::string& text,
                                        const std::string& source) {
    pool::Topology t;
    try {
        t = pool::parse_topology(text, source);
    } catch (const pool::TopologyError& e) {
        throw Refused(Refused::Why::bad_input, e.what());
    }
    std::optional<pool::Topology> published;
    if (auto p = s.published_topology())
        published = pool::parse_topology(p->text, "version " + std::to_string(p->version));
    return pool::topology_problems(t, published ? &*published : nullptr);
}

int64_t publish_topology(store::Store& s, const std::string& by, const std::string& text,
                         const std::string& source) {
    int64_t version = 0;
    store::ComplianceEvent event = store::make_event("TOPOLOGYCHANGE", {}, {}, {}, {{"by", by}});
    s.with_events({event}, [&] {
        // Checked in the transaction that publishes it: two publications at once cannot both
        // pass against the same version in force.
        auto problems = check_topology(s, text, source);
        if (!problems.empty()) {
            std::string all;
            for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
            throw Refused(Refused::Why::bad_input, all);
        }
        version = s.publish_topology(text, by);
        // A slot per active server; a failover in force stays (its slot keeps its holder).
        for (const auto& pool : pool::parse_topology(text, source).pools) {
            std::vector<std::string> active;
            for (const auto& server : pool.servers)
                if (server.role == "active") active.push_back(server.name);
            s.sync_slots(pool.name, active);
        }
        s.note_change("topology", std::to_string(version));
    });
    return version;
}

std::string fail_over(store::Store& s, const std::string& by, const std::string& server) {
    std::string taker;
    s.with_events(
        {store::make_event("POOLCHANGE", {}, {}, {}, {{"failover", server}, {"by", by}})}, [&] {
            auto published = s.published_topology();
            auto t = published ? std::optional(pool::parse_topology(published->text, "topology"))
                               : std::nullopt;
            std::optional<store::PoolSlot> held;
            for (const auto& slot : s.pool_slots())
                if (slot.holder == server) held = slot;
            if (!t || !held)
                throw Refused(Refused::Why::not_found,
                              server + " holds no active slot of a published topology");
            std::set<std::string> holders;
            for (const auto& slot : s.pool_slots()) holders.insert(slot.holder);
            const pool::TopologyPool* p = t->pool(held->pool);
            for (const auto& [member, up] : s.pool_members()) {
                const std::string& name = member.name;
                bool listed = p && std::any_of(p->servers.begin(), p->servers.end(),
                                               [&](const auto& x) { return x.name == name; });
                if (up && listed && !holders.count(name)) {
                    taker = name;
                    break;
                }
            }
            if (taker.empty())
                throw Refused(Refused::Why::conflict, "no standby of pool " + held->pool +
                                                          " is up to take the slot of " + server);
            s.assign_slot(held->pool, held->slot, server, taker);
        });
    return taker;
}

void set_active_servers(store::Store& s, const std::string& by,
                        const std::vector<std::string>& servers) {
    std::string list;
    for (const auto& name : servers) list += (list.empty() ? "" : ",") + name;
    s.with_events(
        {store::make_event("POOLCHANGE", {}, {}, {}, {{"active_servers", list}, {"by", by}})}, [&] {
            auto published = s.published_topology();
            if (!published)
                throw Refused(Refused::Why::conflict,
                              "no topology is published: publish one first (perch topology "
                              "publish FILE)");
            auto t = pool::parse_topology(published->text, "topology");
            if (servers.empty()) {
                for (const auto& p : t.pools) s.set_active_list(p.name, {});
                return;
            }
            auto first = t.server(servers[0]);
            for (const auto& name : servers) {
                auto found = t.server(name);
                if (!found)
                    throw Refused(Refused::Why::not_found, name + " is no server of the topology");
                if (found->first != first->first)
                    throw Refused(Refused::Why::bad_input,
                                  "the active servers are of one pool; " + name + " is in " +
                                      found->first->name + ", " + servers[0] + " in " +
                                      first->first->name);
            }
            bool serving = false;
            for (const auto& slot : s.pool_slots())
                serving |= slot.pool == first->first->name &&
                           std::find(servers.begin(), servers.end(), slot.holder) != servers.end();
            if (!serving)
                throw Refused(
                    Refused::Why::bad_input,
                    "none of " + list + " holds an active slot: the pool would serve nothing");
            s.set_active_list(first->first->name, servers);
        });
}

std::vector<std::string> fail_back(store::Store& s, const std::string& by) {
    std::vector<std::string> back;
    s.with_events({store::make_event("POOLCHANGE", {}, {}, {}, {{"failback", "all"}, {"by", by}})},
                  [&] {
                      std::set<std::string> up;
                      for (const auto& [member, live] : s.pool_members())
                          if (live) up.insert(member.name);
                      for (const auto& slot : s.pool_slots())
                          if (slot.holder != slot.slot && up.count(slot.slot) &&
                              s.assign_slot(slot.pool, slot.slot, slot.holder, slot.slot))
                              back.push_back(slot.slot);
                  });
    return back;
}

}  // namespace perch::admin
