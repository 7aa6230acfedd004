#pragma once
#include <string_view>

namespace perch::xmpp::ns {
inline constexpr std::string_view client = "jabber:client";
inline constexpr std::string_view stream = "http://etherx.jabber.org/streams";
inline constexpr std::string_view streams_err = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view stanzas_err = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view session = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view roster = "jabber:iq:roster";
inline constexpr std::string_view disco_info = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view disco_items = "http://jabber.org/protocol/disco#items";
inline constexpr std::string_view ping = "urn:xmpp:ping";
inline constexpr std::string_view version = "jabber:iq:version";
inline constexpr std::string_view muc = "http://jabber.org/protocol/muc";
inline constexpr std::string_view muc_user = "http://jabber.org/protocol/muc#user";
inline constexpr std::string_view muc_admin = "http://jabber.org/protocol/muc#admin";
inline constexpr std::string_view muc_owner = "http://jabber.org/protocol/muc#owner";
inline constexpr std::string_view data_forms = "jabber:x:data";
inline constexpr std::string_view delay = "urn:xmpp:delay";
inline constexpr std::string_view sid = "urn:xmpp:sid:0";
inline constexpr std::string_view occupant_id = "urn:xmpp:occupant-id:0";
inline constexpr std::string_view chat_states = "http://jabber.org/protocol/chatstates";
inline constexpr std::string_view hints = "urn:xmpp:hints";
inline constexpr std::string_view xhtml_im = "http://jabber.org/protocol/xhtml-im";
inline constexpr std::string_view xhtml = "http://www.w3.org/1999/xhtml";
inline constexpr std::string_view mam = "urn:xmpp:mam:2";
inline constexpr std::string_view mam_extended = "urn:xmpp:mam:2#extended";
inline constexpr std::string_view rsm = "http://jabber.org/protocol/rsm";
inline constexpr std::string_view forward = "urn:xmpp:forward:0";
inline constexpr std::string_view fulltext = "urn:xmpp:fulltext:0";
inline constexpr std::string_view fasten = "urn:xmpp:fasten:0";
inline constexpr std::string_view moderate0 = "urn:xmpp:message-moderate:0";
inline constexpr std::string_view retract0 = "urn:xmpp:message-retract:0";
inline constexpr std::string_view moderate1 = "urn:xmpp:message-moderate:1";
inline constexpr std::string_view retract1 = "urn:xmpp:message-retract:1";
inline constexpr std::string_view kind = "urn:perch:kind:0";      // alert / story
inline constexpr std::string_view limits = "urn:perch:limits:0";  // size limits in disco
inline constexpr std::string_view pubsub = "http://jabber.org/protocol/pubsub";
inline constexpr std::string_view pubsub_event = "http://jabber.org/protocol/pubsub#event";
inline constexpr std::string_view private_storage = "jabber:iq:private";
inline constexpr std::string_view following = "urn:perch:following:0";  // unread counts
inline constexpr std::string_view conference = "jabber:x:conference";   // XEP-0249
inline constexpr std::string_view upload = "urn:xmpp:http:upload:0";    // XEP-0363
inline constexpr std::string_view oob = "jabber:x:oob";                 // XEP-0066
inline constexpr std::string_view carbons = "urn:xmpp:carbons:2";       // XEP-0280
inline constexpr std::string_view blocking = "urn:xmpp:blocking";       // XEP-0191
inline constexpr std::string_view blocking_errors = "urn:xmpp:blocking:errors";
inline constexpr std::string_view vcard = "vcard-temp";                  // XEP-0054
inline constexpr std::string_view vcard_update = "vcard-temp:x:update";  // XEP-0153
inline constexpr std::string_view offline = "msgoffline";                // XEP-0160
inline constexpr std::string_view csi = "urn:xmpp:csi:0";                // XEP-0352
inline constexpr std::string_view sm = "urn:xmpp:sm:3";                  // XEP-0198
inline constexpr std::string_view framing = "urn:ietf:params:xml:ns:xmpp-framing";
}  // namespace perch::xmpp::ns
