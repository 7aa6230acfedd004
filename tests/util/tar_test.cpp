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
