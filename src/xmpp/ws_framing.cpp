#include "xmpp/ws_framing.hpp"

namespace perch::xmpp {

namespace {

bool is_stanza(std::string_view name) {
    return name == "message" || name == "presence" || name == "iq";
}

// One top-level element, with xmlns='jabber:client' added to a stanza's start tag if missing.
std::string frame_of(std::string_view element, size_t start_tag_end) {
    std::string_view start_tag = element.substr(0, start_tag_end + 1);
    size_t name_end = start_tag.find_first_of(" \t\r\n/>", 1);
    std::string_view name = start_tag.substr(1, name_end - 1);
    bool declared = start_tag.find(" xmlns='") != std::string_view::npos ||
                    start_tag.find(" xmlns=\"") != std::string_view::npos;
    if (!is_stanza(name) || declared) return std::string(element);
    std::string out;
    out.reserve(element.size() + 24);
    out.append(element.substr(0, name_end));
    out += " xmlns='jabber:client'";
    out.append(element.substr(name_end));
    return out;
}

}  // namespace

std::vector<std::string> websocket_frames(std::string_view bytes) {
    std::vector<std::string> frames;
    size_t depth = 0;
    size_t start = std::string_view::npos, start_tag_end = 0;
    for (size_t i = bytes.find('<'); i != std::string_view::npos; i = bytes.find('<', i)) {
        size_t close = bytes.find('>', i);
        if (close == std::string_view::npos) break;
        bool end_tag = bytes[i + 1] == '/';
        bool declaration = bytes[i + 1] == '?';
        bool self_closing = bytes[close - 1] == '/';
        if (!declaration) {
            if (depth == 0 && !end_tag) {
                start = i;
                start_tag_end = close - i;
            }
            if (end_tag)
                depth -= depth > 0;
            else if (!self_closing)
                ++depth;
            if (depth == 0 && start != std::string_view::npos) {
                frames.push_back(frame_of(bytes.substr(start, close + 1 - start), start_tag_end));
                start = std::string_view::npos;
            }
        }
        i = close + 1;
    }
    return frames;
}

}  // namespace perch::xmpp
