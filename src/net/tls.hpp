#pragma once
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace perch::net {

// The server's certificate (with its chain) and key, read again when the files change (a
// renewal) or when asked (SIGHUP), without a restart: each TLS handshake takes the pair in use
// when it starts; connections already open keep theirs. A pair that does not load (a file
// missing or half written, a key that is not the certificate's) is logged and the one in use
// kept.
class ServerCertificate {
  public:
    // Loads the pair; throws when it cannot (the server does not start without one).
    ServerCertificate(std::string cert_path, std::string key_path);
    ~ServerCertificate();
    ServerCertificate(const ServerCertificate&) = delete;
    ServerCertificate& operator=(const ServerCertificate&) = delete;

    // Reads the files again if either changed since the pair in use was read (or always, with
    // `force`). Returns whether a new pair is now in use.
    bool reload(bool force = false);
    // "CN=chat.example.com, valid until 2027-03-01T12:00:00Z", of the pair in use.
    std::string describe() const;
    // Makes `ctx` present the pair in use at every handshake.
    void serve_from(boost::asio::ssl::context& ctx);

    struct Pair;

  private:
    std::string cert_path_, key_path_;
    mutable std::mutex mutex_;
    std::shared_ptr<const Pair> current_;
    std::shared_ptr<const Pair> current() const;
};

// Creates a self-signed certificate for `domain` (and its subdomains) at the given paths when
// either file is missing, so a first start works without any setup.
void ensure_certificate(const std::string& cert_path, const std::string& key_path,
                        const std::string& domain);
// The server side of every TLS listener: TLS 1.2 and 1.3 only, kTls12Ciphers for 1.2, the
// certificate in use presented at each handshake (it must outlive the context).
boost::asio::ssl::context make_server_tls(ServerCertificate& certificate);

// The TLS 1.2 suites accepted (OpenSSL's notation): ECDHE with AES-GCM or ChaCha20-Poly1305.
extern const char* const kTls12Ciphers;

}  // namespace perch::net
