#include "chat/nicknames.hpp"

#include <cstdint>

namespace perch::chat {

namespace {

// Decodes one code point at `i` (valid UTF-8 assumed; a stray byte stands for itself).
char32_t next_code_point(std::string_view s, size_t& i) {
    auto byte = [&](size_t k) { return char32_t(uint8_t(s[k])); };
    char32_t c = byte(i);
    size_t extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra && i + extra >= s.size()) extra = 0;
    if (extra) c &= 0x3F >> extra;
    for (size_t k = 1; k <= extra; ++k) c = (c << 6) | (byte(i + k) & 0x3F);
    i += 1 + extra;
    return c;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

char32_t fold_case(char32_t c) {
    if (c >= 0xFF01 && c <= 0xFF5E) c = c - 0xFF01 + 0x21;  // fullwidth ASCII
    if (c >= 'A' && c <= 'Z') return c + 0x20;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;     // Latin-1
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;  // Greek
    if (c >= 0x410 && c <= 0x42F) return c + 0x20;                // Cyrillic
    if (c >= 0x400 && c <= 0x40F) return c + 0x50;
    return c;
}

// Letters of other scripts drawn like Latin ones, and the usual digit and symbol stand-ins.
char32_t latin_look_alike(char32_t c) {
    switch (c) {
        case 0x430:
            return 'a';  // Cyrillic а
        case 0x435:
            return 'e';  // е
        case 0x43E:
            return 'o';  // о
        case 0x440:
            return 'p';  // р
        case 0x441:
            return 'c';  // с
        case 0x443:
            return 'y';  // у
        case 0x445:
            return 'x';  // х
        case 0x456:
            return 'l';  // і (then like i)
        case 0x458:
            return 'j';  // ј
        case 0x455:
            return 's';  // ѕ
        case 0x4BB:
            return 'h';  // һ
        case 0x4CF:
            return 'l';  // ӏ
        case 0x501:
            return 'd';  // ԁ
        case 0x3B1:
            return 'a';  // Greek α
        case 0x3BF:
            return 'o';  // ο
        case 0x3C1:
            return 'p';  // ρ
        case 0x3BD:
            return 'v';  // ν
        case 0x3B9:
            return 'l';  // ι (then like i)
        case 0x3BA:
            return 'k';  // κ
        case 0x3C5:
            return 'u';  // υ
        case 0x3C7:
            return 'x';  // χ
        case '0':
            return 'o';
        case '1':
        case 'i':
        case '|':
            return 'l';
        default:
            return c;
    }
}

bool invisible(char32_t c) {
    return c == 0xAD || (c >= 0x200B && c <= 0x200F) || c == 0x2060 || c == 0xFEFF;
}

}  // namespace

std::string nick_skeleton(std::string_view nick) {
    std::string out;
    out.reserve(nick.size());
    for (size_t i = 0; i < nick.size();) {
        char32_t c = next_code_point(nick, i);
        if (invisible(c)) continue;
        append_utf8(out, latin_look_alike(fold_case(c)));
    }
    return out;
}

}  // namespace perch::chat
