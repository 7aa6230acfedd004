// The tar writer, checked by the system's tar: what it writes unpacks to the same tree.
#include "util/tar.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST(Tar, WhatIsWrittenUnpacksToTheSameTree) {
    fs::path base = fs::temp_directory_path() / ("perch-tar-" + std::to_string(::getpid()));
    fs::remove_all(base);
    fs::path src = base / "src";
    std::string big(700'000, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 7 % 251);
    write(src / "manifest.json", "{}\n");
    write(src / "empty.jsonl", "");
    write(src / "files" / std::string(64, 'a'), big);  // several blocks, binary
    std::string deep =
        "d/" + std::string(90, 'x') + "/" + std::string(60, 'y');  // needs the prefix
    write(src / deep, "deep");
    fs::path tar = base / "out.tar";
    perch::util::write_tar(src, "perch-export", tar);
    EXPECT_EQ(fs::file_size(tar) % 512, 0u);
    fs::create_directories(base / "x");
    std::string cmd = "tar -xf '" + tar.string() + "' -C '" + (base / "x").string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);  // NOLINT(concurrency-mt-unsafe)
    fs::path got = base / "x" / "perch-export";
    EXPECT_EQ(read(got / "manifest.json"), "{}\n");
    EXPECT_TRUE(fs::exists(got / "empty.jsonl"));
    EXPECT_EQ(fs::file_size(got / "empty.jsonl"), 0u);
    EXPECT_EQ(read(got / "files" / std::string(64, 'a')), big);
    EXPECT_EQ(read(got / deep), "deep");
    fs::remove_all(base);
}

TEST(Tar, ANameTooLongIsRefused) {
    fs::path base = fs::temp_directory_path() / ("perch-tar-long-" + std::to_string(::getpid()));
    fs::remove_all(base);
    write(base / "src" / std::string(120, 'n'), "x");
    EXPECT_THROW(perch::util::write_tar(base / "src", "t", base / "out.tar"), std::runtime_error);
    fs::remove_all(base);
}

namespace {

// One entry as a crafted archive would hold it, with a correct checksum.
std::string entry(const std::string& name, char type, const std::string& content) {
    std::string h(512, '\0');
    h.replace(0, std::min<size_t>(name.size(), 100), name.substr(0, 100));
    std::snprintf(&h[124], 12, "%011o", unsigned(content.size()));
    h[156] = type;
    h.replace(257, 6, std::string("ustar\0", 6));
    h.replace(148, 8, "        ");
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::snprintf(&h[148], 8, "%06o", sum);
    std::string body = content;
    body.resize((content.size() + 511) / 512 * 512, '\0');
    return h + body;
}

struct Unpack {
    fs::path base = fs::temp_directory_path() / ("perch-untar-" + std::to_string(::getpid()));
    Unpack() {
        fs::remove_all(base);
        fs::create_directories(base / "x");
    }
    ~Unpack() { fs::remove_all(base); }
    size_t run(const std::string& archive, uint64_t max = uint64_t{1} << 30) {
        write(base / "in.tar", archive);
        return perch::util::read_tar(base / "in.tar", base / "x", max);
    }
};

std::string end_blocks() {
    return std::string(1024, '\0');
}

}  // namespace

TEST(Tar, WhatIsWrittenIsReadBack) {
    Unpack u;
    fs::path src = u.base / "src";
    std::string big(300'000, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 13 % 253);
    write(src / "manifest.json", "{\"a\":1}\n");
    write(src / "empty.jsonl", "");
    write(src / "files" / std::string(64, 'b'), big);
    std::string deep = "d/" + std::string(90, 'x') + "/" + std::string(60, 'y');
    write(src / deep, "deep");
    perch::util::write_tar(src, "perch-export", u.base / "out.tar");
    EXPECT_EQ(perch::util::read_tar(u.base / "out.tar", u.base / "x", uint64_t{1} << 30), 4u);
    fs::path got = u.base / "x" / "perch-export";
    EXPECT_EQ(read(got / "manifest.json"), "{\"a\":1}\n");
    EXPECT_EQ(fs::file_size(got / "empty.jsonl"), 0u);
    EXPECT_EQ(read(got / "files" / std::string(64, 'b')), big);
    EXPECT_EQ(read(got / deep), "deep");
}

TEST(Tar, TheSystemTarsLongNamesAreRead) {
    // GNU's 'L' entries and pax's path records, for names over 100 characters.
    for (const char* format : {"gnu", "pax"}) {
        Unpack u;
        std::string longname = std::string(120, 'q') + ".jsonl";
        write(u.base / "src" / "top" / longname, "long");
        std::string cmd = std::string("tar --format=") + format + " -cf '" +
                          (u.base / "s.tar").string() + "' -C '" + (u.base / "src").string() +
                          "' top";
        ASSERT_EQ(std::system(cmd.c_str()), 0);  // NOLINT(concurrency-mt-unsafe)
        EXPECT_EQ(perch::util::read_tar(u.base / "s.tar", u.base / "x", 1 << 20), 1u) << format;
        EXPECT_EQ(read(u.base / "x" / "top" / longname), "long") << format;
    }
}

TEST(Tar, NamesOutsideTheFolderAreRefused) {
    for (const char* bad : {"../escaped", "a/../../escaped", "/etc/escaped"}) {
        Unpack u;
        EXPECT_THROW(u.run(entry(bad, '0', "x") + end_blocks()), std::runtime_error) << bad;
        EXPECT_FALSE(fs::exists(u.base / "escaped")) << bad;
        EXPECT_FALSE(fs::exists(u.base.parent_path() / "escaped")) << bad;
    }
}

TEST(Tar, LinksDevicesAndDamageAreRefused) {
    Unpack u;
    EXPECT_THROW(u.run(entry("link", '2', "") + end_blocks()), std::runtime_error);
    EXPECT_THROW(u.run(entry("hard", '1', "") + end_blocks()), std::runtime_error);
    EXPECT_THROW(u.run(entry("dev", '3', "") + end_blocks()), std::runtime_error);
    std::string damaged = entry("f", '0', "abc");
    damaged[0] = 'g';  // the checksum no longer holds
    EXPECT_THROW(u.run(damaged + end_blocks()), std::runtime_error);
    std::string cut = entry("f", '0', std::string(2000, 'z'));
    EXPECT_THROW(u.run(cut.substr(0, 1024)), std::runtime_error);     // ends inside the file
    EXPECT_THROW(u.run(entry("f", '0', "abc")), std::runtime_error);  // no end blocks
    EXPECT_THROW(u.run(entry("a", '0', std::string(600, 'a')) + end_blocks(), 500),
                 std::runtime_error);  // more content than allowed
    EXPECT_EQ(u.run(entry("dir/", '5', "") + entry("dir/f", '0', "abc") + end_blocks()), 1u);
    EXPECT_EQ(read(u.base / "x" / "dir" / "f"), "abc");
}
