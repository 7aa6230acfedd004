// The search query language (store/search_query): any text. Its FTS5 form must always be a
// valid MATCH expression (user text never becomes FTS5 syntax), and a message whose body is
// the query itself (in ASCII) is found by it.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/search_query.hpp"
#include "util/utf8.hpp"

using namespace perch::store;

namespace {
sqlite3* database() {
    static sqlite3* db = [] {
        sqlite3* d = nullptr;
        if (sqlite3_open(":memory:", &d) != SQLITE_OK ||
            sqlite3_exec(d,
                         "CREATE VIRTUAL TABLE messages_fts USING fts5(body, room, "
                         "tokenize = 'unicode61 remove_diacritics 2')",
                         nullptr, nullptr, nullptr) != SQLITE_OK)
            std::abort();
        return d;
    }();
    return db;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    // Queries arrive as XML text or decoded from a URL: UTF-8 either way (util::url_decode
    // refuses anything else).
    if (size > 4096 || !perch::util::valid_utf8(text)) return 0;
    auto terms = parse_search(text);
    if (terms.empty()) return 0;
    sqlite3* db = database();
    sqlite3_exec(db, "DELETE FROM messages_fts", nullptr, nullptr, nullptr);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO messages_fts (rowid, body, room) VALUES (1, ?, 'r7')", -1,
                       &insert, nullptr);
    sqlite3_bind_text(insert, 1, text.data(), int(text.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) std::abort();
    sqlite3_finalize(insert);
    for (bool any : {false, true}) {
        std::string match = to_fts5(terms, any, {7, 8});
        sqlite3_stmt* query = nullptr;
        sqlite3_prepare_v2(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", -1,
                           &query, nullptr);
        sqlite3_bind_text(query, 1, match.data(), int(match.size()), SQLITE_STATIC);
        int rc = sqlite3_step(query);
        if (rc != SQLITE_ROW) {
            std::fprintf(stderr, "MATCH %s: %s\n", match.c_str(), sqlite3_errmsg(db));
            std::abort();
        }
        // Beyond ASCII the tokenizer's edges are its own (it drops combining marks, cuts at
        // Unicode separators): a query of a lone accent finds nothing, as it should.
        bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return c > 0; });
        if (ascii && sqlite3_column_int(query, 0) != 1) {
            std::fprintf(stderr, "MATCH %s does not find its own text\n", match.c_str());
            std::abort();
        }
        sqlite3_finalize(query);
    }
    return 0;
}
