#pragma once
#include "store/sql/db.hpp"
#include "store/types.hpp"

// How records map to rows: the column lists of SELECTs and the readers that go with them.
namespace perch::store::sql {

inline constexpr const char* kUserColumns =
    "id, username, display_name, email, disabled, scram_sha1, scram_sha256, created_us, "
    "administrator";
inline constexpr const char* kCategoryColumns =
    "id, name, description, invitations, file_upload, chat_history, created_us";
inline constexpr const char* kRoomColumns =
    "id, node, name, description, category_id, privacy, type, subject, subject_nick, disabled, "
    "last_seq, created_us, invitations, addin, occupants_change_subject";
inline constexpr const char* kMessageColumns =
    "room_id, seq, stanza_id, origin_id, sender, nick, occupant_id, kind, body, payload, ts_us, "
    "removed";
User read_user(Statement& st);
AdminAccount read_admin(Statement& st);
Category read_category(Statement& st);
Room read_room(Statement& st);
Message read_message(Statement& st);

}  // namespace perch::store::sql
