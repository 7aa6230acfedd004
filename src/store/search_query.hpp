#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// The full-text query language shared by every back end: words are all required, a "quoted
// phrase" must appear as written, matching ignores case and accents. Each back end turns the
// parsed form into its own syntax (SQLite FTS5 MATCH, PostgreSQL tsquery), so the same text
// finds the same messages everywhere.
namespace perch::store {

struct SearchTerm {
    std::vector<std::string> words;  // one word, or the words of a phrase
    bool phrase = false;
};

std::vector<SearchTerm> parse_search(std::string_view text);
// FTS5 MATCH expression over the `body` column: every term quoted, so user text is never FTS5
// syntax; with `rooms`, only messages of those rooms (the index's `room` column).
std::string to_fts5(const std::vector<SearchTerm>& terms, bool any = false,
                    const std::vector<int64_t>& rooms = {});

}  // namespace perch::store
