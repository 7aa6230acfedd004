#include "pool/codec.hpp"

// Each record as an object of its fields; a field missing on decoding keeps its default.
#define PERCH_FIELDS(T, ...)                                                                    \
    void to_json(nlohmann::json& nlohmann_json_j, const T& nlohmann_json_t) {                   \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_TO, __VA_ARGS__))                \
    }                                                                                           \
    void from_json(const nlohmann::json& nlohmann_json_j, T& nlohmann_json_t) {                 \
        const T nlohmann_json_default_obj{};                                                    \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_FROM_WITH_DEFAULT, __VA_ARGS__)) \
    }

namespace perch::pool {

namespace {
thread_local uint32_t wire_self = 0;

// In memory 0 is this server; on the link every server goes by its pool number.
uint32_t to_wire(uint32_t server) {
    return server == 0 ? wire_self : server;
}
uint32_t from_wire(uint32_t server) {
    return server == wire_self ? 0 : server;
}
}  // namespace

WireScope::WireScope(uint32_t self) : saved_(wire_self) {
    wire_self = self;
}
WireScope::~WireScope() {
    wire_self = saved_;
}

}  // namespace perch::pool

namespace perch::store {

PERCH_FIELDS(Principal, kind, name)
PERCH_FIELDS(Room, id, node, name, description, category_id, privacy, type, subject, subject_nick,
             disabled, invitations, addin, occupants_change_subject, last_seq, created_us)
PERCH_FIELDS(ArchiveQuery, room_id, room_ids, any_word, case_sensitive, start_us, end_us, with_nick,
             with_sender, text, after_id, before_id, last_page, ids, max, count_limit)
PERCH_FIELDS(ArchivePage, messages, complete, count, count_exact, first_index)

void to_json(nlohmann::json& j, const Message& m) {
    j = {{"room_id", m.room_id},
         {"stanza_id", m.stanza_id},
         {"origin_id", m.origin_id},
         {"sender", m.sender},
         {"nick", m.nick},
         {"occupant_id", m.occupant_id},
         {"kind", m.kind},
         {"body", m.body},
         {"payload", m.payload},
         {"ts_us", m.ts_us},
         {"seq", m.seq},
         {"removed", m.removed}};
}

void from_json(const nlohmann::json& j, Message& m) {
    j.at("room_id").get_to(m.room_id);
    j.at("stanza_id").get_to(m.stanza_id);
    j.at("origin_id").get_to(m.origin_id);
    j.at("sender").get_to(m.sender);
    j.at("nick").get_to(m.nick);
    j.at("occupant_id").get_to(m.occupant_id);
    j.at("kind").get_to(m.kind);
    j.at("body").get_to(m.body);
    j.at("payload").get_to(m.payload);
    j.at("ts_us").get_to(m.ts_us);
    j.at("seq").get_to(m.seq);
    j.at("removed").get_to(m.removed);
}

}  // namespace perch::store

namespace perch::chat {

PERCH_FIELDS(Subject, user, groups, administrator, chat_enabled)
PERCH_FIELDS(RoomRules, privacy, type, members, managers, presenters, disabled, invitations)
PERCH_FIELDS(HistoryRequest, max_stanzas, max_chars, since_us)

void to_json(nlohmann::json& j, const Ok&) {
    j = nlohmann::json::object();
}
void from_json(const nlohmann::json&, Ok&) {}

void to_json(nlohmann::json& j, const Actor& a) {
    j = {{"full_jid", a.full_jid}, {"server", pool::to_wire(a.server)}};
    if (a.who) j["who"] = *a.who;
}

void from_json(const nlohmann::json& j, Actor& a) {
    j.at("full_jid").get_to(a.full_jid);
    a.server = pool::from_wire(j.at("server").get<uint32_t>());
    if (auto who = j.find("who"); who != j.end())
        a.who = std::make_shared<const Subject>(who->get<Subject>());
    else
        a.who.reset();
}

void to_json(nlohmann::json& j, const Occupant& o) {
    j = {{"nick", o.nick},
         {"full_jid", o.full_jid},
         {"occupant_id", o.occupant_id},
         {"role", o.role},
         {"affiliation", o.affiliation},
         {"presence", o.presence},
         {"server", pool::to_wire(o.server)}};
    if (o.subject) j["subject"] = *o.subject;
}

void from_json(const nlohmann::json& j, Occupant& o) {
    j.at("nick").get_to(o.nick);
    j.at("full_jid").get_to(o.full_jid);
    j.at("occupant_id").get_to(o.occupant_id);
    j.at("role").get_to(o.role);
    j.at("affiliation").get_to(o.affiliation);
    j.at("presence").get_to(o.presence);
    o.server = pool::from_wire(j.at("server").get<uint32_t>());
    if (auto s = j.find("subject"); s != j.end())
        o.subject = std::make_shared<const Subject>(s->get<Subject>());
    else
        o.subject.reset();
}

PERCH_FIELDS(JoinCommand, room, actor, nick, presence, join_element, history)
PERCH_FIELDS(JoinResult, joined, self, created, large, others, history, subject, subject_nick,
             others_omitted, last_seq)
PERCH_FIELDS(LeaveCommand, room, full_jid, presence)
PERCH_FIELDS(PostCommand, room, full_jid, origin_id, kind, body, payload, files)
PERCH_FIELDS(Posted, seq, stanza_id, repeated)
PERCH_FIELDS(RelayCommand, room, full_jid, id, payload)
PERCH_FIELDS(PrivateCommand, room, full_jid, to_nick, type, id, payload)
PERCH_FIELDS(SubjectCommand, room, full_jid, subject)
PERCH_FIELDS(SettingsChange, name, description, category, privacy, type, invitations, disabled,
             occupants_change_subject, drop_outsiders)
PERCH_FIELDS(ConfigureCommand, room, actor, change)
PERCH_FIELDS(ListChange, list, principal, present, nick)
PERCH_FIELDS(ListsCommand, room, actor, changes)
PERCH_FIELDS(KickCommand, room, actor, nick, reason)
PERCH_FIELDS(ModerateCommand, room, actor, stanza_id, reason, replacement)
PERCH_FIELDS(InviteCommand, room, actor, invitee, reason)
PERCH_FIELDS(DestroyCommand, room, actor, reason)
PERCH_FIELDS(ClearHistoryCommand, room, actor, before_us)
PERCH_FIELDS(CreateCommand, actor, room, category, creator_manages)
PERCH_FIELDS(ArchiveCommand, room, actor, query)
PERCH_FIELDS(RoomInfo, meta, rules, category, occupants, may_configure, move_targets)

}  // namespace perch::chat

namespace perch::pool {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

Json encode(const chat::RoomEvent& e) {
    using namespace chat;
    Json j = std::visit(
        Overloaded{
            [](const OccupantJoined& v) -> Json {
                return {{"k", "joined"}, {"occupant", v.occupant}, {"announce", v.announce}};
            },
            [](const PresenceChanged& v) -> Json {
                return {{"k", "presence"}, {"occupant", v.occupant}, {"announce", v.announce}};
            },
            [](const NickChanged& v) -> Json {
                return {{"k", "nick"},
                        {"occupant", v.occupant},
                        {"old_nick", v.old_nick},
                        {"announce", v.announce}};
            },
            [](const OccupantLeft& v) -> Json {
                return {{"k", "left"},    {"occupant", v.occupant}, {"why", v.why},
                        {"text", v.text}, {"presence", v.presence}, {"announce", v.announce}};
            },
            [](const MessagePosted& v) -> Json {
                return {{"k", "posted"}, {"message", v.message}};
            },
            [](const MessageRelayed& v) -> Json {
                return {{"k", "relayed"},
                        {"nick", v.nick},
                        {"occupant_id", v.occupant_id},
                        {"id", v.id},
                        {"payload", v.payload}};
            },
            [](const PrivateMessage& v) -> Json {
                return {{"k", "private"},
                        {"from_nick", v.from_nick},
                        {"occupant_id", v.occupant_id},
                        {"to_nick", v.to_nick},
                        {"type", v.type},
                        {"id", v.id},
                        {"payload", v.payload},
                        {"from_jid", v.from_jid}};
            },
            [](const SubjectChanged& v) -> Json {
                return {{"k", "subject"}, {"subject", v.subject}, {"nick", v.nick}};
            },
            [](const MessageRetracted& v) -> Json {
                return {{"k", "retracted"},
                        {"message", v.message},
                        {"by_nick", v.by_nick},
                        {"reason", v.reason}};
            },
            [](const RoomChanged& v) -> Json {
                return {{"k", "changed"},
                        {"meta", v.meta},
                        {"rules", v.rules},
                        {"category", v.category}};
            },
            [](const RoomDestroyed& v) -> Json {
                return {{"k", "destroyed"}, {"reason", v.reason}};
            },
        },
        e.what);
    j["room"] = e.room;
    return j;
}

chat::RoomEvent decode_event(const Json& j) {
    using namespace chat;
    RoomEvent e;
    j.at("room").get_to(e.room);
    const std::string kind = j.at("k").get<std::string>();
    if (kind == "joined") {
        e.what = OccupantJoined{j.at("occupant").get<Occupant>(), j.at("announce").get<bool>()};
    } else if (kind == "presence") {
        e.what = PresenceChanged{j.at("occupant").get<Occupant>(), j.at("announce").get<bool>()};
    } else if (kind == "nick") {
        e.what = NickChanged{j.at("occupant").get<Occupant>(), j.at("old_nick").get<std::string>(),
                             j.at("announce").get<bool>()};
    } else if (kind == "left") {
        e.what = OccupantLeft{j.at("occupant").get<Occupant>(), j.at("why").get<Departure>(),
                              j.at("text").get<std::string>(), j.at("presence").get<std::string>(),
                              j.at("announce").get<bool>()};
    } else if (kind == "posted") {
        e.what = MessagePosted{j.at("message").get<store::Message>()};
    } else if (kind == "relayed") {
        e.what =
            MessageRelayed{j.at("nick").get<std::string>(), j.at("occupant_id").get<std::string>(),
                           j.at("id").get<std::string>(), j.at("payload").get<std::string>()};
    } else if (kind == "private") {
        e.what = PrivateMessage{
            j.at("from_nick").get<std::string>(), j.at("occupant_id").get<std::string>(),
            j.at("to_nick").get<std::string>(),   j.at("type").get<std::string>(),
            j.at("id").get<std::string>(),        j.at("payload").get<std::string>(),
            j.value("from_jid", std::string())};
    } else if (kind == "subject") {
        e.what =
            SubjectChanged{j.at("subject").get<std::string>(), j.at("nick").get<std::string>()};
    } else if (kind == "retracted") {
        e.what =
            MessageRetracted{j.at("message").get<store::Message>(),
                             j.at("by_nick").get<std::string>(), j.at("reason").get<std::string>()};
    } else if (kind == "changed") {
        e.what = RoomChanged{j.at("meta").get<store::Room>(), j.at("rules").get<RoomRules>(),
                             j.at("category").get<std::string>()};
    } else if (kind == "destroyed") {
        e.what = RoomDestroyed{j.at("reason").get<std::string>()};
    } else {
        throw Json::other_error::create(501, "unknown room event " + kind, &j);
    }
    return e;
}

Json encode(const chat::Invitation& i) {
    return {
        {"room", i.room}, {"from_jid", i.from_jid}, {"to_user", i.to_user}, {"reason", i.reason}};
}

chat::Invitation decode_invitation(const Json& j) {
    return {j.at("room").get<std::string>(), j.at("from_jid").get<std::string>(),
            j.at("to_user").get<std::string>(), j.at("reason").get<std::string>()};
}

Json encode(const chat::Error& e) {
    return {{"fault", e.fault}, {"text", e.text}};
}

chat::Error decode_error(const Json& j) {
    return {j.at("fault").get<chat::Fault>(), j.at("text").get<std::string>()};
}

}  // namespace perch::pool
