#include "xmpp/jid.hpp"

#include <stringprep.h>

#include <vector>

namespace perch::xmpp {
namespace {

constexpr size_t kMaxPart = 1023;

std::optional<std::string> prep(std::string_view in, const Stringprep_profile* profile) {
    if (in.empty() || in.size() > kMaxPart) return std::nullopt;
    // stringprep reads a C string: a NUL would end the name there ("alice\0x" as "alice").
    // No profile allows one (U+0000 is a control character), so refuse it here.
    if (in.find('\0') != std::string_view::npos) return std::nullopt;
    // stringprep works in place and may grow the string; give it room.
    std::vector<char> buf(kMaxPart * 4 + 1, '\0');
    std::copy(in.begin(), in.end(), buf.begin());
    if (stringprep(buf.data(), buf.size(), Stringprep_profile_flags(0), profile) != STRINGPREP_OK)
        return std::nullopt;
    std::string out(buf.data());
    if (out.empty() || out.size() > kMaxPart) return std::nullopt;
    return out;
}

}  // namespace

std::optional<std::string> nodeprep(std::string_view s) {
    return prep(s, stringprep_xmpp_nodeprep);
}
std::optional<std::string> nameprep(std::string_view s) {
    return prep(s, stringprep_nameprep);
}
std::optional<std::string> resourceprep(std::string_view s) {
    return prep(s, stringprep_xmpp_resourceprep);
}

std::optional<Jid> Jid::parse(std::string_view text) {
    // localpart@domainpart/resourcepart; the resource may contain '@' and '/'.
    std::string_view rest = text;
    std::string_view resource;
    bool has_resource = false;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        resource = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
        has_resource = true;
    }
    std::string_view local;
    bool has_local = false;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        local = rest.substr(0, at);
        rest = rest.substr(at + 1);
        has_local = true;
    }
    if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);  // FQDN form
    Jid j;
    auto domain = nameprep(rest);
    // No empty label: written out and read again, the JID must be the same one.
    if (!domain || domain->front() == '.' || domain->back() == '.' ||
        domain->find("..") != std::string::npos)
        return std::nullopt;
    j.domain_ = std::move(*domain);
    if (has_local) {
        auto l = nodeprep(local);
        if (!l) return std::nullopt;
        j.local_ = std::move(*l);
    }
    if (has_resource) {
        auto r = resourceprep(resource);
        if (!r) return std::nullopt;
        j.resource_ = std::move(*r);
    }
    return j;
}

Jid Jid::make(std::string local, std::string domain, std::string resource) {
    Jid j;
    j.local_ = std::move(local);
    j.domain_ = std::move(domain);
    j.resource_ = std::move(resource);
    return j;
}

std::string Jid::bare_str() const {
    if (local_.empty()) return domain_;
    std::string out;
    out.reserve(local_.size() + 1 + domain_.size());
    out += local_;
    out += '@';
    out += domain_;
    return out;
}

std::string Jid::str() const {
    std::string out = bare_str();
    if (!resource_.empty()) {
        out += '/';
        out += resource_;
    }
    return out;
}

}  // namespace perch::xmpp
