#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chat/commands.hpp"
#include "chat/events.hpp"
#include "chat/result.hpp"

// The room commands, their results and the room events as JSON, for the peer links of a pool.
// Plain data both ways; a server's number (Actor::server, Occupant::server) is 0 in memory for
// "this server" and the sender's own pool number on the link: encoding and decoding translate
// within a WireScope that says which server this is.
namespace perch::pool {

using Json = nlohmann::json;

// The version of what crosses a link; servers of different versions do not link.
inline constexpr int kProtocolVersion = 1;

// Sets this server's pool number for the encoding and decoding done on this thread while it
// lives.
class WireScope {
  public:
    explicit WireScope(uint32_t self);
    ~WireScope();
    WireScope(const WireScope&) = delete;
    WireScope& operator=(const WireScope&) = delete;

  private:
    uint32_t saved_;
};

// Encoding and decoding throw nlohmann::json::exception on malformed input.
Json encode(const chat::RoomEvent& e);
chat::RoomEvent decode_event(const Json& j);
Json encode(const chat::Invitation& i);
chat::Invitation decode_invitation(const Json& j);
Json encode(const chat::Error& e);
chat::Error decode_error(const Json& j);

}  // namespace perch::pool

// ADL serializers for the domain's records (in their own namespaces, where ADL finds them).
namespace perch::chat {
void to_json(nlohmann::json& j, const Subject& s);
void from_json(const nlohmann::json& j, Subject& s);
void to_json(nlohmann::json& j, const Actor& a);
void from_json(const nlohmann::json& j, Actor& a);
void to_json(nlohmann::json& j, const Occupant& o);
void from_json(const nlohmann::json& j, Occupant& o);
void to_json(nlohmann::json& j, const RoomRules& r);
void from_json(const nlohmann::json& j, RoomRules& r);
void to_json(nlohmann::json& j, const HistoryRequest& h);
void from_json(const nlohmann::json& j, HistoryRequest& h);
void to_json(nlohmann::json& j, const Ok&);
void from_json(const nlohmann::json& j, Ok&);
// T is a type name, which parentheses would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define PERCH_WIRE(T)                            \
    void to_json(nlohmann::json& j, const T& v); \
    void from_json(const nlohmann::json& j, T& v);
// NOLINTEND(bugprone-macro-parentheses)
PERCH_WIRE(JoinCommand)
PERCH_WIRE(JoinResult)
PERCH_WIRE(LeaveCommand)
PERCH_WIRE(PostCommand)
PERCH_WIRE(Posted)
PERCH_WIRE(RelayCommand)
PERCH_WIRE(PrivateCommand)
PERCH_WIRE(SubjectCommand)
PERCH_WIRE(SettingsChange)
PERCH_WIRE(ConfigureCommand)
PERCH_WIRE(ListChange)
PERCH_WIRE(ListsCommand)
PERCH_WIRE(KickCommand)
PERCH_WIRE(ModerateCommand)
PERCH_WIRE(InviteCommand)
PERCH_WIRE(DestroyCommand)
PERCH_WIRE(ClearHistoryCommand)
PERCH_WIRE(CreateCommand)
PERCH_WIRE(ArchiveCommand)
PERCH_WIRE(RoomInfo)
#undef PERCH_WIRE
}  // namespace perch::chat

namespace perch::store {
void to_json(nlohmann::json& j, const Principal& p);
void from_json(const nlohmann::json& j, Principal& p);
void to_json(nlohmann::json& j, const Room& r);
void from_json(const nlohmann::json& j, Room& r);
void to_json(nlohmann::json& j, const Message& m);
void from_json(const nlohmann::json& j, Message& m);
void to_json(nlohmann::json& j, const ArchiveQuery& q);
void from_json(const nlohmann::json& j, ArchiveQuery& q);
void to_json(nlohmann::json& j, const ArchivePage& p);
void from_json(const nlohmann::json& j, ArchivePage& p);
}  // namespace perch::store

// std::optional as null or the value.
namespace nlohmann {
template <class T>
struct adl_serializer<std::optional<T>> {
    static void to_json(json& j, const std::optional<T>& v) {
        if (v)
            j = *v;
        else
            j = nullptr;
    }
    static void from_json(const json& j, std::optional<T>& v) {
        if (j.is_null())
            v.reset();
        else
            v = j.get<T>();
    }
};
}  // namespace nlohmann
