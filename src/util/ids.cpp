#include "util/ids.hpp"

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "util/time.hpp"

namespace perch::util {

std::string random_id() {
    std::string s = base64_encode(random_bytes(16));
    s.resize(22);  // drop the "==" padding
    for (auto& c : s) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    return s;
}

std::string ordered_id(int64_t at_us) {
    static constexpr char kSorted[] =
        "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
    static_assert(sizeof(kSorted) == 65);
    if (at_us <= 0) at_us = now_us();
    std::string s(22, '-');
    auto t = uint64_t(at_us);
    for (int i = 8; i >= 0; --i, t >>= 6) s[size_t(i)] = kSorted[t & 63];
    std::string noise = random_bytes(13);
    for (size_t i = 0; i < 13; ++i) s[9 + i] = kSorted[uint8_t(noise[i]) & 63];
    return s;
}

}  // namespace perch::util
