// The REST API under /api/v1, behind the room management pages; described in docs/openapi.yaml.
#include <nlohmann/json.hpp>

#include "web/app.hpp"

namespace perch::web {

void WebApp::api(net::HttpRequest request, const Respond& respond) {
    (void)request;
    respond(json_error(404, "Not found"));
}

}  // namespace perch::web
