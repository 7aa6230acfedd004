#pragma once
#include <memory>

#include "app/config.hpp"
#include "chat/room_service.hpp"
#include "compliance/service.hpp"
#include "net/http.hpp"
#include "net/io.hpp"
#include "pool/membership.hpp"
#include "store/store.hpp"
#include "util/admission.hpp"
#include "web/app.hpp"

// What serve() (app/server.cpp) makes of the configuration before it wires the parts
// together: the checks and tidying of the host at start, the compliance service, and the
// settings of the room service and of the web services.
namespace perch::app {

// Takes every file descriptor the system allows (one socket per client).
void raise_fd_limit();

// Before anything listens, with the data directory made: removes the data exports and
// imports an earlier run left unfinished, warns of an http.public_url that does not resolve
// here, and makes the TLS pair (tls.defaults) or checks that the configured files exist.
void prepare_files(const Config& config);

// The compliance service, started (compliance.enabled), or none.
std::unique_ptr<compliance::Service> start_compliance(const Config& config, store::Store& store);

// The room service's settings. In a pool (`membership` set) rooms are claimed for this
// server as they load and given back when it no longer serves them, and a claim still held
// by the room's former server is tried again later on `io`'s timers.
chat::RoomServiceConfig room_service_config(const Config& config,
                                            std::shared_ptr<const chat::LiveSettings> settings,
                                            compliance::Service* compliance, net::IoPool& io,
                                            pool::Membership* membership);

// The web services' settings; in a pool, host-meta lists the other live servers too.
web::WebConfig web_config(const Config& config, const pool::Membership* membership);

// The HTTP listeners' options: the client connections' limits, and WebSocket upgrades held
// by `admission` as XMPP logins are.
net::HttpOptions http_options(const Config& config, std::shared_ptr<util::Admission> admission);

// What the pool port answers HTTP requests when the admin API has a port of its own (or
// none): where it is.
std::unique_ptr<net::HttpHandler> admin_api_elsewhere(int admin_port);

}  // namespace perch::app
