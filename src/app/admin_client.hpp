#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

// `perch admin …`: the admin API (web/admin_api.cpp) from any machine, over HTTPS.
namespace perch::app {

struct AdminEndpoint {
    std::string server = "localhost:8011";  // host[:port]
    std::string user;
    std::string password;
    std::string cacert;     // PEM file of the certificate (or its CA) to trust; else the system's
    bool insecure = false;  // no certificate check at all (warned about)
    int timeout_s = 30;
};

// An answer other than 2xx, with the API's error text.
class AdminApiError : public std::runtime_error {
  public:
    AdminApiError(unsigned status, const std::string& text)
        : std::runtime_error(text), status(status) {}
    unsigned status;
};

// "host[:port]" (IPv6 in brackets) as host and port; the port is 8011 when not given.
std::pair<std::string, std::string> host_and_port(const std::string& server);

// One request; the JSON answer (null for 204). Throws AdminApiError, or std::runtime_error
// when the server cannot be reached or its certificate is not trusted.
nlohmann::json admin_request(const AdminEndpoint& endpoint, const std::string& method,
                             const std::string& path,
                             const std::optional<nlohmann::json>& body = std::nullopt);

// A POST whose answer is a file (a compliance or data export): streamed into `out_file`;
// returns the answer's headers (names in lower case).
std::map<std::string, std::string> admin_download(const AdminEndpoint& endpoint,
                                                  const std::string& path,
                                                  const nlohmann::json& body,
                                                  const std::string& out_file);

// A POST whose body is the file `file` (a data import's archive), streamed, after signing in
// for a bearer token (the server reads an upload only from a signed-in session); the JSON answer.
nlohmann::json admin_upload(const AdminEndpoint& endpoint, const std::string& path,
                            const std::string& file);

// Registers `perch admin` and its subcommands on `app` (app/admin_cli.cpp).
void add_admin_client(CLI::App& app, int& exit_code);

}  // namespace perch::app
