#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "store/types.hpp"
#include "xml/element.hpp"

// Profiles: vCard-temp (XEP-0054) with its photo (XEP-0153), kept in step with the user's PEP
// avatar (XEP-0084): a photo set in one is published in the other.
namespace perch::xmpp::vcard {

inline constexpr const char* kAvatarData = "urn:xmpp:avatar:data";
inline constexpr const char* kAvatarMetadata = "urn:xmpp:avatar:metadata";

// The card of a user who never set one: their display name from the account.
xml::Element from_account(const store::User& user);

struct Photo {
    std::string type;    // MIME type
    std::string base64;  // as carried in BINVAL and in the avatar data node
    size_t bytes = 0;
    std::string sha1;  // hex, of the bytes: the avatar's id in XEP-0084 and XEP-0153
};
// The card's photo; nullopt when it has none (or one that is not base64).
std::optional<Photo> photo_of(const xml::Element& card);
// A photo from base64 text and a type; nullopt when the text is not base64.
std::optional<Photo> make_photo(std::string type, const std::string& base64);
// Replaces the card's photo (none: removes it).
void set_photo(xml::Element& card, const std::optional<Photo>& photo);

// PEP payloads of a photo: its data item and its metadata (XEP-0084 sections 4.1, 4.2);
// the metadata without a photo says the user has none.
std::string data_payload(const Photo& photo);
std::string metadata_payload(const std::optional<Photo>& photo);
// The photo the metadata payload names, given the data payload published under its id.
std::optional<Photo> photo_from_pep(const std::string& metadata, const std::string& data);

}  // namespace perch::xmpp::vcard
