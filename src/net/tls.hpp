#pragma once
#include <boost/asio/ssl/context.hpp>

#include <string>

namespace perch::net {

// Creates a self-signed certificate for `domain` (and its subdomains) at the given paths when
// either file is missing, so a first start works without any setup.
void ensure_certificate(const std::string& cert_path, const std::string& key_path,
                        const std::string& domain);
boost::asio::ssl::context make_server_tls(const std::string& cert_path,
                                          const std::string& key_path);

}  // namespace perch::net
