// Profiles of a bound session: vCard-temp (XEP-0054) for the user's own card and other users'
// cards, kept in step with the PEP avatar (XEP-0084, XEP-0153); other IQs the server answers
// for a user (their avatar's PEP nodes).
#include <spdlog/spdlog.h>

#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/session.hpp"
#include "xmpp/vcard.hpp"

namespace perch::xmpp {

void BoundSession::on_iq_to_user(const xml::Element& iq, const Jid& to) {
    const xml::Element* q = iq.first_element();
    std::string type = iq.attr_or("type");
    if (type != "get" && type != "set") return;
    if (q && q->is("vCard", ns::vcard)) return on_vcard(iq, *q, to.local());
    // Avatars are for everyone on the server to read (there are no presence subscriptions
    // to limit them to); every other node is the user's own.
    if (q && q->is("pubsub", ns::pubsub) && type == "get") {
        const xml::Element* items = q->child("items", ns::pubsub);
        std::string node = items ? items->attr_or("node") : "";
        if (node == vcard::kAvatarData || node == vcard::kAvatarMetadata)
            return on_pubsub_items(iq, *items, to.local());
        return send(make_error(iq, StanzaError::forbidden, "Only a user's avatar is shown"));
    }
    send(make_error(iq, StanzaError::service_unavailable));
}

void BoundSession::on_vcard(const xml::Element& iq, const xml::Element& card,
                            const std::string& owner) {
    auto reply_with = [this, iq](const std::string& card_xml) {
        std::string out = "<iq xmlns='jabber:client' type='result' id='";
        xml::escape_attr(out, iq.attr_or("id"));
        out += '\'';
        if (auto* to = iq.attr("to")) {
            out += " from='";
            xml::escape_attr(out, *to);
            out += '\'';
        }
        out += " to='";
        xml::escape_attr(out, jid().str());
        out += "'>" + card_xml + "</iq>";
        session_.emit(Outgoing::raw(std::move(out)));
    };
    if (iq.attr_or("type") == "get") {
        bool queued = ctx().jobs.submit(
            [this, post = transport().poster(), iq, owner, reply_with](store::Store& s) {
                std::optional<std::string> found = s.vcard(owner);
                if (!found)
                    if (auto user = s.find_user(owner))
                        found = xml::to_string(vcard::from_account(*user));
                post([this, iq, found, reply_with] {
                    if (!found) return send(make_error(iq, StanzaError::service_unavailable));
                    reply_with(*found);
                });
            });
        if (!queued) send(make_error(iq, StanzaError::resource_constraint));
        return;
    }
    if (owner != username())
        return send(make_error(iq, StanzaError::forbidden, "A user sets their own vCard only"));
    auto photo = vcard::photo_of(card);
    if (card.child("PHOTO", ns::vcard) && !photo)
        return send(make_error(iq, StanzaError::bad_request, "The photo is not base64"));
    std::string card_xml = xml::to_string(card);
    bool queued = ctx().jobs.submit([this, post = transport().poster(), iq, owner, card_xml,
                                     photo](store::Store& s) {
        std::vector<std::string> events;
        try {
            // The PEP avatar follows the card (XEP-0398): a photo is published as data and
            // metadata; a card without one, after one with it, empties the metadata.
            bool had_photo = false;
            if (auto before = s.vcard(owner))
                if (auto parsed = xml::parse_fragment(*before))
                    had_photo = vcard::photo_of(*parsed).has_value();
            s.set_vcard(owner, card_xml);
            if (photo) {
                s.put_pep_item(owner, vcard::kAvatarData, photo->sha1, vcard::data_payload(*photo));
                events.push_back(std::string("<items node='") + vcard::kAvatarData +
                                 "'><item id='" + photo->sha1 + "'>" + vcard::data_payload(*photo) +
                                 "</item></items>");
            }
            if (photo || had_photo) {
                std::string id = photo ? photo->sha1 : "none";
                auto meta = vcard::metadata_payload(photo);
                s.put_pep_item(owner, vcard::kAvatarMetadata, id, meta);
                events.push_back(std::string("<items node='") + vcard::kAvatarMetadata +
                                 "'><item id='" + id + "'>" + meta + "</item></items>");
            }
        } catch (const std::exception& e) {
            spdlog::error("storing the vCard of {} failed: {}", owner, e.what());
            return post([this, iq] { send(make_error(iq, StanzaError::internal_server_error)); });
        }
        post([this, iq, events] {
            auto reply = make_iq_result(iq);
            reply.remove_attr("to");
            send(reply);
            for (const auto& e : events) notify_own_resources(e);
        });
    });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

}  // namespace perch::xmpp
