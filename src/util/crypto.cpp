#include "util/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <stdexcept>

namespace perch::util {
namespace {
// Fetched once: OpenSSL 3 looks EVP_sha256() up in its provider tables again on every digest
// and HMAC, which costs more than hashing the few bytes of a room's name (the pool hashes each
// command's room for every server, and every join makes an occupant id).
const EVP_MD* md(Hash h) {
    static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (h == Hash::sha1) return sha1 ? sha1 : EVP_sha1();
    return sha256 ? sha256 : EVP_sha256();
}
}  // namespace

size_t digest_size(Hash h) {
    return h == Hash::sha1 ? 20 : 32;
}

std::string digest(Hash h, std::string_view data) {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned len = 0;
    if (!EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                    md(h), nullptr))
        throw std::runtime_error("EVP_Digest failed");
    out.resize(len);
    return out;
}

std::string file_digest(Hash h, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || !EVP_DigestInit_ex(ctx.get(), md(h), nullptr))
        throw std::runtime_error("EVP_DigestInit failed");
    std::string chunk(size_t{64} * 1024, '\0');
    while (in) {
        in.read(chunk.data(), std::streamsize(chunk.size()));
        if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), chunk.data(), size_t(in.gcount()));
    }
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len);
    out.resize(len);
    return out;
}

std::string hmac(Hash h, std::string_view key, std::string_view data) {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned len = 0;
    if (!HMAC(md(h), key.data(), int(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(),
              reinterpret_cast<unsigned char*>(out.data()), &len))
        throw std::runtime_error("HMAC failed");
    out.resize(len);
    return out;
}

std::string pbkdf2(Hash h, std::string_view password, std::string_view salt, int iterations) {
    std::string out(digest_size(h), '\0');
    if (!PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()), int(salt.size()),
                           iterations, md(h), int(out.size()),
                           reinterpret_cast<unsigned char*>(out.data())))
        throw std::runtime_error("PBKDF2 failed");
    return out;
}

std::string random_bytes(size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

}  // namespace perch::util
