#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// Password guessing made slow and visible, for every way in (XMPP SASL, the web sign-in, HTTP
// Basic). Two counts, each with the same rules:
// - per account name, known or not (so that the answers do not tell which accounts exist):
//   attempts, each charged when it starts and taken back when it succeeds, so that attempts
//   made in parallel count as much as attempts one after the other;
// - per source address (IPv6 by /64): the accounts whose password failed from there, each
//   once — one guesser trying many accounts, without counting a shared address (an office
//   behind one NAT) against itself when one client keeps an old password.
// After `free_failures`, each attempt must wait for the one before: a delay doubling from one
// second up to `max_delay`; an attempt that comes too early is refused unchecked. After
// `lockout_failures`, the account or the source is locked for `lockout`. A quiet period
// (`forget_after` without a failure) forgets. Locks do not apply where the account has signed
// in from since the server started (the delays do): whoever locks an account does not lock its
// owner out of the places they use.
namespace perch::xmpp {

enum class LoginChannel : uint8_t { xmpp, http, admin };  // admin: the admin API's accounts
inline constexpr size_t kLoginChannels = 3;
std::string_view to_string(LoginChannel channel);

struct LoginGuardOptions {
    int free_failures = 5;
    std::chrono::seconds max_delay{60};
    int lockout_failures = 20;
    std::chrono::seconds lockout{900};
    std::chrono::seconds forget_after{900};
    // Sources and accounts followed at most (beyond, the quietest are forgotten first).
    size_t max_tracked = 100'000;
};

class LoginGuard {
  public:
    using Clock = std::chrono::steady_clock;
    // The charge an admitted attempt made on its account, for succeeded() to take back.
    struct Ticket {
        uint64_t charge = 0;
    };
    struct Admission {
        bool allowed = true;
        std::chrono::seconds retry_after{0};  // when refused
        Ticket ticket;                        // when allowed
    };
    // What a refused client is told, on every channel.
    static std::string refusal_text(std::chrono::seconds retry_after) {
        return "Too many failed logins: try again in " + std::to_string(retry_after.count()) + " s";
    }

    explicit LoginGuard(LoginGuardOptions options = {}) : options_(options) {}

    // Before a password is checked: may this attempt go ahead? An admitted attempt is charged
    // as a failure until succeeded() refunds it. `peer` is the client's address, with or
    // without its port.
    Admission admit(std::string_view account, std::string_view peer, LoginChannel channel,
                    Clock::time_point now = Clock::now());
    // The attempt admitted before was wrong: logged, counted, charged to its source.
    void failed(std::string_view account, std::string_view peer, LoginChannel channel,
                Clock::time_point now = Clock::now());
    // The attempt admitted with `ticket` was right: refunded (with the delay or lock its charge
    // started, unless another attempt was charged since), and the source trusted for the
    // account.
    void succeeded(std::string_view account, std::string_view peer, Ticket ticket,
                   Clock::time_point now = Clock::now());

    uint64_t failures(LoginChannel channel) const {
        return failures_[size_t(channel)].load(std::memory_order_relaxed);
    }
    uint64_t refusals(LoginChannel channel) const {
        return refusals_[size_t(channel)].load(std::memory_order_relaxed);
    }

    // The part of a peer ("v4:port", "[v6]:port" or a bare address) that names a source:
    // the address, and for IPv6 its /64 (one subscriber's usual allocation).
    static std::string source_of(std::string_view peer);

  private:
    struct Charges {
        int failures = 0;
        Clock::time_point next_allowed{};
        Clock::time_point locked_until{};
    };
    struct Record {
        Charges now;
        Charges before_last;  // as it was before the last charge
        uint64_t last_charge = 0;
        Clock::time_point last{};
        std::vector<std::string> trusted;  // of an account: sources signed in from, newest last
        std::vector<std::string> failed;   // of a source: accounts failed since the last forget
    };
    using Table = std::unordered_map<std::string, Record>;

    // How long before `r` admits another attempt (zero: now).
    // How long before `r` admits another attempt (zero: now); locks aside where trusted.
    static Clock::duration wait_of(const Record& r, bool trusted, Clock::time_point now);
    // Clears `r` after a quiet period.
    void forget_if_quiet(Record& r, Clock::time_point now) const;
    // Returns the charge's number.
    uint64_t charge(Record& r, const char* kind, const std::string& name, Clock::time_point now);
    void refund(Record& r, uint64_t charge);
    Record& record(Table& table, const std::string& key, Clock::time_point now);

    LoginGuardOptions options_;
    std::mutex mutex_;
    Table sources_, accounts_;
    uint64_t charges_ = 0;
    std::array<std::atomic<uint64_t>, kLoginChannels> failures_{}, refusals_{};
};

}  // namespace perch::xmpp
