#pragma once
#include <string>
#include <string_view>

// Thin wrappers over OpenSSL: the few primitives SCRAM, ids and file hashes need.
namespace perch::util {

enum class Hash { sha1, sha256 };

size_t digest_size(Hash h);
std::string digest(Hash h, std::string_view data);
// The digest of a whole file, read in pieces; throws when it cannot be read.
std::string file_digest(Hash h, const std::string& path);
std::string hmac(Hash h, std::string_view key, std::string_view data);
std::string pbkdf2(Hash h, std::string_view password, std::string_view salt, int iterations);
std::string random_bytes(size_t n);
// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);
std::string hex(std::string_view bytes);

}  // namespace perch::util
