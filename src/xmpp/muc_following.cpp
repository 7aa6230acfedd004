// Following: a user follows rooms by bookmarking them (XEP-0402) and asks the chat service how
// many messages they have not seen in each; the activity feed is a search of all rooms limited
// to the followed ones (see search_all_rooms). Read marks move when the user joins or leaves a
// room, or says so.
#include <spdlog/spdlog.h>

#include "util/time.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

void MucService::on_following(const xml::Element& iq, const SessionHandlePtr& sender,
                              const std::shared_ptr<const chat::Subject>& who) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) return;
    auto in_now = delivery_.rooms_of_user(from->bare());
    rooms_.following(
        chat::Actor{who, from->str(), {}},
        answer<std::vector<chat::Followed>>(
            iq, sender, [this, iq, sender, in_now](const std::vector<chat::Followed>& rooms) {
                auto reply = make_iq_result(iq);
                auto& list = reply.add_child("following", std::string(ns::following));
                for (const auto& r : rooms) {
                    auto& item = list.add_child("room", std::string(ns::following));
                    std::string jid = room_jid(r.meta.node);
                    item.set_attr("jid", jid);
                    item.set_attr("name", r.meta.name);
                    // Whoever is in the room sees its messages as they come.
                    bool present = in_now.count(r.meta.node) > 0;
                    int64_t unread = present ? 0 : r.unread;
                    item.set_attr("unread", std::to_string(unread));
                    if (!present && r.more) item.set_attr("more", "true");
                    if (r.newest) {
                        auto& last = item.add_child("last", std::string(ns::following));
                        last.set_attr("id", r.newest->stanza_id);
                        last.set_attr("from", jid + "/" + r.newest->nick);
                        last.set_attr("stamp", util::format_timestamp(r.newest->ts_us));
                        last.add_text(r.newest->body.substr(0, 200));
                    }
                }
                sender->deliver(Outgoing::element(reply));
            }));
}

void MucService::on_mark_read(const xml::Element& iq, const xml::Element& read,
                              const SessionHandlePtr& sender,
                              const std::shared_ptr<const chat::Subject>& who) {
    auto node = room_node(read.attr_or("jid"));
    if (!node)
        return sender->deliver(Outgoing::element(
            make_error(iq, StanzaError::item_not_found, "No room you may read has that JID")));
    rooms_.mark_read(*node, chat::Actor{who, iq.attr_or("from"), {}},
                     answer<chat::Ok>(iq, sender, [iq, sender](const chat::Ok&) {
                         sender->deliver(Outgoing::element(make_iq_result(iq)));
                     }));
}

}  // namespace perch::xmpp
