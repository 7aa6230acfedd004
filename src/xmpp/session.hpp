#pragma once
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "chat/files.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/credentials.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/router.hpp"
#include "xmpp/scram.hpp"
#include "xmpp/transport.hpp"

namespace perch::xmpp {

struct ServerStats {
    std::atomic<uint64_t> logins{0};
    std::atomic<uint64_t> failed_logins{0};
    std::atomic<uint64_t> stream_errors{0};
};

// Everything a client session shares with the rest of the server.
struct ServerContext {
    std::string domain;
    Router& router;
    MucService& muc;
    Credentials& credentials;
    store::StoreWorkers& workers;
    xml::ParserLimits limits;
    bool tls_required = true;  // outside loopback, authentication waits for TLS
    std::string version;
    ServerStats& stats;
    // HTTP file upload (XEP-0363): slots, and the base URL of the web service; none: off.
    chat::UploadSlots* uploads = nullptr;
    std::string public_url;
};

// One client-to-server stream (RFC 6120/6121): negotiation, SASL, binding, then stanzas to
// and from the rest of the server. Runs on its transport's executor only; knows nothing of
// sockets, so TCP and WebSocket share it.
class Session : public xml::StreamParser::Handler {
  public:
    Session(ServerContext& ctx, Transport& transport);
    ~Session() override;

    // Bytes from the client. Returns false once the stream has been closed.
    bool feed(std::string_view bytes);
    // The connection is gone (read error, timeout, server shutdown).
    void closed();
    // A stream error from outside (replaced by a new login, slow reader, shutdown).
    void stream_error(std::string_view condition, std::string_view text = {});

    const Jid& jid() const { return jid_; }
    bool bound() const { return state_ == State::bound; }

    // Parser callbacks.
    void on_stream_open(const xml::Element& header) override;
    void on_element(xml::Element&& e) override;
    void on_stream_close() override;

  private:
    enum class State { start, negotiating, auth_pending, authenticated, bound, closed };

    void send(const xml::Element& e);
    void send_stream_open();
    void send_features();
    void finish();

    void on_negotiation_element(const xml::Element& e);
    void on_starttls();
    void on_auth(const xml::Element& e);
    void on_sasl_response(const xml::Element& e);
    void sasl_failure(std::string_view condition, std::string_view text = {});
    void sasl_success(const std::string& username, std::string_view additional);
    void complete_sasl(const std::string& username, std::string_view additional);
    void on_bind(const xml::Element& iq);

    void on_stanza(xml::Element e);
    void on_iq_to_server(const xml::Element& iq);
    void on_roster(const xml::Element& iq);
    // Personal eventing (XEP-0163) and private storage (XEP-0049), in xmpp/pep.cpp.
    void on_pubsub(const xml::Element& iq, const xml::Element& pubsub);
    void on_private(const xml::Element& iq, const xml::Element& query);
    // XEP-0363: a slot to upload one file over HTTP.
    void on_upload_request(const xml::Element& iq, const xml::Element& request);
    void notify_own_resources(std::string event_body);
    void on_presence(xml::Element& p, const std::optional<Jid>& to);
    void on_message(xml::Element& m, const std::optional<Jid>& to);
    void deliver_to_user(xml::Element& stanza, const Jid& to);

    ServerContext& ctx_;
    Transport& transport_;
    xml::StreamParser parser_;
    State state_ = State::start;
    bool secure_ = false;
    bool authenticated_ = false;
    std::string stream_id_;
    std::unique_ptr<ScramServer> scram_;
    bool plain_ = false;
    std::string username_;
    std::shared_ptr<const chat::Subject> subject_;  // set with the credentials, kept once bound
    Jid jid_;
    bool available_ = false;
    int failed_auth_ = 0;
};

}  // namespace perch::xmpp
