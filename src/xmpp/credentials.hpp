#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chat/authz.hpp"
#include "store/workers.hpp"
#include "xmpp/login_guard.hpp"
#include "xmpp/scram.hpp"

namespace perch::xmpp {

struct UserCredentials {
    std::string username;
    bool disabled = false;
    std::optional<ScramCredential> sha1, sha256;
    // Who the user is for authorization, read in the same trip to the store.
    std::shared_ptr<const chat::Subject> subject;
};

// Looks users up for authentication, off the network threads, and guards every way in
// against password guessing.
class Credentials {
  public:
    // `secret` is the server's (the same on every server of a pool): it keys what is shown
    // for users who do not exist.
    Credentials(store::StoreJobs& jobs, std::string secret, LoginGuardOptions guard = {})
        : jobs_(jobs), secret_(std::move(secret)), guard_(guard) {}
    // `done` runs on a store thread; callers post back to their own executor.
    void lookup(const std::string& username,
                const std::function<void(std::optional<UserCredentials>)>& done);

    // What `perch user add/passwd` stores: salted SCRAM-SHA-1 and SCRAM-SHA-256 credentials.
    static void set_password(store::User& user, std::string_view password, int iterations = 4096);

    // The server side of a SCRAM exchange, its fake answers keyed by the server's secret.
    std::unique_ptr<ScramServer> scram_server(util::Hash hash) const {
        return std::make_unique<ScramServer>(hash, secret_);
    }
    LoginGuard& guard() { return guard_; }

  private:
    store::StoreJobs& jobs_;
    std::string secret_;
    LoginGuard guard_;
};

}  // namespace perch::xmpp
