// Following: a user follows rooms by bookmarking them (XEP-0402) and asks the chat service how
// many messages they have not seen in each; the activity feed is a search of all rooms limited
// to the followed ones (see search_all_rooms). Read marks move when the user joins or leaves a
// room, or says so.
#include <spdlog/spdlog.h>

#include "util/time.hpp"
#include "xmpp/bookmarks.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {
// Unread counts stop here: "500 or more" is as useful as an exact figure and costs less.
constexpr int64_t kUnreadCap = 500;
}  // namespace

void MucService::on_following(const xml::Element& iq, const SessionHandlePtr& sender,
                              const chat::Subject& who) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) return;
    auto in_now = delivery_.rooms_of_user(from->bare());
    bool queued = jobs_.submit([this, iq, sender, who, in_now](store::Store& s) {
        try {
            // Followed = bookmarked: the XEP-0402 items are room JIDs.
            auto items = s.pep_items(who.user, bookmarks::kNode);
            std::vector<store::Room> rooms;
            if (items)
                for (const auto& [jid, payload] : *items)
                    if (auto node = room_node(jid))
                        if (auto room = directory_.room_for(who, *node, chat::Action::read_history))
                            rooms.push_back(std::move(room->meta));
            std::vector<int64_t> ids;
            for (const auto& r : rooms) ids.push_back(r.id);
            auto activity = s.room_activity(who.user, ids, kUnreadCap);
            auto reply = make_iq_result(iq);
            auto& list = reply.add_child("following", std::string(ns::following));
            for (size_t i = 0; i < rooms.size(); ++i) {
                const auto& r = rooms[i];
                const auto& a = activity[i];
                auto& item = list.add_child("room", std::string(ns::following));
                std::string jid = room_jid(r.node);
                item.set_attr("jid", jid);
                item.set_attr("name", r.name);
                // Whoever is in the room sees its messages as they come.
                bool present = in_now.count(r.node) > 0;
                int64_t unread = present ? 0 : a.unread;
                item.set_attr("unread", std::to_string(unread));
                if (unread >= kUnreadCap) item.set_attr("more", "true");
                if (a.newest) {
                    auto& last = item.add_child("last", std::string(ns::following));
                    last.set_attr("id", a.newest->stanza_id);
                    last.set_attr("from", jid + "/" + a.newest->nick);
                    last.set_attr("stamp", util::format_timestamp(a.newest->ts_us));
                    last.add_text(a.newest->body.substr(0, 200));
                }
            }
            sender->deliver(Outgoing::element(reply));
        } catch (const std::exception& e) {
            spdlog::error("unread counts for {} failed: {}", who.user, e.what());
            sender->deliver(Outgoing::element(make_error(iq, StanzaError::internal_server_error)));
        }
    });
    if (!queued)
        sender->deliver(Outgoing::element(make_error(iq, StanzaError::resource_constraint)));
}

void MucService::on_mark_read(const xml::Element& iq, const xml::Element& read,
                              const SessionHandlePtr& sender, const chat::Subject& who) {
    auto node = room_node(read.attr_or("jid"));
    auto room = node ? directory_.room_for(who, *node, chat::Action::read_history) : std::nullopt;
    if (!room)
        return sender->deliver(Outgoing::element(
            make_error(iq, StanzaError::item_not_found, "No room you may read has that JID")));
    bool queued = jobs_.submit([iq, sender, user = who.user,
                                node = room->meta.node](store::Store& s) {
        try {
            auto now = s.find_room(node);
            if (now) s.mark_read({{user, now->id, now->last_seq}});
            sender->deliver(Outgoing::element(make_iq_result(iq)));
        } catch (const std::exception& e) {
            spdlog::error("marking {} read for {} failed: {}", node, user, e.what());
            sender->deliver(Outgoing::element(make_error(iq, StanzaError::internal_server_error)));
        }
    });
    if (!queued)
        sender->deliver(Outgoing::element(make_error(iq, StanzaError::resource_constraint)));
}

}  // namespace perch::xmpp
