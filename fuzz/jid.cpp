// JID preparation (xmpp/jid): any text. What it accepts must be stable: the prepared JID,
// written out and parsed again, is the same JID, and each profile prepares its own output to
// itself (else two spellings of one account could pass for two).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "xmpp/jid.hpp"

using namespace perch::xmpp;

namespace {
void stable(std::optional<std::string> (*prep)(std::string_view), std::string_view text,
            const char* name) {
    auto once = prep(text);
    if (!once) return;
    auto twice = prep(*once);
    if (!twice || *twice != *once) {
        std::fprintf(stderr, "%s is not stable on its own output\n", name);
        std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto jid = Jid::parse(text)) {
        auto again = Jid::parse(jid->str());
        if (!again || !(*again == *jid)) {
            std::fprintf(stderr, "JID not stable: %s\n", jid->str().c_str());
            std::abort();
        }
    }
    stable(nodeprep, text, "nodeprep");
    stable(nameprep, text, "nameprep");
    stable(resourceprep, text, "resourceprep");
    return 0;
}
