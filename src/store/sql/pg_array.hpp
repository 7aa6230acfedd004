#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace perch::store::sql {

// A PostgreSQL array literal ('{1,2}', '{"a","b\"c"}') built element by element, bound as text
// and cast in SQL (`?::bigint[]`): many rows travel in one statement (`unnest`), one round trip.
class PgArray {
  public:
    void add(int64_t v) {
        separate();
        text_ += std::to_string(v);
    }
    void add(std::string_view s) {
        separate();
        text_ += '"';
        for (char c : s) {
            if (c == '"' || c == '\\') text_ += '\\';
            text_ += c;
        }
        text_ += '"';
    }
    std::string str() const { return text_ + '}'; }

  private:
    void separate() {
        if (text_.size() > 1) text_ += ',';
    }
    std::string text_ = "{";
};

}  // namespace perch::store::sql
