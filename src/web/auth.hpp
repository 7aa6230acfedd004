#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "chat/authz.hpp"
#include "net/http.hpp"
#include "xmpp/credentials.hpp"

// Who is asking, for the web services: the chat credentials, checked either from a signed-in
// session (a cookie, with a CSRF token for every request that changes something) or from
// HTTP Basic authentication on requests that change nothing (downloads, reads).
namespace perch::web {

struct WebUser {
    std::string username;
    std::shared_ptr<const chat::Subject> subject;
    std::string csrf;  // of the session; empty for Basic authentication
};

// Signed-in browser sessions, in memory (a restart signs everybody out).
class WebSessions {
  public:
    explicit WebSessions(std::chrono::seconds lifetime) : lifetime_(lifetime) {}
    // A new session; returns its cookie token.
    std::string open(WebUser user);
    std::optional<WebUser> find(const std::string& token);
    void close(const std::string& token);
    // Every session of `username` (the account was disabled).
    void close_user(const std::string& username);
    // The user's groups or policy changed: their sessions judge the next requests by `who`.
    void set_subject(const std::string& username, const std::shared_ptr<const chat::Subject>& who);
    std::set<std::string> users();  // who is signed in

  private:
    struct Entry {
        WebUser user;
        std::chrono::steady_clock::time_point expires;
    };
    std::chrono::seconds lifetime_;
    std::mutex mutex_;
    std::map<std::string, Entry> sessions_;
};

inline constexpr const char* kSessionCookie = "perch_session";

// The value of one cookie of a request, if present.
std::optional<std::string> cookie(const net::HttpRequest& request, const std::string& name);

// throttled: too many failed logins from the client's address or on the account (the
// password was not checked); try again after `retry_after`.
enum class AuthResult { ok, missing, bad_credentials, disabled, csrf, throttled };

struct AuthAnswer {
    AuthAnswer(AuthResult result, std::optional<WebUser> user = std::nullopt,
               std::chrono::seconds retry_after = {})
        : result(result), user(std::move(user)), retry_after(retry_after) {}
    AuthResult result;
    std::optional<WebUser> user;  // when ok
    std::chrono::seconds retry_after;
};
using AuthDone = std::function<void(AuthAnswer)>;

// Authenticates a request; `done` runs on some thread with the user or why not.
void authenticate(const net::HttpRequest& request, WebSessions& sessions,
                  xmpp::Credentials& credentials, const std::string& domain, AuthDone done);

// Checks a username and password (sign-in) from the client at `peer`, under the login guard;
// `done` runs on a store thread, or on the caller's when the guard refuses. The username may
// be given as the user's address on `domain` (alice@example.org), as people type it.
void check_password(xmpp::Credentials& credentials, const std::string& username,
                    const std::string& password, const std::string& peer, const std::string& domain,
                    AuthDone done);

// The answer to a throttled attempt: 429 with Retry-After.
net::HttpResponse too_many_attempts(std::chrono::seconds retry_after);

}  // namespace perch::web
