#include "compliance/checkpoint.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "util/base64.hpp"
#include "util/crypto.hpp"

namespace perch::compliance {

struct CheckpointKey::Key {
    EVP_PKEY* pkey = nullptr;
    Key() = default;
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

using Bio = std::unique_ptr<BIO, void (*)(BIO*)>;

Bio memory_bio() {
    return Bio(BIO_new(BIO_s_mem()), BIO_free_all);
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, size_t(n));
}

std::string raw_public_key(EVP_PKEY* pkey) {
    size_t n = 0;
    EVP_PKEY_get_raw_public_key(pkey, nullptr, &n);
    std::string raw(n, '\0');
    if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &n) != 1)
        throw std::runtime_error("cannot read the checkpoint key's public part");
    return raw;
}

}  // namespace

std::string Checkpoint::message() const {
    return "perch compliance checkpoint\x1f" + std::to_string(seq) + "\x1f" + hash + "\x1f" +
           std::to_string(ts_us);
}

std::string Checkpoint::to_json() const {
    return nlohmann::json{{"seq", seq},
                          {"hash", hash},
                          {"ts_us", ts_us},
                          {"key_id", key_id},
                          {"signature", signature}}
        .dump();
}

std::optional<Checkpoint> Checkpoint::from_json(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    try {
        Checkpoint c;
        c.seq = j.at("seq").get<int64_t>();
        c.hash = j.at("hash").get<std::string>();
        c.ts_us = j.at("ts_us").get<int64_t>();
        c.key_id = j.at("key_id").get<std::string>();
        c.signature = j.at("signature").get<std::string>();
        return c;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

CheckpointKey::CheckpointKey(std::shared_ptr<Key> key, bool can_sign)
    : key_(std::move(key)), can_sign_(can_sign) {
    key_id_ = util::hex(util::digest(util::Hash::sha256, raw_public_key(key_->pkey))).substr(0, 16);
}

CheckpointKey CheckpointKey::open(const std::string& path, bool create) {
    auto key = std::make_shared<Key>();
    if (std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"), &std::fclose); f) {
        key->pkey = PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr);
        if (!key->pkey || EVP_PKEY_get_id(key->pkey) != EVP_PKEY_ED25519)
            throw std::runtime_error(path + " holds no Ed25519 private key");
        return CheckpointKey(key, true);
    }
    // A key that exists but cannot be read (permissions) is never replaced: the checkpoints
    // it signed would no longer verify.
    if (!create || std::filesystem::exists(path))
        throw std::runtime_error("cannot read the checkpoint key " + path);
    key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!key->pkey) throw std::runtime_error("cannot make an Ed25519 key");
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    std::string tmp = path + ".tmp";
    {
        std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "w"), &std::fclose);
        if (!f) throw std::runtime_error("cannot write the checkpoint key " + path);
        std::filesystem::permissions(
            tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        if (PEM_write_PrivateKey(f.get(), key->pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
            std::fflush(f.get()) != 0)
            throw std::runtime_error("cannot write the checkpoint key " + path);
    }
    std::filesystem::rename(tmp, path);
    return CheckpointKey(key, true);
}

CheckpointKey CheckpointKey::from_public_pem(std::string_view pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free_all);
    auto key = std::make_shared<Key>();
    key->pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!key->pkey || EVP_PKEY_get_id(key->pkey) != EVP_PKEY_ED25519)
        throw std::runtime_error("not an Ed25519 public key");
    return CheckpointKey(key, false);
}

std::string CheckpointKey::public_pem() const {
    auto bio = memory_bio();
    PEM_write_bio_PUBKEY(bio.get(), key_->pkey);
    return bio_text(bio.get());
}

Checkpoint CheckpointKey::sign(int64_t seq, const std::string& hash, int64_t ts_us) const {
    if (!can_sign_) throw std::runtime_error("a public key cannot sign checkpoints");
    Checkpoint c{seq, hash, ts_us, key_id_, {}};
    std::string message = c.message();
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::string signature(64, '\0');
    size_t n = signature.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &n,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
        throw std::runtime_error("cannot sign a checkpoint");
    signature.resize(n);
    c.signature = util::base64_encode(signature);
    return c;
}

bool CheckpointKey::verifies(const Checkpoint& c) const {
    if (c.key_id != key_id_) return false;
    auto signature = util::base64_decode(c.signature);
    if (!signature) return false;
    std::string message = c.message();
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                            signature->size(),
                            reinterpret_cast<const unsigned char*>(message.data()),
                            message.size()) == 1;
}

}  // namespace perch::compliance
