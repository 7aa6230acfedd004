#include "store/sql/rows.hpp"

namespace perch::store::sql {

User read_user(Statement& st) {
    User u;
    u.id = st.int_at(0);
    u.username = st.text_at(1);
    u.display_name = st.text_at(2);
    u.email = st.text_at(3);
    u.disabled = st.int_at(4) != 0;
    u.scram_sha1 = st.text_at(5);
    u.scram_sha256 = st.text_at(6);
    u.created_us = st.int_at(7);
    u.administrator = st.int_at(8) != 0;
    return u;
}

AdminAccount read_admin(Statement& st) {
    AdminAccount a;
    a.name = st.text_at(0);
    a.role = parse_admin_role(st.text_at(1)).value_or(AdminRole::read_only);
    a.credential = st.text_at(2);
    a.disabled = st.int_at(3) != 0;
    a.created_us = st.int_at(4);
    return a;
}

Category read_category(Statement& st) {
    Category c;
    c.id = st.int_at(0);
    c.name = st.text_at(1);
    c.description = st.text_at(2);
    c.invitations = st.int_at(3) != 0;
    c.file_upload = st.int_at(4) != 0;
    c.chat_history = st.int_at(5) != 0;
    c.created_us = st.int_at(6);
    return c;
}

Room read_room(Statement& st) {
    Room r;
    r.id = st.int_at(0);
    r.node = st.text_at(1);
    r.name = st.text_at(2);
    r.description = st.text_at(3);
    r.category_id = st.int_at(4);
    r.privacy = parse_privacy(st.text_at(5)).value_or(Privacy::open);
    r.type = parse_room_type(st.text_at(6)).value_or(RoomType::normal);
    r.subject = st.text_at(7);
    r.subject_nick = st.text_at(8);
    r.disabled = st.int_at(9) != 0;
    r.last_seq = st.int_at(10);
    r.created_us = st.int_at(11);
    r.invitations = st.int_at(12) != 0;
    r.addin = st.text_at(13);
    r.occupants_change_subject = st.int_at(14) != 0;
    return r;
}

Message read_message(Statement& st) {
    Message m;
    m.room_id = st.int_at(0);
    m.seq = st.int_at(1);
    m.stanza_id = st.text_at(2);
    m.origin_id = st.text_at(3);
    m.sender = st.text_at(4);
    m.nick = st.text_at(5);
    m.occupant_id = st.text_at(6);
    m.kind = MessageKind(st.int_at(7));
    m.body = st.text_at(8);
    m.payload = st.text_at(9);
    m.ts_us = st.int_at(10);
    m.removed = st.int_at(11) != 0;
    return m;
}

}  // namespace perch::store::sql
