// A bound session's stanzas: routing to services and users, roster, presence, IQs to the
// server and the account (personal eventing and private storage are in pep.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/url.hpp"
#include "util/utf8.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/server_features.hpp"
#include "xmpp/service.hpp"
#include "xmpp/session.hpp"

namespace perch::xmpp {

BoundSession::BoundSession(Session& session) : session_(session) {}

ServerContext& BoundSession::ctx() const {
    return session_.ctx_;
}
Transport& BoundSession::transport() const {
    return session_.transport_;
}
const Jid& BoundSession::jid() const {
    return session_.jid_;
}
const std::string& BoundSession::username() const {
    return session_.username_;
}
const std::shared_ptr<const chat::Subject>& BoundSession::subject() const {
    return session_.subject_;
}

void BoundSession::send(const xml::Element& e) {
    session_.emit(Outgoing::element(e));
}

void BoundSession::ended() {
    ctx().router.session_ended(*transport().handle());
    if (ctx().compliance) {
        auto signout = store::make_event("SIGNOUT", username(), {}, {}, {{"jid", jid().str()}});
        ctx().jobs.submit([signout](store::Store& s) { s.record({signout}); });
    }
    if (available_) {
        auto p = make_stanza("presence", jid().str(), {}, "unavailable");
        auto prepared = PreparedStanza::from(p);
        for (auto& r : ctx().router.resources(jid().bare()))
            r->deliver(Outgoing::addressed(prepared, r->jid().str()));
    }
    spdlog::debug("session {} ended", jid().str());
}

void BoundSession::on_stanza(xml::Element e) {
    if (e.ns() != ns::client ||
        (e.name() != "message" && e.name() != "presence" && e.name() != "iq"))
        return session_.stream_error("unsupported-stanza-type",
                                     "<" + e.name() + "/> is not a stanza");
    if (const std::string* from = e.attr("from")) {
        auto f = Jid::parse(*from);
        if (!f || (*f != jid() && *f != jid().bare())) return session_.stream_error("invalid-from");
    }
    e.set_attr("from", jid().str());
    if (!within_rate(e)) return;
    std::optional<Jid> to;
    if (const std::string* t = e.attr("to")) {
        to = Jid::parse(*t);
        if (!to) {
            if (e.attr_or("type") != "error") send(make_error(e, StanzaError::jid_malformed));
            return;
        }
    }
    if (e.name() == "presence") return on_presence(e, to);
    if (e.name() == "message") return on_message(e, to);

    std::string type = e.attr_or("type");
    if (type != "get" && type != "set" && type != "result" && type != "error")
        return send(make_error(e, StanzaError::bad_request));
    bool to_server = !to || to->str() == ctx().domain || *to == jid().bare();
    if (to_server) {
        if (type == "get" || type == "set") on_iq_to_server(e);
        return;
    }
    if (Service* service = ctx().router.service(to->domain()))
        return service->handle(std::move(e), jid(), *to, transport().handle(), subject());
    if (to->domain() != ctx().domain) {
        if (type == "get" || type == "set")
            send(make_error(e, StanzaError::remote_server_not_found));
        return;
    }
    deliver_to_user(e, *to);
}

bool BoundSession::within_rate(const xml::Element& stanza) {
    // Answers, errors and departures are never refused: only what asks for work counts.
    if (const std::string* type = stanza.attr("type");
        type && (*type == "result" || *type == "error" ||
                 (*type == "unavailable" && stanza.name() == "presence")))
        return true;
    const util::Rate& rate = ctx().stanza_rate;
    if (session_.stanza_budget_.take(rate, util::steady_us())) {
        session_.over_rate_ = false;
        return true;
    }
    ctx().stats.stanzas_over_rate.fetch_add(1, std::memory_order_relaxed);
    if (!std::exchange(session_.over_rate_, true))
        spdlog::info("stanzas from {} refused: faster than {} a second", jid().str(),
                     rate.per_second);
    send(make_error(stanza, StanzaError::resource_constraint,
                    fmt::format("Too many stanzas: this server takes {} a second from one session; "
                                "this one was dropped",
                                rate.per_second)));
    return false;
}

void BoundSession::on_iq_to_server(const xml::Element& iq) {
    const xml::Element* q = iq.first_element();
    if (!q) return send(make_error(iq, StanzaError::bad_request));
    bool to_self = iq.attr("to") && *iq.attr("to") != ctx().domain;
    if (q->is("query", ns::roster)) return on_roster(iq);
    if (q->is("session", ns::session)) return send(make_iq_result(iq));
    if (q->is("ping", ns::ping)) return send(make_iq_result(iq));
    if (q->is("pubsub", ns::pubsub)) return on_pubsub(iq, *q);
    if (q->is("query", ns::private_storage)) return on_private(iq, *q);
    if (q->is("request", ns::upload) && !to_self) return on_upload_request(iq, *q);
    if (q->ns() == ns::carbons && (q->name() == "enable" || q->name() == "disable") && !to_self)
        return on_carbons(iq, *q);
    if (q->ns() == ns::blocking) return on_blocking(iq, *q);
    if (q->ns() == ns::push && (q->name() == "enable" || q->name() == "disable"))
        return on_push(iq, *q);
    if (q->is("query", ns::mam)) return on_own_archive(iq, *q);
    if (q->is("vCard", ns::vcard)) return on_vcard(iq, *q, username());
    if (q->is("prefs", ns::mam)) return on_archive_prefs(iq, *q);
    if (!to_self) {
        std::vector<std::pair<std::string, std::string>> services;
        for (const Service* s : ctx().router.services())
            services.emplace_back(s->domain(), s->name());
        if (auto answer = answer_server_iq(iq, ctx().domain, services, ctx().version,
                                           ctx().uploads ? ctx().uploads->max_bytes() : 0))
            return send(*answer);
    } else if (auto answer = answer_account_iq(iq)) {
        return send(*answer);
    }
    send(make_error(iq, StanzaError::service_unavailable));
}

void BoundSession::on_upload_request(const xml::Element& iq, const xml::Element& request) {
    if (!ctx().uploads) return send(make_error(iq, StanzaError::service_unavailable));
    if (iq.attr_or("type") != "get") return send(make_error(iq, StanzaError::bad_request));
    uint64_t size = 0;
    try {
        std::string text = request.attr_or("size");
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
            throw std::invalid_argument(text);
        size = std::stoull(text);
    } catch (...) {
        return send(make_error(iq, StanzaError::bad_request, "The size must be a number"));
    }
    auto issued = ctx().uploads->issue(username(), request.attr_or("filename"), size,
                                       request.attr_or("content-type"), util::now_us());
    if (auto* refused = std::get_if<chat::SlotRefusal>(&issued)) {
        if (refused->why == chat::SlotRefusal::Why::bad_request)
            return send(make_error(iq, StanzaError::bad_request, refused->text));
        if (refused->why == chat::SlotRefusal::Why::too_many ||
            refused->why == chat::SlotRefusal::Why::over_quota)
            return send(make_error(iq, StanzaError::resource_constraint, refused->text));
        auto err = make_error(iq, StanzaError::not_acceptable, refused->text);
        if (auto* e = err.child("error", ns::client))
            e->add_child("file-too-large", std::string(ns::upload))
                .add_child("max-file-size", std::string(ns::upload))
                .add_text(std::to_string(ctx().uploads->max_bytes()));
        return send(err);
    }
    const auto& slot = std::get<chat::UploadSlot>(issued);
    spdlog::info("{} may upload {} ({} bytes)", username(), slot.name, slot.size);
    auto reply = make_iq_result(iq);
    reply.remove_attr("to");
    reply.set_attr("from", ctx().domain);
    auto& s = reply.add_child("slot", std::string(ns::upload));
    std::string name = slot.name;
    s.add_child("put", std::string(ns::upload))
        .set_attr("url",
                  ctx().public_url + "/upload/" + slot.token + "/" + util::url_path_segment(name));
    s.add_child("get", std::string(ns::upload))
        .set_attr("url",
                  ctx().public_url + "/files/" + slot.file_id + "/" + util::url_path_segment(name));
    send(reply);
}

void BoundSession::on_roster(const xml::Element& iq) {
    std::string type = iq.attr_or("type");
    std::string user = username();
    // Store work below touches nothing of the session: what it needs is copied in, and the
    // answer comes back through the poster, which runs it only while the connection exists.
    if (type == "get") {
        bool queued =
            ctx().jobs.submit([this, post = transport().poster(), user, iq](store::Store& s) {
                auto items = s.roster(user);
                post([this, iq, items = std::move(items)] {
                    auto reply = make_iq_result(iq);
                    reply.remove_attr("to");
                    auto& q = reply.add_child("query", std::string(ns::roster));
                    for (const auto& it : items) {
                        auto& item = q.add_child("item", std::string(ns::roster));
                        item.set_attr("jid", it.jid);
                        if (!it.name.empty()) item.set_attr("name", it.name);
                        item.set_attr("subscription", it.subscription);
                        for (const auto& g : it.groups)
                            item.add_child("group", std::string(ns::roster)).add_text(g);
                    }
                    send(reply);
                });
            });
        if (!queued) send(make_error(iq, StanzaError::resource_constraint));
        return;
    }
    // set: exactly one item (RFC 6121 2.3.3)
    const xml::Element* q = iq.child("query", ns::roster);
    std::vector<const xml::Element*> items;
    for (const auto& c : q->children())
        if (c.is("item", ns::roster)) items.push_back(&c);
    if (items.size() != 1)
        return send(make_error(iq, StanzaError::bad_request, "Exactly one item expected"));
    auto contact = Jid::parse(items[0]->attr_or("jid"));
    if (!contact) return send(make_error(iq, StanzaError::jid_malformed));
    store::RosterItem item;
    item.jid = contact->str();
    item.name = items[0]->attr_or("name");
    bool remove = items[0]->attr_or("subscription") == "remove";
    for (const auto& g : items[0]->children())
        if (g.is("group", ns::roster)) item.groups.push_back(g.text());
    // What a roster item may hold (RFC 6121 2.3.3: beyond the server's limits, not-acceptable).
    constexpr size_t kMaxText = 1023, kMaxGroups = 64;
    if (util::utf8_length(item.name) > kMaxText)
        return send(make_error(iq, StanzaError::not_acceptable,
                               "A contact's name has at most 1023 characters"));
    if (item.groups.size() > kMaxGroups)
        return send(
            make_error(iq, StanzaError::not_acceptable, "A contact is in at most 64 groups"));
    for (const auto& g : item.groups)
        if (g.empty() || util::utf8_length(g) > kMaxText)
            return send(make_error(iq, StanzaError::not_acceptable,
                                   "A group's name has 1 to 1023 characters"));
    bool queued = ctx().jobs.submit([this, post = transport().poster(), user, iq, item, remove,
                                     limit = ctx().max_roster_items](store::Store& s) {
        if (remove) {
            s.remove_roster_item(user, item.jid);
        } else {
            // A new contact beyond the limit is refused (RFC 6121 2.3.3: not-allowed); a
            // contact already there may still change.
            if (limit > 0) {
                auto roster = s.roster(user);
                bool known = std::any_of(roster.begin(), roster.end(),
                                         [&](const auto& r) { return r.jid == item.jid; });
                if (!known && roster.size() >= limit)
                    return post([this, iq, limit] {
                        send(make_error(iq, StanzaError::not_allowed,
                                        fmt::format("Your contact list is full ({} contacts "
                                                    "at most)",
                                                    limit)));
                    });
            }
            s.set_roster_item(user, item);
        }
        post([this, iq, item, remove] {
            auto reply = make_iq_result(iq);
            reply.remove_attr("to");
            send(reply);
            // Roster push to every resource of the user (RFC 6121 2.1.6).
            xml::Element query("query", std::string(ns::roster));
            auto& pi = query.add_child("item", std::string(ns::roster));
            pi.set_attr("jid", item.jid);
            pi.set_attr("subscription", remove ? "remove" : "none");
            if (!remove && !item.name.empty()) pi.set_attr("name", item.name);
            for (const auto& g : item.groups)
                pi.add_child("group", std::string(ns::roster)).add_text(g);
            push_to_own_resources(std::move(query));
        });
    });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

void BoundSession::push_to_own_resources(xml::Element payload) {
    xml::Element push("iq", std::string(ns::client));
    push.set_attr("type", "set");
    push.set_attr("id", "push-" + util::random_id().substr(0, 8));
    push.add(std::move(payload));
    auto prepared = PreparedStanza::from(push);
    for (auto& r : ctx().router.resources(jid().bare()))
        r->deliver(Outgoing::addressed(prepared, r->jid().str()));
}

void BoundSession::on_presence(xml::Element& p, const std::optional<Jid>& to) {
    std::string type = p.attr_or("type");
    if (!to || *to == jid().bare()) {
        if (type.empty()) {
            // XEP-0160 section 3: what waited for the user comes with their first presence,
            // unless its priority says the resource wants no messages.
            int priority = 0;
            try {
                priority = std::stoi(p.child_text("priority", ns::client));
            } catch (...) {
            }
            if (!std::exchange(available_, true) && priority >= 0) deliver_offline();
        } else if (type == "unavailable") {
            available_ = false;
            for (Service* s : ctx().router.services()) s->session_ended(jid());
        } else {
            return;  // probes and subscriptions to oneself: nothing to do
        }
        // Broadcast to the user's other resources (no presence subscriptions are kept yet).
        auto prepared = PreparedStanza::from(p);
        for (auto& r : ctx().router.resources(jid().bare()))
            if (r->jid() != jid()) r->deliver(Outgoing::addressed(prepared, r->jid().str()));
        return;
    }
    if (Service* service = ctx().router.service(to->domain()))
        return service->handle(std::move(p), jid(), *to, transport().handle(), subject());
    if (to->domain() != ctx().domain) {
        if (type != "error") send(make_error(p, StanzaError::remote_server_not_found));
        return;
    }
    if (type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
        type == "unsubscribed")
        p.set_attr("from", jid().bare_str());
    deliver_to_user(p, *to);
}

void BoundSession::on_message(xml::Element& m, const std::optional<Jid>& to) {
    if (!to || to->str() == ctx().domain || *to == jid().bare())
        return;  // nothing is stored for self
    if (Service* service = ctx().router.service(to->domain()))
        return service->handle(std::move(m), jid(), *to, transport().handle(), subject());
    if (to->domain() != ctx().domain) {
        if (m.attr_or("type") != "error") send(make_error(m, StanzaError::remote_server_not_found));
        return;
    }
    if (to->local().empty()) return;  // to the server itself: nothing is done with it
    // A direct invitation (XEP-0249) passes only where the service says the sender may invite.
    if (const xml::Element* invite = m.child("x", ns::conference); invite && subject()) {
        auto address = Jid::parse(invite->attr_or("jid"));
        if (Service* service = address ? ctx().router.service(address->domain()) : nullptr) {
            if (auto refused = service->vet_invitation(*subject(), *address)) {
                spdlog::info("direct invitation from {} to {} refused", jid().str(),
                             address->bare_str());
                return send(make_error(m, *refused,
                                       *refused == StanzaError::forbidden
                                           ? "Invitations are not allowed in this room"
                                           : "No such room"));
            }
        }
    }
    on_direct_message(m, *to);
}

void BoundSession::deliver_to_user(xml::Element& stanza, const Jid& to) {
    if (refused_by_blocking(stanza, to)) return;
    const std::string& kind = stanza.name();
    std::string type = stanza.attr_or("type");
    if (!to.is_bare()) {
        if (auto s = ctx().router.find(to)) return s->deliver(Outgoing::element(stanza));
        if (kind == "iq") {
            if (type == "get" || type == "set")
                send(make_error(stanza, StanzaError::service_unavailable));
            return;
        }
        if (kind == "presence") return;
    } else if (kind == "iq") {
        // IQs to a user's bare JID are answered by the server on their behalf.
        return on_iq_to_user(stanza, to);
    }
    auto targets = ctx().router.resources(to.bare());
    if (targets.empty()) {
        if (kind == "message" && (type.empty() || type == "normal" || type == "chat"))
            send(make_error(stanza, StanzaError::service_unavailable, "The recipient is offline"));
        return;
    }
    auto prepared = PreparedStanza::from(stanza);
    for (auto& s : targets) s->deliver(Outgoing::addressed(prepared, s->jid().str()));
}

}  // namespace perch::xmpp
