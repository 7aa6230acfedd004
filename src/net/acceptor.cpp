#include "net/acceptor.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

#include <spdlog/spdlog.h>

namespace perch::net {

using asio::ip::tcp;

std::string remote_peer(const tcp::socket& socket, bool* loopback) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (loopback) *loopback = !ec && remote.address().is_loopback();
    if (ec) return "?";
    std::string address = remote.address().to_string();
    if (remote.address().is_v6()) address = "[" + address + "]";
    return address + ":" + std::to_string(remote.port());
}

void open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint,
                   const std::string& setting) {
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return;
    std::string where = endpoint.address().to_string();
    if (endpoint.address().is_v6()) where = "[" + where + "]";
    std::string hint;
    if (ec == asio::error::address_in_use) hint = " (another server may be running)";
    if (ec == asio::error::access_denied) hint = " (ports below 1024 need privileges)";
    if (ec.value() == EADDRNOTAVAIL) hint = " (not an address of this machine)";
    throw std::runtime_error("cannot listen on " + where + ":" + std::to_string(endpoint.port()) +
                             " (" + setting + "): " + ec.message() + hint);
}

void close_acceptor(tcp::acceptor& acceptor, std::shared_ptr<const void> keep) {
    asio::post(acceptor.get_executor(), [&acceptor, keep = std::move(keep)] {
        boost::system::error_code ec;
        acceptor.close(ec);
    });
}

// One accept loop's pauses for admission (a member of its coroutine frame, hence not in the
// anonymous namespace). Under a storm the door opens and closes many times a second: said when
// it first closes, then once a minute with how often and how long.
struct AdmissionPauses {
    std::chrono::steady_clock::time_point logged{};
    int64_t count = 0;
    double seconds = 0;
};

namespace {

// Waits while `admission` is closed.
asio::awaitable<void> wait_for_admission(const tcp::acceptor& acceptor, IoPool& io,
                                         const char* what, const util::Admission& admission,
                                         AdmissionPauses& pauses) {
    using Clock = std::chrono::steady_clock;
    if (admission.open()) co_return;
    auto since = Clock::now();
    ++pauses.count;
    if (pauses.logged == Clock::time_point{} || since - pauses.logged >= std::chrono::minutes(1)) {
        std::string why = admission.held()
                              ? std::string("the pool's rooms move to their new servers")
                              : fmt::format(
                                    "{} room joins are under way and {} more wait their turn "
                                    "(c2s.max_pending_joins {})",
                                    admission.running(), admission.waiting(), admission.limit());
        spdlog::warn("{}: not accepting new connections while {}{}", what, why,
                     pauses.count > 1
                         ? fmt::format("; {} pauses, {:.1f} s in all, since the last line",
                                       pauses.count - 1, pauses.seconds)
                         : std::string());
        pauses = {since, 0, 0};
    }
    boost::system::error_code ec;
    while (!admission.open() && acceptor.is_open()) {
        asio::steady_timer pause(io.context(), std::chrono::milliseconds(20));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    pauses.seconds += std::chrono::duration<double>(Clock::now() - since).count();
}

}  // namespace

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, IoPool& io, const char* what,
                                  std::function<void(tcp::socket, Strand)> accepted,
                                  std::shared_ptr<const util::Admission> admission) {
    // Out of file descriptors or similar, the accept fails again every pause: said once, then
    // once a minute with how often, not ten times a second.
    constexpr auto kLogEvery = std::chrono::minutes(1);
    std::chrono::steady_clock::time_point logged{};
    int64_t unsaid = 0;
    AdmissionPauses pauses;
    for (;;) {
        if (admission) co_await wait_for_admission(acceptor, io, what, *admission, pauses);
        if (!acceptor.is_open()) co_return;
        Strand strand = asio::make_strand(io.context());
        boost::system::error_code ec;
        tcp::socket socket =
            co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            auto now = std::chrono::steady_clock::now();
            if (logged == std::chrono::steady_clock::time_point{} || now - logged >= kLogEvery) {
                if (unsaid == 0)
                    spdlog::warn("{} accept failed: {}; retrying every 100 ms", what, ec.message());
                else
                    spdlog::warn("{} accept failed: {}; {} more times in the last minute", what,
                                 ec.message(), unsaid);
                logged = now;
                unsaid = 0;
            } else {
                ++unsaid;
            }
            asio::steady_timer pause(io.context(), std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (logged != std::chrono::steady_clock::time_point{}) {
            spdlog::info("{} accepting again ({} failures since the last line)", what, unsaid);
            logged = {};
            unsaid = 0;
        }
        accepted(std::move(socket), strand);
    }
}

}  // namespace perch::net
