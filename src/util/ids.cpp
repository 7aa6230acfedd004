#include "util/ids.hpp"

#include "util/base64.hpp"
#include "util/crypto.hpp"

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

}  // namespace perch::util
