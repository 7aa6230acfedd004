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

// The length of the well-formed UTF-8 character (RFC 3629) at `s[i]`, or 0 when what is
// there is none: a stray continuation byte, an overlong form, a surrogate, something above
// U+10FFFF, or a character cut short by the end.
inline size_t utf8_char_length(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    size_t extra = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the byte after the first
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        extra = 2;
        if (c == 0xE0) low = 0xA0;   // overlong
        if (c == 0xED) high = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        extra = 3;
        if (c == 0xF0) low = 0x90;   // overlong
        if (c == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (i + extra >= s.size()) return 0;
    for (size_t k = 1; k <= extra; ++k) {
        unsigned char next = byte(i + k);
        if (k == 1 ? (next < low || next > high) : (next < 0x80 || next > 0xBF)) return 0;
    }
    return extra + 1;
}

// Whether `s` is well-formed UTF-8 throughout.
inline bool valid_utf8(std::string_view s) {
    for (size_t i = 0, n = 0; i < s.size(); i += n)
        if ((n = utf8_char_length(s, i)) == 0) return false;
    return true;
}

}  // namespace perch::util
