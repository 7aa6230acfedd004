#include "xmpp/scram.hpp"

#include <charconv>
#include <vector>

#include "util/base64.hpp"

namespace perch::xmpp {

using util::base64_decode;
using util::base64_encode;
using util::digest;
using util::hmac;

ScramCredential ScramCredential::derive(util::Hash hash, std::string_view password,
                                        std::string salt, int iterations) {
    ScramCredential c;
    c.hash = hash;
    c.salt = std::move(salt);
    c.iterations = iterations;
    std::string salted = util::pbkdf2(hash, password, c.salt, iterations);
    c.stored_key = digest(hash, hmac(hash, salted, "Client Key"));
    c.server_key = hmac(hash, salted, "Server Key");
    return c;
}

std::string ScramCredential::encode() const {
    return std::to_string(iterations) + ":" + base64_encode(salt) + ":" +
           base64_encode(stored_key) + ":" + base64_encode(server_key);
}

std::optional<ScramCredential> ScramCredential::decode(util::Hash hash, std::string_view text) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == ':') {
            parts.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() != 4) return std::nullopt;
    ScramCredential c;
    c.hash = hash;
    auto [p, ec] =
        std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), c.iterations);
    if (ec != std::errc() || c.iterations < 1) return std::nullopt;
    auto salt = base64_decode(parts[1]), stored = base64_decode(parts[2]),
         server = base64_decode(parts[3]);
    if (!salt || !stored || !server) return std::nullopt;
    c.salt = std::move(*salt);
    c.stored_key = std::move(*stored);
    c.server_key = std::move(*server);
    return c;
}

bool ScramCredential::matches_password(std::string_view password) const {
    ScramCredential other = derive(hash, password, salt, iterations);
    return util::constant_time_equal(other.stored_key, stored_key);
}

std::optional<std::string> scram_attribute(std::string_view message, char name) {
    size_t pos = 0;
    while (pos <= message.size()) {
        size_t comma = message.find(',', pos);
        std::string_view field = message.substr(
            pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        if (field.size() >= 2 && field[0] == name && field[1] == '=')
            return std::string(field.substr(2));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return std::nullopt;
}

namespace {
// saslname: "=2C" for ',' and "=3D" for '='; any other '=' is invalid.
std::optional<std::string> decode_saslname(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == ',') return std::nullopt;
        if (s[i] == '=') {
            if (s.substr(i, 3) == "=2C")
                out += ',';
            else if (s.substr(i, 3) == "=3D")
                out += '=';
            else
                return std::nullopt;
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string xor_bytes(std::string a, std::string_view b) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] = char(a[i] ^ b[i]);
    return a;
}

bool printable_nonce(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n)
        if (c < 0x21 || c > 0x7e || c == ',') return false;
    return true;
}
}  // namespace

std::optional<std::string> ScramServer::read_client_first(std::string_view message) {
    // gs2-header: ("n" / "y") "," [ "a=" saslname ] ","   ("p=" means channel binding: refused)
    if (message.size() < 3 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
        return std::nullopt;
    size_t second_comma = message.find(',', 2);
    if (second_comma == std::string_view::npos) return std::nullopt;
    std::string_view authz = message.substr(2, second_comma - 2);
    if (!authz.empty()) {
        if (authz.substr(0, 2) != "a=") return std::nullopt;
        auto decoded = decode_saslname(authz.substr(2));
        if (!decoded) return std::nullopt;
        authzid_ = std::move(*decoded);
    }
    gs2_header_ = std::string(message.substr(0, second_comma + 1));
    client_first_bare_ = std::string(message.substr(second_comma + 1));
    if (client_first_bare_.substr(0, 2) == "m=") return std::nullopt;  // no extensions known
    auto user = scram_attribute(client_first_bare_, 'n');
    auto nonce = scram_attribute(client_first_bare_, 'r');
    if (!user || !nonce || !printable_nonce(*nonce)) return std::nullopt;
    auto name = decode_saslname(*user);
    if (!name || name->empty()) return std::nullopt;
    username_ = std::move(*name);
    nonce_ = std::move(*nonce);
    return username_;
}

std::string ScramServer::server_first(const std::optional<ScramCredential>& credential,
                                      std::string nonce_suffix) {
    credential_ = credential;
    if (nonce_suffix.empty()) nonce_suffix = base64_encode(util::random_bytes(18));
    nonce_ += nonce_suffix;
    std::string salt = credential ? credential->salt
                                  : hmac(util::Hash::sha256, secret_, "scram-salt:" + username_)
                                        .substr(hash_ == util::Hash::sha256 ? 0 : 16, 16);
    int iterations = credential ? credential->iterations : 4096;
    server_first_ =
        "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
    return server_first_;
}

ScramServer::Result ScramServer::read_client_final(std::string_view message) {
    auto channel = scram_attribute(message, 'c');
    auto nonce = scram_attribute(message, 'r');
    auto proof_b64 = scram_attribute(message, 'p');
    size_t proof_at = message.rfind(",p=");
    if (!channel || !nonce || !proof_b64 || proof_at == std::string_view::npos)
        return {Step::failure, "malformed-request"};
    if (base64_decode(*channel) != gs2_header_ || *nonce != nonce_)
        return {Step::failure, "not-authorized"};
    auto proof = base64_decode(*proof_b64);
    if (!credential_ || !proof || proof->size() != util::digest_size(hash_))
        return {Step::failure, "not-authorized"};
    std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(message.substr(0, proof_at));
    std::string client_signature = hmac(hash_, credential_->stored_key, auth_message);
    std::string client_key = xor_bytes(*proof, client_signature);
    if (!util::constant_time_equal(digest(hash_, client_key), credential_->stored_key))
        return {Step::failure, "not-authorized"};
    std::string server_signature = hmac(hash_, credential_->server_key, auth_message);
    return {Step::success, "v=" + base64_encode(server_signature)};
}

std::optional<ScramClientProof> scram_client_final(util::Hash hash,
                                                   std::string_view client_first_bare,
                                                   std::string_view server_first,
                                                   std::string_view salted_password) {
    auto nonce = scram_attribute(server_first, 'r');
    if (!nonce) return std::nullopt;
    std::string without_proof = "c=biws,r=" + *nonce;
    std::string auth_message =
        std::string(client_first_bare) + "," + std::string(server_first) + "," + without_proof;
    std::string client_key = hmac(hash, salted_password, "Client Key");
    std::string stored_key = digest(hash, client_key);
    std::string proof = xor_bytes(client_key, hmac(hash, stored_key, auth_message));
    std::string server_key = hmac(hash, salted_password, "Server Key");
    return ScramClientProof{without_proof + ",p=" + base64_encode(proof),
                            base64_encode(hmac(hash, server_key, auth_message))};
}

}  // namespace perch::xmpp
