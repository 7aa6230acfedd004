// The admin API's pool areas (docs/ADMIN_API.md): the deployment's topology, published and
// checked.
#include <algorithm>

#include "admin/operations.hpp"
#include "pool/topology.hpp"
#include "util/time.hpp"
#include "web/admin_api.hpp"
#include "web/admin_api_detail.hpp"

namespace perch::web {

using json = nlohmann::json;
using net::HttpRequest;
using namespace admin_detail;

void AdminApi::topology(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                        const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    if (parts.size() == 1 && method == "GET")
        return on_store(respond, [](store::Store& s) {
            auto published = s.published_topology();
            if (!published) return ok_json({{"version", 0}});
            auto t = pool::parse_topology(published->text,
                                          "version " + std::to_string(published->version));
            json up = json::object();
            for (const auto& [member, live] : s.pool_members()) up[member.name] = live;
            json out = pool::topology_json(t);
            for (auto& p : out["pools"])
                for (auto& server : p["servers"])
                    server["up"] = up.value(server["name"].get<std::string>(), false);
            // Who holds each active slot (a failover in force when not its own server), and the
            // active-server list where one is set.
            json slots = json::array();
            for (const auto& slot : s.pool_slots())
                slots.push_back({{"pool", slot.pool},
                                 {"slot", slot.slot},
                                 {"holder", slot.holder},
                                 {"since", util::format_timestamp(slot.since_us)}});
            out["slots"] = slots;
            for (auto& p : out["pools"])
                p["active_servers"] = s.active_list(p["name"].get<std::string>());
            out["version"] = published->version;
            out["published"] = util::format_timestamp(published->published_us);
            out["by"] = published->by;
            out["text"] = published->text;
            return ok_json(out);
        });
    bool check = parts.size() == 2 && parts[1] == "check" && method == "POST";
    if (!(parts.size() == 1 && method == "PUT") && !check)
        return respond(parts.size() <= 2 ? not_allowed() : json_error(404, "Not found"));
    Fields f(body);
    f.only({"text"});
    auto text = f.text("text");
    if (auto bad = f.mistake()) return respond(std::move(*bad));
    if (!text) return respond(json_error(400, "send {\"text\": \"the topology file (TOML)\"}"));
    if (check)
        return on_store(respond, [text = *text](store::Store& s) {
            return ok_json({{"problems", admin::check_topology(s, text, "topology")}});
        });
    on_store(
        respond,
        [by = caller.by(), text = *text](store::Store& s) {
            return ok_json({{"version", admin::publish_topology(s, by, text, "topology")}});
        },
        true);
}

void AdminApi::pool(const AdminCaller& caller, const HttpRequest& request, const Parts& parts,
                    const Json& body, const Respond& respond) {
    const std::string& method = request.method;
    std::string what = parts.size() == 2 ? parts[1] : "";
    if (what == "failover" && method == "POST") {
        Fields f(body);
        f.only({"server"});
        auto server = f.text("server");
        if (auto bad = f.mistake()) return respond(std::move(*bad));
        if (!server) return respond(json_error(400, "send {\"server\": \"the active server\"}"));
        return on_store(respond, [by = caller.by(), server = *server](store::Store& s) {
            return ok_json({{"holder", admin::fail_over(s, by, server)}});
        });
    }
    if (what == "failback" && method == "POST")
        return on_store(respond, [by = caller.by()](store::Store& s) {
            return ok_json({{"back", admin::fail_back(s, by)}});
        });
    if (what == "active-servers" && method == "PUT") {
        auto it = body.find("servers");
        if (it == body.end() || body.size() != 1 || !it->is_array() ||
            !std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_string(); }))
            return respond(
                json_error(400, "send {\"servers\": [\"name\", …]} ([] clears the list)"));
        return on_store(respond, [by = caller.by(),
                                  servers = it->get<std::vector<std::string>>()](store::Store& s) {
            admin::set_active_servers(s, by, servers);
            return no_content();
        });
    }
    bool known = what == "failover" || what == "failback" || what == "active-servers";
    respond(known
                ? not_allowed()
                : json_error(404, "Not found: pool/failover, pool/failback, pool/active-servers"));
}

}  // namespace perch::web
