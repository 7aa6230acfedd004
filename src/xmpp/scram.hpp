#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "util/crypto.hpp"

namespace perch::xmpp {

// What the server keeps for one user and one hash: never the password (RFC 5802 section 3).
struct ScramCredential {
    util::Hash hash = util::Hash::sha256;
    std::string salt;  // raw bytes
    int iterations = 4096;
    std::string stored_key;  // raw bytes
    std::string server_key;  // raw bytes

    static ScramCredential derive(util::Hash hash, std::string_view password, std::string salt,
                                  int iterations);
    // "iterations:salt:stored_key:server_key", base64 fields; the form kept in the store.
    std::string encode() const;
    static std::optional<ScramCredential> decode(util::Hash hash, std::string_view text);
    // Checks a password given in the clear (SASL PLAIN).
    bool matches_password(std::string_view password) const;
};

// Server side of one SCRAM exchange (RFC 5802 / RFC 7677), without channel binding.
class ScramServer {
  public:
    enum class Step { need_more, success, failure };
    struct Result {
        Step step;
        std::string message;  // challenge, server-final message, or failure condition
    };

    // `secret` keys the salts shown for unknown users (the server's own secret).
    ScramServer(util::Hash hash, std::string_view secret) : hash_(hash), secret_(secret) {}

    // Parses the client-first message and returns the username the client asks for.
    std::optional<std::string> read_client_first(std::string_view message);
    // With the user's credential (nullopt when unknown; a fake challenge is then sent so that
    // whether a user exists is not revealed: its salt derived from the secret and the name, as
    // stable as a real one and not computable by anyone else), produces the server-first
    // message.
    std::string server_first(const std::optional<ScramCredential>& credential,
                             std::string nonce_suffix = {});
    Result read_client_final(std::string_view message);

    const std::string& username() const { return username_; }
    const std::string& authzid() const { return authzid_; }

  private:
    util::Hash hash_;
    std::string secret_;
    std::string gs2_header_, client_first_bare_, server_first_, nonce_, username_, authzid_;
    std::optional<ScramCredential> credential_;
};

// The client side, used by the load generator and by tests.
struct ScramClientProof {
    std::string client_final;      // message to send
    std::string server_signature;  // expected in the server-final "v="
};
std::optional<ScramClientProof> scram_client_final(util::Hash hash,
                                                   std::string_view client_first_bare,
                                                   std::string_view server_first,
                                                   std::string_view salted_password);
std::optional<std::string> scram_attribute(std::string_view message, char name);

}  // namespace perch::xmpp
