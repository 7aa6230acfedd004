#include "web/auth.hpp"

#include "util/base64.hpp"
#include "util/ids.hpp"
#include "web/app.hpp"
#include "xmpp/jid.hpp"

namespace perch::web {

std::string WebSessions::open(WebUser user) {
    std::string token = util::random_id();
    user.csrf = util::random_id();
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires <= now; });
    sessions_[token] = {std::move(user), now + lifetime_};
    return token;
}

std::optional<WebUser> WebSessions::find(const std::string& token) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(token);
    if (it == sessions_.end()) return std::nullopt;
    if (it->second.expires <= now) {
        sessions_.erase(it);
        return std::nullopt;
    }
    it->second.expires = now + lifetime_;  // sliding: an active user stays signed in
    return it->second.user;
}

void WebSessions::close(const std::string& token) {
    std::lock_guard lock(mutex_);
    sessions_.erase(token);
}

void WebSessions::close_user(const std::string& username) {
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [&](const auto& s) { return s.second.user.username == username; });
}

void WebSessions::set_subject(const std::string& username,
                              const std::shared_ptr<const chat::Subject>& who) {
    std::lock_guard lock(mutex_);
    for (auto& [token, entry] : sessions_)
        if (entry.user.username == username) entry.user.subject = who;
}

std::set<std::string> WebSessions::users() {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    for (const auto& [token, entry] : sessions_) out.insert(entry.user.username);
    return out;
}

std::optional<std::string> cookie(const net::HttpRequest& request, const std::string& name) {
    const std::string* header = request.header("cookie");
    if (!header) return std::nullopt;
    std::string_view rest = *header;
    while (!rest.empty()) {
        size_t semi = rest.find(';');
        std::string_view pair = rest.substr(0, semi);
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name)
            return std::string(pair.substr(eq + 1));
    }
    return std::nullopt;
}

void check_password(xmpp::Credentials& credentials, const std::string& username,
                    const std::string& password, const std::string& peer, const std::string& domain,
                    AuthDone done) {
    std::string name = username;
    if (auto at = name.rfind('@'); at != std::string::npos) {
        auto given = xmpp::nameprep(name.substr(at + 1));
        if (given && *given == domain) name.resize(at);
    }
    auto node = xmpp::nodeprep(name);
    if (!node || password.empty()) return done({AuthResult::bad_credentials});
    auto& guard = credentials.guard();
    auto admission = guard.admit(*node, peer, xmpp::LoginChannel::http);
    if (!admission.allowed) return done({AuthResult::throttled, {}, admission.retry_after});
    credentials.lookup(*node, [&guard, done = std::move(done), password, peer, user = *node,
                               ticket = admission.ticket](std::optional<xmpp::UserCredentials> c) {
        // A PBKDF2 run: here on the store thread, never on an I/O thread.
        if (!c || !c->sha256 || !c->sha256->matches_password(password)) {
            guard.failed(user, peer, xmpp::LoginChannel::http);
            return done({AuthResult::bad_credentials});
        }
        guard.succeeded(user, peer, ticket);
        if (c->disabled) return done({AuthResult::disabled});
        done({AuthResult::ok, WebUser{user, c->subject, {}}});
    });
}

net::HttpResponse too_many_attempts(std::chrono::seconds retry_after) {
    auto r = json_error(429, xmpp::LoginGuard::refusal_text(retry_after));
    r.set("Retry-After", std::to_string(retry_after.count()));
    return r;
}

void authenticate(const net::HttpRequest& request, WebSessions& sessions,
                  xmpp::Credentials& credentials, const std::string& domain, AuthDone done) {
    bool safe = request.method == "GET" || request.method == "HEAD";
    if (auto token = cookie(request, kSessionCookie)) {
        if (auto user = sessions.find(*token)) {
            // A request that changes something must prove it comes from our pages.
            const std::string* csrf = request.header("x-csrf-token");
            if (!safe && (!csrf || *csrf != user->csrf)) return done({AuthResult::csrf});
            return done({AuthResult::ok, std::move(user)});
        }
    }
    const std::string* authorization = request.header("authorization");
    if (!authorization || !authorization->starts_with("Basic ")) return done({AuthResult::missing});
    // Browsers replay Basic credentials on their own: accepted only where nothing changes.
    if (!safe) return done({AuthResult::csrf});
    auto decoded = util::base64_decode(authorization->substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return done({AuthResult::bad_credentials});
    check_password(credentials, decoded->substr(0, colon), decoded->substr(colon + 1), request.peer,
                   domain, std::move(done));
}

}  // namespace perch::web
