#include "compliance/export.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "util/json.hpp"
#include "util/time.hpp"
#include "xml/serializer.hpp"

namespace perch::compliance {

namespace {

std::string attr(std::string_view value) {
    std::string out;
    xml::escape_attr(out, value);
    return out;
}

std::string detail(const store::ComplianceEvent& e, const char* key) {
    auto j = nlohmann::json::parse(e.content, nullptr, false);
    if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    return {};
}

// What a message of the export says: the text for CHAT and IM, else the event's details.
std::string content_of(const store::ComplianceEvent& e) {
    if (e.type == "CHAT" || e.type == "IM") {
        auto j = nlohmann::json::parse(e.content, nullptr, false);
        if (j.is_object() && j.contains("body") && j["body"].is_string())
            return j["body"].get<std::string>();
    }
    return e.content;
}

void message_xml(std::string& out, const char* element, const LoggedEvent& e, const XmlOptions& o,
                 const char* indent) {
    const auto& ev = e.event;
    out += std::string(indent) + "<" + element + " type='" + attr(ev.type) + "' content='" +
           attr(content_of(ev)) + "' id='" + std::to_string(e.seq) + "'>\n";
    std::string uri = ev.actor.empty() ? "" : ev.actor + "@" + o.domain;
    std::string name = ev.actor, email;
    if (o.user_details && o.user_lookup && !ev.actor.empty()) {
        if (auto u = o.user_lookup(ev.actor)) {
            if (!u->display_name.empty()) name = u->display_name;
            email = u->email;
        }
    }
    out += std::string(indent) + "  <Sender UserName='" + attr(name) + "' ID='" + attr(ev.actor) +
           "' Email='" + attr(email) + "' Uri='" + attr(uri) + "'/>\n";
    // A one-to-one message names whom it went to (the original recorded none).
    if (ev.type == "IM")
        out += std::string(indent) + "  <Recipient Uri='" + attr(detail(ev, "to")) + "'/>\n";
    out += std::string(indent) + "  <DateTimeUTC>" + util::format_timestamp(ev.ts_us) +
           "</DateTimeUTC>\n";
    out += std::string(indent) + "</" + element + ">\n";
}

}  // namespace

std::string to_xml(const std::vector<LoggedEvent>& events, const XmlOptions& o) {
    // Conversations by room, in the order each room first appears.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const LoggedEvent*>> by_room;
    for (const auto& e : events) {
        auto [it, fresh] = by_room.try_emplace(e.event.room);
        if (fresh) order.push_back(e.event.room);
        it->second.push_back(&e);
    }
    std::string out = "<?xml version='1.0' encoding='utf-8'?>\n<Conversations>\n";
    for (const auto& room : order) {
        const auto& list = by_room[room];
        out += "  <Conversation>\n";
        std::string uri = room.empty() ? o.domain : room + "@" + o.muc_domain;
        out += "    <Channel uri='" + attr(uri) + "' name='" +
               attr(room.empty() ? o.domain : room) + "'";
        if (o.room_details && !room.empty())
            out += " category='" + attr(list.front()->event.category) + "'";
        out += "/>\n";
        message_xml(out, "FirstMessage", *list.front(), o, "    ");
        out += "    <Messages>\n";
        for (const LoggedEvent* e : list) message_xml(out, "Message", *e, o, "      ");
        out += "    </Messages>\n";
        out += "    <StartTimeUTC>" + util::format_timestamp(list.front()->event.ts_us) +
               "</StartTimeUTC>\n";
        out += "    <EndTimeUTC>" + util::format_timestamp(list.back()->event.ts_us) +
               "</EndTimeUTC>\n";
        out += "  </Conversation>\n";
    }
    if (o.file_manifest) {
        out += "  <Files>\n";
        for (const auto& e : events) {
            if (e.event.type != "FILEUPLOAD") continue;
            auto j = nlohmann::json::parse(e.event.content, nullptr, false);
            auto field = [&](const char* k) {
                return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>()
                                                                          : std::string();
            };
            out += "    <File id='" + attr(field("id")) + "' name='" + attr(field("name")) +
                   "' size='" + attr(field("size")) + "' sha256='" + attr(field("sha256")) +
                   "' uploader='" + attr(e.event.actor) + "' event='" + std::to_string(e.seq) +
                   "'/>\n";
        }
        out += "  </Files>\n";
    }
    out += "</Conversations>\n";
    return out;
}

std::string to_jsonl(const std::vector<LoggedEvent>& events) {
    std::string out;
    for (const auto& e : events) {
        const auto& ev = e.event;
        // `ts_us` and `content` exactly as hashed (null: empty), so that the chain can be
        // checked from these lines alone (docs/COMPLIANCE.md, "JSON lines").
        out += "{\"seq\":" + std::to_string(e.seq) + ",\"ts_us\":" + std::to_string(ev.ts_us) +
               ",\"time\":";
        util::json_string(out, util::format_timestamp(ev.ts_us));
        for (auto [key, value] : {std::pair{"type", &ev.type},
                                  {"actor", &ev.actor},
                                  {"room", &ev.room},
                                  {"category", &ev.category}}) {
            out += ",\"" + std::string(key) + "\":";
            util::json_string(out, *value);
        }
        out += ",\"content\":" + (ev.content.empty() ? std::string("null") : ev.content);
        out += ",\"prev_hash\":\"" + e.prev_hash + "\",\"hash\":\"" + e.hash + "\"}\n";
    }
    return out;
}

void write_file(const std::string& path, const std::string& content) {
    std::string temp = path + ".partial";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) throw std::runtime_error("cannot write " + temp);
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + temp);
        }
        done += size_t(n);
    }
    bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) throw std::runtime_error("cannot sync " + temp);
    std::filesystem::rename(temp, path);
}

}  // namespace perch::compliance
