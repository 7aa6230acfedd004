#include "bench_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <map>
#include <mutex>

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/scram.hpp"

namespace perch::bench {

namespace ns = xmpp::ns;
constexpr std::string_view kMarker = "<body>bench ";

Client::Client(asio::io_context& io, Account account, const Observer& observer)
    : socket_(io), account_(std::move(account)), observer_(observer) {}

std::string Client::salted_password(const std::string& password, const std::string& salt,
                                    int iterations) {
    static std::mutex mutex;
    static std::map<std::string, std::string> cache;
    std::lock_guard lock(mutex);
    std::string key = password + '\0' + salt + '\0' + std::to_string(iterations);
    auto it = cache.find(key);
    if (it == cache.end())
        it = cache.emplace(key, util::pbkdf2(util::Hash::sha256, password, salt, iterations)).first;
    return it->second;
}

void Client::start(const asio::ip::address& source, const asio::ip::tcp::endpoint& server) {
    boost::system::error_code ec;
    socket_.open(server.protocol(), ec);
    if (!ec) socket_.bind(asio::ip::tcp::endpoint(source, 0), ec);
    if (ec) return fail("socket: " + ec.message());
    socket_.async_connect(server, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->fail("connect: " + ec.message());
        self->socket_.set_option(asio::ip::tcp::no_delay(true));
        self->open_stream();
        self->read();
    });
}

void Client::open_stream() {
    if (!parser_) parser_ = std::make_unique<xml::StreamParser>(*this);
    state_ = state_ == State::connecting ? State::features : State::restart;
    write(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='" +
        account_.domain + "' version='1.0'>");
}

void Client::read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                                if (ec) return self->fail("read: " + ec.message());
                                self->on_data(std::string_view(self->buffer_.data(), n));
                                if (self->state_ != State::failed) self->read();
                            });
}

void Client::on_data(std::string_view data) {
    if (state_ == State::ready && !stanza_handler_) return scan(data);
    if (!parser_->feed(data)) return fail("bad XML from server: " + parser_->error_text());
    if (state_ == State::ready && !stanza_handler_)
        parser_.reset();  // joined: only the byte scan from now on
}

void Client::scan(std::string_view data) {
    // Bench bodies are "<body>bench SENT_NS SEQ</body>"; a marker may straddle two reads. An
    // error bounced back carries the body too: told apart by the type of its message.
    std::string joined;
    std::string_view text = data;
    if (!carry_.empty()) {
        joined = carry_ + std::string(data);
        text = joined;
    }
    size_t pos = 0;
    for (;;) {
        size_t at = text.find(kMarker, pos);
        if (at == std::string_view::npos) break;
        size_t num = at + kMarker.size();
        size_t space = text.find(' ', num);
        size_t end = space == std::string_view::npos ? space : text.find('<', space);
        if (end == std::string_view::npos) {
            pos = at;
            break;
        }
        int64_t sent = std::stoll(std::string(text.substr(num, space - num)));
        int64_t seq = std::stoll(std::string(text.substr(space + 1, end - space - 1)));
        size_t open = text.rfind("<message", at);
        size_t tag_end = open == std::string_view::npos ? open : text.find('>', open);
        auto tag =
            open == std::string_view::npos ? std::string_view() : text.substr(open, tag_end - open);
        bool error = tag.find("type='error'") != std::string_view::npos ||
                     tag.find("type=\"error\"") != std::string_view::npos;
        if (!error)
            observer_.on_delivery(account_.index, sent, seq);
        else if (observer_.on_refused)
            observer_.on_refused(account_.index, seq);
        pos = end;
    }
    // Keep enough of the tail for a message's start tag and a marker cut in two.
    size_t keep_from = text.size() > 1024 ? text.size() - 1024 : 0;
    keep_from = std::max(keep_from, pos);
    carry_ = std::string(text.substr(keep_from));
}

void Client::on_element(xml::Element&& e) {
    switch (state_) {
        case State::features:
            if (e.name() != "features") return;
            {
                std::string nonce = util::random_id();
                client_first_bare_ = "n=" + account_.user + ",r=" + nonce;
                state_ = State::auth;
                write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
                      util::base64_encode("n,," + client_first_bare_) + "</auth>");
            }
            return;
        case State::auth: {
            if (e.name() != "challenge") return fail("auth refused: " + xml::to_string(e));
            auto server_first = util::base64_decode(e.text());
            if (!server_first) return fail("bad challenge");
            auto salt = util::base64_decode(xmpp::scram_attribute(*server_first, 's').value_or(""));
            int iterations = std::stoi(xmpp::scram_attribute(*server_first, 'i').value_or("4096"));
            if (!salt) return fail("bad salt");
            auto proof =
                xmpp::scram_client_final(util::Hash::sha256, client_first_bare_, *server_first,
                                         salted_password(account_.password, *salt, iterations));
            if (!proof) return fail("bad server-first");
            server_signature_ = proof->server_signature;
            state_ = State::auth_final;
            write("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                  util::base64_encode(proof->client_final) + "</response>");
            return;
        }
        case State::auth_final: {
            if (e.name() != "success") return fail("login failed: " + xml::to_string(e));
            auto v = util::base64_decode(e.text());
            if (!v || *v != "v=" + server_signature_) return fail("server signature mismatch");
            parser_->reset();
            open_stream();
            return;
        }
        case State::restart:
            if (e.name() != "features") return;
            state_ = State::bind;
            write(
                "<iq type='set' id='bind'><bind "
                "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>");
            return;
        case State::bind:
            if (e.name() != "iq") return;
            if (e.attr_or("type") != "result") return fail("bind failed");
            observer_.on_bound();
            state_ = State::joining;
            if (account_.rooms.empty()) {
                state_ = State::ready;
                observer_.on_joined(account_.index);
                return;
            }
            for (const auto& room : account_.rooms) {
                write("<presence to='" + room + "@" + account_.muc_domain + "/" + account_.user +
                      "'><x xmlns='http://jabber.org/protocol/muc'><history "
                      "maxstanzas='0'/></x></presence>");
            }
            return;
        case State::joining:
            if (e.name() == "presence") {
                if (e.attr_or("type") == "error") return fail("join refused: " + xml::to_string(e));
                const xml::Element* x = e.child("x", ns::muc_user);
                if (!x) return;
                for (const auto& c : x->children())
                    if (c.name() == "status" && c.attr_or("code") == "110") ++joined_;
                if (joined_ == account_.rooms.size()) {
                    state_ = State::ready;
                    observer_.on_joined(account_.index);
                }
            }
            return;
        case State::ready:
            if (stanza_handler_) stanza_handler_(e);
            return;
        default:
            return;
    }
}

const char* Client::state_name() const {
    static const char* names[] = {"connecting", "features", "auth",  "auth_final", "restart",
                                  "bind",       "joining",  "ready", "failed"};
    return names[int(state_)];
}

std::string Client::local_endpoint() const {
    boost::system::error_code ec;
    auto ep = socket_.local_endpoint(ec);
    return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

void Client::send_groupchat(const std::string& room, int64_t seq) {
    write("<message type='groupchat' to='" + room + "@" + account_.muc_domain + "'><body>bench " +
          std::to_string(now_ns()) + " " + std::to_string(seq) + "</body></message>");
}

void Client::write(std::string bytes) {
    out_.push_back(std::move(bytes));
    if (!writing_) write_next();
}

void Client::write_next() {
    if (out_.empty() || state_ == State::failed) {
        writing_ = false;
        return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                          if (ec) return self->fail("write: " + ec.message());
                          self->out_.pop_front();
                          self->write_next();
                      });
}

void Client::fail(const std::string& why) {
    if (state_ == State::failed) return;
    bool was_closing = !socket_.is_open();
    state_ = State::failed;
    boost::system::error_code ec;
    socket_.close(ec);
    if (!was_closing) observer_.on_failed(account_.index, account_.user + ": " + why);
}

void Client::close() {
    if (state_ == State::failed) return;
    state_ = State::failed;
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

}  // namespace perch::bench
