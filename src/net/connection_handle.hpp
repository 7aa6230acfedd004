#pragma once
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/acceptor.hpp"
#include "xmpp/router.hpp"

namespace perch::net {

// A client connection (TCP or WebSocket) as its handle reaches it: both called on its strand.
class RoutedConnection {
  public:
    virtual ~RoutedConnection() = default;
    virtual void deliver_routed(xmpp::Outgoing out) = 0;
    virtual void terminate(std::string_view condition, std::string_view text) = 0;
    virtual void set_subject(std::shared_ptr<const chat::Subject> who) = 0;
    // Around a burst: what it sends leaves in one write at the end (ClientConnection::cork).
    virtual void cork() {}
    virtual void uncork() {}
};

// The router's view of a bound session: may outlive its connection, and then drops what it
// is given. What it is given waits in an inbox that one task on the connection's strand
// empties: a burst of stanzas for one session (a room full of presences) costs one post to
// the strand, not one each. A session resumed on a new connection (XEP-0198) keeps its handle,
// which is then pointed at the new connection with an inbox of its own: everything handed to
// the handle before that moment reaches the old connection first, so the old session has it
// all when it hands over, and nothing is lost or reordered.
class ConnectionHandle final : public xmpp::SessionHandle,
                               public std::enable_shared_from_this<ConnectionHandle> {
  public:
    ConnectionHandle(std::weak_ptr<RoutedConnection> conn, xmpp::Jid jid, Strand strand)
        : SessionHandle(jid.str()),
          conn_(std::move(conn)),
          jid_(std::move(jid)),
          strand_(std::move(strand)) {}
    const xmpp::Jid& jid() const override { return jid_; }

    void deliver(xmpp::Outgoing out) override { enqueue({std::move(out), {}}); }

    void terminate(std::string_view condition, std::string_view text) override {
        enqueue({{}, [c = std::string(condition), t = std::string(text)](RoutedConnection& conn) {
                     conn.terminate(c, t);
                 }});
    }

    void set_subject(std::shared_ptr<const chat::Subject> who) override {
        enqueue({{}, [who = std::move(who)](RoutedConnection& conn) mutable {
                     conn.set_subject(std::move(who));
                 }});
    }

    // From now on, what the handle is given goes to `conn`.
    void retarget(std::weak_ptr<RoutedConnection> conn, Strand strand) {
        std::lock_guard lock(mutex_);
        conn_ = std::move(conn);
        strand_ = std::move(strand);
        inbox_ = std::make_shared<Inbox>();
    }

  private:
    struct Item {
        xmpp::Outgoing out;
        std::function<void(RoutedConnection&)> call;  // set for anything but a stanza
    };
    struct Inbox {
        std::vector<Item> items;  // under the handle's mutex; not empty: a task is on its way
    };

    void enqueue(Item item) {
        std::lock_guard lock(mutex_);
        auto conn = conn_.lock();
        if (!conn) return;
        bool first = inbox_->items.empty();
        inbox_->items.push_back(std::move(item));
        if (!first) return;
        boost::asio::post(strand_,
                          [self = shared_from_this(), conn = std::move(conn), inbox = inbox_] {
                              std::vector<Item> items;
                              {
                                  std::lock_guard lock(self->mutex_);
                                  items.swap(inbox->items);
                              }
                              conn->cork();
                              for (auto& i : items) {
                                  if (i.call)
                                      i.call(*conn);
                                  else
                                      conn->deliver_routed(std::move(i.out));
                              }
                              conn->uncork();
                          });
    }

    std::mutex mutex_;
    std::weak_ptr<RoutedConnection> conn_;
    xmpp::Jid jid_;
    Strand strand_;
    std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
};

}  // namespace perch::net
