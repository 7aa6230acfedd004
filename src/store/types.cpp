#include "store/types.hpp"

namespace perch::store {

std::string_view to_string(Privacy p) {
    switch (p) {
        case Privacy::open:
            return "open";
        case Privacy::closed:
            return "closed";
        case Privacy::secret:
            return "secret";
    }
    return "open";
}

std::string_view to_string(RoomType t) {
    return t == RoomType::auditorium ? "auditorium" : "normal";
}

std::optional<Privacy> parse_privacy(std::string_view s) {
    if (s == "open") return Privacy::open;
    if (s == "closed") return Privacy::closed;
    if (s == "secret") return Privacy::secret;
    return std::nullopt;
}

std::optional<RoomType> parse_room_type(std::string_view s) {
    if (s == "normal") return RoomType::normal;
    if (s == "auditorium") return RoomType::auditorium;
    return std::nullopt;
}

}  // namespace perch::store
