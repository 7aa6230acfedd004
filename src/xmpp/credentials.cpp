#include "xmpp/credentials.hpp"

#include "chat/room_service.hpp"
#include "util/crypto.hpp"

namespace perch::xmpp {

void Credentials::lookup(const std::string& username,
                         const std::function<void(std::optional<UserCredentials>)>& done) {
    bool queued = jobs_.submit([username, done](store::Store& s) {
        auto user = s.find_user(username);
        if (!user) return done(std::nullopt);
        UserCredentials c;
        c.username = user->username;
        c.disabled = user->disabled;
        c.sha1 = ScramCredential::decode(util::Hash::sha1, user->scram_sha1);
        c.sha256 = ScramCredential::decode(util::Hash::sha256, user->scram_sha256);
        c.subject = chat::subject_of(s, *user);
        done(std::move(c));
    });
    if (!queued) done(std::nullopt);
}

void Credentials::set_password(store::User& user, std::string_view password, int iterations) {
    user.scram_sha1 =
        ScramCredential::derive(util::Hash::sha1, password, util::random_bytes(16), iterations)
            .encode();
    user.scram_sha256 =
        ScramCredential::derive(util::Hash::sha256, password, util::random_bytes(16), iterations)
            .encode();
}

}  // namespace perch::xmpp
