#include "store/sqlite/migrations.hpp"

namespace perch::store::sqlite {
namespace {

// Migration N takes the schema from version N-1 to N. Never edit one that has shipped.
constexpr const char* kMigrations[] = {
    // 1: users, categories, rooms, messages, roster
    R"sql(
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        display_name  TEXT NOT NULL DEFAULT '',
        email         TEXT NOT NULL DEFAULT '',
        disabled      INTEGER NOT NULL DEFAULT 0,
        scram_sha1    TEXT NOT NULL,
        scram_sha256  TEXT NOT NULL,
        created_us    INTEGER NOT NULL
    );
    CREATE TABLE categories (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        description   TEXT NOT NULL DEFAULT '',
        invitations   INTEGER NOT NULL DEFAULT 1,
        file_upload   INTEGER NOT NULL DEFAULT 1,
        chat_history  INTEGER NOT NULL DEFAULT 1,
        created_us    INTEGER NOT NULL
    );
    CREATE TABLE rooms (
        id            INTEGER PRIMARY KEY,
        node          TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        description   TEXT NOT NULL DEFAULT '',
        category_id   INTEGER NOT NULL REFERENCES categories(id),
        privacy       TEXT NOT NULL DEFAULT 'open',
        type          TEXT NOT NULL DEFAULT 'normal',
        subject       TEXT NOT NULL DEFAULT '',
        subject_nick  TEXT NOT NULL DEFAULT '',
        disabled      INTEGER NOT NULL DEFAULT 0,
        last_seq      INTEGER NOT NULL DEFAULT 0,
        created_us    INTEGER NOT NULL
    );
    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        room_id       INTEGER NOT NULL REFERENCES rooms(id),
        seq           INTEGER NOT NULL,
        stanza_id     TEXT NOT NULL UNIQUE,
        origin_id     TEXT NOT NULL DEFAULT '',
        sender        TEXT NOT NULL,
        nick          TEXT NOT NULL,
        occupant_id   TEXT NOT NULL DEFAULT '',
        kind          INTEGER NOT NULL DEFAULT 0,
        body          TEXT NOT NULL,
        payload       TEXT NOT NULL DEFAULT '',
        ts_us         INTEGER NOT NULL,
        removed       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (room_id, seq)
    );
    CREATE INDEX messages_room_ts ON messages (room_id, ts_us);
    CREATE TABLE roster_items (
        username      TEXT NOT NULL,
        jid           TEXT NOT NULL,
        name          TEXT NOT NULL DEFAULT '',
        subscription  TEXT NOT NULL DEFAULT 'none',
        groups        TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (username, jid)
    ) WITHOUT ROWID;
    )sql",
    // 2: full-text index of message bodies (FTS5, kept in step by triggers)
    R"sql(
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, content = 'messages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2');
    INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages;
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END;
    CREATE INDEX messages_room_nick ON messages (room_id, nick, seq);
    )sql",
    // 3: groups, the principal lists of categories and rooms, policies, administrators
    R"sql(
    CREATE TABLE groups (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        description   TEXT NOT NULL DEFAULT '',
        created_us    INTEGER NOT NULL
    );
    CREATE TABLE group_members (
        group_id      INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        username      TEXT NOT NULL,
        PRIMARY KEY (group_id, username)
    ) WITHOUT ROWID;
    CREATE INDEX group_members_user ON group_members (username);
    CREATE TABLE category_principals (
        category_id   INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        list          TEXT NOT NULL CHECK (list IN ('allowed', 'denied', 'creator')),
        principal     TEXT NOT NULL,
        PRIMARY KEY (category_id, list, principal)
    ) WITHOUT ROWID;
    CREATE TABLE room_principals (
        room_id       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        list          TEXT NOT NULL CHECK (list IN ('member', 'manager', 'presenter')),
        principal     TEXT NOT NULL,
        PRIMARY KEY (room_id, list, principal)
    ) WITHOUT ROWID;
    CREATE TABLE policies (
        scope         TEXT NOT NULL CHECK (scope IN ('global', 'group', 'user')),
        name          TEXT NOT NULL DEFAULT '',
        chat_enabled  INTEGER NOT NULL,
        PRIMARY KEY (scope, name)
    ) WITHOUT ROWID;
    ALTER TABLE users ADD COLUMN administrator INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN invitations INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE rooms ADD COLUMN addin TEXT NOT NULL DEFAULT '';
    -- Categories made before lists existed stay usable: everybody is allowed in them.
    INSERT INTO category_principals (category_id, list, principal)
        SELECT id, 'allowed', 'everyone' FROM categories;
    )sql",
    // 4: personal eventing nodes and private XML storage
    R"sql(
    CREATE TABLE pep_nodes (
        username      TEXT NOT NULL,
        node          TEXT NOT NULL,
        PRIMARY KEY (username, node)
    ) WITHOUT ROWID;
    CREATE TABLE pep_items (
        username      TEXT NOT NULL,
        node          TEXT NOT NULL,
        item_id       TEXT NOT NULL,
        payload       TEXT NOT NULL,
        updated_us    INTEGER NOT NULL,
        PRIMARY KEY (username, node, item_id)
    ) WITHOUT ROWID;
    CREATE TABLE private_xml (
        username      TEXT NOT NULL,
        key           TEXT NOT NULL,
        xml           TEXT NOT NULL,
        PRIMARY KEY (username, key)
    ) WITHOUT ROWID;
    )sql",
    // 5: read marks of followed rooms; room names unique whatever their case; files; the
    // compliance outbox
    R"sql(
    CREATE TABLE read_marks (
        username      TEXT NOT NULL,
        room_id       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,
        PRIMARY KEY (username, room_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX rooms_name ON rooms (name COLLATE NOCASE);
    CREATE TABLE files (
        id            TEXT PRIMARY KEY,
        sha256        TEXT NOT NULL,
        size          INTEGER NOT NULL,
        content_type  TEXT NOT NULL,
        name          TEXT NOT NULL,
        owner         TEXT NOT NULL,
        created_us    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE compliance_outbox (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_us         INTEGER NOT NULL,
        type          TEXT NOT NULL,
        actor         TEXT NOT NULL,
        room          TEXT NOT NULL,
        category      TEXT NOT NULL,
        content       TEXT NOT NULL
    );
    CREATE TABLE file_rooms (
        file_id       TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        room_id       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        PRIMARY KEY (file_id, room_id)
    ) WITHOUT ROWID;
    )sql",
    // 6: the full-text index knows each message's room (a token `r<room id>`), so a search in
    // a few rooms intersects the word's and the rooms' lists inside FTS5 instead of reading
    // every match in the archive
    R"sql(
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_delete;
    DROP TRIGGER messages_fts_update;
    DROP TABLE messages_fts;
    CREATE VIEW messages_fts_source AS SELECT id, body, 'r' || room_id AS room FROM messages;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, room, content = 'messages_fts_source', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2');
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, body, room) VALUES (new.id, new.body, 'r' || new.room_id);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body, room)
            VALUES ('delete', old.id, old.body, 'r' || old.room_id);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body, room)
            VALUES ('delete', old.id, old.body, 'r' || old.room_id);
        INSERT INTO messages_fts (rowid, body, room) VALUES (new.id, new.body, 'r' || new.room_id);
    END;
    )sql",
    // 7: no per-message column sizes in the full-text index (columnsize=0): they serve only
    // bm25 ranking, which Perch never asks for, and cost a row in messages_fts_docsize per post
    R"sql(
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, room, content = 'messages_fts_source', content_rowid = 'id', columnsize = 0,
        tokenize = 'unicode61 remove_diacritics 2');
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
    )sql",
    // 8: pools (PostgreSQL only in service; the same tables here keep one schema and let the
    // store's tests run on both). See the PostgreSQL migration 2.
    R"sql(
    ALTER TABLE rooms ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE rooms ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE pool_members (
        number          INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        peer_address    TEXT NOT NULL,
        client_address  TEXT NOT NULL,
        incarnation     INTEGER NOT NULL,
        lease_until_ms  INTEGER NOT NULL
    );
    )sql",
    // 9: changes made outside the server (the command line), which a running server picks up.
    R"sql(
    CREATE TABLE change_notices (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        kind   TEXT NOT NULL,
        name   TEXT NOT NULL,
        at_us  INTEGER NOT NULL
    );
    )sql",
    // 10: each server's web address (see the PostgreSQL migration 4).
    R"sql(
    ALTER TABLE pool_members ADD COLUMN web_url TEXT NOT NULL DEFAULT '';
    )sql",
    // 11: who may change a room's subject (see the PostgreSQL migration 5).
    R"sql(
    ALTER TABLE rooms ADD COLUMN occupants_change_subject INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 12: one-to-one messages (offline storage and each user's archive), blocking, vCards,
    // and rooms' own denied lists (see the PostgreSQL migration 6). SQLite changes a CHECK
    // only by making the table again.
    R"sql(
    CREATE TABLE direct_messages (
        id          INTEGER PRIMARY KEY,
        owner       TEXT NOT NULL,
        peer        TEXT NOT NULL,
        outgoing    INTEGER NOT NULL,
        stanza_id   TEXT NOT NULL,
        ts_us       BIGINT NOT NULL,
        body        TEXT NOT NULL,
        stanza      TEXT NOT NULL,
        archived    INTEGER NOT NULL,
        pending     INTEGER NOT NULL,
        UNIQUE (owner, stanza_id)
    );
    CREATE INDEX direct_messages_owner ON direct_messages (owner, ts_us, id);
    CREATE INDEX direct_messages_peer ON direct_messages (owner, peer, ts_us, id);
    CREATE INDEX direct_messages_pending ON direct_messages (owner, ts_us, id) WHERE pending = 1;
    CREATE TABLE blocked_jids (
        username    TEXT NOT NULL,
        jid         TEXT NOT NULL,
        PRIMARY KEY (username, jid)
    ) WITHOUT ROWID;
    CREATE TABLE vcards (
        username    TEXT PRIMARY KEY,
        xml         TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE room_principals_12 (
        room_id       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        list          TEXT NOT NULL CHECK (list IN ('member', 'manager', 'presenter', 'denied')),
        principal     TEXT NOT NULL,
        PRIMARY KEY (room_id, list, principal)
    ) WITHOUT ROWID;
    INSERT INTO room_principals_12 (room_id, list, principal)
        SELECT room_id, list, principal FROM room_principals;
    DROP TABLE room_principals;
    ALTER TABLE room_principals_12 RENAME TO room_principals;
    )sql",
    // 13: accounts of the admin API (see the PostgreSQL migration 7).
    R"sql(
    CREATE TABLE admin_accounts (
        name        TEXT PRIMARY KEY,
        role        TEXT NOT NULL
                    CHECK (role IN ('administrator', 'compliance-officer', 'read-only')),
        credential  TEXT NOT NULL,
        disabled    INTEGER NOT NULL DEFAULT 0,
        created_us  INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 14: settings changed at run time, and add-ins (see the PostgreSQL migration 8).
    R"sql(
    CREATE TABLE settings (
        name        TEXT PRIMARY KEY,
        value       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE addins (
        name        TEXT PRIMARY KEY,
        url         TEXT NOT NULL,
        created_us  INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 15: the published topology, every version (see the PostgreSQL migration 9).
    R"sql(
    CREATE TABLE topology (
        version       INTEGER PRIMARY KEY,
        text          TEXT NOT NULL,
        published_us  INTEGER NOT NULL,
        published_by  TEXT NOT NULL
    );
    )sql",
    // 16: the pools' active slots and who holds them (see the PostgreSQL migration 10).
    R"sql(
    CREATE TABLE pool_slots (
        pool      TEXT NOT NULL,
        slot      TEXT NOT NULL,
        holder    TEXT NOT NULL,
        since_us  INTEGER NOT NULL,
        PRIMARY KEY (pool, slot)
    ) WITHOUT ROWID;
    CREATE TABLE pool_active_list (
        pool      TEXT NOT NULL,
        server    TEXT NOT NULL,
        PRIMARY KEY (pool, server)
    ) WITHOUT ROWID;
    )sql",
    // 17: where a member last renewed its lease (see the PostgreSQL migration 11; always ''
    // here: a pool needs PostgreSQL).
    R"sql(
    ALTER TABLE pool_members ADD COLUMN renewed_on TEXT NOT NULL DEFAULT '';
    )sql",
    // 18: the incarnation of a member that the others took for gone (its lease lapsed while it
    // ran): that incarnation renews no more (store/sql/pool.cpp, mark_gone).
    R"sql(
    ALTER TABLE pool_members ADD COLUMN gone_incarnation INTEGER NOT NULL DEFAULT 0;
    )sql",
};

}  // namespace

std::span<const char* const> migrations() {
    return kMigrations;
}

}  // namespace perch::store::sqlite
