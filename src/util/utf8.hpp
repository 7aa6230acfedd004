#pragma once
#include <cstddef>
#include <string_view>

namespace perch::util {

// Characters (code points) in valid UTF-8, as limits on names and messages count them.
inline size_t utf8_length(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

}  // namespace perch::util
