#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace perch::util {

// A flat JSON object of string values, keys in the order given (compliance event details,
// which every layer writes and which must serialise the same way everywhere).
using JsonFields = std::vector<std::pair<std::string, std::string>>;
std::string json_object(const JsonFields& fields);
// Appends `s` as a JSON string literal, quotes included.
void json_string(std::string& out, std::string_view s);

}  // namespace perch::util
