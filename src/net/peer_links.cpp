#include "net/peer_links.hpp"

#include "net/tls.hpp"

#include <openssl/ssl.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstring>
#include <deque>

#include <spdlog/spdlog.h>

#include "util/crypto.hpp"

namespace perch::net {

namespace ssl = asio::ssl;
namespace beast = boost::beast;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxFrame = 64u << 20;    // an archive page of long messages fits
constexpr size_t kMaxQueued = 256u << 20;  // past this the other side is not keeping up
constexpr auto kHeartbeat = std::chrono::seconds(1);
constexpr auto kSilence = std::chrono::seconds(5);  // heard nothing for this long: gone
constexpr auto kRedial = std::chrono::milliseconds(500);
constexpr size_t kBatch = size_t{256} * 1024;  // bytes of frames sent in one write at most

std::string frame_bytes(const pool::Json& j) {
    std::string body = j.dump(-1, ' ', false, pool::Json::error_handler_t::replace);
    std::string out(4, '\0');
    auto n = uint32_t(body.size());
    for (int i = 0; i < 4; ++i) out[size_t(i)] = char((n >> (24 - 8 * i)) & 0xff);
    return out + body;
}

// What both ends of one TLS session, and nobody else, can compute.
std::string session_binding(SSL* ssl) {
    unsigned char out[32];
    static const char kLabel[] = "EXPORTER-perch-pool-link";
    if (SSL_export_keying_material(ssl, out, sizeof out, kLabel, sizeof kLabel - 1, nullptr, 0,
                                   0) != 1)
        return {};
    return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string proof(const std::string& secret, const std::string& nonce, const std::string& binding,
                  const std::string& name, uint32_t number) {
    return util::hex(util::hmac(util::Hash::sha256, secret,
                                "perch-pool-link\n" + nonce + "\n" + binding + "\n" + name + "\n" +
                                    std::to_string(number)));
}

std::pair<std::string, std::string> split_address(const std::string& address) {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) return {address, "8011"};
    std::string host = address.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, address.substr(colon + 1)};
}

}  // namespace

class PeerLinks::Link : public std::enable_shared_from_this<Link> {
  public:
    // Dialed: TLS is yet to be negotiated.
    Link(PeerLinks& owner, Strand strand, tcp::socket socket, ssl::context& tls, uint32_t expected,
         std::string where)
        : owner_(owner),
          strand_(std::move(strand)),
          stream_(beast::tcp_stream(std::move(socket)), tls),
          dialer_(true),
          expected_(expected),
          where_(std::move(where)),
          heartbeat_(strand_) {}
    // Accepted on the pool port, after TLS, with the first bytes the other side sent.
    Link(PeerLinks& owner, PeerConnection accepted)
        : owner_(owner),
          strand_(std::move(accepted.strand)),
          stream_(std::move(accepted.stream)),
          dialer_(false),
          expected_(0),
          where_(std::move(accepted.peer)),
          heartbeat_(strand_),
          unread_(std::move(accepted.read)),
          secured_(true) {}

    void start() {
        asio::co_spawn(
            strand_, [self = shared_from_this()] { return self->run(); }, asio::detached);
        asio::co_spawn(
            strand_, [self = shared_from_this()] { return self->beat(); }, asio::detached);
    }

    // Any thread.
    bool send(std::string bytes) {
        size_t now = queued_.fetch_add(bytes.size()) + bytes.size();
        if (now > kMaxQueued) {
            queued_.fetch_sub(bytes.size());
            asio::post(strand_, [self = shared_from_this()] {
                spdlog::error("pool: the link to server {} is not keeping up; closing it",
                              self->number_);
                self->close();
            });
            return false;
        }
        asio::post(strand_, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
            if (self->closed_) return;
            self->queue_.push_back(std::move(bytes));
            if (!self->writing_) self->write_next();
        });
        return true;
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        heartbeat_.cancel();
        boost::system::error_code ec;
        auto& socket = beast::get_lowest_layer(stream_).socket();
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        if (authenticated_)
            owner_.closed(number_, this, dialer_);
        else if (dialer_)
            owner_.dial_failed(expected_);
    }

    void post_close() {
        asio::post(strand_, [self = shared_from_this()] { self->close(); });
    }

    // The other server is taken for gone here: it is told so (should it still run, cut off
    // from the database, it learns at once that it is no member any more), then the link
    // closes once that is written.
    void post_goodbye() {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->closed_) return;
            std::string bytes = frame_bytes({{"t", "gone"}});
            self->queued_ += bytes.size();
            self->queue_.push_back(std::move(bytes));
            self->closing_ = true;
            if (!self->writing_) self->write_next();
        });
    }

  private:
    void write_next() {
        if (closed_ || queue_.empty()) {
            writing_ = false;
            if (closing_) close();
            return;
        }
        writing_ = true;
        // Every frame queued meanwhile in one write (up to a bound): a burst of small events
        // costs a few TLS records and system calls, not one each.
        writing_batch_.clear();
        while (!queue_.empty() && (writing_batch_.empty() ||
                                   writing_batch_.size() + queue_.front().size() <= kBatch)) {
            writing_batch_ += queue_.front();
            queue_.pop_front();
        }
        asio::async_write(
            stream_, asio::buffer(writing_batch_),
            asio::bind_executor(
                strand_, [self = shared_from_this()](boost::system::error_code ec, size_t) {
                    self->queued_.fetch_sub(self->writing_batch_.size());
                    if (ec) {
                        spdlog::info("pool: writing to {} failed: {}", self->where_, ec.message());
                        return self->close();
                    }
                    self->write_next();
                }));
    }

    // Fills `out` whole: first from what was read before the link began, then from the stream.
    awaitable<void> read_exactly(asio::mutable_buffer out, boost::system::error_code& ec) {
        size_t taken = std::min(unread_.size(), out.size());
        std::memcpy(out.data(), unread_.data(), taken);
        unread_.erase(0, taken);
        if (taken < out.size())
            co_await asio::async_read(stream_, out + taken,
                                      asio::redirect_error(use_awaitable, ec));
    }

    awaitable<std::optional<pool::Json>> read_frame() {
        boost::system::error_code ec;
        unsigned char head[4];
        co_await read_exactly(asio::buffer(head), ec);
        if (ec) co_return std::nullopt;
        size_t n = (size_t(head[0]) << 24) | (size_t(head[1]) << 16) | (size_t(head[2]) << 8) |
                   size_t(head[3]);
        if (n > kMaxFrame || (!authenticated_ && n > 4096)) {
            spdlog::warn("pool: {} sent a frame of {} bytes; closing", where_, n);
            co_return std::nullopt;
        }
        std::string body(n, '\0');
        co_await read_exactly(asio::buffer(body), ec);
        if (ec) co_return std::nullopt;
        last_heard_ = Clock::now();
        auto j = pool::Json::parse(body, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            spdlog::warn("pool: {} sent a frame that is not a JSON object; closing", where_);
            co_return std::nullopt;
        }
        co_return j;
    }

    // TLS, then hello and proof both ways.
    awaitable<bool> handshake() {
        boost::system::error_code ec;
        if (!secured_) {
            co_await stream_.async_handshake(ssl::stream_base::client,
                                             asio::redirect_error(use_awaitable, ec));
            if (ec) {
                spdlog::warn("pool: TLS with {} failed: {}", where_, ec.message());
                co_return false;
            }
        }
        std::string binding = session_binding(stream_.native_handle());
        if (binding.empty()) co_return false;
        const auto& self = owner_.membership_.self();
        const auto& secret = owner_.membership_.config().secret;
        std::string nonce = util::hex(util::random_bytes(16));
        send(frame_bytes({{"t", "hello"},
                          {"v", pool::kProtocolVersion},
                          {"name", self.name},
                          {"number", self.number},
                          {"incarnation", self.incarnation},
                          {"nonce", nonce}}));
        auto hello = co_await read_frame();
        if (!hello || hello->value("t", "") != "hello") co_return false;
        if (hello->value("v", 0) != pool::kProtocolVersion) {
            spdlog::error("pool: {} speaks peer protocol {}, this server {}; not linking", where_,
                          hello->value("v", 0), pool::kProtocolVersion);
            co_return false;
        }
        std::string name = hello->value("name", "");
        auto number = hello->value("number", uint32_t(0));
        std::string their_nonce = hello->value("nonce", "");
        if (their_nonce.size() < 32 || number == 0 || number == self.number) co_return false;
        send(frame_bytes({{"t", "auth"},
                          {"proof", proof(secret, their_nonce, binding, self.name, self.number)}}));
        auto auth = co_await read_frame();
        if (!auth) {
            // Closed before its proof came (it went, or this side judged it silent): nothing
            // says it is a stranger.
            spdlog::info("pool: {} (calling itself {}) went before proving itself", where_,
                         name.empty() ? "nothing" : name);
            co_return false;
        }
        if (auth->value("t", "") != "auth" ||
            !util::constant_time_equal(auth->value("proof", ""),
                                       proof(secret, nonce, binding, name, number))) {
            spdlog::warn("pool: refused {} (calling itself {}): it does not know the pool's secret",
                         where_, name.empty() ? "nothing" : name);
            co_return false;
        }
        if (dialer_ && number != expected_) {
            spdlog::warn("pool: {} is server {}, not the {} expected", where_, number, expected_);
            co_return false;
        }
        // Only the incarnation this server's view of the pool has: a server that restarted is
        // linked once the others have seen it go and come back (and have dropped its former
        // occupants), never before; it dials again meanwhile.
        auto member = owner_.membership_.member(number);
        auto incarnation = hello->value("incarnation", int64_t(0));
        if (!member || member->incarnation != incarnation) {
            spdlog::info("pool: {} (server {}) is not yet among the live servers here; later",
                         where_, number);
            co_return false;
        }
        number_ = number;
        co_return true;
    }

    awaitable<void> run() {
        last_heard_ = Clock::now();
        bool ok = co_await handshake();
        if (!ok || closed_) {
            close();
            co_return;
        }
        authenticated_ = true;
        owner_.authenticated(number_, shared_from_this());
        spdlog::info("pool: linked with server {} ({})", number_, where_);
        while (!closed_) {
            auto frame = co_await read_frame();
            if (!frame) break;
            const auto* type = frame->find("t") != frame->end() && (*frame)["t"].is_string()
                                   ? &(*frame)["t"].get_ref<const std::string&>()
                                   : nullptr;
            if (type && *type == "ping") continue;
            if (type && *type == "gone") {
                spdlog::warn("pool: server {} took this server for gone", number_);
                owner_.membership_.told_gone(number_);
                continue;
            }
            owner_.handler_.frame(number_, *frame);
        }
        if (!closed_) spdlog::info("pool: the link with server {} closed", number_);
        close();
    }

    awaitable<void> beat() {
        while (!closed_) {
            boost::system::error_code ec;
            heartbeat_.expires_after(kHeartbeat);
            co_await heartbeat_.async_wait(asio::redirect_error(use_awaitable, ec));
            if (closed_) co_return;
            if (Clock::now() - last_heard_ > kSilence) {
                spdlog::warn("pool: nothing heard from {} for {} s; closing the link", where_,
                             std::chrono::duration_cast<std::chrono::seconds>(kSilence).count());
                close();
                co_return;
            }
            if (authenticated_ && queue_.empty()) send(frame_bytes({{"t", "ping"}}));
        }
    }

    PeerLinks& owner_;
    Strand strand_;
    TlsStream stream_;
    bool dialer_;
    uint32_t expected_;
    std::string where_;
    asio::steady_timer heartbeat_;
    std::string unread_;    // bytes of the other side's first frame read before the link began
    bool secured_ = false;  // TLS negotiated before the link began
    Clock::time_point last_heard_ = Clock::now();
    std::deque<std::string> queue_;
    std::string writing_batch_;  // what the write under way sends
    std::atomic<size_t> queued_{0};
    bool writing_ = false, closed_ = false, authenticated_ = false;
    bool closing_ = false;  // closed once what is queued is written
    uint32_t number_ = 0;
};

PeerLinks::PeerLinks(IoPool& io, pool::Membership& membership, pool::FrameHandler& handler)
    : io_(io), client_tls_(ssl::context::tls_client), membership_(membership), handler_(handler) {
    // Who the other side is, is proven by the pool's secret bound to this TLS session; the
    // certificate only encrypts (the servers of a pool may each have their own self-signed
    // one).
    client_tls_.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                            ssl::context::no_sslv2 | ssl::context::no_sslv3);
    client_tls_.set_verify_mode(ssl::verify_none);
    SSL_CTX_set_cipher_list(client_tls_.native_handle(), kTls12Ciphers);
}

PeerLinks::~PeerLinks() = default;

void PeerLinks::adopt(PeerConnection connection) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
    }
    std::make_shared<Link>(*this, std::move(connection))->start();
}

void PeerLinks::stop() {
    std::map<uint32_t, std::shared_ptr<Link>> links;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        links.swap(links_);
    }
    for (auto& [n, link] : links) link->post_close();
}

bool PeerLinks::send(uint32_t number, const pool::Json& frame) {
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(mutex_);
        auto it = links_.find(number);
        if (it == links_.end()) return false;
        link = it->second;
    }
    return link->send(frame_bytes(frame));
}

// An event for every server with occupants of its room: serialised once, not once per server.
std::vector<uint32_t> PeerLinks::send_each(const std::vector<uint32_t>& numbers,
                                           const pool::Json& frame) {
    std::vector<std::pair<uint32_t, std::shared_ptr<Link>>> to;
    std::vector<uint32_t> failed;
    {
        std::lock_guard lock(mutex_);
        for (uint32_t n : numbers) {
            auto it = links_.find(n);
            if (it == links_.end())
                failed.push_back(n);
            else
                to.emplace_back(n, it->second);
        }
    }
    if (to.empty()) return failed;
    std::string bytes = frame_bytes(frame);
    for (size_t i = 0; i + 1 < to.size(); ++i)
        if (!to[i].second->send(bytes)) failed.push_back(to[i].first);
    if (!to.back().second->send(std::move(bytes))) failed.push_back(to.back().first);
    return failed;
}

bool PeerLinks::linked(uint32_t number) const {
    std::lock_guard lock(mutex_);
    return links_.contains(number);
}

void PeerLinks::members_changed(const std::vector<store::PoolMember>& live) {
    std::vector<std::shared_ptr<Link>> gone;
    std::vector<store::PoolMember> to_dial;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        for (auto it = links_.begin(); it != links_.end();) {
            bool alive = std::any_of(live.begin(), live.end(),
                                     [&](const auto& m) { return m.number == it->first; });
            if (!alive) {
                gone.push_back(it->second);
                it = links_.erase(it);
            } else {
                ++it;
            }
        }
        for (const auto& m : live)
            if (m.number > membership_.self().number && !links_.count(m.number) &&
                dialing_.insert(m.number).second)
                to_dial.push_back(m);
    }
    for (auto& link : gone) link->post_goodbye();
    for (auto& m : to_dial) dial(m);
}

// Connects from this server's own peer address when it names one (not a host name or a
// wildcard), so that a firewall, or a test, tells the servers' links apart.
awaitable<void> PeerLinks::connect_from(tcp::socket& socket,
                                        const tcp::resolver::results_type& endpoints,
                                        boost::system::error_code& ec) {
    auto [host, port] = split_address(membership_.self().peer_address);
    boost::system::error_code bad;
    auto local = asio::ip::make_address(host, bad);
    for (const auto& e : endpoints) {
        socket.close(ec);
        socket.open(e.endpoint().protocol(), ec);
        if (ec) continue;
        if (!bad && !local.is_unspecified() && local.is_v4() == e.endpoint().address().is_v4())
            socket.bind(tcp::endpoint(local, 0), ec);
        if (ec) continue;
        co_await socket.async_connect(e.endpoint(), asio::redirect_error(use_awaitable, ec));
        if (!ec) co_return;
    }
    if (!ec) ec = asio::error::host_not_found;
}

void PeerLinks::dial(const store::PoolMember& peer) {
    Strand strand = asio::make_strand(io_.context());
    asio::co_spawn(
        strand,
        [this, peer, strand]() -> awaitable<void> {
            auto [host, port] = split_address(peer.peer_address);
            for (;;) {
                {
                    std::lock_guard lock(mutex_);
                    if (stopping_ || !membership_.member(peer.number)) {
                        dialing_.erase(peer.number);
                        co_return;
                    }
                }
                boost::system::error_code ec;
                tcp::resolver resolver(strand);
                auto endpoints = co_await resolver.async_resolve(
                    host, port, asio::redirect_error(use_awaitable, ec));
                tcp::socket socket(strand);
                if (!ec) co_await connect_from(socket, endpoints, ec);
                if (!ec) {
                    socket.set_option(tcp::no_delay(true), ec);
                    std::make_shared<Link>(*this, strand, std::move(socket), client_tls_,
                                           peer.number, peer.name + " at " + peer.peer_address)
                        ->start();
                    co_return;  // the link says how it went: authenticated() or closed()
                }
                spdlog::debug("pool: dialing {} at {} failed: {}", peer.name, peer.peer_address,
                              ec.message());
                asio::steady_timer pause(strand, kRedial);
                co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            }
        },
        asio::detached);
}

void PeerLinks::authenticated(uint32_t number, const std::shared_ptr<Link>& link) {
    std::shared_ptr<Link> replaced;
    {
        std::lock_guard lock(mutex_);
        dialing_.erase(number);
        if (stopping_) return link->post_close();
        auto& slot = links_[number];
        replaced = std::move(slot);  // the other side restarted and dialed again
        slot = link;
    }
    if (replaced) replaced->post_close();
}

void PeerLinks::dial_failed(uint32_t number) {
    std::optional<store::PoolMember> peer;
    {
        std::lock_guard lock(mutex_);
        dialing_.erase(number);
        peer = membership_.member(number);
        if (stopping_ || !peer || links_.count(number)) return;
        dialing_.insert(number);
    }
    auto timer = std::make_shared<asio::steady_timer>(io_.context(), kRedial);
    timer->async_wait([this, timer, peer = *peer](boost::system::error_code) { dial(peer); });
}

void PeerLinks::closed(uint32_t number, const Link* link, bool dialed) {
    bool redial = false, suspect = false;
    std::optional<store::PoolMember> peer;
    {
        std::lock_guard lock(mutex_);
        auto it = links_.find(number);
        if (it != links_.end() && it->second.get() == link)
            links_.erase(it);
        else if (it != links_.end())
            return;  // replaced by a newer link: nothing was lost
        peer = membership_.member(number);
        redial = dialed && !stopping_ && peer && dialing_.insert(number).second;
        suspect = peer && !stopping_;
    }
    // Closed of itself while the server is live here: it may have died; its lease tells.
    if (suspect) membership_.look_sooner(number);
    handler_.link_lost(number);
    if (redial) {
        auto timer = std::make_shared<asio::steady_timer>(io_.context(), kRedial);
        timer->async_wait([this, timer, peer = *peer](boost::system::error_code) { dial(peer); });
    }
}

}  // namespace perch::net
