#pragma once
// Links between the servers of a pool that only record what is sent (for the pool's tests).
#include <string>
#include <utility>
#include <vector>

#include "pool/links.hpp"

struct RecordingLinks final : perch::pool::Links {
    std::vector<std::pair<uint32_t, perch::pool::Json>> sent;
    bool refuse = false;  // as when there is no link to the server
    bool send(uint32_t number, const perch::pool::Json& frame) override {
        if (refuse) return false;
        sent.emplace_back(number, frame);
        return true;
    }
    bool up = true;  // linked(): whether there is a link to the other servers
    bool linked(uint32_t) const override { return up; }
    void members_changed(const std::vector<perch::store::PoolMember>&) override {}
    std::vector<perch::pool::Json> commands(const std::string& op) const {
        std::vector<perch::pool::Json> out;
        for (const auto& [to, f] : sent)
            if (f.value("t", "") == "cmd" && f.value("op", "") == op) out.push_back(f);
        return out;
    }
};
