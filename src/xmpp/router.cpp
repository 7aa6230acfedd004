#include "xmpp/router.hpp"

#include <mutex>

#include "xmpp/service.hpp"

namespace perch::xmpp {

void Router::add_service(Service& service) {
    services_.push_back(&service);
}

Service* Router::service(std::string_view domain) const {
    for (Service* s : services_)
        if (s->domain() == domain) return s;
    return nullptr;
}

void Router::session_ended(SessionHandle& session) {
    unbind(session);
    for (Service* s : services_) s->session_ended(session.jid());
}

SessionHandlePtr Router::bind(SessionHandlePtr session) {
    SessionHandlePtr replaced;
    std::unique_lock lock(mutex_);
    auto& list = by_bare_[session->jid().bare_str()];
    for (auto& s : list) {
        if (s->jid().resource() == session->jid().resource()) {
            replaced = std::move(s);
            s = std::move(session);
            return replaced;
        }
    }
    list.push_back(std::move(session));
    ++count_;
    return nullptr;
}

void Router::unbind(SessionHandle& session) {
    session.alive_ = false;
    std::unique_lock lock(mutex_);
    auto it = by_bare_.find(session.jid().bare_str());
    if (it == by_bare_.end()) return;
    auto& list = it->second;
    for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].get() == &session) {
            list.erase(list.begin() + long(i));
            --count_;
            break;
        }
    }
    if (list.empty()) by_bare_.erase(it);
}

SessionHandlePtr Router::find(const Jid& full) const {
    std::shared_lock lock(mutex_);
    auto it = by_bare_.find(full.bare_str());
    if (it == by_bare_.end()) return nullptr;
    for (const auto& s : it->second)
        if (s->jid().resource() == full.resource()) return s;
    return nullptr;
}

std::vector<SessionHandlePtr> Router::resources(const Jid& bare) const {
    std::shared_lock lock(mutex_);
    auto it = by_bare_.find(bare.bare_str());
    return it == by_bare_.end() ? std::vector<SessionHandlePtr>{} : it->second;
}

std::vector<SessionHandlePtr> Router::all() const {
    std::shared_lock lock(mutex_);
    std::vector<SessionHandlePtr> out;
    out.reserve(count_);
    for (const auto& [bare, list] : by_bare_) out.insert(out.end(), list.begin(), list.end());
    return out;
}

size_t Router::session_count() const {
    std::shared_lock lock(mutex_);
    return count_;
}

}  // namespace perch::xmpp
