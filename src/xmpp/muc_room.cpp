#include "xmpp/muc_room.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"
#include "xml/serializer.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

using RoomContext = MucService::RoomContext;

namespace {

// The ids of this server's files a message links to, in its body or XEP-0066 URL.
std::set<std::string> linked_files(const xml::Element& stanza, const std::string& files_url) {
    std::set<std::string> ids;
    if (files_url.empty()) return ids;
    std::vector<std::string> texts{stanza.child_text("body", ns::client)};
    if (const xml::Element* oob = stanza.child("x", ns::oob))
        texts.push_back(oob->child_text("url", ns::oob));
    for (const auto& text : texts) {
        for (size_t at = text.find(files_url); at != std::string::npos;
             at = text.find(files_url, at + 1)) {
            size_t start = at + files_url.size();
            size_t end = text.find_first_of("/ \t\r\n", start);
            if (end == std::string::npos) end = text.size();
            if (end > start) ids.insert(text.substr(start, end - start));
        }
    }
    return ids;
}

}  // namespace

store::ComplianceEvent RoomContext::event(std::string type, const util::JsonFields& details,
                                          std::string actor) const {
    if (actor.empty() && who) actor = who->user;
    return store::make_event(std::move(type), std::move(actor), room.meta().node,
                             room.category().name, details);
}

int64_t RoomContext::last_seq() const {
    int64_t seq = room.meta().last_seq;
    if (!room.recent().empty()) seq = std::max(seq, room.recent().back().seq);
    return seq;
}

bool RoomContext::large() const {
    return room.occupant_count() > service.config_.participant_update_limit;
}

std::string RoomContext::room_bare() const {
    return muc::room_jid(room, service.config_.domain);
}

std::string RoomContext::nick_jid(std::string_view nick) const {
    return muc::occupant_jid(room, service.config_.domain, nick);
}

void RoomContext::reply(const SessionHandlePtr& to, const xml::Element& e) const {
    to->deliver(Outgoing::element(e));
}

std::string RoomContext::occupant_id(const std::string& bare) const {
    std::string mac = util::hmac(util::Hash::sha256, service.config_.occupant_id_secret,
                                 room.meta().node + '\0' + bare);
    return util::base64_encode(mac.substr(0, 18));
}

void RoomContext::dispatch(xml::Element stanza, const Jid& from, const Jid& to,
                           SessionHandlePtr sender) {
    const std::string& kind = stanza.name();
    if (kind == "presence") return on_presence(std::move(stanza), from, to, std::move(sender));
    if (kind == "message") return on_message(std::move(stanza), from, to, std::move(sender));
    if (kind == "iq") return on_iq(stanza, from, to, std::move(sender));
}

// Messages -------------------------------------------------------------------------------

void RoomContext::on_message(xml::Element stanza, const Jid& from, const Jid& to,
                             SessionHandlePtr sender) {
    std::string type = stanza.attr_or("type", "normal");
    if (const xml::Element* x = stanza.child("x", ns::muc_user); x && type != "groupchat") {
        if (x->child("invite", ns::muc_user)) return invite(stanza, *x, from, std::move(sender));
        if (const xml::Element* decline = x->child("decline", ns::muc_user)) {
            // An invitee's no-thanks goes back to whoever invited them (XEP-0045 7.8.2).
            auto to_inviter = Jid::parse(decline->attr_or("to"));
            if (!to_inviter) return reply(sender, make_error(stanza, StanzaError::jid_malformed));
            xml::Element m("message", std::string(ns::client));
            m.set_attr("from", room_bare());
            auto& out = m.add_child("x", std::string(ns::muc_user))
                            .add_child("decline", std::string(ns::muc_user));
            out.set_attr("from", from.bare_str());
            if (auto reason = decline->child_text("reason", ns::muc_user); !reason.empty())
                out.add_child("reason", std::string(ns::muc_user)).add_text(reason);
            deliver_to_user(m, *to_inviter);
            return;
        }
    }
    const chat::Occupant* o = room.by_jid(from.str());
    if (!o) {
        spdlog::info("message from {} to {} refused: not an occupant", from.str(),
                     room.meta().node);
        return reply(sender, make_error(stanza, StanzaError::not_acceptable,
                                        "You are not an occupant of this room"));
    }
    if (!to.resource().empty()) {
        // A private message to one occupant (XEP-0045 7.5), at each of its resources.
        if (!room.by_nick(to.resource()))
            return reply(sender,
                         make_error(stanza, StanzaError::item_not_found, "No such occupant"));
        if (type == "groupchat") return reply(sender, make_error(stanza, StanzaError::bad_request));
        xml::Element pm = stanza;
        pm.set_attr("from", nick_jid(o->nick));
        if (!pm.child("x", ns::muc_user)) pm.add_child("x", std::string(ns::muc_user));
        auto [first, last] = room.occupants().equal_range(to.resource());
        for (auto target = first; target != last; ++target) {
            pm.set_attr("to", target->second.full_jid);
            handle_of(target->second)->deliver(Outgoing::element(pm));
        }
        return;
    }
    if (type != "groupchat")
        return reply(sender, make_error(stanza, StanzaError::bad_request,
                                        "Messages to a room are of type groupchat"));
    if (!may(chat::Action::post) || o->role == chat::Role::visitor) {
        spdlog::info("message from {} to {} refused: may not post", from.str(), room.meta().node);
        return reply(sender,
                     make_error(stanza, StanzaError::forbidden,
                                room.rules().type == store::RoomType::auditorium
                                    ? "Only presenters and managers speak in this auditorium"
                                    : "You may not post in this room"));
    }
    bool has_body = stanza.child("body", ns::client) != nullptr;
    if (stanza.child("subject", ns::client) && !has_body) return change_subject(stanza, *o);
    bool no_store =
        stanza.child("no-store", ns::hints) || stanza.child("no-permanent-store", ns::hints);
    if (!has_body || no_store) {
        broadcast(muc::render_relay(stanza, nick_jid(o->nick), o->occupant_id));
        return;
    }
    post(stanza, *o, std::move(sender));
}

void RoomContext::invite(const xml::Element& stanza, const xml::Element& x, const Jid& from,
                         SessionHandlePtr sender) {
    if (!may(chat::Action::invite)) {
        spdlog::info("invitation from {} to {} refused", from.str(), room.meta().node);
        return reply(sender, make_error(stanza, StanzaError::forbidden,
                                        "Invitations are not allowed in this room"));
    }
    for (const auto& inv : x.children()) {
        if (!inv.is("invite", ns::muc_user)) continue;
        auto invitee = Jid::parse(inv.attr_or("to"));
        if (!invitee || invitee->local().empty() ||
            invitee->domain() != service.config_.user_domain)
            return reply(sender, make_error(stanza, StanzaError::jid_malformed,
                                            "Invite a user of this server"));
        // A manager's invitation to a members-only room makes the invitee a member (7.8.2).
        bool admit =
            room.rules().privacy != store::Privacy::open && may(chat::Action::configure) &&
            !chat::is_member(chat::Subject{invitee->local(), {}, false, true}, room.rules());
        xml::Element m("message", std::string(ns::client));
        m.set_attr("from", room_bare());
        auto& mx = m.add_child("x", std::string(ns::muc_user));
        auto& out = mx.add_child("invite", std::string(ns::muc_user));
        out.set_attr("from", from.str());
        if (auto reason = inv.child_text("reason", ns::muc_user); !reason.empty())
            out.add_child("reason", std::string(ns::muc_user)).add_text(reason);
        spdlog::info("{} invited {} to {}{}", from.str(), invitee->bare_str(), room.meta().node,
                     admit ? " as a member" : "");
        if (!admit) {
            deliver_to_user(m, invitee->bare());
            continue;
        }
        auto* svc = &service;
        auto* sh = &shard;
        std::string node = room.meta().node;
        int64_t room_id = room.meta().id;
        std::string user = invitee->local();
        Jid to = invitee->bare();
        auto membership = event("MEMBERSHIP", {{"list", "member"},
                                               {"principal", "user:" + invitee->local()},
                                               {"change", "added"},
                                               {"by", "invitation"}});
        service.workers_.submit([=](store::Store& s) {
            s.with_events({membership}, [&] {
                s.set_room_principal(room_id, store::RoomList::member, store::Principal::user(user),
                                     true);
            });
            auto meta = s.find_room(node);
            auto rules = chat::room_rules(*meta, s.room_principals(room_id));
            sh->executor->post([=] {
                auto it = sh->rooms.find(node);
                if (it == sh->rooms.end() || !it->second.room) return;
                RoomContext ctx{*svc, *sh, *it->second.room, {}};
                ctx.room.set_rules(rules, svc->category_rules(meta->category_id));
                svc->directory_put(*meta, rules);
                xml::Element copy = m;
                ctx.deliver_to_user(copy, to);  // only once the invitee may enter
            });
        });
    }
}

void RoomContext::deliver_to_user(xml::Element& m, const Jid& to) {
    auto targets = service.router_.resources(to.bare());
    auto prepared = PreparedStanza::from(m);
    for (auto& t : targets) t->deliver(Outgoing::addressed(prepared, t->jid().str()));
}

void RoomContext::post(const xml::Element& stanza, const chat::Occupant& o,
                       SessionHandlePtr sender) {
    if (service.config_.posts_allowed && !service.config_.posts_allowed())
        return reply(sender, make_error(stanza, StanzaError::resource_constraint,
                                        "Posting is paused: the compliance record cannot be "
                                        "written. Try again later"));
    // The kind of message: <kind xmlns='urn:perch:kind:0' value='alert|story'>, kept with it.
    store::MessageKind kind = store::MessageKind::normal;
    if (const xml::Element* k = stanza.child("kind", ns::kind)) {
        std::string value = k->attr_or("value");
        if (value == "alert")
            kind = store::MessageKind::alert;
        else if (value == "story")
            kind = store::MessageKind::story;
        else if (value != "normal")
            return reply(sender, make_error(stanza, StanzaError::bad_request,
                                            "Unknown message kind " + value));
        if (kind == store::MessageKind::story && k->child_text("title", ns::kind).empty())
            return reply(sender,
                         make_error(stanza, StanzaError::bad_request, "A story needs a title"));
    }
    size_t limit = kind == store::MessageKind::story ? service.config_.max_story_chars
                                                     : service.config_.max_message_chars;
    if (util::utf8_length(stanza.child_text("body", ns::client)) > limit) {
        spdlog::info("message from {} to {} refused: over {} characters", o.full_jid,
                     room.meta().node, limit);
        return reply(
            sender,
            make_error(stanza, StanzaError::not_acceptable,
                       std::string(kind == store::MessageKind::story ? "Stories" : "Messages") +
                           " are limited to " + std::to_string(limit) + " characters"));
    }
    store::NewMessage m;
    m.kind = kind;
    m.room_id = room.meta().id;
    m.stanza_id = util::ordered_id();  // in time order: the id index grows at its end
    m.origin_id = stanza.attr_or("id");
    m.sender = o.bare_jid;
    m.nick = o.nick;
    m.occupant_id = o.occupant_id;
    m.body = stanza.child_text("body", ns::client);
    m.ts_us = util::now_us();
    for (const auto& c : stanza.children()) {
        if (c.is_text()) continue;
        if (c.ns() == ns::client &&
            (c.name() == "body" || c.name() == "subject" || c.name() == "thread"))
            continue;
        // A client may not forge the room's stanza-id or occupant-id (XEP-0359, XEP-0421); its
        // origin-id stays: clients recognise their own reflected message by it.
        if (c.is("stanza-id", ns::sid) || c.ns() == ns::occupant_id || c.ns() == ns::delay)
            continue;
        xml::serialize(m.payload, c, ns::client);
    }
    // A link to a file uploaded here (XEP-0363) needs the category's file switch, and makes the
    // file readable by the room's readers: recorded before the message is.
    auto files = linked_files(stanza, service.config_.files_url);
    if (files.empty()) return commit(std::move(m), stanza, std::move(sender));
    if (!room.category().file_upload)
        return reply(sender, make_error(stanza, StanzaError::not_allowed,
                                        "Files cannot be posted in the rooms of category " +
                                            room.category().name));
    auto* svc = &service;
    auto* sh = &shard;
    std::string node = room.meta().node;
    bool queued = service.workers_.submit([=, m = std::move(m)](store::Store& s) mutable {
        std::optional<std::pair<StanzaError, std::string>> refused;
        try {
            std::string user = Jid::parse(m.sender)->local();
            for (const auto& id : files) {
                auto file = s.find_file(id);
                if (!file) {
                    refused = {StanzaError::item_not_found, "No uploaded file has that link"};
                    break;
                }
                auto rooms = s.file_rooms(id);
                if (file->owner != user &&
                    std::find(rooms.begin(), rooms.end(), m.room_id) == rooms.end()) {
                    refused = {StanzaError::forbidden, "You may post only files you uploaded"};
                    break;
                }
            }
            if (!refused)
                for (const auto& id : files) s.attach_file(id, m.room_id);
        } catch (const std::exception& e) {
            spdlog::error("attaching files to {} failed: {}", node, e.what());
            refused = {StanzaError::internal_server_error, "Message not stored"};
        }
        sh->executor->post([=, m = std::move(m)]() mutable {
            if (refused)
                return sender->deliver(
                    Outgoing::element(make_error(stanza, refused->first, refused->second)));
            auto it = sh->rooms.find(node);
            if (it == sh->rooms.end() || !it->second.room) return;
            RoomContext ctx{*svc, *sh, *it->second.room, {}};
            ctx.commit(std::move(m), stanza, sender);
        });
    });
    if (!queued)
        reply(sender,
              make_error(stanza, StanzaError::resource_constraint, "Server busy, try again"));
}

void RoomContext::commit(store::NewMessage m, const xml::Element& stanza, SessionHandlePtr sender) {
    auto* svc = &service;
    auto* sh = &shard;
    std::string node = room.meta().node;
    // The message is answered only once it is on disk: the completion posts the broadcast back
    // to this shard; a failed commit is reported to the sender and nothing is sent.
    bool queued = service.writer_.submit(
        std::move(m), [svc, sh, node, sender, original = stanza](
                          std::optional<store::Message> stored, std::string error) mutable {
            sh->executor->post([svc, sh, node, sender, original = std::move(original),
                                stored = std::move(stored), error]() mutable {
                if (!stored) {
                    spdlog::warn("post to {} not stored: {}", node, error);
                    sender->deliver(Outgoing::element(make_error(
                        original, StanzaError::internal_server_error, "Message not stored")));
                    return;
                }
                auto it = sh->rooms.find(node);
                if (it == sh->rooms.end() || !it->second.room) return;
                RoomContext ctx{*svc, *sh, *it->second.room, {}};
                ctx.broadcast(muc::render_message(*stored, ctx.room_bare(), false));
                ctx.room.remember(std::move(*stored));
                svc->messages_posted_.fetch_add(1, std::memory_order_relaxed);
            });
        });
    if (!queued)
        reply(sender,
              make_error(stanza, StanzaError::resource_constraint, "Server busy, try again"));
}

void RoomContext::broadcast(const std::shared_ptr<const PreparedStanza>& p) {
    for (const auto& [nick, o] : room.occupants())
        handle_of(o)->deliver(Outgoing::addressed(p, o.full_jid));
}

void RoomContext::change_subject(const xml::Element& stanza, const chat::Occupant& o) {
    room.meta().subject = stanza.child_text("subject", ns::client);
    room.meta().subject_nick = o.nick;
    auto meta = room.meta();
    service.workers_.submit(
        [meta](store::Store& s) { s.set_room_subject(meta.id, meta.subject, meta.subject_nick); });
    service.directory_put(meta, room.rules());
    broadcast(PreparedStanza::from(muc::render_subject(room, service.config_.domain)));
}

}  // namespace perch::xmpp
