#pragma once
#include <boost/asio/ssl/context.hpp>

#include <string>

namespace perch::net {

// Creates a self-signed certificate for `domain` (and its subdomains) at the given paths when
// either file is missing, so a first start works without any setup.
void ensure_certificate(const std::string& cert_path, const std::string& key_path,
                        const std::string& domain);
// The server side of every TLS listener: TLS 1.2 and 1.3 only, kTls12Ciphers for 1.2.
boost::asio::ssl::context make_server_tls(const std::string& cert_path,
                                          const std::string& key_path);

// The TLS 1.2 suites accepted (OpenSSL's notation): ECDHE with AES-GCM or ChaCha20-Poly1305.
extern const char* const kTls12Ciphers;

}  // namespace perch::net
