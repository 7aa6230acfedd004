#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace perch::util {

std::string base64_encode(std::string_view bytes);
// Returns nullopt for anything that is not canonical, padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace perch::util
