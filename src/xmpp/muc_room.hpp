#pragma once
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/room.hpp"
#include "util/json.hpp"
#include "xml/element.hpp"
#include "xmpp/muc_service.hpp"

namespace perch::xmpp {

// A slice of the rooms with the executor they all run on.
struct MucService::Shard {
    struct Slot {
        std::unique_ptr<chat::Room> room;
        std::vector<std::function<void(chat::Room*)>> waiting;
        std::string creator;  // full JID whose join created the room, until that join completes
    };
    util::ExecutorPtr executor;
    std::unordered_map<std::string, Slot> rooms;
};

// Handles one stanza for one loaded room, on the room's shard. Short-lived: built per stanza.
struct MucService::RoomContext {
    MucService& service;
    Shard& shard;
    chat::Room& room;
    // The sender of the stanza being handled; empty for work the room does on its own.
    std::shared_ptr<const chat::Subject> who;

    void dispatch(xml::Element stanza, const Jid& from, const Jid& to, SessionHandlePtr sender);
    // Removes an occupant and tells everybody; `presence` is the client's unavailable presence
    // (its status text is passed on), empty when the session simply went away.
    void leave(const std::string& full_jid, const std::vector<xml::Element>& presence_children);

    bool may(chat::Action a) const { return !who || room.may(*who, a); }
    // A compliance event about this room, by `actor` (default: the sender of the stanza).
    store::ComplianceEvent event(std::string type, const util::JsonFields& details,
                                 std::string actor = {}) const;
    // A submitted config form: checked, stored, then applied; `done` (any thread) gets the
    // refusal, or nullopt once the change is in force.
    void configure(const xml::Element& form, MucService::Done done);

    // New rules for the room (from its config form, member lists or an invitation). Occupants
    // who may no longer be there leave, told why with `code` (XEP-0045: 321 affiliation lost,
    // 322 room made members-only) and `reason`.
    void apply_rules(chat::RoomRules rules, std::shared_ptr<const chat::CategoryRules> category,
                     int code, const std::string& reason);

  private:
    std::string room_bare() const;
    bool large() const;        // over the participant update limit
    int64_t last_seq() const;  // of the newest message posted

    // Why a join is refused, as the XMPP error the client gets; nullopt when it is allowed.
    std::optional<std::pair<StanzaError, std::string>> join_refusal() const;
    std::string nick_jid(std::string_view nick) const;
    void reply(const SessionHandlePtr& to, const xml::Element& e) const;

    void on_presence(xml::Element stanza, const Jid& from, const Jid& to, SessionHandlePtr sender);
    void change_nick(const xml::Element& stanza, const chat::Occupant& current,
                     const std::string& nick, const SessionHandlePtr& sender);
    void join(xml::Element stanza, const Jid& from, const std::string& nick,
              SessionHandlePtr sender);
    void complete_join(const xml::Element& stanza, const Jid& from, const std::string& nick,
                       SessionHandlePtr sender, const chat::HistoryRequest& req,
                       const std::vector<store::Message>* fetched);
    void send_history(const SessionHandlePtr& to, const chat::HistoryRequest& req,
                      const std::vector<store::Message>* fetched);
    void broadcast_presence(const chat::Occupant& o, bool unavailable,
                            const std::vector<int>& others_codes);

    void on_message(xml::Element stanza, const Jid& from, const Jid& to, SessionHandlePtr sender);
    void post(const xml::Element& stanza, const chat::Occupant& o, SessionHandlePtr sender);
    // Writes a checked message to the store; the broadcast follows the commit.
    void commit(store::NewMessage m, const xml::Element& stanza, SessionHandlePtr sender);
    void invite(const xml::Element& stanza, const xml::Element& x, const Jid& from,
                SessionHandlePtr sender);
    // To every online resource of a local user (invitations and declines are not stored).
    void deliver_to_user(xml::Element& m, const Jid& to);
    void change_subject(const xml::Element& stanza, const chat::Occupant& o);
    void broadcast(const std::shared_ptr<const PreparedStanza>& p);

    void on_iq(const xml::Element& iq, const Jid& from, const Jid& to, SessionHandlePtr sender);
    // XEP-0045 10.5-10.8: member lists as affiliation lists (managers are owners).
    void on_admin(const xml::Element& iq, const xml::Element& query, SessionHandlePtr sender);
    // XEP-0425: a manager (or administrator) removes a message for everybody.
    void on_moderate(const xml::Element& iq, const std::string& stanza_id,
                     const std::string& reason, SessionHandlePtr sender);
    void on_mam(const xml::Element& iq, const xml::Element& query, const Jid& from,
                SessionHandlePtr sender);
    xml::Element disco_info(const xml::Element& iq) const;
    xml::Element config_form() const;

    std::string occupant_id(const std::string& bare) const;
};

// The session an occupant's stanzas go to.
inline SessionHandlePtr handle_of(const chat::Occupant& o) {
    return std::static_pointer_cast<SessionHandle>(o.session);
}

// XEP-0045 7.2.15: the <history/> element of a join, or defaults when absent.
chat::HistoryRequest parse_history_request(const xml::Element* history, int max_history);

}  // namespace perch::xmpp
