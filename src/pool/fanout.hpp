#pragma once
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/directory.hpp"
#include "chat/events.hpp"
#include "pool/links.hpp"
#include "pool/membership.hpp"
#include "util/executor.hpp"

namespace perch::pool {

// The events of the rooms this server serves go to this server's occupants and, once each, to
// every other server that has occupants in the room (which shows them to its own); events of
// rooms served elsewhere arrive from their server and go to this server's occupants.
//
// Per room it keeps how many occupants each other server has there, from the events
// themselves (on the room's shard, where they are published). Room changes and deletions go
// to every server, whose directory follows; so do invitations, since the invitee may be
// anywhere.
class Fanout final : public chat::RoomEventSink {
  public:
    Fanout(chat::RoomEventSink& local, chat::Directory& directory, util::Shards& shards,
           const Membership& membership);
    void set_links(Links* links) { links_ = links; }

    // From this server's room service, on the room's shard.
    void room_event(const chat::RoomEvent& e) override;
    void invitation(const chat::Invitation& inv) override;

    // From the room's server (on the link's thread): posted to the room's shard and shown
    // there. A message already shown (a sequence number not above the last one) is dropped.
    void remote_event(chat::RoomEvent e);
    void remote_invitation(const chat::Invitation& inv);

    // The room is no longer served here: what was known of other servers' occupants goes
    // (on the room's shard).
    void forget_room(const std::string& node);

  private:
    void send_to(const std::vector<uint32_t>& servers, const Json& frame);
    std::vector<uint32_t> others();

    chat::RoomEventSink& local_;
    chat::Directory& directory_;
    util::Shards& shards_;
    const Membership& membership_;
    Links* links_ = nullptr;
    struct RoomAudience {
        std::map<uint32_t, size_t> servers;  // other servers with occupants: how many each
    };
    struct Shown {
        int64_t last_seq = 0;  // the newest message of the room shown here
    };
    // Per shard, touched only there: rooms served here, and rooms served elsewhere.
    std::vector<std::unordered_map<std::string, RoomAudience>> served_;
    std::vector<std::unordered_map<std::string, Shown>> shown_;
};

}  // namespace perch::pool
