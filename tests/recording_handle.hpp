#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/router.hpp"

// A bound session as the router sees it, keeping every stanza delivered to it as text.
struct Recorder final : perch::xmpp::SessionHandle {
    explicit Recorder(const perch::xmpp::Jid& jid) : SessionHandle(jid.str()), jid_(jid) {}
    const perch::xmpp::Jid& jid() const override { return jid_; }
    void deliver(perch::xmpp::Outgoing out) override {
        std::string s = out.head;
        if (out.shared) s.append(out.shared->text, out.shared->split);
        got.push_back(std::move(s));
    }
    void terminate(std::string_view, std::string_view) override {}
    void set_subject(std::shared_ptr<const perch::chat::Subject>) override {}
    perch::xmpp::Jid jid_;
    std::vector<std::string> got;
};
