// `perch admin test-message`: the synthetic transaction. The admin API hands out the test's
// two users (fresh passwords) and room; both sign in over XMPP from here as any client would
// (STARTTLS, the certificate checked, SASL PLAIN, bind), join the room, one posts, the other
// must see it, both leave. One status line with the timings; exit 0 OK, 1 WARNING (slower
// than --warning), 2 CRITICAL (the server unreachable, a step failed, or slower than
// --critical), 3 UNKNOWN (the admin API refused to set the test up: wrong account or role).
#include "app/test_message.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <iostream>

#include "util/base64.hpp"
#include "util/ids.hpp"
#include "xml/stream_parser.hpp"

namespace perch::app {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kClient = "jabber:client";
constexpr std::string_view kMucUser = "http://jabber.org/protocol/muc#user";

// A step of the test that failed: what it was and why.
struct Failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One XMPP client session, blocking, every read bounded by the deadline of the whole test.
class Probe final : public xml::StreamParser::Handler {
  public:
    Probe(asio::io_context& io, ssl::context& tls, std::string user, Clock::time_point deadline)
        : io_(io),
          socket_(io),
          tls_stream_(socket_, tls),
          user_(std::move(user)),
          deadline_(deadline),
          parser_(*this) {}

    void sign_in(const std::string& host, const std::string& port, const std::string& domain,
                 const std::string& password, bool verify) {
        boost::system::error_code ec;
        tcp::resolver resolver(socket_.get_executor());
        auto endpoints = resolver.resolve(host, port, ec);
        if (ec) throw Failed("cannot resolve " + host + ": " + ec.message());
        wait(
            "connecting", [&](auto done) { asio::async_connect(socket_, endpoints, done); }, ec);
        if (ec)
            throw Failed("cannot connect to XMPP at " + host + ":" + port + ": " + ec.message());
        domain_ = domain;
        open_stream();
        auto features = next("stream features");
        if (!features.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"))
            throw Failed("the server offers no STARTTLS");
        send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        if (next("STARTTLS answer").name() != "proceed") throw Failed("STARTTLS refused");
        if (verify) {
            SSL_set_tlsext_host_name(tls_stream_.native_handle(), domain.c_str());
            tls_stream_.set_verify_callback(ssl::host_name_verification(domain));
        }
        wait(
            "TLS", [&](auto done) { tls_stream_.async_handshake(ssl::stream_base::client, done); },
            ec);
        if (ec)
            throw Failed("TLS failed: " + ec.message() +
                         (verify ? " (the XMPP certificate must hold " + domain +
                                       " and be trusted: --cacert)"
                                 : ""));
        secure_ = true;
        parser_.reset();
        open_stream();
        next("stream features after TLS");
        send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
             util::base64_encode(std::string(1, '\0') + user_ + '\0' + password) + "</auth>");
        auto answer = next("authentication");
        if (answer.name() != "success") {
            std::string why = answer.first_element() ? answer.first_element()->name() : "refused";
            std::string text = answer.child_text("text", "urn:ietf:params:xml:ns:xmpp-sasl");
            throw Failed("sign-in of " + user_ + " refused: " + why +
                         (text.empty() ? "" : " (" + text + ")"));
        }
        parser_.reset();
        open_stream();
        next("stream features after authentication");
        send(
            "<iq type='set' id='bind' xmlns='jabber:client'><bind "
            "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>test-message</resource></bind></"
            "iq>");
        auto bound = next("resource binding");
        if (bound.attr_or("type") != "result") throw Failed("binding a resource failed");
    }

    // Joins the room and waits for its own presence (status 110).
    void join(const std::string& room) {
        room_ = room;
        send("<presence to='" + room + "/" + user_ +
             "'><x xmlns='http://jabber.org/protocol/muc'>"
             "<history maxstanzas='0'/></x></presence>");
        for (;;) {
            auto p = next("joining " + room);
            if (p.name() != "presence" || !p.attr_or("from").starts_with(room + "/")) continue;
            if (p.attr_or("type") == "error") {
                auto* err = p.child("error", kClient);
                std::string why = user_ + " may not join " + room + ": ";
                if (err && err->first_element()) why += err->first_element()->name();
                throw Failed(why);
            }
            const auto* x = p.child("x", kMucUser);
            if (!x) continue;
            for (const auto& s : x->children())
                if (s.name() == "status" && s.attr_or("code") == "110") return;
        }
    }

    void post(const std::string& body) {
        send("<message type='groupchat' to='" + room_ + "'><body>" + body + "</body></message>");
    }

    // Waits for a groupchat message with this body.
    void expect(const std::string& body) {
        for (;;) {
            auto m = next("the test message");
            if (m.name() == "message" && m.attr_or("type") == "groupchat" &&
                m.child_text("body", kClient) == body)
                return;
            if (m.name() == "message" && m.attr_or("type") == "error")
                throw Failed("the test message was refused");
        }
    }

    void leave() {
        boost::system::error_code ec;
        if (!room_.empty()) send("<presence type='unavailable' to='" + room_ + "/" + user_ + "'/>");
        send("</stream:stream>");
        if (secure_) tls_stream_.shutdown(ec);
        socket_.close(ec);
    }

    ~Probe() override {
        boost::system::error_code ec;
        socket_.close(ec);
    }

  private:
    // Runs one asynchronous operation to its end, or throws when the test's deadline comes
    // first (the operation is cancelled).
    template <class Start>
    size_t wait(const std::string& what, Start start, boost::system::error_code& ec) {
        bool done = false;
        size_t bytes = 0;
        auto handler = [&](const boost::system::error_code& e, auto... result) {
            done = true;
            ec = e;
            (keep_count(bytes, result), ...);
        };
        start(handler);
        io_.restart();
        io_.run_until(deadline_);
        if (!done) {
            boost::system::error_code ignored;
            socket_.cancel(ignored);
            io_.restart();
            io_.run();
            throw Failed("timed out: " + what + " (" + user_ + ")");
        }
        return bytes;
    }

    // What a read's handler gets beside its error: its byte count (other operations give
    // other things, which are not wanted).
    static void keep_count(size_t& out, size_t n) { out = n; }
    template <class T>
    static void keep_count(size_t&, const T&) {}

    void open_stream() {
        send(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='" +
            domain_ + "'>");
    }

    void send(const std::string& text) {
        boost::system::error_code ec;
        if (secure_)
            asio::write(tls_stream_, asio::buffer(text), ec);
        else
            asio::write(socket_, asio::buffer(text), ec);
        if (ec) throw Failed("the connection of " + user_ + " broke: " + ec.message());
    }

    // The next top-level element, within the deadline.
    xml::Element next(const std::string& waiting_for) {
        while (received_.empty()) {
            char buf[8192];
            boost::system::error_code ec;
            size_t n = wait(
                "waiting for " + waiting_for,
                [&](auto done) {
                    if (secure_)
                        tls_stream_.async_read_some(asio::buffer(buf), done);
                    else
                        socket_.async_read_some(asio::buffer(buf), done);
                },
                ec);
            if (ec)
                throw Failed("the server closed the stream of " + user_ + " (" + waiting_for + ")");
            if (!parser_.feed(std::string_view(buf, n)))
                throw Failed("the server sent malformed XML: " + parser_.error_text());
            if (closed_) throw Failed("the server ended the stream of " + user_);
        }
        auto e = std::move(received_.front());
        received_.erase(received_.begin());
        if (e.name() == "error" && !e.attr("type")) {  // a stream error
            std::string why = e.first_element() ? e.first_element()->name() : "";
            throw Failed("stream error for " + user_ + ": " + why);
        }
        return e;
    }

    void on_stream_open(const xml::Element&) override {}
    void on_element(xml::Element&& stanza) override { received_.push_back(std::move(stanza)); }
    void on_stream_close() override { closed_ = true; }

    asio::io_context& io_;
    tcp::socket socket_;
    ssl::stream<tcp::socket&> tls_stream_;
    std::string user_, domain_, room_;
    Clock::time_point deadline_;
    xml::StreamParser parser_;
    std::vector<xml::Element> received_;
    bool secure_ = false, closed_ = false;
};

long ms_since(Clock::time_point t) {
    return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

}  // namespace

int run_test_message(const AdminEndpoint& endpoint, const TestMessageOptions& options) {
    nlohmann::json fixture;
    try {
        fixture =
            admin_request(endpoint, "POST", "/admin/v1/test-message", nlohmann::json::object());
    } catch (const AdminApiError& e) {
        // The server answered, but not with the test: the account or the request is wrong.
        std::cout << "UNKNOWN - the test could not be prepared: " << e.what() << " (HTTP "
                  << e.status << ")\n";
        return 3;
    } catch (const std::exception& e) {
        // Nobody answered: the service is down (or this machine cannot reach it).
        std::cout << "CRITICAL - the server is not reachable: " << e.what() << "\n";
        return 2;
    }
    std::string domain = fixture["domain"], room = fixture["room"];
    std::string host = options.xmpp_host, port = options.xmpp_port;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::milliseconds(options.critical_ms);
    long sign_in_ms = 0, join_ms = 0, delivery_ms = 0;
    try {
        asio::io_context io;
        ssl::context tls(ssl::context::tls_client);
        tls.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        bool verify = !endpoint.insecure;
        if (verify) {
            tls.set_verify_mode(ssl::verify_peer);
            if (endpoint.cacert.empty())
                tls.set_default_verify_paths();
            else
                tls.load_verify_file(endpoint.cacert);
        }
        const auto& users = fixture["users"];
        Probe sender(io, tls, users[0]["name"], deadline),
            reader(io, tls, users[1]["name"], deadline);
        auto t = Clock::now();
        sender.sign_in(host, port, domain, users[0]["password"], verify);
        reader.sign_in(host, port, domain, users[1]["password"], verify);
        sign_in_ms = ms_since(t) / 2;
        t = Clock::now();
        sender.join(room);
        reader.join(room);
        join_ms = ms_since(t) / 2;
        std::string body = "perch test-message " + util::random_id();
        t = Clock::now();
        sender.post(body);
        reader.expect(body);
        delivery_ms = ms_since(t);
        sender.leave();
        reader.leave();
    } catch (const std::exception& e) {
        std::cout << "CRITICAL - " << e.what() << " | total=" << ms_since(start) << "ms\n";
        return 2;
    }
    long total = ms_since(start);
    std::string figures = "sign-in " + std::to_string(sign_in_ms) + " ms, join " +
                          std::to_string(join_ms) + " ms, delivery " + std::to_string(delivery_ms) +
                          " ms, total " + std::to_string(total) + " ms";
    std::string perf =
        " | sign_in=" + std::to_string(sign_in_ms) + "ms join=" + std::to_string(join_ms) +
        "ms delivery=" + std::to_string(delivery_ms) + "ms total=" + std::to_string(total) + "ms";
    if (total > options.critical_ms) {
        std::cout << "CRITICAL - too slow: " << figures << perf << "\n";
        return 2;
    }
    if (total > options.warning_ms) {
        std::cout << "WARNING - slow: " << figures << perf << "\n";
        return 1;
    }
    std::cout << "OK - a message went from " << fixture["users"][0]["name"].get<std::string>()
              << " to " << fixture["users"][1]["name"].get<std::string>() << " in " << room << ": "
              << figures << perf << "\n";
    return 0;
}

}  // namespace perch::app
