#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace perch::util {

// Writes the directory `root` (its regular files and folders, recursively, in name order) as a
// POSIX ustar archive at `out`, every entry under `top/`; what `tar -xf` unpacks. Names longer
// than the format holds (100 characters, or 255 split at a '/') and files over 8 GiB are refused
// with std::runtime_error, as is a file that cannot be read.
void write_tar(const std::filesystem::path& root, const std::string& top,
               const std::filesystem::path& out);

// Unpacks the archive `in` (ustar, GNU or pax, as `tar -cf` writes it) into the existing
// directory `dest`: folders and regular files only. Anything else — a link, a device, an
// absolute name, a ".." step, a damaged header, an archive cut short, more than `max_bytes` of
// content — is refused with std::runtime_error naming the entry; what was unpacked before stays
// for the caller to remove. Returns the number of files written.
size_t read_tar(const std::filesystem::path& in, const std::filesystem::path& dest,
                uint64_t max_bytes);

}  // namespace perch::util
