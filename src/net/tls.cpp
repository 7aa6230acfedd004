#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace perch::net {

namespace {
template <typename T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("certificate generation failed: ") + what);
}

void write_pem(const std::string& path, bool is_key, void* obj) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
    check(f != nullptr, "cannot write certificate files");
    if (is_key) {
        std::filesystem::permissions(
            path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        check(PEM_write_PrivateKey(f.get(), static_cast<EVP_PKEY*>(obj), nullptr, nullptr, 0,
                                   nullptr, nullptr),
              "PEM_write_PrivateKey");
    } else {
        check(PEM_write_X509(f.get(), static_cast<X509*>(obj)), "PEM_write_X509");
    }
}
}  // namespace

void ensure_certificate(const std::string& cert_path, const std::string& key_path,
                        const std::string& domain) {
    if (std::filesystem::exists(cert_path) && std::filesystem::exists(key_path)) return;
    PKey key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");
    Cert cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), long(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(domain.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    std::string san = "DNS:" + domain + ",DNS:*." + domain;
    Ext ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
    check(ext != nullptr, "subjectAltName");
    X509_add_ext(cert.get(), ext.get(), -1);
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
    std::filesystem::path dir = std::filesystem::path(cert_path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir);
    write_pem(key_path, true, key.get());
    write_pem(cert_path, false, cert.get());
    spdlog::info("generated a self-signed certificate for {} at {}", domain, cert_path);
}

const char* const kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

struct ServerCertificate::Pair {
    std::unique_ptr<X509, void (*)(X509*)> cert{nullptr, X509_free};
    STACK_OF(X509) * chain = nullptr;  // the certificates after the first in the file
    std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key{nullptr, EVP_PKEY_free};
    std::filesystem::file_time_type cert_time, key_time;
    std::string description;

    Pair() = default;
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;
    ~Pair() { sk_X509_pop_free(chain, X509_free); }
};

namespace {

using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "no detail";
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    return text;
}

std::string valid_until(const X509* cert) {
    struct tm t {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) != 1) return "?";
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &t);
    return text;
}

// Reads a PEM certificate chain and its key; throws with the reason when they do not make a
// pair.
std::shared_ptr<ServerCertificate::Pair> load_pair(const std::string& cert_path,
                                                   const std::string& key_path) {
    auto pair = std::make_shared<ServerCertificate::Pair>();
    // The times first: a file written after them is read again at the next check.
    pair->cert_time = std::filesystem::last_write_time(cert_path);
    pair->key_time = std::filesystem::last_write_time(key_path);
    Bio certs(BIO_new_file(cert_path.c_str(), "r"));
    if (!certs) throw std::runtime_error("cannot read " + cert_path + ": " + openssl_error());
    pair->cert.reset(PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr));
    if (!pair->cert) throw std::runtime_error("no certificate in " + cert_path);
    pair->chain = sk_X509_new_null();
    while (X509* next = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr))
        sk_X509_push(pair->chain, next);
    ERR_clear_error();  // the end of the file reads as an error
    Bio keys(BIO_new_file(key_path.c_str(), "r"));
    if (!keys) throw std::runtime_error("cannot read " + key_path + ": " + openssl_error());
    pair->key.reset(PEM_read_bio_PrivateKey(keys.get(), nullptr, nullptr, nullptr));
    if (!pair->key) throw std::runtime_error("no private key in " + key_path);
    if (X509_check_private_key(pair->cert.get(), pair->key.get()) != 1)
        throw std::runtime_error("the key in " + key_path + " is not the certificate's");
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(pair->cert.get()), subject, sizeof subject);
    pair->description = std::string(subject) + ", valid until " + valid_until(pair->cert.get());
    return pair;
}

}  // namespace

ServerCertificate::ServerCertificate(std::string cert_path, std::string key_path)
    : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)) {
    try {
        current_ = load_pair(cert_path_, key_path_);
    } catch (const std::filesystem::filesystem_error& e) {
        throw std::runtime_error(std::string("TLS certificate: ") + e.what());
    }
}

ServerCertificate::~ServerCertificate() = default;

std::shared_ptr<const ServerCertificate::Pair> ServerCertificate::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::string ServerCertificate::describe() const {
    return current()->description;
}

bool ServerCertificate::reload(bool force) {
    auto in_use = current();
    try {
        if (!force && std::filesystem::last_write_time(cert_path_) == in_use->cert_time &&
            std::filesystem::last_write_time(key_path_) == in_use->key_time)
            return false;
        auto fresh = load_pair(cert_path_, key_path_);
        {
            std::lock_guard lock(mutex_);
            current_ = fresh;
        }
        spdlog::info("TLS certificate loaded: {}", fresh->description);
        return true;
    } catch (const std::exception& e) {
        spdlog::error("TLS certificate not reloaded, still serving {}: {}", in_use->description,
                      e.what());
        return false;
    }
}

void ServerCertificate::serve_from(boost::asio::ssl::context& ctx) {
    auto pair = current();
    if (SSL_CTX_use_cert_and_key(ctx.native_handle(), pair->cert.get(), pair->key.get(),
                                 pair->chain, 1) != 1)
        throw std::runtime_error("the TLS certificate was refused: " + openssl_error());
    // At each handshake, before the certificate is sent: the pair in use now.
    SSL_CTX_set_cert_cb(
        ctx.native_handle(),
        [](SSL* ssl, void* arg) {
            auto pair = static_cast<ServerCertificate*>(arg)->current();
            return SSL_use_cert_and_key(ssl, pair->cert.get(), pair->key.get(), pair->chain, 1);
        },
        this);
}

boost::asio::ssl::context make_server_tls(ServerCertificate& certificate) {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    // TLS 1.2: forward secrecy and authenticated encryption only (ECDHE with AES-GCM or
    // ChaCha20-Poly1305), the server's order first; no CBC, no SHA-1 MAC, no RSA key exchange.
    // TLS 1.3's suites are all of that kind already.
    if (SSL_CTX_set_cipher_list(ctx.native_handle(), kTls12Ciphers) != 1)
        throw std::runtime_error("the TLS 1.2 cipher list was refused");
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
    certificate.serve_from(ctx);
    // Idle TLS connections give their read/write buffers back.
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

}  // namespace perch::net
