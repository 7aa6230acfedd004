#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compliance/log.hpp"

// Export adapters: XML in the shape of the original compliance adapter (docs/COMPLIANCE.md),
// and JSON lines. Both write a whole file or nothing (a temporary name, then a rename).
namespace perch::compliance {

struct UserDetails {
    std::string display_name;
    std::string email;
};

struct XmlOptions {
    std::string domain;          // users are NAME@domain
    std::string muc_domain;      // rooms are NODE@muc_domain
    bool user_details = false;   // Sender display name and e-mail
    bool room_details = false;   // Channel category
    bool file_manifest = false;  // a manifest of the files uploaded, with their hashes
    // Looks a user up for user_details; may be empty.
    std::function<std::optional<UserDetails>(const std::string&)> user_lookup;
};

// The events as <Conversations>: one <Conversation> per room (server-wide events under the
// domain), messages in order. Returns the document.
std::string to_xml(const std::vector<LoggedEvent>& events, const XmlOptions& options);
// One JSON object per line, with the chain fields.
std::string to_jsonl(const std::vector<LoggedEvent>& events);

// Writes `content` to `path` atomically (fsync, then rename).
void write_file(const std::string& path, const std::string& content);

}  // namespace perch::compliance
