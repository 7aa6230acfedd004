#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xml/stream_parser.hpp"

namespace perch::bench {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

inline int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

struct Account {
    std::string user;
    std::string password;
    std::string domain;
    std::string muc_domain;
    std::vector<std::string> rooms;  // joined after login, with this user's name as nickname
    int index = 0;                   // the run's number for this session, passed back below
};

// What the run as a whole learns from its clients.
struct Observer {
    std::function<void()> on_bound;
    std::function<void(int index)> on_joined;  // all rooms joined
    std::function<void(int index, std::string why)> on_failed;
    // A room message whose body was written by a bench client: when it was sent and the
    // number the sender gave it.
    std::function<void(int index, int64_t sent_ns, int64_t seq)> on_delivery;
    // An error bounced back for a bench message this session sent (optional).
    std::function<void(int index, int64_t seq)> on_refused;
};

// One XMPP client of the load: plain TCP from a chosen source address, SCRAM-SHA-256 login,
// bind, join rooms; then it only counts the bench messages it receives (a byte scan instead of
// XML parsing, so the generator stays cheaper than the server it measures).
class Client : public std::enable_shared_from_this<Client>, public xml::StreamParser::Handler {
  public:
    Client(asio::io_context& io, Account account, const Observer& observer);
    void start(const asio::ip::address& source, const asio::ip::tcp::endpoint& server);
    void send_groupchat(const std::string& room, int64_t seq);
    // Any stanza, as written.
    void send(std::string stanza) { write(std::move(stanza)); }
    // Once joined, hand every stanza to `handler` (parsed) instead of only scanning for bench
    // bodies: for scenarios that wait for answers. Set before start().
    void on_stanza(std::function<void(const xml::Element&)> handler) {
        stanza_handler_ = std::move(handler);
    }
    const Account& account() const { return account_; }
    void close();
    bool ready() const { return state_ == State::ready; }
    const char* state_name() const;
    std::string local_endpoint() const;

    // SCRAM salted password, derived once per (password, salt) for the whole run.
    static std::string salted_password(const std::string& password, const std::string& salt,
                                       int iterations);

  private:
    enum class State {
        connecting,
        features,
        auth,
        auth_final,
        restart,
        bind,
        joining,
        ready,
        failed
    };

    void on_stream_open(const xml::Element&) override {}
    void on_element(xml::Element&& e) override;
    void on_stream_close() override { fail("server closed the stream"); }

    void read();
    void on_data(std::string_view data);
    void scan(std::string_view data);
    void write(std::string bytes);
    void write_next();
    void fail(const std::string& why);
    void open_stream();

    asio::ip::tcp::socket socket_;
    Account account_;
    const Observer& observer_;
    State state_ = State::connecting;
    std::unique_ptr<xml::StreamParser> parser_;
    std::array<char, 8192> buffer_;
    std::deque<std::string> out_;
    bool writing_ = false;
    std::string client_first_bare_, server_signature_;
    size_t joined_ = 0;
    std::string carry_;  // unscanned tail of the previous read
    std::function<void(const xml::Element&)> stanza_handler_;
};

}  // namespace perch::bench
