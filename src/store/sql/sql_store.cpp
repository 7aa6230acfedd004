#include "store/sql/sql_store.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <type_traits>
#include <variant>

#include "store/search_query.hpp"
#include "store/sql/access.hpp"
#include "store/sql/admins.hpp"
#include "store/sql/archive.hpp"
#include "store/sql/db.hpp"
#include "store/sql/direct.hpp"
#include "store/sql/files.hpp"
#include "store/sql/following.hpp"
#include "store/sql/messages.hpp"
#include "store/sql/outbox.hpp"
#include "store/sql/personal.hpp"
#include "store/sql/pool.hpp"
#include "store/sql/room_loads.hpp"
#include "store/sql/rows.hpp"
#include "util/time.hpp"

namespace perch::store::sql {
namespace {

bool is_constraint(const Error& e) {
    return e.constraint();
}

// The id an `INSERT ... RETURNING id` gave, or nullopt when it inserted nothing.
std::optional<int64_t> inserted_id(Statement& st) {
    std::optional<int64_t> id;
    if (st.step()) id = st.int_at(0);
    st.reset();
    return id;
}

std::string sql(std::string_view a, std::string_view b, std::string_view c = "") {
    return std::string(a) + std::string(b) + std::string(c);
}

class SqlStore final : public Store {
  public:
    SqlStore(std::unique_ptr<Connection> connection, std::span<const char* const> migrations,
             bool compliance)
        : connection_(std::move(connection)), db_(*connection_), compliance_(compliance) {
        migrate(db_, migrations);
    }

    std::optional<User> find_user(std::string_view username) override {
        return one(sql("SELECT ", kUserColumns, " FROM users WHERE username = ?"), username,
                   read_user);
    }

    // One INSERT for both the single and the bulk path; `skip_existing` turns a duplicate name
    // into "nothing inserted" instead of a constraint error. Returns the new row's id, if any.
    std::optional<int64_t> insert_user(const User& u, bool skip_existing, int64_t now) {
        auto& st = db_.prepare(
            std::string("INSERT INTO users (username, display_name, email, disabled, "
                        "scram_sha1, scram_sha256, created_us, administrator) VALUES (?, "
                        "?, ?, ?, ?, ?, ?, ?)") +
            (skip_existing ? " ON CONFLICT (username) DO NOTHING" : "") + " RETURNING id");
        st.bind(0, u.username)
            .bind(1, u.display_name)
            .bind(2, u.email)
            .bind(3, int64_t(u.disabled))
            .bind(4, u.scram_sha1)
            .bind(5, u.scram_sha256)
            .bind(6, u.created_us ? u.created_us : now)
            .bind(7, int64_t(u.administrator));
        return inserted_id(st);
    }

    int64_t add_user(const User& u) override {
        try {
            return insert_user(u, false, util::now_us()).value();
        } catch (const Error& e) {
            if (is_constraint(e)) throw Conflict("user " + u.username + " already exists");
            throw;
        }
    }

    size_t add_users(const std::vector<User>& users) override {
        Transaction tx(db_);
        size_t added = 0;
        int64_t now = util::now_us();
        for (const auto& u : users) added += insert_user(u, true, now).has_value();
        tx.commit();
        return added;
    }

    void update_user(const User& u) override {
        db_.prepare(
               "UPDATE users SET display_name = ?, email = ?, disabled = ?, scram_sha1 = ?, "
               "scram_sha256 = ?, administrator = ? WHERE id = ?")
            .bind(0, u.display_name)
            .bind(1, u.email)
            .bind(2, int64_t(u.disabled))
            .bind(3, u.scram_sha1)
            .bind(4, u.scram_sha256)
            .bind(5, int64_t(u.administrator))
            .bind(6, u.id)
            .run();
    }

    std::vector<User> list_users() override {
        return all(sql("SELECT ", kUserColumns, " FROM users ORDER BY username"), read_user);
    }

    void backup_to(const std::string& path) override { sql::backup_to(db_, path); }

    std::optional<AdminAccount> find_admin(std::string_view name) override {
        return admins::find(db_, name);
    }
    std::vector<AdminAccount> list_admins() override { return admins::list(db_); }
    void add_admin(const AdminAccount& a) override { admins::add(db_, a); }
    void update_admin(const AdminAccount& a) override { admins::update(db_, a); }
    bool remove_admin(std::string_view name) override { return admins::remove(db_, name); }
    std::map<std::string, std::string> stored_settings() override { return admins::settings(db_); }
    void store_setting(std::string_view name, const std::optional<std::string>& value) override {
        admins::store_setting(db_, name, value);
    }
    std::vector<Addin> list_addins() override { return admins::addins(db_); }
    void put_addin(const Addin& addin) override { admins::put_addin(db_, addin); }
    bool remove_addin(std::string_view name) override { return admins::remove_addin(db_, name); }

    int64_t add_category(const Category& c) override {
        try {
            auto& st = db_.prepare(
                "INSERT INTO categories (name, description, invitations, file_upload, "
                "chat_history, created_us) VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
            st.bind(0, c.name)
                .bind(1, c.description)
                .bind(2, int64_t(c.invitations))
                .bind(3, int64_t(c.file_upload))
                .bind(4, int64_t(c.chat_history))
                .bind(5, c.created_us ? c.created_us : util::now_us());
            return inserted_id(st).value();
        } catch (const Error& e) {
            if (is_constraint(e)) throw Conflict("category " + c.name + " already exists");
            throw;
        }
    }

    void update_category(const Category& c) override {
        db_.prepare(
               "UPDATE categories SET description = ?, invitations = ?, file_upload = ?, "
               "chat_history = ? WHERE id = ?")
            .bind(0, c.description)
            .bind(1, int64_t(c.invitations))
            .bind(2, int64_t(c.file_upload))
            .bind(3, int64_t(c.chat_history))
            .bind(4, c.id)
            .run();
    }

    void delete_category(int64_t id) override {
        Transaction tx(db_);
        db_.prepare("DELETE FROM category_principals WHERE category_id = ?").bind(0, id).run();
        db_.prepare("DELETE FROM categories WHERE id = ?").bind(0, id).run();
        tx.commit();
    }

    std::optional<Category> find_category(std::string_view name) override {
        return one(sql("SELECT ", kCategoryColumns, " FROM categories WHERE name = ?"), name,
                   read_category);
    }

    std::vector<Category> list_categories() override {
        return all(sql("SELECT ", kCategoryColumns, " FROM categories ORDER BY name"),
                   read_category);
    }

    std::optional<int64_t> insert_room(const Room& r, bool skip_existing, int64_t now) {
        auto& st = db_.prepare(
            std::string("INSERT INTO rooms (node, name, description, category_id, privacy, "
                        "type, subject, subject_nick, disabled, created_us, invitations, "
                        "addin, occupants_change_subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?)") +
            (skip_existing ? " ON CONFLICT (node) DO NOTHING" : "") + " RETURNING id");
        st.bind(0, r.node)
            .bind(1, r.name.empty() ? r.node : r.name)
            .bind(2, r.description)
            .bind(3, r.category_id)
            .bind(4, to_string(r.privacy))
            .bind(5, to_string(r.type))
            .bind(6, r.subject)
            .bind(7, r.subject_nick)
            .bind(8, int64_t(r.disabled))
            .bind(9, r.created_us ? r.created_us : now)
            .bind(10, int64_t(r.invitations))
            .bind(11, r.addin)
            .bind(12, int64_t(r.occupants_change_subject));
        return inserted_id(st);
    }

    int64_t add_room(const Room& r) override {
        try {
            return insert_room(r, false, util::now_us()).value();
        } catch (const Error& e) {
            if (is_constraint(e))
                throw Conflict("room " + r.node + " already exists or its category does not");
            throw;
        }
    }

    size_t add_rooms(const std::vector<Room>& rooms) override {
        Transaction tx(db_);
        size_t added = 0;
        int64_t now = util::now_us();
        for (const auto& r : rooms) added += insert_room(r, true, now).has_value();
        tx.commit();
        return added;
    }

    std::optional<Room> find_room(std::string_view node) override {
        return one(sql("SELECT ", kRoomColumns, " FROM rooms WHERE node = ?"), node, read_room);
    }

    std::vector<Room> find_rooms(const std::vector<std::string>& nodes) override {
        return room_loads::find(db_, nodes);
    }

    std::vector<ServedRoom> rooms_to_serve(const std::vector<int64_t>& room_ids,
                                           int history) override {
        return room_loads::to_serve(db_, room_ids, history);
    }

    std::vector<Room> list_rooms() override {
        return all(sql("SELECT ", kRoomColumns, " FROM rooms ORDER BY node"), read_room);
    }

    void update_room(const Room& r) override {
        try {
            db_.prepare(
                   "UPDATE rooms SET name = ?, description = ?, privacy = ?, type = ?, disabled = "
                   "?, invitations = ?, addin = ?, category_id = ?, occupants_change_subject = ? "
                   "WHERE id = ?")
                .bind(0, r.name)
                .bind(1, r.description)
                .bind(2, to_string(r.privacy))
                .bind(3, to_string(r.type))
                .bind(4, int64_t(r.disabled))
                .bind(5, int64_t(r.invitations))
                .bind(6, r.addin)
                .bind(7, r.category_id)
                .bind(8, int64_t(r.occupants_change_subject))
                .bind(9, r.id)
                .run();
        } catch (const Error& e) {
            if (is_constraint(e))
                throw Conflict("a room named " + r.name +
                               " already exists, or its category does not");
            throw;
        }
    }

    void set_room_subject(int64_t room_id, const std::string& subject,
                          const std::string& nick) override {
        db_.prepare("UPDATE rooms SET subject = ?, subject_nick = ? WHERE id = ?")
            .bind(0, subject)
            .bind(1, nick)
            .bind(2, room_id)
            .run();
    }

    std::vector<Message> append_messages(std::vector<NewMessage>&& batch) override {
        return messages::append(db_, std::move(batch), compliance_);
    }

    std::vector<int64_t> stored_seqs(const std::vector<NewMessage>& batch) override {
        return messages::stored_seqs(db_, batch);
    }

    // Walks the room's sequence index backwards and stops after `limit` rows; the unary `+`
    // keeps the planner off the (room, time) index, which would sort all the room's messages.
    std::vector<Message> recent_messages(int64_t room_id, int limit, int64_t since_us) override {
        auto& st = db_.prepare(sql("SELECT ", kMessageColumns,
                                   " FROM messages WHERE room_id = ? AND +ts_us >= ? "
                                   "ORDER BY seq DESC LIMIT ?"));
        st.bind(0, room_id).bind(1, since_us).bind(2, int64_t(limit));
        std::vector<Message> out;
        while (st.step()) out.push_back(read_message(st));
        std::reverse(out.begin(), out.end());
        return out;
    }

    std::vector<Message> messages_between(int64_t room_id, int64_t after_seq, int64_t up_to_seq,
                                          int limit) override {
        return messages::between(db_, room_id, after_seq, up_to_seq, limit);
    }

    int64_t count_messages(int64_t room_id) override {
        auto& st = db_.prepare("SELECT count(*) FROM messages WHERE room_id = ?");
        st.bind(0, room_id);
        int64_t n = st.step() ? st.int_at(0) : 0;
        st.reset();
        return n;
    }

    void with_events(std::vector<ComplianceEvent> events,
                     const std::function<void()>& work) override {
        Transaction tx(db_);
        work();
        if (compliance_) outbox::insert(db_, events);
        tx.commit();
    }

    std::vector<ComplianceEvent> outbox(int limit) override { return outbox::oldest(db_, limit); }
    void outbox_done(int64_t up_to_id) override { outbox::forget_up_to(db_, up_to_id); }

    void add_file(const FileRecord& f) override { files::add(db_, f); }
    std::optional<FileRecord> find_file(std::string_view id) override {
        return files::find(db_, id);
    }
    void attach_file(std::string_view id, int64_t room_id) override {
        files::attach(db_, id, room_id);
    }
    std::vector<int64_t> file_rooms(std::string_view id) override {
        return files::rooms_of(db_, id);
    }
    std::vector<FileRecord> list_files() override { return files::list(db_); }

    std::vector<PolicyEntry> list_policies() override { return access::list_policies(db_); }

    std::vector<std::pair<int64_t, Message>> messages_in_order(int64_t after, int limit) override {
        auto& st = db_.prepare(
            sql("SELECT ", kMessageColumns, ", id FROM messages WHERE id > ? ORDER BY id LIMIT ?"));
        st.bind(0, after).bind(1, int64_t(limit));
        std::vector<std::pair<int64_t, Message>> out;
        while (st.step()) out.emplace_back(st.int_at(12), read_message(st));
        return out;
    }

    void import_messages(const std::vector<Message>& messages) override {
        Transaction tx(db_);
        std::map<int64_t, int64_t> last;
        for (const auto& m : messages) last[m.room_id] = std::max(last[m.room_id], m.seq);
        messages::insert(db_, messages);
        for (auto [room, seq] : last)
            db_.prepare(
                   "UPDATE rooms SET last_seq = CASE WHEN ? > last_seq THEN ? ELSE last_seq END "
                   "WHERE id = ?")
                .bind(0, seq)
                .bind(1, seq)
                .bind(2, room)
                .run();
        tx.commit();
    }

    std::vector<std::string> pep_nodes(std::string_view username) override {
        return personal::nodes(db_, username);
    }
    std::vector<std::pair<std::string, std::string>> private_entries(
        std::string_view username) override {
        return personal::private_entries(db_, username);
    }

    std::vector<ReadMark> list_read_marks() override { return following::all_marks(db_); }
    void analyze() override { db_.exec("ANALYZE"); }
    void mark_read(const std::vector<ReadMark>& marks) override {
        following::mark_read(db_, marks);
    }
    std::vector<RoomActivity> room_activity(std::string_view username,
                                            const std::vector<int64_t>& room_ids,
                                            int64_t cap) override {
        return following::activity(db_, username, room_ids, cap);
    }

    std::optional<Message> remove_message(int64_t room_id, std::string_view stanza_id,
                                          const std::string& notice,
                                          const std::string& payload) override {
        db_.prepare(
               "UPDATE messages SET removed = 1, body = ?, payload = ? WHERE room_id = ? AND "
               "stanza_id = ?")
            .bind(0, notice)
            .bind(1, payload)
            .bind(2, room_id)
            .bind(3, stanza_id)
            .run();
        if (db_.changes() == 0) return std::nullopt;
        auto& st = db_.prepare(std::string("SELECT ") + kMessageColumns +
                               " FROM messages WHERE room_id = ? AND stanza_id = ?");
        st.bind(0, room_id).bind(1, stanza_id);
        std::optional<Message> m;
        if (st.step()) m = read_message(st);
        st.reset();
        return m;
    }

    void delete_room(int64_t room_id) override {
        Transaction tx(db_);
        for (const char* sql :
             {"DELETE FROM messages WHERE room_id = ?",
              "DELETE FROM room_principals WHERE room_id = ?",
              "DELETE FROM read_marks WHERE room_id = ?",
              "DELETE FROM file_rooms WHERE room_id = ?", "DELETE FROM rooms WHERE id = ?"})
            db_.prepare(sql).bind(0, room_id).run();
        tx.commit();
    }

    int64_t clear_history(int64_t room_id, int64_t before_us) override {
        db_.prepare("DELETE FROM messages WHERE room_id = ? AND ts_us < ?")
            .bind(0, room_id)
            .bind(1, before_us)
            .run();
        return db_.changes();
    }

    int64_t purge_before(int64_t before_us) override {
        Transaction tx(db_);
        auto& rooms = db_.prepare(
            "SELECT r.id, r.node, c.name FROM rooms r JOIN categories c ON c.id = r.category_id "
            "WHERE EXISTS (SELECT 1 FROM messages m WHERE m.room_id = r.id AND m.ts_us < ?)");
        rooms.bind(0, before_us);
        std::vector<std::tuple<int64_t, std::string, std::string>> found;
        while (rooms.step())
            found.emplace_back(rooms.int_at(0), rooms.text_at(1), rooms.text_at(2));
        int64_t total = 0;
        std::vector<ComplianceEvent> events;
        for (const auto& [id, node, category] : found) {
            int64_t n = clear_history(id, before_us);
            total += n;
            events.push_back(make_event("CLEARHISTORY", {}, node, category,
                                        {{"before", util::format_timestamp(before_us)},
                                         {"messages", std::to_string(n)},
                                         {"by", "retention"}}));
        }
        if (compliance_) outbox::insert(db_, events);
        direct::purge_before(db_, before_us);
        tx.commit();
        return total;
    }

    ArchivePage query_archive(const ArchiveQuery& q) override { return sql::query_archive(db_, q); }

    int64_t add_group(const Group& g) override { return access::add_group(db_, g); }
    std::vector<Group> list_groups() override { return access::list_groups(db_); }
    void set_group_member(std::string_view group, std::string_view username, bool member) override {
        access::set_group_member(db_, group, username, member);
    }
    std::vector<std::string> group_members(std::string_view group) override {
        return access::group_members(db_, group);
    }
    std::vector<std::string> groups_of(std::string_view username) override {
        return access::groups_of(db_, username);
    }

    void set_category_principal(int64_t category_id, CategoryList list, const Principal& p,
                                bool present) override {
        access::set_principal(db_, "category_principals", "category_id", category_id,
                              to_string(list), p, present);
    }

    std::vector<std::pair<CategoryList, Principal>> category_principals(
        int64_t category_id) override {
        std::vector<std::pair<CategoryList, Principal>> out;
        for (auto& [list, p] :
             access::principals(db_, "category_principals", "category_id", category_id))
            if (auto l = parse_category_list(list)) out.emplace_back(*l, std::move(p));
        return out;
    }

    void set_room_principal(int64_t room_id, RoomList list, const Principal& p,
                            bool present) override {
        access::set_principal(db_, "room_principals", "room_id", room_id, to_string(list), p,
                              present);
    }

    std::vector<std::pair<RoomList, Principal>> room_principals(int64_t room_id) override {
        std::vector<std::pair<RoomList, Principal>> out;
        for (auto& [list, p] : access::principals(db_, "room_principals", "room_id", room_id))
            if (auto l = parse_room_list(list)) out.emplace_back(*l, std::move(p));
        return out;
    }

    void set_policy(std::string_view scope, std::string_view name,
                    std::optional<bool> enabled) override {
        access::set_policy(db_, scope, name, enabled);
    }
    PolicySettings policy_for(std::string_view username) override {
        return access::policy_for(db_, username);
    }

    void put_pep_item(std::string_view username, std::string_view node, std::string_view item_id,
                      const std::string& payload) override {
        personal::put_item(db_, username, node, item_id, payload);
    }
    bool remove_pep_item(std::string_view username, std::string_view node,
                         std::string_view item_id) override {
        return personal::remove_item(db_, username, node, item_id);
    }
    std::optional<std::vector<std::pair<std::string, std::string>>> pep_items(
        std::string_view username, std::string_view node) override {
        return personal::items(db_, username, node);
    }
    std::optional<std::string> private_xml(std::string_view username,
                                           std::string_view key) override {
        return personal::private_xml(db_, username, key);
    }
    void set_private_xml(std::string_view username, std::string_view key,
                         const std::string& xml) override {
        personal::set_private_xml(db_, username, key, xml);
    }
    int64_t personal_size(std::string_view username, const PersonalEntry& replaced) override {
        return personal::size_but(db_, username, replaced);
    }

    void add_direct(const std::vector<DirectMessage>& copies,
                    std::vector<ComplianceEvent> events) override {
        Transaction tx(db_);
        direct::add(db_, copies);
        if (compliance_) outbox::insert(db_, events);
        tx.commit();
    }
    int64_t count_pending(std::string_view owner) override {
        return direct::count_pending(db_, owner);
    }
    std::vector<DirectMessage> take_pending(std::string_view owner, int limit) override {
        return direct::take_pending(db_, owner, limit);
    }
    void keep_undelivered(const std::vector<DirectMessage>& copies) override {
        direct::keep_undelivered(db_, copies);
    }
    DirectPage query_direct(std::string_view owner, const ArchiveQuery& query) override {
        return direct::query(db_, owner, query);
    }
    std::vector<DirectMessage> direct_in_order(int64_t after, int limit) override {
        return direct::in_order(db_, after, limit);
    }
    std::vector<std::string> blocked(std::string_view username) override {
        return direct::blocked(db_, username);
    }
    void set_blocked(std::string_view username, const std::vector<std::string>& jids,
                     bool block) override {
        direct::set_blocked(db_, username, jids, block);
    }
    void unblock_all(std::string_view username) override { direct::unblock_all(db_, username); }
    std::vector<std::pair<std::string, std::string>> all_blocked() override {
        return direct::all_blocked(db_);
    }
    std::optional<std::string> vcard(std::string_view username) override {
        return direct::vcard(db_, username);
    }
    void set_vcard(std::string_view username, const std::string& xml) override {
        direct::set_vcard(db_, username, xml);
    }

    void note_change(std::string_view kind, std::string_view name) override {
        pool::note_change(db_, kind, name);
    }
    std::vector<ChangeNotice> changes_after(int64_t id, int limit) override {
        return pool::changes_after(db_, id, limit);
    }
    int64_t last_change() override { return pool::last_change(db_); }

    uint32_t join_pool(const PoolMember& me, int64_t lease_ms) override {
        return pool::join(db_, me, lease_ms);
    }
    std::vector<PoolMember> renew_lease(const PoolMember& me, int64_t lease_ms) override {
        return pool::renew(db_, me, lease_ms);
    }
    bool end_lease_if_gone(uint32_t number) override { return pool::end_if_gone(db_, number); }
    void leave_pool(const PoolMember& me) override { pool::leave(db_, me); }
    void mark_gone(const PoolMember& m) override { pool::mark_gone(db_, m); }
    std::vector<std::pair<PoolMember, bool>> pool_members() override { return pool::members(db_); }
    int64_t publish_topology(const std::string& text, const std::string& by) override {
        return pool::publish_topology(db_, text, by);
    }
    std::optional<PublishedTopology> published_topology() override {
        return pool::published_topology(db_);
    }
    void sync_slots(const std::string& pool_name, const std::vector<std::string>& active) override {
        pool::sync_slots(db_, pool_name, active);
    }
    std::vector<PoolSlot> pool_slots() override { return pool::slots(db_); }
    std::optional<std::string> take_slot(const std::string& pool_name, const std::string& me,
                                         int64_t down_ms) override {
        return pool::take_slot(db_, pool_name, me, down_ms);
    }
    void set_active_list(const std::string& pool_name,
                         const std::vector<std::string>& servers) override {
        pool::set_active_list(db_, pool_name, servers);
    }
    std::vector<std::string> active_list(const std::string& pool_name) override {
        return pool::active_list(db_, pool_name);
    }
    bool assign_slot(const std::string& pool_name, const std::string& slot, const std::string& from,
                     const std::string& holder) override {
        return pool::assign_slot(db_, pool_name, slot, from, holder);
    }
    std::optional<int64_t> claim_room(int64_t room_id, const std::string& server) override {
        return pool::claim_room(db_, room_id, server);
    }
    std::map<int64_t, int64_t> claim_rooms(const std::vector<int64_t>& room_ids,
                                           const std::string& server) override {
        return pool::claim_rooms(db_, room_ids, server);
    }
    void release_room(int64_t room_id, const std::string& server, int64_t epoch) override {
        pool::release_room(db_, room_id, server, epoch);
    }
    bool lead(const std::string& role) override { return pool::lead(db_, role, leading_[role]); }

    std::vector<RosterItem> roster(std::string_view username) override {
        return personal::roster(db_, username);
    }
    void set_roster_item(std::string_view username, const RosterItem& item) override {
        personal::set_roster_item(db_, username, item);
    }
    void remove_roster_item(std::string_view username, std::string_view jid) override {
        personal::remove_roster_item(db_, username, jid);
    }

  private:
    // The record a one-key SELECT finds, if any; and every record a SELECT returns.
    template <typename Read, typename T = std::invoke_result_t<Read, Statement&>>
    std::optional<T> one(const std::string& query, std::string_view key, Read read) {
        auto& st = db_.prepare(query);
        st.bind(0, key);
        std::optional<T> out;
        if (st.step()) out = read(st);
        st.reset();
        return out;
    }
    template <typename Read, typename T = std::invoke_result_t<Read, Statement&>>
    std::vector<T> all(const std::string& query, Read read) {
        auto& st = db_.prepare(query);
        std::vector<T> out;
        while (st.step()) out.push_back(read(st));
        return out;
    }

    std::unique_ptr<Connection> connection_;
    Connection& db_;
    bool compliance_;
    std::map<std::string, bool> leading_;
};

}  // namespace

std::unique_ptr<Store> make_store(std::unique_ptr<Connection> connection,
                                  std::span<const char* const> migrations, bool compliance) {
    return std::make_unique<SqlStore>(std::move(connection), migrations, compliance);
}

}  // namespace perch::store::sql
