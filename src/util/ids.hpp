#pragma once
#include <string>

namespace perch::util {

// An unguessable identifier: 16 random bytes, URL-safe base64 without padding (22 chars).
std::string random_id();

}  // namespace perch::util
