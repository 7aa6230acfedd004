#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// A request and an answer as the web services see them, apart from the HTTP machinery.
namespace perch::net {

struct HttpRequest {
    std::string method;                          // GET, PUT, …
    std::string target;                          // path and query, as sent
    std::string path;                            // percent-decoded path, without the query
    std::string query;                           // after '?', raw
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;                            // the body, when it was read into memory
    std::string body_file;    // the file the body was written to, when the handler asked so
    uint64_t body_bytes = 0;  // how many body bytes arrived
    bool secure = false;      // over TLS
    bool loopback = false;    // from this machine
    std::string peer;         // address:port of the client

    const std::string* header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? nullptr : &it->second;
    }
    // The Content-Length the client declared, when it is a number.
    std::optional<uint64_t> content_length() const {
        const std::string* length = header("content-length");
        if (!length || length->empty() || length->size() > 19 ||
            length->find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        return std::stoull(*length);
    }
};

struct HttpResponse {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string file;          // when set, the body is this file's content (downloads)
    bool remove_file = false;  // the file was made for this answer: gone once opened to send

    HttpResponse& set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

}  // namespace perch::net
