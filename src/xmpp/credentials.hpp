#pragma once
#include <functional>
#include <optional>
#include <string>

#include "chat/authz.hpp"
#include "store/workers.hpp"
#include "xmpp/scram.hpp"

namespace perch::xmpp {

struct UserCredentials {
    std::string username;
    bool disabled = false;
    std::optional<ScramCredential> sha1, sha256;
    // Who the user is for authorization, read in the same trip to the store.
    std::shared_ptr<const chat::Subject> subject;
};

// Looks users up for authentication, off the network threads.
class Credentials {
  public:
    explicit Credentials(store::StoreJobs& jobs) : jobs_(jobs) {}
    // `done` runs on a store thread; callers post back to their own executor.
    void lookup(const std::string& username,
                const std::function<void(std::optional<UserCredentials>)>& done);

    // What `perch user add/passwd` stores: salted SCRAM-SHA-1 and SCRAM-SHA-256 credentials.
    static void set_password(store::User& user, std::string_view password, int iterations = 4096);

  private:
    store::StoreJobs& jobs_;
};

}  // namespace perch::xmpp
