#include "net/tls.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using perch::net::ensure_certificate;
using perch::net::ServerCertificate;

namespace {

class CertificateTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            fs::temp_directory_path() /
            ("perch-tls-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(dir_);
        for (const char* name : {"one", "two"})
            ensure_certificate(path(name, "crt"), path(name, "key"),
                               std::string(name) + ".example");
        install("one", "one");
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name, const std::string& ext) const {
        return (dir_ / (name + "." + ext)).string();
    }
    std::string cert() const { return path("in-use", "crt"); }
    std::string key() const { return path("in-use", "key"); }
    // Puts a certificate and a key where the server reads them, a second later than before (as
    // a renewal would).
    void install(const std::string& cert_of, const std::string& key_of) {
        fs::copy_file(path(cert_of, "crt"), cert(), fs::copy_options::overwrite_existing);
        fs::copy_file(path(key_of, "key"), key(), fs::copy_options::overwrite_existing);
        bump();
    }
    void bump() {
        stamp_ += std::chrono::seconds(1);
        fs::last_write_time(cert(), stamp_);
        fs::last_write_time(key(), stamp_);
    }

    fs::path dir_;
    fs::file_time_type stamp_ = fs::file_time_type::clock::now();
};

}  // namespace

TEST_F(CertificateTest, ARenewedPairIsTakenWhenItsFilesChange) {
    ServerCertificate c(cert(), key());
    EXPECT_NE(c.describe().find("CN=one.example"), std::string::npos) << c.describe();
    EXPECT_NE(c.describe().find("valid until 20"), std::string::npos) << c.describe();
    EXPECT_FALSE(c.reload());  // nothing changed: not read again
    install("two", "two");
    EXPECT_TRUE(c.reload());
    EXPECT_NE(c.describe().find("CN=two.example"), std::string::npos) << c.describe();
    EXPECT_FALSE(c.reload());
    EXPECT_TRUE(c.reload(true));  // asked (SIGHUP): read even when unchanged
}

TEST_F(CertificateTest, APairThatDoesNotLoadLeavesTheOneInUse) {
    ServerCertificate c(cert(), key());
    // Halfway through a renewal: the new certificate with the old key.
    install("two", "one");
    EXPECT_FALSE(c.reload());
    EXPECT_NE(c.describe().find("CN=one.example"), std::string::npos) << c.describe();
    // A file cut short.
    std::ofstream(cert(), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nMIIB";
    bump();
    EXPECT_FALSE(c.reload());
    fs::remove(key());
    EXPECT_FALSE(c.reload());
    EXPECT_NE(c.describe().find("CN=one.example"), std::string::npos) << c.describe();
    // The renewal completed: taken at the next look.
    install("two", "two");
    EXPECT_TRUE(c.reload());
    EXPECT_NE(c.describe().find("CN=two.example"), std::string::npos) << c.describe();
}

TEST_F(CertificateTest, NoPairNoServer) {
    EXPECT_THROW(ServerCertificate(path("none", "crt"), key()), std::runtime_error);
    EXPECT_THROW(ServerCertificate(cert(), path("two", "key")), std::runtime_error);
}
