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

std::optional<store::Room> MucService::visible_room(const std::string& room_jid,
                                                    const chat::Subject& who,
                                                    chat::Action action) const {
    auto jid = Jid::parse(room_jid);
    if (!jid || jid->domain() != config_.domain || jid->local().empty()) return std::nullopt;
    std::lock_guard lock(directory_mutex_);
    auto listing = directory_.find(jid->local());
    if (listing == directory_.end()) return std::nullopt;
    auto category = categories_.find(listing->second.meta.category_id);
    if (category == categories_.end() ||
        !chat::may(who, *category->second, listing->second.rules, action))
        return std::nullopt;
    return listing->second.meta;
}

bool MucService::may_read_room(const chat::Subject& who, int64_t room_id) const {
    std::lock_guard lock(directory_mutex_);
    for (const auto& [node, listing] : directory_) {
        if (listing.meta.id != room_id) continue;
        auto category = categories_.find(listing.meta.category_id);
        return category != categories_.end() &&
               chat::may(who, *category->second, listing.rules, chat::Action::read_history);
    }
    return false;
}

std::optional<StanzaError> MucService::check_direct_invitation(const chat::Subject& who,
                                                               const Jid& room) const {
    if (!visible_room(room.bare_str(), who, chat::Action::find)) return StanzaError::item_not_found;
    if (!visible_room(room.bare_str(), who, chat::Action::invite)) return StanzaError::forbidden;
    return std::nullopt;
}

std::set<std::string> MucService::rooms_in_now(const Jid& bare) {
    std::set<std::string> nodes;
    auto sessions = router_.resources(bare);
    std::lock_guard lock(occupancy_mutex_);
    for (const auto& s : sessions) {
        auto it = occupancy_.find(s->jid().str());
        if (it != occupancy_.end()) nodes.insert(it->second.begin(), it->second.end());
    }
    return nodes;
}

void MucService::on_following(const xml::Element& iq, SessionHandlePtr sender,
                              const chat::Subject& who) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) return;
    auto in_now = rooms_in_now(from->bare());
    bool queued = workers_.submit([this, iq, sender, who, in_now](store::Store& s) {
        try {
            // Followed = bookmarked: the XEP-0402 items are room JIDs.
            auto items = s.pep_items(who.user, bookmarks::kNode);
            std::vector<store::Room> rooms;
            if (items)
                for (const auto& [room_jid, payload] : *items)
                    if (auto room = visible_room(room_jid, who, chat::Action::read_history))
                        rooms.push_back(std::move(*room));
            std::vector<int64_t> ids;
            for (const auto& r : rooms) ids.push_back(r.id);
            auto activity = s.room_activity(who.user, ids, kUnreadCap);
            auto reply = make_iq_result(iq);
            auto& list = reply.add_child("following", std::string(ns::following));
            for (size_t i = 0; i < rooms.size(); ++i) {
                const auto& r = rooms[i];
                const auto& a = activity[i];
                auto& item = list.add_child("room", std::string(ns::following));
                std::string room_jid = r.node + "@" + config_.domain;
                item.set_attr("jid", room_jid);
                item.set_attr("name", r.name);
                // Whoever is in the room sees its messages as they come.
                bool present = in_now.count(r.node) > 0;
                int64_t unread = present ? 0 : a.unread;
                item.set_attr("unread", std::to_string(unread));
                if (unread >= kUnreadCap) item.set_attr("more", "true");
                if (a.newest) {
                    auto& last = item.add_child("last", std::string(ns::following));
                    last.set_attr("id", a.newest->stanza_id);
                    last.set_attr("from", room_jid + "/" + a.newest->nick);
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
                              SessionHandlePtr sender, const chat::Subject& who) {
    auto room = visible_room(read.attr_or("jid"), who, chat::Action::read_history);
    if (!room)
        return sender->deliver(Outgoing::element(
            make_error(iq, StanzaError::item_not_found, "No room you may read has that JID")));
    bool queued = workers_.submit([iq, sender, user = who.user,
                                   node = room->node](store::Store& s) {
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

void MucService::note_read(const std::string& user, int64_t room_id, int64_t seq) {
    if (seq <= 0 || user.empty()) return;
    {
        std::lock_guard lock(marks_mutex_);
        auto& mark = pending_marks_[{user, room_id}];
        mark = std::max(mark, seq);
        if (marks_flush_queued_) return;  // the queued flush will take this one too
        marks_flush_queued_ = true;
    }
    if (!workers_.submit([this](store::Store& s) { flush_read_marks(s); })) {
        std::lock_guard lock(marks_mutex_);
        marks_flush_queued_ = false;  // the next mark tries again
    }
}

void MucService::flush_read_marks(store::Store& s) {
    std::vector<store::ReadMark> marks;
    {
        std::lock_guard lock(marks_mutex_);
        for (const auto& [key, seq] : pending_marks_) marks.push_back({key.first, key.second, seq});
        pending_marks_.clear();
        marks_flush_queued_ = false;
    }
    try {
        s.mark_read(marks);
    } catch (const std::exception& e) {
        spdlog::warn("{} read marks not written: {}", marks.size(), e.what());
    }
}

}  // namespace perch::xmpp
