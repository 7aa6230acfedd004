#include "xmpp/vcard.hpp"

#include <algorithm>
#include <cctype>

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp::vcard {

namespace {
std::string attr(std::string_view value) {
    std::string out;
    xml::escape_attr(out, value);
    return out;
}
}  // namespace

xml::Element from_account(const store::User& user) {
    xml::Element card("vCard", std::string(ns::vcard));
    card.add_child("FN", std::string(ns::vcard))
        .add_text(user.display_name.empty() ? user.username : user.display_name);
    card.add_child("NICKNAME", std::string(ns::vcard)).add_text(user.username);
    return card;
}

std::optional<Photo> make_photo(std::string type, const std::string& base64) {
    std::string text;
    text.reserve(base64.size());
    for (char c : base64)
        if (!std::isspace(static_cast<unsigned char>(c))) text += c;  // BINVAL may be folded
    auto bytes = util::base64_decode(text);
    if (!bytes || bytes->empty()) return std::nullopt;
    Photo p;
    p.type = type.empty() ? "image/png" : std::move(type);
    p.base64 = std::move(text);
    p.bytes = bytes->size();
    p.sha1 = util::hex(util::digest(util::Hash::sha1, *bytes));
    return p;
}

std::optional<Photo> photo_of(const xml::Element& card) {
    const xml::Element* photo = card.child("PHOTO", ns::vcard);
    if (!photo) return std::nullopt;
    return make_photo(photo->child_text("TYPE", ns::vcard), photo->child_text("BINVAL", ns::vcard));
}

void set_photo(xml::Element& card, const std::optional<Photo>& photo) {
    card.remove_children("PHOTO", ns::vcard);
    if (!photo) return;
    auto& p = card.add_child("PHOTO", std::string(ns::vcard));
    p.add_child("TYPE", std::string(ns::vcard)).add_text(photo->type);
    p.add_child("BINVAL", std::string(ns::vcard)).add_text(photo->base64);
}

std::string data_payload(const Photo& photo) {
    return "<data xmlns='urn:xmpp:avatar:data'>" + photo.base64 + "</data>";
}

std::string metadata_payload(const std::optional<Photo>& photo) {
    if (!photo) return "<metadata xmlns='urn:xmpp:avatar:metadata'/>";
    return "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='" +
           std::to_string(photo->bytes) + "' id='" + attr(photo->sha1) + "' type='" +
           attr(photo->type) + "'/></metadata>";
}

std::optional<Photo> photo_from_pep(const std::string& metadata, const std::string& data) {
    auto meta = xml::parse_fragment(metadata);
    auto bytes = xml::parse_fragment(data);
    if (!meta || !bytes) return std::nullopt;
    const xml::Element* info = meta->child("info", kAvatarMetadata);
    if (!info || !bytes->is("data", kAvatarData)) return std::nullopt;
    auto photo = make_photo(info->attr_or("type"), bytes->text());
    if (!photo || photo->sha1 != info->attr_or("id")) return std::nullopt;
    return photo;
}

}  // namespace perch::xmpp::vcard
