#include "util/tar.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace perch::util {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBlock = 512;

// An octal number in a field of `width` bytes: width - 1 digits and a NUL.
void octal(char* field, size_t width, uint64_t value) {
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = char('0' + (value & 7));
        value >>= 3;
    }
    if (value) throw std::runtime_error("a number too large for a tar header");
    field[width - 1] = '\0';
}

std::array<char, kBlock> header(const std::string& name, bool directory, uint64_t size,
                                int64_t mtime) {
    std::array<char, kBlock> h{};
    // The name goes whole into its 100 bytes, or split at a '/' into the 155-byte prefix.
    std::string prefix, rest = name;
    if (rest.size() > 100) {
        size_t cut = rest.rfind('/', 155);
        if (cut == std::string::npos || rest.size() - cut - 1 > 100 || cut == 0)
            throw std::runtime_error("a name too long for a tar archive: " + name);
        prefix = rest.substr(0, cut);
        rest = rest.substr(cut + 1);
    }
    std::memcpy(h.data(), rest.data(), rest.size());
    octal(&h[100], 8, directory ? 0755 : 0644);
    octal(&h[108], 8, 0);
    octal(&h[116], 8, 0);
    octal(&h[124], 12, size);
    octal(&h[136], 12, uint64_t(std::max<int64_t>(mtime, 0)));
    h[156] = directory ? '5' : '0';
    std::memcpy(&h[257], "ustar", 6);
    std::memcpy(&h[263], "00", 2);
    std::memcpy(&h[345], prefix.data(), prefix.size());
    // The checksum: every byte summed with the checksum field counted as spaces.
    std::memset(&h[148], ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    octal(&h[148], 7, sum);
    h[155] = ' ';
    return h;
}

}  // namespace

void write_tar(const fs::path& root, const std::string& top, const fs::path& out) {
    std::vector<fs::path> entries;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_directory() || e.is_regular_file()) entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    std::ofstream tar(out, std::ios::binary | std::ios::trunc);
    if (!tar) throw std::runtime_error("cannot write " + out.string());
    auto mtime = [](const fs::path& p) {
        auto t = fs::last_write_time(p);
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::file_clock::to_sys(t).time_since_epoch())
            .count();
    };
    tar.write(header(top + "/", true, 0, mtime(root)).data(), kBlock);
    std::vector<char> buffer(size_t{1} << 16);
    for (const auto& path : entries) {
        std::string name = top + "/" + fs::relative(path, root).generic_string();
        if (fs::is_directory(path)) {
            tar.write(header(name + "/", true, 0, mtime(path)).data(), kBlock);
            continue;
        }
        uint64_t size = fs::file_size(path);
        tar.write(header(name, false, size, mtime(path)).data(), kBlock);
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path.string());
        uint64_t left = size;
        while (left > 0) {
            auto n = std::streamsize(std::min<uint64_t>(left, buffer.size()));
            if (!in.read(buffer.data(), n))
                throw std::runtime_error("cannot read " + path.string());
            tar.write(buffer.data(), n);
            left -= uint64_t(n);
        }
        static const std::array<char, kBlock> zeros{};
        if (size % kBlock) tar.write(zeros.data(), std::streamsize(kBlock - size % kBlock));
    }
    static const std::array<char, kBlock> zeros{};
    tar.write(zeros.data(), kBlock);
    tar.write(zeros.data(), kBlock);
    tar.close();
    if (!tar) throw std::runtime_error("writing " + out.string() + " failed");
}

}  // namespace perch::util
