#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace perch::xmpp {

// A JID normalised with stringprep (nodeprep, nameprep, resourceprep; RFC 6122 rules as
// libidn implements them). Only parse() makes one from untrusted text.
class Jid {
  public:
    Jid() = default;
    static std::optional<Jid> parse(std::string_view text);
    // For parts already known to be valid and normalised (e.g. built by the server).
    static Jid make(std::string local, std::string domain, std::string resource = {});

    const std::string& local() const { return local_; }
    const std::string& domain() const { return domain_; }
    const std::string& resource() const { return resource_; }
    bool empty() const { return domain_.empty(); }
    bool is_bare() const { return resource_.empty(); }

    Jid bare() const { return make(local_, domain_); }
    Jid with_resource(std::string resource) const {
        return make(local_, domain_, std::move(resource));
    }
    std::string str() const;
    std::string bare_str() const;

    friend bool operator==(const Jid&, const Jid&) = default;

  private:
    std::string local_, domain_, resource_;
};

// Each returns the prepared string, or nullopt when the input is not allowed in that part.
std::optional<std::string> nodeprep(std::string_view s);
std::optional<std::string> nameprep(std::string_view s);
std::optional<std::string> resourceprep(std::string_view s);

}  // namespace perch::xmpp
