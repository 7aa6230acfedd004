#include "util/tar.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <utility>
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

namespace {

// A number field: octal digits (spaces and NULs around them), or GNU's base-256 form.
uint64_t number(const char* field, size_t width, const std::string& entry) {
    if (static_cast<unsigned char>(field[0]) & 0x80) {
        uint64_t v = 0;
        for (size_t i = 1; i < width; ++i) {
            if (v >> 56) throw std::runtime_error("a number too large in the header of " + entry);
            v = (v << 8) | static_cast<unsigned char>(field[i]);
        }
        return v;
    }
    uint64_t v = 0;
    size_t i = 0;
    while (i < width && field[i] == ' ') ++i;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
        if (v >> 60) throw std::runtime_error("a number too large in the header of " + entry);
        v = v * 8 + uint64_t(field[i] - '0');
    }
    if (i < width && field[i] != '\0' && field[i] != ' ')
        throw std::runtime_error("a damaged header (a number) at " + entry);
    return v;
}

std::string field_text(const char* field, size_t width) {
    return {field, strnlen(field, width)};
}

// An entry's name, made relative and checked: no absolute name, no "..", nothing empty.
fs::path safe_name(const std::string& name) {
    if (name.empty() || name.front() == '/' || name.find('\0') != std::string::npos)
        throw std::runtime_error("the archive holds an absolute or empty name: " + name);
    fs::path out;
    for (const auto& step : fs::path(name)) {
        std::string s = step.generic_string();
        if (s == "..") throw std::runtime_error("the archive holds a name with '..': " + name);
        if (s.empty() || s == ".") continue;
        out /= step;
    }
    return out;
}

// The "path" record of a pax extended header ("LEN path=VALUE\n" records).
std::optional<std::string> pax_path(const std::string& records) {
    size_t at = 0;
    std::optional<std::string> path;
    while (at < records.size()) {
        size_t space = records.find(' ', at);
        if (space == std::string::npos) break;
        size_t len = 0;
        try {
            len = std::stoul(records.substr(at, space - at));
        } catch (const std::exception&) {
            throw std::runtime_error("a damaged pax header");
        }
        if (len == 0 || at + len > records.size()) throw std::runtime_error("a damaged pax header");
        std::string record = records.substr(space + 1, at + len - space - 2);  // without '\n'
        if (record.starts_with("path=")) path = record.substr(5);
        at += len;
    }
    return path;
}

}  // namespace

size_t read_tar(const fs::path& in, const fs::path& dest, uint64_t max_bytes) {
    std::ifstream tar(in, std::ios::binary);
    if (!tar) throw std::runtime_error("cannot read " + in.string());
    std::array<char, kBlock> h{};
    std::vector<char> buffer(size_t{1} << 16);
    uint64_t total = 0;
    size_t files = 0;
    std::optional<std::string> long_name;  // from a GNU 'L' entry or a pax 'x' header
    // The content of a small special entry ('L', 'x'), whole.
    auto read_text = [&](uint64_t size, const std::string& what) {
        if (size > (uint64_t{1} << 20)) throw std::runtime_error("a " + what + " too large");
        std::string text(size_t((size + kBlock - 1) / kBlock * kBlock), '\0');
        if (!tar.read(text.data(), std::streamsize(text.size())))
            throw std::runtime_error("the archive ends inside a " + what);
        text.resize(size_t(size));
        return text;
    };
    for (;;) {
        if (!tar.read(h.data(), kBlock))
            throw std::runtime_error("the archive ends without its end");
        if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) break;
        std::string name = field_text(&h[0], 100);
        if (std::memcmp(&h[257], "ustar", 5) == 0 && h[345] != '\0')
            name = field_text(&h[345], 155).append("/").append(name);
        unsigned sum = 0;
        for (size_t i = 0; i < kBlock; ++i)
            sum += (i >= 148 && i < 156) ? unsigned(' ') : static_cast<unsigned char>(h[i]);
        if (number(&h[148], 8, name) != sum)
            throw std::runtime_error("a damaged header (its checksum) at " + name);
        uint64_t size = number(&h[124], 12, name);
        char type = h[156];
        if (type == 'L') {
            std::string text = read_text(size, "long name");
            long_name = text.substr(0, text.find('\0'));
            continue;
        }
        if (type == 'x') {
            if (auto p = pax_path(read_text(size, "pax header"))) long_name = p;
            continue;
        }
        if (type == 'g') {
            read_text(size, "pax header");
            continue;
        }
        if (long_name) name = *std::exchange(long_name, std::nullopt);
        fs::path rel = safe_name(name);
        if (type == '5') {
            if (!rel.empty()) fs::create_directories(dest / rel);
            continue;
        }
        if (type != '0' && type != '\0' && type != '7')
            throw std::runtime_error("the archive holds " + name +
                                     ", which is not a file or a folder (links are not unpacked)");
        if (rel.empty()) throw std::runtime_error("the archive holds a file without a name");
        total += size;
        if (total > max_bytes)
            throw std::runtime_error("the archive's content is larger than " +
                                     std::to_string(max_bytes) + " bytes");
        fs::path target = dest / rel;
        fs::create_directories(target.parent_path());
        std::ofstream out(target, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error("cannot write " + target.string());
        uint64_t left = size;
        while (left > 0) {
            auto n = std::streamsize(std::min<uint64_t>(left, buffer.size()));
            if (!tar.read(buffer.data(), n))
                throw std::runtime_error("the archive ends inside " + name);
            out.write(buffer.data(), n);
            left -= uint64_t(n);
        }
        out.close();
        if (!out) throw std::runtime_error("writing " + target.string() + " failed");
        if (size % kBlock) tar.ignore(std::streamsize(kBlock - size % kBlock));
        ++files;
    }
    return files;
}

}  // namespace perch::util
