#include "store/search_query.hpp"

namespace perch::store {

namespace {
// Word characters: letters and digits in any script (bytes >= 0x80 belong to UTF-8 sequences).
// Everything else, the underscore too, cuts words, as both indexes do (SQLite's unicode61
// tokenizer, PostgreSQL's [[:punct:]] in perch_search_words).
bool word_char(unsigned char c) {
    return c >= 0x80 || std::isalnum(c);
}

std::vector<std::string> words_of(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    for (unsigned char c : text) {
        if (word_char(c)) {
            current += char(c);
        } else if (!current.empty()) {
            out.push_back(std::move(current));
            current.clear();
        }
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
}
}  // namespace

std::vector<SearchTerm> parse_search(std::string_view text) {
    std::vector<SearchTerm> terms;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t quote = text.find('"', pos);
        std::string_view plain = text.substr(
            pos, quote == std::string_view::npos ? std::string_view::npos : quote - pos);
        for (auto& w : words_of(plain)) terms.push_back({{std::move(w)}, false});
        if (quote == std::string_view::npos) break;
        size_t close = text.find('"', quote + 1);
        std::string_view inside =
            text.substr(quote + 1, close == std::string_view::npos ? std::string_view::npos
                                                                   : close - quote - 1);
        auto words = words_of(inside);
        if (words.size() == 1)
            terms.push_back({std::move(words), false});
        else if (!words.empty())
            terms.push_back({std::move(words), true});
        if (close == std::string_view::npos) break;
        pos = close + 1;
    }
    return terms;
}

std::string to_fts5(const std::vector<SearchTerm>& terms, bool any,
                    const std::vector<int64_t>& rooms) {
    std::string out = "body : (";
    for (const auto& t : terms) {
        if (&t != &terms.front()) out += any ? " OR " : " AND ";
        out += '"';
        for (size_t i = 0; i < t.words.size(); ++i) {
            if (i) out += ' ';
            out += t.words[i];  // words hold no quote characters
        }
        out += '"';
    }
    out += ')';
    for (size_t i = 0; i < rooms.size(); ++i)
        out += (i ? " OR r" : " AND room : (r") + std::to_string(rooms[i]);
    if (!rooms.empty()) out += ')';
    return out;
}

}  // namespace perch::store
