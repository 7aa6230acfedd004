#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "chat/authz.hpp"
#include "chat/directory.hpp"
#include "chat/files.hpp"
#include "chat/settings.hpp"
#include "store/workers.hpp"
#include "util/histogram.hpp"
#include "util/token_bucket.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/credentials.hpp"
#include "xmpp/direct.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/remote_users.hpp"
#include "xmpp/router.hpp"
#include "xmpp/scram.hpp"
#include "xmpp/stream_management.hpp"
#include "xmpp/transport.hpp"

namespace perch::xmpp {

// The stream error conditions of RFC 6120 section 4.9.3, each counted.
inline constexpr std::array<std::string_view, 24> kStreamConditions{"bad-format",
                                                                    "bad-namespace-prefix",
                                                                    "conflict",
                                                                    "connection-timeout",
                                                                    "host-gone",
                                                                    "host-unknown",
                                                                    "improper-addressing",
                                                                    "internal-server-error",
                                                                    "invalid-from",
                                                                    "invalid-namespace",
                                                                    "invalid-xml",
                                                                    "not-authorized",
                                                                    "not-well-formed",
                                                                    "policy-violation",
                                                                    "remote-connection-failed",
                                                                    "reset",
                                                                    "resource-constraint",
                                                                    "restricted-xml",
                                                                    "see-other-host",
                                                                    "system-shutdown",
                                                                    "undefined-condition",
                                                                    "unsupported-encoding",
                                                                    "unsupported-feature",
                                                                    "unsupported-stanza-type"};

struct ServerStats {
    std::atomic<uint64_t> logins{0};
    std::atomic<uint64_t> stream_errors{0};
    std::atomic<uint64_t> stanzas_over_rate{0};
    std::atomic<uint64_t> sessions_resumed{0};  // XEP-0198
    // By condition (kStreamConditions; the last slot: any other, e.g. unsupported-version).
    std::array<std::atomic<uint64_t>, kStreamConditions.size() + 1> stream_errors_by{};
    util::Histogram login_seconds;     // from a stream's first byte to its bound resource
    util::Histogram delivery_seconds;  // a room message handed to this server's occupants

    void count_stream_error(std::string_view condition) {
        stream_errors.fetch_add(1, std::memory_order_relaxed);
        auto it = std::find(kStreamConditions.begin(), kStreamConditions.end(), condition);
        stream_errors_by[size_t(it - kStreamConditions.begin())].fetch_add(
            1, std::memory_order_relaxed);
    }
};

// Everything a client session shares with the rest of the server.
struct ServerContext {
    std::string domain;
    Router& router;  // sessions, and the services on their own domains (the chat service)
    Credentials& credentials;
    store::StoreJobs& jobs;
    xml::ParserLimits limits;
    bool tls_required = true;  // outside loopback, authentication waits for TLS
    std::string version;
    ServerStats& stats;
    // HTTP file upload (XEP-0363): slots, and the base URL of the web service; none: off.
    chat::UploadSlots* uploads = nullptr;
    std::string public_url;
    // Compliance: sign-ins and sign-outs are recorded (a sign-in before it is answered).
    bool compliance = false;
    // How fast one bound session may send stanzas that ask for work (answers and departures
    // always pass); more are refused with resource-constraint, never queued.
    util::Rate stanza_rate{100, 500};
    // Who blocks whom (XEP-0191); none: nobody blocks anybody.
    direct::Blocklists* blocklists = nullptr;
    // Messages kept for one offline user at most; more are refused to their senders.
    int64_t max_offline = 1000;
    // A pool's other servers, where a user's other sessions may be; none: a single server.
    RemoteUsers* remote_users = nullptr;
    // Sessions that can be resumed (XEP-0198); none: stream management without resumption.
    Resumption* resumption = nullptr;
    // The rooms, for the bookmarks of the rooms a user belongs to; none: no such bookmarks.
    const chat::Directory* directory = nullptr;
    std::string muc_domain = {};
    // Where a new client is sent instead of being served here (RFC 6120 see-other-host, its
    // host:port): a pool's standby sends clients to an active server. None, or nullopt: here.
    std::function<std::optional<std::string>()> elsewhere = {};
    // The same for a WebSocket client (RFC 7395 see-other-uri): an active server's wss:// URL.
    std::function<std::optional<std::string>()> elsewhere_websocket = {};
    // What one user may keep in personal storage (PEP items and private XML, in characters);
    // a publish or a private XML set beyond it is refused. 0: no limit.
    int64_t personal_storage = int64_t{8} << 20;
    // Contacts in one user's roster at most; a roster set adding one more is refused. 0: none.
    size_t max_roster_items = 1000;
    // The settings that may change while the server runs (the longest message among them);
    // none: one-to-one messages are bounded by the stanza size only.
    const chat::LiveSettings* settings = nullptr;
};

class Session;

// Stream negotiation (RFC 6120 sections 5-7): features, STARTTLS, SASL and resource binding,
// everything a stream does before it is bound. Lives inside its Session, on its executor.
class Negotiation {
  public:
    explicit Negotiation(Session& session);
    ~Negotiation();
    void send_features();
    void on_element(const xml::Element& e);
    bool authenticated() const { return state_ == State::authenticated; }
    // What the login waits for, and since when: for the log of one that missed its deadline.
    std::string_view stage() const;
    std::chrono::steady_clock::time_point stage_since() const { return since_; }

  private:
    enum class State { open, auth_pending, authenticated };
    void enter(State state);
    bool auth_allowed() const;
    void on_starttls();
    void on_auth(const xml::Element& e);
    void on_sasl_response(const xml::Element& e);
    void sasl_failure(std::string_view condition, std::string_view text = {});
    // Whether the login guard lets an attempt on `user` from this client go ahead; if not,
    // the client is told when to try again.
    bool admitted(const std::string& user);
    void sasl_success(std::string_view additional);
    void complete_sasl(std::string_view additional);
    void on_bind(const xml::Element& iq);

    // The session's: who is logging in, and the rules' view of them (set with the credentials,
    // used only once the proof is right).
    std::string& username() const;
    std::shared_ptr<const chat::Subject>& subject() const;

    Session& session_;
    State state_ = State::open;
    std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
    int failed_auth_ = 0;
    bool disabled_ = false;      // the account logging in is disabled (told after its proof)
    LoginGuard::Ticket ticket_;  // of the attempt under way
    std::unique_ptr<ScramServer> scram_;
};

// A bound session's stanzas (RFC 6120/6121): its roster, presence and messages between users,
// IQs to the server and the account (personal eventing, private storage, upload slots), and
// everything for a service's domain handed to that service. Lives inside its Session.
class BoundSession {
  public:
    explicit BoundSession(Session& session);
    void on_stanza(xml::Element e);
    // The stream is over: unbound, the services told, the other resources see it go.
    void ended();
    // Whether the user has sent available presence (and so is seen to go).
    bool available() const { return available_; }
    void set_available(bool available) { available_ = available; }
    // The session ends with `stanzas` sent and not acknowledged (XEP-0198): the one-to-one
    // messages among them wait for the user again, as if never delivered.
    void keep_unacknowledged(const std::deque<Outgoing>& stanzas);

  private:
    void send(const xml::Element& e);
    void on_iq_to_server(const xml::Element& iq);
    void on_roster(const xml::Element& iq);
    // An IQ set carrying `payload` to every resource of the user (roster and blocking pushes).
    void push_to_own_resources(xml::Element payload);
    // Personal eventing (XEP-0163) and private storage (XEP-0049), in xmpp/pep.cpp.
    void on_pubsub(const xml::Element& iq, const xml::Element& pubsub);
    void on_private(const xml::Element& iq, const xml::Element& query);
    // Items of `owner`'s node: the user's own, or another user's avatar (xmpp/pep.cpp).
    void on_pubsub_items(const xml::Element& iq, const xml::Element& items,
                         const std::string& owner);
    // vCard-temp (XEP-0054) of `owner`: the user's own (get and set) or another's (get), in
    // step with the PEP avatar (xmpp/profiles.cpp).
    void on_vcard(const xml::Element& iq, const xml::Element& card, const std::string& owner);
    // An IQ to another user's bare JID, answered by the server on their behalf.
    void on_iq_to_user(const xml::Element& iq, const Jid& to);
    void notify_own_resources(const std::string& event_body);
    // A publish or a private XML set that would take the user past ServerContext's
    // personal_storage (`limit`): refused, resource-constraint.
    void refuse_as_full(const xml::Element& iq, int64_t limit);
    // XEP-0363: a slot to upload one file over HTTP.
    void on_upload_request(const xml::Element& iq, const xml::Element& request);
    void on_presence(xml::Element& p, const std::optional<Jid>& to);
    void on_message(xml::Element& m, const std::optional<Jid>& to);
    void deliver_to_user(xml::Element& stanza, const Jid& to);
    // One-to-one messages (xmpp/direct_messages.cpp): delivered, carbon-copied, kept for an
    // offline recipient and in both parties' archives; the user's archive, its preferences,
    // carbons and blocking.
    void on_direct_message(xml::Element& m, const Jid& to);
    struct DirectCopies {
        xml::Element message;  // as sent, for an error back to the sender
        store::DirectMessage sent, received;
        std::vector<store::ComplianceEvent> events;
    };
    struct DirectWrites;
    std::shared_ptr<DirectWrites> direct_writes();  // made at the first message kept
    bool refused_by_blocking(const xml::Element& stanza, const Jid& to);
    void on_carbons(const xml::Element& iq, const xml::Element& request);
    void on_own_archive(const xml::Element& iq, const xml::Element& query);
    void on_archive_prefs(const xml::Element& iq, const xml::Element& prefs);
    void on_blocking(const xml::Element& iq, const xml::Element& request);
    // XEP-0357: the user's app servers, enabled and disabled (xmpp/push.cpp).
    void on_push(const xml::Element& iq, const xml::Element& request);
    void deliver_offline();
    // Spends one of the session's stanzas under the rate limit; false (and the stanza refused)
    // when it sends faster.
    bool within_rate(const xml::Element& stanza);

    // The session's own, seen from here: an idle session's size is the scarce resource, so
    // this object holds nothing but the way back to it.
    ServerContext& ctx() const;
    Transport& transport() const;
    const Jid& jid() const;
    const std::string& username() const;
    const std::shared_ptr<const chat::Subject>& subject() const;

    Session& session_;
    bool available_ = false;
    std::shared_ptr<DirectWrites> direct_writes_;
};

// One client-to-server stream: the parser, the stream's own elements and errors, and the
// two phases above. Runs on its transport's executor only; knows nothing of sockets, so TCP
// and WebSocket share it.
class Session : public xml::StreamParser::Handler {
  public:
    Session(ServerContext& ctx, Transport& transport);
    ~Session() override;

    // Bytes from the client. Returns false once the stream has been closed.
    bool feed(std::string_view bytes);
    // The connection is gone (read error, timeout, server shutdown).
    void closed();
    // A stream error from outside (replaced by a new login, slow reader, shutdown).
    // For see-other-host, `text` is the host:port the client is sent to.
    void stream_error(std::string_view condition, std::string_view text = {});
    // The login deadline passed before a resource was bound: logged with what the login was
    // waiting for, and the stream ended with connection-timeout.
    void login_timed_out();
    // A stanza routed to this session (another user's, a room's): written at once, or, while
    // the client says it is inactive (XEP-0352), held if it can wait (presence, messages
    // without a body) until something that cannot wait comes or the client is active again.
    void deliver_routed(Outgoing out);
    // The user's groups, policy or administrator flag changed while signed in: the requests
    // that follow are judged by `who`.
    void set_subject(std::shared_ptr<const chat::Subject> who) {
        if (who) subject_ = std::move(who);
    }

    const Jid& jid() const { return jid_; }
    // Bound to a resource (its connection may be gone while it waits to be resumed).
    bool bound() const { return state_ == State::bound || state_ == State::detached; }
    // Over: nothing more is done for it (work coming back from the store is dropped).
    bool over() const { return state_ == State::closed && !handed_over_; }
    // Stream resumption (XEP-0198), on this session's executor: its connection is gone and it
    // waited in vain; ended.
    void expired();

    // Parser callbacks.
    void on_stream_open(const xml::Element& header) override;
    void on_element(xml::Element&& e) override;
    void on_stream_close() override;

  private:
    friend class Negotiation;
    friend class BoundSession;
    // resuming: a client resumes (XEP-0198) and the session's state is on its way here;
    // detached: the connection is gone and the session waits to be resumed.
    enum class State { start, negotiating, resuming, bound, detached, closed };

    // A stanza to the client: counted and kept until acknowledged when acknowledgements are
    // on; written if the client is connected.
    void emit(Outgoing out);
    void send(const xml::Element& e) { emit(Outgoing::element(e)); }
    // Stream-level bytes (headers, features, SASL, errors): neither counted nor kept.
    void send_raw(std::string bytes);
    void send_stream_open();
    // A WebSocket client sent to another server's endpoint, and the session ended.
    void redirect_websocket(std::string_view uri);
    bool websocket() const { return transport_.framing() == Transport::Framing::websocket; }
    // After STARTTLS or SASL success the client opens a new stream (TCP framing).
    void restart_stream();
    void bind(Jid jid);
    void finish();

    ServerContext& ctx_;
    Transport& transport_;
    xml::StreamParser parser_;
    State state_ = State::start;
    std::chrono::steady_clock::time_point opened_ = std::chrono::steady_clock::now();
    bool secure_ = false;
    std::string stream_id_;
    // Who the stream belongs to: set during negotiation, fixed once bound.
    std::string username_;
    std::shared_ptr<const chat::Subject> subject_;
    Jid jid_;
    Negotiation negotiation_;
    std::optional<BoundSession> bound_;
    util::TokenBucket stanza_budget_;  // under ctx_.stanza_rate
    bool over_rate_ = false;           // the last stanza asking for work was refused for it
    // XEP-0352. While a client is inactive (a phone in a pocket), presence and messages without
    // a body (chat states, receipts) wait; a newer presence from the same address replaces the
    // one waiting. Anything else (a message with a body or a subject, an IQ) first lets out what
    // waits, in order, then goes. The held stanzas are bounded: past them, all go.
    struct Held {
        static constexpr size_t kMaxStanzas = 100;
        static constexpr size_t kMaxBytes = size_t{64} * 1024;
        std::vector<Outgoing> stanzas;
        std::vector<std::string> from;  // each held presence's sender ("" for messages)
        size_t bytes = 0;
    };
    // Client State Indication: what is held while the client is inactive (none: active).
    std::unique_ptr<Held> held_;
    void on_client_state(const xml::Element& e);
    void flush_held();

    // Stream Management (xmpp/stream_management.cpp).
    struct Resumed {
        Jid jid;
        bool available = false;
        bool inactive = false;
        std::unique_ptr<StreamAcks> acks;
        std::shared_ptr<void> keeper;  // the connection the session came from
    };
    std::unique_ptr<StreamAcks> acks_;   // none until the client enables them
    bool handed_over_ = false;           // resumed elsewhere: what comes late goes after it
    std::vector<Outgoing> pending_;      // routed here while resuming
    std::vector<xml::Element> early_;    // sent by the client while resuming
    std::shared_ptr<void> predecessor_;  // where work still under way for it comes back
    void on_stream_management(const xml::Element& e);
    void enable_acks(const xml::Element& e);
    void on_resume(const xml::Element& e);
    Resumption::Entry resumption_entry();
    // On the old session's executor: its state, and it is over here.
    std::optional<Resumed> hand_over();
    void resumed(std::optional<Resumed> moved, uint32_t h);
    void request_ack();
    void early_element(xml::Element&& e);
    void replay_early();
};

}  // namespace perch::xmpp
