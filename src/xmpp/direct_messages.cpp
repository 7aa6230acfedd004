// One-to-one messages of a bound session: delivery to the recipient's resources, carbon
// copies (XEP-0280), offline storage (XEP-0160), both parties' archives (XEP-0313 on the
// user's JID, with preferences), hints (XEP-0334), blocking (XEP-0191) and their compliance
// events. The rules of what is kept are in xmpp/direct.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"
#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/push.hpp"
#include "xmpp/remote_users.hpp"
#include "xmpp/session.hpp"

namespace perch::xmpp {

namespace {

constexpr int kPendingBatch = 200;

// Sends `user`'s waiting messages to `targets`, oldest first, each with the time it was
// sent; runs on a store thread. Returns how many.
size_t send_pending(store::Store& s, const std::string& user, const std::string& domain,
                    const std::vector<SessionHandlePtr>& targets) {
    size_t sent = 0;
    for (;;) {
        auto batch = s.take_pending(user, kPendingBatch);
        for (const auto& m : batch) {
            auto text = direct::with_delay(m.stanza, domain, m.ts_us);
            for (const auto& t : targets) t->deliver(Outgoing::raw(text));
        }
        sent += batch.size();
        if (batch.size() < size_t(kPendingBatch)) return sent;
    }
}

bool in_roster(store::Store& s, const std::string& user, const std::string& peer) {
    for (const auto& item : s.roster(user))
        if (item.jid == peer) return true;
    return false;
}

direct::ArchivePrefs prefs_of(store::Store& s, const std::string& user) {
    return direct::ArchivePrefs::decode(s.private_xml(user, direct::kPrefsKey).value_or(""));
}

}  // namespace

// A session's messages are stored in the order it sent them: one job at a time per session,
// which takes everything queued meanwhile into one transaction (the store has several
// threads, and two jobs of one session could otherwise commit out of order). The queue
// outlives the session, so that what it sent last is stored after it has gone; it is used
// from any thread (a pool's answers come on the links' threads).
struct BoundSession::DirectWrites : std::enable_shared_from_this<DirectWrites> {
    ServerContext& ctx;
    // Errors go back to the sender while it is connected.
    std::function<void(const xml::Element& message, StanzaError, std::string)> refuse;
    std::mutex mutex;
    std::vector<DirectCopies> queued;
    bool running = false;

    DirectWrites(ServerContext& ctx,
                 std::function<void(const xml::Element&, StanzaError, std::string)> refuse)
        : ctx(ctx), refuse(std::move(refuse)) {}

    void add(DirectCopies copies) {
        {
            std::lock_guard lock(mutex);
            queued.push_back(std::move(copies));
            if (running) return;
            running = true;
        }
        auto self = shared_from_this();
        bool submitted = ctx.jobs.submit([self](store::Store& s) {
            for (;;) {
                std::vector<DirectCopies> batch;
                {
                    std::lock_guard lock(self->mutex);
                    batch.swap(self->queued);
                    if (batch.empty()) {
                        self->running = false;
                        return;
                    }
                }
                self->store(s, batch);
            }
        });
        if (!submitted) {
            std::vector<DirectCopies> refused;
            {
                std::lock_guard lock(mutex);
                refused.swap(queued);
                running = false;
            }
            for (const auto& c : refused)
                if (c.received.pending)
                    refuse(c.message, StanzaError::resource_constraint, "Server busy");
        }
    }

    // On a store thread: one batch of the session's messages, in one transaction.
    void store(store::Store& s, std::vector<DirectCopies>& batch) {
        std::vector<std::string> waiting;                // recipients who have messages waiting now
        std::map<std::string, std::string> last_sender;  // of each recipient's
        // Whether an owner archives messages with a peer: read once per pair in a batch (a
        // burst is mostly one conversation), not per copy.
        std::map<std::pair<std::string, std::string>, bool> archives;
        auto archived = [&](const store::DirectMessage& copy) {
            auto [it, fresh] = archives.try_emplace({copy.owner, copy.peer}, true);
            if (fresh) {
                auto prefs = prefs_of(s, copy.owner);
                it->second = prefs.archives(
                    copy.peer, prefs.by_default == "roster" && in_roster(s, copy.owner, copy.peer));
            }
            return it->second;
        };
        try {
            s.with_events({}, [&] {
                for (auto& c : batch) {
                    auto& [m, sent, received, events] = c;
                    if (received.pending) {
                        if (!s.find_user(received.owner)) {
                            refuse(m, StanzaError::service_unavailable, "No such user");
                            continue;
                        }
                        if (s.count_pending(received.owner) >= ctx.max_offline) {
                            refuse(m, StanzaError::resource_constraint,
                                   "The recipient is offline and has too many messages waiting");
                            continue;
                        }
                        waiting.push_back(received.owner);
                        last_sender[received.owner] = received.peer;
                    }
                    // Each party's preferences say whether their copy goes into their archive.
                    for (store::DirectMessage* copy : {&sent, &received})
                        copy->archived = copy->archived && archived(*copy);
                    s.add_direct({sent, received}, std::move(events));
                }
            });
        } catch (const std::exception& e) {
            spdlog::error("storing messages from {} failed: {}", batch.front().sent.owner,
                          e.what());
            for (const auto& c : batch)
                if (c.received.pending)
                    refuse(c.message, StanzaError::internal_server_error,
                           "The message could not be stored");
            return;
        }
        // A recipient may have come online between the routing and this commit: their
        // sign-in found nothing waiting, so what now waits goes to them here.
        std::sort(waiting.begin(), waiting.end());
        waiting.erase(std::unique(waiting.begin(), waiting.end()), waiting.end());
        // Otherwise, their phones may be woken (XEP-0357).
        for (const auto& owner : waiting) {
            auto now = ctx.router.resources(Jid::make(owner, ctx.domain));
            if (!now.empty()) send_pending(s, owner, ctx.domain, now);
            if (std::none_of(now.begin(), now.end(), [](auto& r) { return r->connected(); }))
                push::notify(s, ctx.router, ctx.domain, owner, last_sender[owner],
                             int(s.count_pending(owner)));
        }
    }
};

bool BoundSession::refused_by_blocking(const xml::Element& stanza, const Jid& to) {
    const direct::Blocklists* lists = ctx().blocklists;
    if (!lists) return false;
    std::string type = stanza.attr_or("type");
    bool answered = stanza.name() != "presence" && type != "error" && type != "result";
    if (lists->blocks(username(), to)) {
        // XEP-0191 section 3.5: the blocker is told why it did not go.
        if (answered) {
            auto err = make_error(stanza, StanzaError::not_acceptable, "You block this address");
            if (auto* e = err.child("error", ns::client))
                e->add_child("blocked", std::string(ns::blocking_errors));
            send(err);
        }
        return true;
    }
    if (to.domain() == ctx().domain && !to.local().empty() && lists->blocks(to.local(), jid())) {
        // Section 3.4: to the blocked it looks as if nobody were there.
        if (answered) send(make_error(stanza, StanzaError::service_unavailable));
        return true;
    }
    return false;
}

void BoundSession::on_direct_message(xml::Element& m, const Jid& to) {
    if (refused_by_blocking(m, to)) return;
    std::string type = m.attr_or("type");
    auto keep = direct::keeping(m);
    // What is kept (twice: each party's copy, for good) is bounded as a room's messages are:
    // the body by the longest message setting, the whole stanza by kMaxKeptBytes.
    if ((keep.offline || keep.archive) && ctx().settings) {
        size_t longest = ctx().settings->max_message_chars();
        if (util::utf8_length(m.child_text("body", ns::client)) > longest)
            return send(make_error(m, StanzaError::not_acceptable,
                                   fmt::format("Messages are limited to {} characters", longest)));
        constexpr size_t kMaxKeptBytes = size_t{64} * 1024;
        if (xml::to_string(m, ns::client).size() > kMaxKeptBytes)
            return send(make_error(m, StanzaError::not_acceptable,
                                   "A message that is kept has at most 64 KB"));
    }
    // When it was routed, taken before anybody can see it: a reply, routed after this was
    // delivered, is always later in the archive.
    int64_t routed_us = util::now_us();
    // Between a user's own resources a message is passed on, and nothing more.
    if (to.bare() == jid().bare()) keep = direct::Keeping{.copies = false};
    // RFC 6121 section 8.5: to a resource that is there, to it alone; otherwise (chat and
    // normal messages) to every resource of the user.
    std::vector<SessionHandlePtr> targets;
    bool to_resource = false;
    if (!to.is_bare()) {
        if (auto s = ctx().router.find(to)) {
            targets.push_back(std::move(s));
            to_resource = true;
        } else if (!type.empty() && type != "chat" && type != "normal") {
            if (type == "groupchat") send(make_error(m, StanzaError::service_unavailable));
            return;
        }
    }
    if (!to_resource) targets = ctx().router.resources(to.bare());
    bool offline = targets.empty();
    RemoteUsers* remote = ctx().remote_users;
    // Alone, a server knows at once that nobody is there; in a pool the others may have them.
    if (offline && !keep.offline && !remote) {
        if (type.empty() || type == "normal" || type == "chat")
            send(make_error(m, StanzaError::service_unavailable, "The recipient is offline"));
        return;
    }
    std::string body = m.child_text("body", ns::client);
    bool recorded = ctx().compliance && keep.offline;  // what has content is a compliance event
    std::string id;
    if (keep.archive || keep.offline) {
        // Only this server says what a message is called in its users' archives (XEP-0359
        // section 3.3): ids a client put in for either party are dropped.
        auto& children = m.children();
        std::erase_if(children, [&](const xml::Element& c) {
            if (!c.is("stanza-id", ns::sid)) return false;
            auto by = Jid::parse(c.attr_or("by"));
            return !by || by->bare() == to.bare() || by->bare() == jid().bare();
        });
        id = util::ordered_id();
        auto& sid = m.add_child("stanza-id", std::string(ns::sid));
        sid.set_attr("id", id);
        sid.set_attr("by", to.bare_str());
    }
    if (!offline) {
        auto prepared = PreparedStanza::from(m);
        for (auto& t : targets) t->deliver(Outgoing::addressed(prepared, t->jid().str()));
        // Every session it went to waits for its client to come back (XEP-0198): its phone
        // may be woken (XEP-0357).
        if (!body.empty() &&
            std::none_of(targets.begin(), targets.end(), [](auto& t) { return t->connected(); }))
            ctx().jobs.submit(
                [&ctx = ctx(), owner = to.local(), from = jid().bare_str()](store::Store& s) {
                    push::notify(s, ctx.router, ctx.domain, owner, from);
                });
    }
    if (keep.copies) {
        for (auto& r : ctx().router.resources(jid().bare()))
            if (r->jid() != jid() && r->carbons())
                r->deliver(
                    Outgoing::raw(direct::carbon(m, "sent", jid().bare_str(), r->jid().str())));
        if (to_resource)
            for (auto& r : ctx().router.resources(to.bare()))
                if (r != targets.front() && r->carbons())
                    r->deliver(Outgoing::raw(
                        direct::carbon(m, "received", to.bare_str(), r->jid().str())));
    }
    bool kept = keep.archive || keep.offline || recorded;
    std::optional<DirectCopies> copies;
    if (kept) {
        // Kept as addressed to the user, whichever resource it went to.
        xml::Element stored = m;
        stored.set_attr("to", to.bare_str());
        store::DirectMessage sent;
        sent.owner = username();
        sent.peer = to.bare_str();
        sent.outgoing = true;
        sent.stanza_id = id;
        sent.ts_us = routed_us;
        sent.body = body;
        sent.stanza = xml::to_string(stored);
        sent.archived = keep.archive;
        store::DirectMessage received = sent;
        received.owner = to.local();
        received.peer = jid().bare_str();
        received.outgoing = false;
        received.pending = offline;
        std::vector<store::ComplianceEvent> events;
        if (recorded)
            events.push_back(store::make_event("IM", username(), {}, {},
                                               {{"id", id},
                                                {"from", jid().str()},
                                                {"to", to.str()},
                                                {"type", type.empty() ? "normal" : type},
                                                {"body", body}}));
        copies = DirectCopies{m, std::move(sent), std::move(received), std::move(events)};
    }
    auto writes = direct_writes();
    if (remote) {
        // The other servers deliver to their own sessions of the user (and the parties' other
        // sessions there get their copies). Nobody here: what waits is decided by their answer.
        RemoteUsers::Offer offer{to.str(), jid().str(), xml::to_string(m), to_resource,
                                 keep.copies};
        if (!offline) {
            remote->offer(std::move(offer), nullptr);
        } else {
            bool keeps_offline = keep.offline;
            remote->offer(std::move(offer),
                          [writes, copies, keeps_offline, m](bool delivered) mutable {
                              if (!delivered && !keeps_offline) {
                                  std::string type = m.attr_or("type");
                                  if (type.empty() || type == "normal" || type == "chat")
                                      writes->refuse(m, StanzaError::service_unavailable,
                                                     "The recipient is offline");
                                  return;
                              }
                              if (!copies) return;
                              copies->received.pending = !delivered;
                              writes->add(std::move(*copies));
                          });
            return;
        }
    }
    if (copies) writes->add(std::move(*copies));
}

std::shared_ptr<BoundSession::DirectWrites> BoundSession::direct_writes() {
    if (!direct_writes_)
        direct_writes_ = std::make_shared<DirectWrites>(
            ctx(), [this, post = transport().poster()](const xml::Element& m, StanzaError condition,
                                                       std::string text) {
                post([this, m, condition, text = std::move(text)] {
                    send(make_error(m, condition, text));
                });
            });
    return direct_writes_;
}

bool deliver_offered(Router& router, const RemoteUsers::Offer& offer) {
    auto to = Jid::parse(offer.to);
    auto from = Jid::parse(offer.from);
    auto m = xml::parse_fragment(offer.stanza);
    if (!to || !from || !m) return false;
    bool delivered = false;
    SessionHandlePtr addressed;
    if (!offer.found) {
        if (!to->is_bare()) {
            if ((addressed = router.find(*to))) {
                addressed->deliver(Outgoing::raw(offer.stanza));
                delivered = true;
            }
        } else {
            auto prepared = PreparedStanza::from(*m);
            for (auto& r : router.resources(*to)) {
                r->deliver(Outgoing::addressed(prepared, r->jid().str()));
                delivered = true;
            }
        }
    }
    if (offer.copies) {
        // What went to one resource is copied to the recipient's others (those of a bare JID
        // got it themselves), and to the sender's other sessions here.
        if (!to->is_bare())
            for (auto& r : router.resources(to->bare()))
                if (r != addressed && r->jid() != *to && r->carbons())
                    r->deliver(Outgoing::raw(
                        direct::carbon(*m, "received", to->bare_str(), r->jid().str())));
        for (auto& r : router.resources(from->bare()))
            if (r->jid() != *from && r->carbons())
                r->deliver(
                    Outgoing::raw(direct::carbon(*m, "sent", from->bare_str(), r->jid().str())));
    }
    return delivered;
}

void BoundSession::deliver_offline() {
    std::string user = username();
    std::string domain = ctx().domain;
    auto me = transport().handle();
    ctx().jobs.submit([user, domain, me](store::Store& s) {
        try {
            size_t n = send_pending(s, user, domain, {me});
            if (n) spdlog::debug("{} waiting messages delivered to {}", n, me->address());
        } catch (const std::exception& e) {
            spdlog::error("delivering waiting messages to {} failed: {}", user, e.what());
        }
    });
}

void BoundSession::on_carbons(const xml::Element& iq, const xml::Element& request) {
    if (iq.attr_or("type") != "set") return send(make_error(iq, StanzaError::bad_request));
    transport().handle()->set_carbons(request.name() == "enable");
    auto reply = make_iq_result(iq);
    reply.remove_attr("to");
    send(reply);
}

void BoundSession::on_own_archive(const xml::Element& iq, const xml::Element& query) {
    if (iq.attr_or("type") == "get") {
        auto reply = make_iq_result(iq);
        reply.remove_attr("to");
        reply.add_child("query", std::string(ns::mam)).add(mam::query_form(mam::FormKind::user));
        return send(reply);
    }
    auto parsed = mam::parse_query(query, {});
    if (auto* err = std::get_if<mam::QueryError>(&parsed))
        return send(make_error(iq, err->condition, err->text));
    auto q = std::get<store::ArchiveQuery>(std::move(parsed));
    if (!q.text.empty())
        return send(make_error(iq, StanzaError::feature_not_implemented,
                               "Words are searched in rooms; one-to-one messages are found by "
                               "correspondent and time"));
    std::string user = username();
    std::string to = jid().str();
    std::string archive = jid().bare_str();
    std::string query_id = query.attr_or("queryid");
    bool queued = ctx().jobs.submit(
        [this, post = transport().poster(), iq, q, user, to, archive, query_id](store::Store& s) {
            std::optional<store::DirectPage> page;
            std::optional<StanzaError> failed;
            try {
                page = s.query_direct(user, q);
            } catch (const store::UnknownId&) {
                failed = StanzaError::item_not_found;
            } catch (const std::exception& e) {
                spdlog::error("archive query of {} failed: {}", user, e.what());
                failed = StanzaError::internal_server_error;
            }
            post([this, iq, q, to, archive, query_id, page = std::move(page), failed] {
                if (failed) return send(make_error(iq, *failed));
                for (const auto& m : page->messages)
                    session_.emit(
                        mam::render_stored(m.stanza, m.stanza_id, m.ts_us, to, query_id, archive));
                mam::Fin fin;
                fin.complete = page->complete;
                fin.count = page->count;
                fin.count_exact = page->count_exact;
                fin.first_index = page->first_index;
                if (!page->messages.empty()) {
                    fin.first = page->messages.front().stanza_id;
                    fin.last = page->messages.back().stanza_id;
                }
                send(mam::render_fin(iq, fin, mam::pages_backward(q)));
            });
        });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

void BoundSession::on_archive_prefs(const xml::Element& iq, const xml::Element& prefs) {
    std::string user = username();
    std::optional<direct::ArchivePrefs> change;
    if (iq.attr_or("type") == "set") change = direct::ArchivePrefs::from_element(prefs);
    bool queued =
        ctx().jobs.submit([this, post = transport().poster(), iq, user, change](store::Store& s) {
            if (change) s.set_private_xml(user, direct::kPrefsKey, change->encode());
            auto now = change ? *change : prefs_of(s, user);
            post([this, iq, now] {
                auto reply = make_iq_result(iq);
                reply.remove_attr("to");
                reply.add(now.to_element());
                send(reply);
            });
        });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

void BoundSession::on_blocking(const xml::Element& iq, const xml::Element& request) {
    direct::Blocklists* lists = ctx().blocklists;
    if (!lists) return send(make_error(iq, StanzaError::service_unavailable));
    std::string type = iq.attr_or("type");
    std::string user = username();
    if (type == "get") {
        if (request.name() != "blocklist") return send(make_error(iq, StanzaError::bad_request));
        auto reply = make_iq_result(iq);
        reply.remove_attr("to");
        auto& list = reply.add_child("blocklist", std::string(ns::blocking));
        for (const auto& item : lists->of(user))
            list.add_child("item", std::string(ns::blocking)).set_attr("jid", item);
        return send(reply);
    }
    bool block = request.name() == "block";
    if (!block && request.name() != "unblock")
        return send(make_error(iq, StanzaError::bad_request));
    std::vector<std::string> items;
    for (const auto& c : request.children()) {
        if (!c.is("item", ns::blocking)) continue;
        auto j = Jid::parse(c.attr_or("jid"));
        if (!j) return send(make_error(iq, StanzaError::jid_malformed));
        items.push_back(j->str());
    }
    // Section 3.3: a block names at least one address; an empty unblock lifts every block.
    if (block && items.empty())
        return send(make_error(iq, StanzaError::bad_request, "Name an address to block"));
    // Every list is in memory: a user blocks at most this many addresses.
    constexpr size_t kMaxBlocked = 1000;
    if (block && lists->of(user).size() + items.size() > kMaxBlocked)
        return send(make_error(iq, StanzaError::not_acceptable,
                               "A blocking list holds at most 1000 addresses"));
    bool all = !block && items.empty();
    bool queued = ctx().jobs.submit([this, post = transport().poster(), iq, user, items, block, all,
                                     lists, request](store::Store& s) {
        try {
            if (all)
                s.unblock_all(user);
            else
                s.set_blocked(user, items, block);
            s.note_change("blocklist", user);  // the other servers of a pool
        } catch (const std::exception& e) {
            spdlog::error("changing the blocking list of {} failed: {}", user, e.what());
            return post([this, iq] { send(make_error(iq, StanzaError::internal_server_error)); });
        }
        if (all)
            lists->clear(user);
        else if (block)
            lists->add(user, items);
        else
            lists->remove(user, items);
        post([this, iq, request] {
            auto reply = make_iq_result(iq);
            reply.remove_attr("to");
            send(reply);
            push_to_own_resources(request);  // section 3.3: every resource hears of it
        });
    });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

void BoundSession::keep_unacknowledged(const std::deque<Outgoing>& stanzas) {
    std::vector<store::DirectMessage> copies;
    for (const auto& out : stanzas) {
        std::string text = out.head;
        if (out.shared) text.append(out.shared->text, out.shared->split);
        if (text.rfind("<message", 0) != 0 || text.find("<body") == std::string::npos) continue;
        auto m = xml::parse_fragment(text);
        if (!m) continue;
        std::string type = m->attr_or("type", "normal");
        auto from = Jid::parse(m->attr_or("from"));
        // From another user of this server, with a body of its own (a carbon's is inside it;
        // rooms and their private messages are on another domain, and kept there).
        if ((type != "chat" && type != "normal") || !from || from->domain() != ctx().domain ||
            from->bare() == jid().bare() || !m->child("body", ns::client))
            continue;
        store::DirectMessage copy;
        copy.owner = username();
        copy.peer = from->bare_str();
        copy.ts_us = util::now_us();
        for (const auto& c : m->children()) {
            if (c.is("stanza-id", ns::sid) && c.attr_or("by") == jid().bare_str())
                copy.stanza_id = c.attr_or("id");
            if (c.is("delay", ns::delay))  // it had waited before: since then
                copy.ts_us = util::parse_timestamp(c.attr_or("stamp")).value_or(copy.ts_us);
        }
        if (copy.stanza_id.empty()) copy.stanza_id = util::ordered_id();
        m->remove_children("delay", ns::delay);
        m->set_attr("to", jid().bare_str());
        copy.body = m->child_text("body", ns::client);
        copy.stanza = xml::to_string(*m);
        copy.archived = false;
        copy.pending = true;
        copies.push_back(std::move(copy));
    }
    if (copies.empty()) return;
    spdlog::info("{}: {} one-to-one messages sent and not acknowledged wait for the user again",
                 jid().str(), copies.size());
    bool queued =
        ctx().jobs.submit([copies = std::move(copies), who = jid().str()](store::Store& s) {
            try {
                s.keep_undelivered(copies);
            } catch (const std::exception& e) {
                spdlog::error("messages not acknowledged by {} not kept: {}", who, e.what());
            }
        });
    if (!queued)
        spdlog::error("messages not acknowledged by {} not kept: the store is busy", jid().str());
}

}  // namespace perch::xmpp
