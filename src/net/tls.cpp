#include "net/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

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

boost::asio::ssl::context make_server_tls(const std::string& cert_path,
                                          const std::string& key_path) {
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
    ctx.use_certificate_chain_file(cert_path);
    ctx.use_private_key_file(key_path, ssl::context::pem);
    // Idle TLS connections give their read/write buffers back.
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

}  // namespace perch::net
