#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "chat/commands.hpp"
#include "chat/result.hpp"
#include "net/http_message.hpp"

// What the JSON APIs (/api/v1 for users, /admin/v1 for administrators) share: paths, query
// strings, room settings in JSON, and the HTTP statuses of the room service's refusals.
namespace perch::web {

// The HTTP status a room command's refusal becomes, and the answer with its text.
unsigned http_status(chat::Fault f);
net::HttpResponse refusal(const chat::Error& e);

// Query string -> decoded values ('+' is a space there); nullopt when a part cannot be decoded
// (a bad escape, a NUL, bytes that are not UTF-8), which the caller refuses rather than
// answering a question it was not asked.
std::optional<std::map<std::string, std::string>> query_params(const std::string& query);
// "/a/b/c" -> {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> path_parts(const std::string& path);

// A PATCH body as a change of a room's settings; an error text when the body is wrong.
std::variant<chat::SettingsChange, std::string> settings_of(const nlohmann::json& body);

// A request's JSON body, which must be an object (and says so in its Content-Type, which
// also keeps other sites' forms out); an empty body is an empty object where `optional`.
std::variant<nlohmann::json, net::HttpResponse> json_body(const net::HttpRequest& request,
                                                          bool optional);

}  // namespace perch::web
