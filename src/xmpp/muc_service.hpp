#pragma once
#include <memory>
#include <string>

#include "chat/directory.hpp"
#include "chat/result.hpp"
#include "chat/room_service.hpp"
#include "util/admission.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/muc_delivery.hpp"
#include "xmpp/router.hpp"
#include "xmpp/service.hpp"

namespace perch::xmpp {

struct MucConfig {
    std::string domain;       // e.g. chat.example.org
    std::string user_domain;  // e.g. example.org, where the users are
    int max_history = 500;    // the most history a client may ask for on join
    // Longest message and story bodies (advertised in each room's disco#info), the room
    // management pages.
    std::shared_ptr<const chat::LiveSettings> settings = std::make_shared<chat::LiveSettings>();
    // Download URLs of uploaded files start with this (XEP-0363); empty: no uploads.
    std::string files_url;
    // This server's room management pages (empty: no web pages), advertised in the service's
    // disco#info unless the room_management_url setting names others.
    std::string rooms_url;
    // Lets the clients' room joins in at the rate the rooms take them, the others waiting
    // (util/admission.hpp); none: every join goes at once.
    std::shared_ptr<util::Admission> admission;
};

// The stanza error a room command's refusal becomes.
StanzaError stanza_error(chat::Fault fault);
xml::Element error_reply(const xml::Element& stanza, const chat::Error& e);

// The chat service (XEP-0045 rooms, XEP-0313 archives) as XMPP clients see it: it parses their
// stanzas into room commands, and renders the replies. What happens in the rooms reaches the
// clients through MucDelivery. Runs on whatever thread delivers the stanza; everything it keeps
// lives in the room service, the directory and the delivery.
class MucService final : public Service {
  public:
    MucService(MucConfig config, chat::RoomCommands& rooms, chat::Directory& directory,
               MucDelivery& delivery, util::Shards& shards);

    const MucConfig& config() const { return config_; }
    const std::string& domain() const override { return config_.domain; }
    std::string name() const override { return "Chat rooms"; }
    void handle(xml::Element stanza, const Jid& from, const Jid& to, SessionHandlePtr sender,
                std::shared_ptr<const chat::Subject> who) override;
    void session_ended(const Jid& full) override;
    std::optional<StanzaError> vet_invitation(const chat::Subject& who,
                                              const Jid& room) const override;

  private:
    std::string room_jid(const std::string& node) const { return node + "@" + config_.domain; }
    // The node of a room's JID on this service, if it is one.
    std::optional<std::string> room_node(const std::string& jid) const;
    chat::Actor actor(const Jid& from, const std::shared_ptr<const chat::Subject>& who) const;

    // The chat service's own address (muc_service.cpp).
    void on_service_iq(const xml::Element& iq, const SessionHandlePtr& sender,
                       const std::shared_ptr<const chat::Subject>& who);
    xml::Element list_rooms(const xml::Element& iq, const chat::Subject& who,
                            const std::string* category) const;
    void search_all_rooms(const xml::Element& iq, const xml::Element& query,
                          const SessionHandlePtr& sender, const chat::Actor& actor);
    // Following (muc_following.cpp): unread counts of the followed rooms, and marking read.
    void on_following(const xml::Element& iq, const SessionHandlePtr& sender,
                      const std::shared_ptr<const chat::Subject>& who);
    void on_mark_read(const xml::Element& iq, const xml::Element& read,
                      const SessionHandlePtr& sender,
                      const std::shared_ptr<const chat::Subject>& who);

    // Whether a stanza joins a room (not a status change of an occupant): the work the
    // admission counts.
    bool joins(const xml::Element& stanza, const Jid& from, const Jid& to) const;
    // A stanza to a room's address, let in by the admission (`ticket`: a join's, finished
    // with its answer) or not counted (none).
    void to_room(xml::Element stanza, const Jid& from, const Jid& to,
                 const SessionHandlePtr& sender, const chat::Actor& actor,
                 const util::Admission::TicketPtr& ticket);
    // A room's address (muc_presence.cpp, muc_messages.cpp, muc_room_iq.cpp).
    void on_presence(xml::Element stanza, const Jid& from, const Jid& to,
                     const SessionHandlePtr& sender, const chat::Actor& actor,
                     const util::Admission::TicketPtr& ticket);
    void render_join(const chat::JoinResult& r, const std::string& room,
                     const SessionHandlePtr& to) const;
    void on_message(xml::Element stanza, const Jid& from, const Jid& to,
                    const SessionHandlePtr& sender, const chat::Actor& actor);
    void on_invite(const xml::Element& stanza, const xml::Element& x, const std::string& room,
                   const SessionHandlePtr& sender, const chat::Actor& actor);
    void on_post(const xml::Element& stanza, const std::string& room,
                 const SessionHandlePtr& sender, const chat::Actor& actor);
    void on_room_iq(const xml::Element& iq, const Jid& from, const Jid& to,
                    const SessionHandlePtr& sender, const chat::Actor& actor);
    void on_owner(const xml::Element& iq, const xml::Element& query, const std::string& room,
                  const SessionHandlePtr& sender, const chat::Actor& actor);
    void on_admin(const xml::Element& iq, const xml::Element& query, const std::string& room,
                  const SessionHandlePtr& sender, const chat::Actor& actor);
    void on_mam(const xml::Element& iq, const xml::Element& query, const std::string& room,
                const SessionHandlePtr& sender, const chat::Actor& actor);

    // Answers `stanza` with the refusal, or runs `ok`.
    template <class T, class F>
    chat::Reply<T> answer(const xml::Element& stanza, SessionHandlePtr sender, F ok) const;

    MucConfig config_;
    chat::RoomCommands& rooms_;
    chat::Directory& directory_;
    MucDelivery& delivery_;
    util::Shards& shards_;
};

// XEP-0045 7.2.15: the <history/> element of a join, or defaults when absent.
chat::HistoryRequest parse_history_request(const xml::Element* history, int max_history);

}  // namespace perch::xmpp

namespace perch::xmpp {

template <class T, class F>
chat::Reply<T> MucService::answer(const xml::Element& stanza, SessionHandlePtr sender, F ok) const {
    return [stanza, sender = std::move(sender), ok = std::move(ok)](chat::Result<T> r) mutable {
        if (!r) return sender->deliver(Outgoing::element(error_reply(stanza, r.error())));
        ok(r.value());
    };
}

}  // namespace perch::xmpp
