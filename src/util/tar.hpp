#pragma once
#include <filesystem>
#include <string>

namespace perch::util {

// Writes the directory `root` (its regular files and folders, recursively, in name order) as a
// POSIX ustar archive at `out`, every entry under `top/`; what `tar -xf` unpacks. Names longer
// than the format holds (100 characters, or 255 split at a '/') and files over 8 GiB are refused
// with std::runtime_error, as is a file that cannot be read.
void write_tar(const std::filesystem::path& root, const std::string& top,
               const std::filesystem::path& out);

}  // namespace perch::util
