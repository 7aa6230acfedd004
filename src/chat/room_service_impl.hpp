#pragma once
// The room service's own helpers, for its implementation files only.
#include <optional>
#include <type_traits>

#include "chat/room_service.hpp"

namespace perch::chat {

inline Error busy() {
    return error(Fault::busy, "Server busy, try again");
}

// The checks every management command starts with: a room one may not find answers like a
// room that does not exist.
inline std::optional<Error> manager_refusal(const Room& room, const Subject* who,
                                            const char* forbidden_text) {
    if (!who) return std::nullopt;
    if (!room.may(*who, Action::find)) return error(Fault::not_found, "No such room");
    if (!room.may(*who, Action::configure)) return error(Fault::forbidden, forbidden_text);
    return std::nullopt;
}

template <class T, class Then>
void RoomService::on_room(const std::string& node, Reply<T> reply, Then then) {
    executor_of(node).post(
        [this, node, reply = std::move(reply), then = std::move(then)]() mutable {
            // Most commands find their room loaded: no further hop.
            if (Room* room = loaded(node)) return then(*room, reply);
            with_room(node, [reply = std::move(reply), then = std::move(then)](
                                Room* room, std::optional<Error> failed) mutable {
                if (failed) return reply(std::move(*failed));
                if (!room) return reply(error(Fault::not_found, "No such room"));
                then(*room, reply);
            });
        });
}

template <class Work, class Then>
void RoomService::via_store(const std::string& node, Work work, Then then,
                            std::function<void(Error)> failed, store::StoreJobs::Lane lane) {
    PERCH_ASSERT_ON(executor_of(node));
    using Value = std::invoke_result_t<Work&, store::Store&>;
    bool queued = jobs_.submit(
        [this, node, work = std::move(work), then = std::move(then),
         failed](store::Store& s) mutable {
            std::optional<Value> value;
            std::optional<Error> err;
            try {
                value.emplace(work(s));
            } catch (const store::Conflict& e) {
                err = error(Fault::conflict, e.what());
            } catch (const std::exception& e) {
                spdlog::error("store work for room {} failed: {}", node, e.what());
                err = error(Fault::internal, "The change was not stored");
            }
            executor_of(node).post([this, node, value = std::move(value), err = std::move(err),
                                    then = std::move(then), failed = std::move(failed)]() mutable {
                if (err) return failed(std::move(*err));
                Room* room = loaded(node);
                if (!room) return failed(error(Fault::not_found, "The room is gone"));
                then(*room, std::move(*value));
            });
        },
        lane);
    if (!queued) failed(busy());
}

}  // namespace perch::chat
