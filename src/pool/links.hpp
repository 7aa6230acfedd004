#pragma once
#include <cstdint>
#include <vector>

#include "pool/codec.hpp"
#include "store/types.hpp"

namespace perch::pool {

// The peer links of a pool, as the pool's domain side sees them (net/peer_links.cpp
// implements them over TLS). One link per pair of servers, so that what one server sends
// another arrives in the order it was sent.
class Links {
  public:
    virtual ~Links() = default;
    // Queues a frame for server `number` (any thread); false when there is no authenticated
    // link to it now, or its queue is full.
    virtual bool send(uint32_t number, const Json& frame) = 0;
    // The same frame for each of servers `numbers`, made into bytes once; the servers it could
    // not be queued for.
    virtual std::vector<uint32_t> send_each(const std::vector<uint32_t>& numbers,
                                            const Json& frame) {
        std::vector<uint32_t> failed;
        for (uint32_t n : numbers)
            if (!send(n, frame)) failed.push_back(n);
        return failed;
    }
    // Whether there is an authenticated link to server `number` now (any thread).
    virtual bool linked(uint32_t number) const = 0;
    // The live members changed: links to new ones are made, links to gone ones closed.
    virtual void members_changed(const std::vector<store::PoolMember>& live) = 0;
};

// Where a link hands what it received (on the link's own thread, in order).
class FrameHandler {
  public:
    virtual ~FrameHandler() = default;
    virtual void frame(uint32_t from, const Json& frame) = 0;
    // The link to `number` closed: what waited for its answer will not get one.
    virtual void link_lost(uint32_t number) = 0;
};

}  // namespace perch::pool
