#include <gtest/gtest.h>

#include "util/base64.hpp"
#include "xmpp/scram.hpp"

using namespace perch;
using xmpp::ScramCredential;
using xmpp::ScramServer;

namespace {
struct Vector {
    util::Hash hash;
    const char* salt_b64;
    const char* client_first;
    const char* server_nonce_suffix;
    const char* server_first;
    const char* client_final;
    const char* server_final;
};

// RFC 5802 section 5 (SCRAM-SHA-1) and RFC 7677 section 3 (SCRAM-SHA-256); user "user",
// password "pencil".
const Vector kVectors[] = {
    {util::Hash::sha1, "QSXCR+Q6sek8bf92", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
     "3rfcNHYJY1ZVvWVs7j", "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
     "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
     "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
    {util::Hash::sha256, "W22ZaJ0SNY7soEsUEjb6gQ==", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
     "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
     "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
     "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
     "Ute9ytag9zjfMHgsqmmiz7AndVQ=",
     "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
};
}  // namespace

TEST(Scram, ServerFollowsRfcTestVectors) {
    for (const auto& v : kVectors) {
        auto cred =
            ScramCredential::derive(v.hash, "pencil", *util::base64_decode(v.salt_b64), 4096);
        ScramServer server(v.hash, "server-secret");
        ASSERT_EQ(server.read_client_first(v.client_first).value(), "user");
        EXPECT_EQ(server.server_first(cred, v.server_nonce_suffix), v.server_first);
        auto result = server.read_client_final(v.client_final);
        EXPECT_EQ(result.step, ScramServer::Step::success);
        EXPECT_EQ(result.message, v.server_final);
    }
}

TEST(Scram, ClientSideProducesTheSameProof) {
    for (const auto& v : kVectors) {
        std::string salted = util::pbkdf2(v.hash, "pencil", *util::base64_decode(v.salt_b64), 4096);
        auto proof = xmpp::scram_client_final(v.hash, std::string(v.client_first).substr(3),
                                              v.server_first, salted);
        ASSERT_TRUE(proof);
        EXPECT_EQ(proof->client_final, v.client_final);
        EXPECT_EQ("v=" + proof->server_signature, v.server_final);
    }
}

TEST(Scram, WrongPasswordFails) {
    const auto& v = kVectors[1];
    auto cred =
        ScramCredential::derive(v.hash, "not-pencil", *util::base64_decode(v.salt_b64), 4096);
    ScramServer server(v.hash, "server-secret");
    ASSERT_TRUE(server.read_client_first(v.client_first));
    server.server_first(cred, v.server_nonce_suffix);
    EXPECT_EQ(server.read_client_final(v.client_final).step, ScramServer::Step::failure);
}

TEST(Scram, UnknownUserGetsAPlausibleChallengeAndFails) {
    ScramServer server(util::Hash::sha256, "server-secret");
    ASSERT_TRUE(server.read_client_first("n,,n=nobody,r=abc"));
    std::string first = server.server_first(std::nullopt, "def");
    EXPECT_NE(first.find(",s="), std::string::npos);
    EXPECT_NE(first.find(",i=4096"), std::string::npos);
    EXPECT_EQ(server.read_client_final("c=biws,r=abcdef,p=AAAA").step, ScramServer::Step::failure);
}

// The salt shown for an unknown user stays the same from one attempt to the next (as a real
// user's does) but cannot be computed without the server's secret: an observer cannot tell
// real users from unknown ones by recomputing it.
TEST(Scram, UnknownUsersSaltIsKeyedByTheServersSecret) {
    auto salt_of = [](std::string_view secret, const char* user, util::Hash hash) {
        ScramServer server(hash, secret);
        EXPECT_TRUE(server.read_client_first(std::string("n,,n=") + user + ",r=abc"));
        std::string first = server.server_first(std::nullopt, "def");
        return *xmpp::scram_attribute(first, 's');
    };
    auto h256 = util::Hash::sha256, h1 = util::Hash::sha1;
    EXPECT_EQ(salt_of("one", "nobody", h256), salt_of("one", "nobody", h256));
    EXPECT_NE(salt_of("one", "nobody", h256), salt_of("two", "nobody", h256));
    EXPECT_NE(salt_of("one", "nobody", h256), salt_of("one", "somebody", h256));
    EXPECT_NE(salt_of("one", "nobody", h256), salt_of("one", "nobody", h1));
    // Not the name's digest (what anyone could compute), and as long as a real salt.
    std::string digest = util::digest(h256, "perch-unknown-user:nobody").substr(0, 16);
    EXPECT_NE(*util::base64_decode(salt_of("one", "nobody", h256)), digest);
    EXPECT_EQ(util::base64_decode(salt_of("one", "nobody", h256))->size(), 16u);
}

TEST(Scram, RejectsMalformedClientFirst) {
    for (const char* bad :
         {"", "x,,n=u,r=a", "p=tls-unique,,n=u,r=a", "n,,r=a", "n,,n=u", "n,,n=a=b,r=x"}) {
        ScramServer server(util::Hash::sha1, "server-secret");
        EXPECT_FALSE(server.read_client_first(bad)) << bad;
    }
}

TEST(Scram, CredentialEncodingRoundTripsAndChecksPlain) {
    auto cred = ScramCredential::derive(util::Hash::sha256, "secret", "saltsalt", 4096);
    auto back = ScramCredential::decode(util::Hash::sha256, cred.encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->stored_key, cred.stored_key);
    EXPECT_TRUE(back->matches_password("secret"));
    EXPECT_FALSE(back->matches_password("Secret"));
    EXPECT_EQ(cred.encode().find("secret"), std::string::npos);
}
