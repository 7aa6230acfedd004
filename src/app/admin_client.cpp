#include "app/admin_client.hpp"

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fstream>
#include <iostream>
#include <map>

#include "util/base64.hpp"

namespace perch::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using json = nlohmann::json;

std::pair<std::string, std::string> host_and_port(const std::string& server) {
    std::string host = server, port = "8011";
    if (!server.empty() && server.front() == '[') {  // [v6]:port
        auto close = server.find(']');
        host = server.substr(1, close - 1);
        if (close + 1 < server.size() && server[close + 1] == ':') port = server.substr(close + 2);
    } else if (auto colon = server.rfind(':');
               colon != std::string::npos && server.find(':') == colon) {
        host = server.substr(0, colon);
        port = server.substr(colon + 1);
    }
    return {host, port};
}

namespace {

std::string tls_failure(const boost::system::error_code& ec, const AdminEndpoint& e) {
    std::string text = "TLS with " + e.server + " failed: " + ec.message();
    if (ec.category() == asio::error::get_ssl_category() ||
        ec.message().find("certificate") != std::string::npos)
        text +=
            ". The server's certificate is not trusted here: give it (or its CA) with --cacert "
            "FILE (a server's own is DATA_DIR/tls/cert.pem), and reach the server by a name the "
            "certificate holds";
    return text;
}

}  // namespace

namespace {

struct Exchanged {
    unsigned status = 0;
    std::string reason, body;
    std::map<std::string, std::string> headers;  // names in lower case
};

// What a request carries besides its method and path.
struct Outgoing {
    std::optional<json> body;  // JSON
    std::string file;          // or this file's bytes (an upload), streamed
    std::string bearer;        // a session's token instead of Basic credentials
    std::string out_file;      // a 2xx answer's body goes here, streamed, instead of memory
};

// One request and its whole answer; throws when the server cannot be reached or trusted.
Exchanged exchange(const AdminEndpoint& e, const std::string& method, const std::string& path,
                   const Outgoing& outgoing) {
    auto endpoint = host_and_port(e.server);
    const std::string& host = endpoint.first;
    const std::string& port = endpoint.second;
    ssl::context tls(ssl::context::tls_client);
    tls.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (e.insecure) {
        tls.set_verify_mode(ssl::verify_none);
    } else {
        tls.set_verify_mode(ssl::verify_peer);
        if (!e.cacert.empty()) {
            boost::system::error_code ec;
            tls.load_verify_file(e.cacert, ec);
            if (ec)
                throw std::runtime_error("cannot read --cacert " + e.cacert + ": " + ec.message());
        } else {
            tls.set_default_verify_paths();
        }
    }
    asio::io_context io;
    beast::ssl_stream<beast::tcp_stream> stream(io, tls);
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(std::chrono::seconds(e.timeout_s));
    if (!e.insecure) {
        SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
        stream.set_verify_callback(ssl::host_name_verification(host));
    }
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) throw std::runtime_error("cannot resolve " + host + ": " + ec.message());
    tcp.connect(endpoints, ec);
    if (ec)
        throw std::runtime_error("cannot connect to " + e.server + ": " + ec.message() +
                                 " (is the server running, with its admin API on that port?)");
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) throw std::runtime_error(tls_failure(ec, e));

    auto head = [&](auto& req) {
        req.method(http::string_to_verb(method));
        req.target(path);
        req.version(11);
        req.set(http::field::host, host);
        req.set(http::field::user_agent, "perch-admin");
        req.set(http::field::authorization,
                outgoing.bearer.empty() ? "Basic " + util::base64_encode(e.user + ":" + e.password)
                                        : "Bearer " + outgoing.bearer);
    };
    beast::flat_buffer buffer;
    std::optional<http::response_parser<http::empty_body>> first;  // read while uploading
    if (!outgoing.file.empty()) {
        // The head alone first: the server says whether it wants the body (100 Continue) or
        // refuses it at once, and then nothing more is sent.
        http::request<http::file_body> req;
        head(req);
        req.set(http::field::content_type, "application/x-tar");
        req.set(http::field::expect, "100-continue");
        req.body().open(outgoing.file.c_str(), beast::file_mode::scan, ec);
        if (ec) throw std::runtime_error("cannot read " + outgoing.file + ": " + ec.message());
        req.prepare_payload();
        http::request_serializer<http::file_body> sr(req);
        http::write_header(stream, sr, ec);
        if (!ec) {
            first.emplace();
            first->body_limit(boost::none);
            http::read_header(stream, buffer, *first, ec);
        }
        if (!ec && first->get().result() == http::status::continue_) {
            first.reset();
            http::write(stream, sr, ec);
        }
    } else {
        http::request<http::string_body> req;
        head(req);
        if (outgoing.body) {
            req.set(http::field::content_type, "application/json");
            req.body() = outgoing.body->dump();
        }
        req.prepare_payload();
        http::write(stream, req, ec);
    }
    // A server that refuses an upload answers before reading it all, and may close: its
    // answer is still read.
    if (ec && outgoing.file.empty())
        throw std::runtime_error("sending to " + e.server + " failed: " + ec.message());
    if (first && !first->is_header_done()) first.reset();  // the upload failed: read afresh
    boost::system::error_code read_ec;
    if (!first) {  // else it holds the refusal, heard instead of 100 Continue
        first.emplace();
        first->body_limit(boost::none);
        http::read_header(stream, buffer, *first, read_ec);
    }
    auto& header_parser = *first;
    if (read_ec)
        throw std::runtime_error("reading from " + e.server +
                                 " failed: " + (ec ? ec : read_ec).message());
    Exchanged out;
    out.status = header_parser.get().result_int();
    out.reason = std::string(header_parser.get().reason());
    for (const auto& field : header_parser.get()) {
        std::string name(field.name_string());
        for (auto& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        out.headers[name] = std::string(field.value());
    }
    if (!outgoing.out_file.empty() && out.status < 300) {
        http::response_parser<http::file_body> parser(std::move(header_parser));
        parser.body_limit(boost::none);
        parser.get().body().open(outgoing.out_file.c_str(), beast::file_mode::write, read_ec);
        if (read_ec) throw std::runtime_error("cannot write " + outgoing.out_file);
        http::read(stream, buffer, parser, read_ec);
        if (read_ec)
            throw std::runtime_error("reading from " + e.server + " failed: " + read_ec.message());
    } else {
        http::response_parser<http::string_body> parser(std::move(header_parser));
        parser.body_limit(uint64_t{256} << 20);
        http::read(stream, buffer, parser, read_ec);
        if (read_ec)
            throw std::runtime_error("reading from " + e.server + " failed: " + read_ec.message());
        out.body = std::move(parser.get().body());
    }
    stream.shutdown(ec);  // the server's close_notify may not come: it does not matter here
    return out;
}

// A refusal's text, from the API's {"error": …} or the status line.
void throw_if_refused(const Exchanged& x) {
    if (x.status < 300) return;
    json answer = json::parse(x.body, nullptr, false);
    std::string text = answer.is_object() && answer.contains("error") && answer["error"].is_string()
                           ? answer["error"].get<std::string>()
                           : x.reason;
    throw AdminApiError(x.status, text);
}

}  // namespace

json admin_request(const AdminEndpoint& e, const std::string& method, const std::string& path,
                   const std::optional<json>& body) {
    auto x = exchange(e, method, path, {body, {}, {}, {}});
    throw_if_refused(x);
    json answer = x.body.empty() ? json() : json::parse(x.body, nullptr, false);
    if (answer.is_discarded()) throw std::runtime_error("the server's answer is not JSON");
    return answer;
}

std::map<std::string, std::string> admin_download(const AdminEndpoint& e, const std::string& path,
                                                  const nlohmann::json& body,
                                                  const std::string& out_file) {
    auto x = exchange(e, "POST", path, {body, {}, {}, out_file});
    throw_if_refused(x);
    return x.headers;
}

json admin_upload(const AdminEndpoint& e, const std::string& path, const std::string& file) {
    // Signed in for a token: the server reads an upload only from a session it knows.
    auto session = admin_request(e, "POST", "/admin/v1/session",
                                 json{{"name", e.user}, {"password", e.password}});
    std::string token = session.value("token", "");
    auto x = exchange(e, "POST", path, {std::nullopt, file, token, {}});
    try {
        exchange(e, "DELETE", "/admin/v1/session", {std::nullopt, {}, token, {}});
    } catch (const std::exception&) {  // the token expires by itself
    }
    throw_if_refused(x);
    json answer = x.body.empty() ? json() : json::parse(x.body, nullptr, false);
    if (answer.is_discarded()) throw std::runtime_error("the server's answer is not JSON");
    return answer;
}

}  // namespace perch::app
