#pragma once
// Stream Management (XEP-0198): acknowledgements both ways, and the resumption of a session
// whose connection dropped, with every stanza the client had not acknowledged.
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "xmpp/router.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/transport.hpp"

namespace perch::xmpp {

class Session;

// One stream's acknowledgement state (the counters wrap at 2^32, as the XEP says).
struct StreamAcks {
    // A client that acknowledges nothing cannot make the server keep more than this.
    static constexpr size_t kMaxUnacked = 2000;
    static constexpr size_t kMaxUnackedBytes = size_t{2} * 1024 * 1024;

    std::string resume_id;         // empty: not resumable
    uint32_t received = 0;         // stanzas handled from the client: the h we report
    uint32_t sent = 0;             // stanzas sent to the client
    std::deque<Outgoing> unacked;  // the last unacked.size() of those, oldest first
    size_t unacked_bytes = 0;
    bool ack_requested = false;  // an <r/> is out and not answered yet

    void sent_one(const Outgoing& stanza);
    // The client says it has handled `h` of ours: those are forgotten. False when h is more
    // than was sent (or older than what it acknowledged before).
    bool acknowledged(uint32_t h);
    bool over_limit() const {
        return unacked.size() > kMaxUnacked || unacked_bytes > kMaxUnackedBytes;
    }
};

// Sessions that can be resumed, by resumption id: while their connection is up (a client
// often comes back before the server has noticed its old connection died) and, once it has
// dropped, for the resumption timeout. Shared by all connections; its lock is never held
// while calling out.
class Resumption {
  public:
    explicit Resumption(std::chrono::seconds timeout) : timeout_(timeout) {}
    std::chrono::seconds timeout() const { return timeout_; }

    struct Entry {
        std::string user;
        Session* session = nullptr;    // touched only through `run`, on its executor
        Transport::Poster run;         // the session's executor
        std::shared_ptr<void> keeper;  // its connection object
        SessionHandlePtr handle;
        std::optional<std::chrono::steady_clock::time_point> detached_since;
    };
    void add(const std::string& id, Entry entry);
    // The session's connection is gone: the clock runs from now.
    void detached(const std::string& id);
    // For a client of `user` resuming `id`: the entry, no longer listed (nobody else can
    // take it, and it does not expire); none when there is no such session of that user.
    std::optional<Entry> take(const std::string& id, const std::string& user);
    // The session ended. False when it was not listed (taken by a resumption under way).
    bool remove(const std::string& id);
    // Ends the sessions whose connection has been gone longer than the timeout: each is told
    // on its own executor. Called every second.
    void expire(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
    size_t waiting() const;  // sessions whose connection is gone

  private:
    std::chrono::seconds timeout_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace perch::xmpp
