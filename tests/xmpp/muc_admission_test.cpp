// The chat service under its admission: joins beyond the limit wait in order, the posts of
// everybody else go ahead of them, a waiting session's own stanzas follow its join, and a
// session gone meanwhile joins nothing.
#include <gtest/gtest.h>

#include "manual_runtime.hpp"
#include "recording_handle.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/namespaces.hpp"

using namespace perch;

namespace {

// Room commands as the service gives them: joins and posts kept with their replies; the test
// answers them.
struct FakeRooms final : chat::RoomCommands {
    std::vector<std::string> seen;  // "join r alice", "post r alice", ...
    std::vector<chat::Reply<chat::JoinResult>> join_replies;

    void join(chat::JoinCommand c, chat::Reply<chat::JoinResult> reply) override {
        seen.push_back("join " + c.room + " " + c.actor.user());
        join_replies.push_back(std::move(reply));
    }
    void leave(chat::LeaveCommand c, chat::Reply<chat::Ok>) override {
        seen.push_back("leave " + c.room + " " + c.full_jid);
    }
    void post(chat::PostCommand c, chat::Reply<chat::Posted>) override {
        seen.push_back("post " + c.room + " " + c.body);
    }
    void relay(chat::RelayCommand, chat::Reply<chat::Ok>) override {}
    void send_private(chat::PrivateCommand, chat::Reply<chat::Ok>) override {}
    void set_subject(chat::SubjectCommand, chat::Reply<chat::Ok>) override {}
    void configure(chat::ConfigureCommand, chat::Reply<chat::Ok>) override {}
    void change_lists(chat::ListsCommand, chat::Reply<chat::Ok>) override {}
    void kick(chat::KickCommand, chat::Reply<chat::Ok>) override {}
    void moderate(chat::ModerateCommand, chat::Reply<chat::Ok>) override {}
    void invite(chat::InviteCommand, chat::Reply<chat::Ok>) override {}
    void destroy(chat::DestroyCommand, chat::Reply<chat::Ok>) override {}
    void clear_history(chat::ClearHistoryCommand, chat::Reply<int64_t>) override {}
    void create(chat::CreateCommand, chat::Reply<chat::Ok>) override {}
    void archive(chat::ArchiveCommand, chat::Reply<store::ArchivePage>) override {}
    void search(chat::SearchCommand, chat::Reply<chat::SearchResult>) override {}
    void info(std::string, chat::Actor, chat::Reply<chat::RoomInfo>) override {}
    void occupants(std::string, chat::Actor, chat::Reply<std::vector<std::string>>) override {}
    void lists(std::string, chat::Actor,
               chat::Reply<std::vector<std::pair<store::RoomList, store::Principal>>>) override {}
    void mark_read(std::string, chat::Actor, chat::Reply<chat::Ok>) override {}
    void following(chat::Actor, chat::Reply<std::vector<chat::Followed>>) override {}
};

class MucAdmissionTest : public ::testing::Test {
  protected:
    manual::Loop loop_;
    util::Shards shards_ = manual::shards(loop_, 2);
    xmpp::Router router_;
    xmpp::MucDelivery delivery_{"chat.example.org", "example.org", shards_, router_};
    chat::Directory directory_;
    FakeRooms rooms_;
    std::shared_ptr<util::Admission> admission_ = std::make_shared<util::Admission>(
        1, [this](std::function<void()> work) { loop_.post(std::move(work)); });
    xmpp::MucService muc_{config(), rooms_, directory_, delivery_, shards_};

    xmpp::MucConfig config() {
        xmpp::MucConfig c;
        c.domain = "chat.example.org";
        c.user_domain = "example.org";
        c.admission = admission_;
        return c;
    }
    std::shared_ptr<Recorder> session(const std::string& user) {
        auto s = std::make_shared<Recorder>(xmpp::Jid::make(user, "example.org", "pc"));
        router_.bind(s);
        return s;
    }
    void send(const std::shared_ptr<Recorder>& s, xml::Element stanza, const std::string& to) {
        auto who = std::make_shared<chat::Subject>();
        who->user = s->jid().local();
        muc_.handle(std::move(stanza), s->jid(), *xmpp::Jid::parse(to), s, who);
        loop_.drain();
    }
    void join(const std::shared_ptr<Recorder>& s, const std::string& room) {
        xml::Element p("presence", std::string(xmpp::ns::client));
        p.add_child("x", std::string(xmpp::ns::muc));
        send(s, std::move(p), room + "@chat.example.org/" + s->jid().local());
    }
    void post(const std::shared_ptr<Recorder>& s, const std::string& room,
              const std::string& body) {
        xml::Element m("message", std::string(xmpp::ns::client));
        m.set_attr("type", "groupchat");
        m.add_child("body", std::string(xmpp::ns::client)).add_text(body);
        send(s, std::move(m), room + "@chat.example.org");
    }
    // The room answers the oldest join still unanswered (a refusal will do: the test is about
    // when commands go, not what they do).
    void answer_join(size_t i) {
        auto reply = std::move(rooms_.join_replies.at(i));
        reply(chat::Error{chat::Fault::busy, "busy"});
        loop_.drain();
    }
};

}  // namespace

TEST_F(MucAdmissionTest, JoinsWaitTheirTurnAndOthersPostsGoAhead) {
    auto alice = session("alice"), bob = session("bob"), carol = session("carol");
    join(alice, "r1");
    join(bob, "r2");               // the limit is one join under way: waits
    post(bob, "r2", "bob's");      // follows bob's own join
    post(carol, "r1", "carol's");  // nothing of carol's waits: at once
    EXPECT_EQ(rooms_.seen, (std::vector<std::string>{"join r1 alice", "post r1 carol's"}));
    EXPECT_EQ(admission_->waiting(), 1);
    EXPECT_FALSE(admission_->open());

    answer_join(0);
    EXPECT_EQ(rooms_.seen, (std::vector<std::string>{"join r1 alice", "post r1 carol's",
                                                     "join r2 bob", "post r2 bob's"}));
    answer_join(1);
    EXPECT_EQ(admission_->pending(), 0);
    EXPECT_TRUE(admission_->open());
}

TEST_F(MucAdmissionTest, ASessionGoneWhileItsJoinWaitsJoinsNothing) {
    auto alice = session("alice"), dave = session("dave"), erin = session("erin");
    join(alice, "r1");
    join(dave, "r2");
    join(erin, "r3");
    router_.session_ended(*dave);  // dave's connection closes while his join waits
    answer_join(0);
    // dave's join is skipped; erin's goes in its place.
    EXPECT_EQ(rooms_.seen, (std::vector<std::string>{"join r1 alice", "join r3 erin"}));
    EXPECT_EQ(admission_->running(), 1);
    EXPECT_EQ(admission_->waiting(), 0);
}

// An occupant's new status to a room it is in is not a join: it is not held behind the joins
// waiting (nor counted).
TEST_F(MucAdmissionTest, AnOccupantsStatusChangeIsNotHeldBehindJoins) {
    auto alice = session("alice"), bob = session("bob"), carol = session("carol");
    shards_.of("r0").post([&] { delivery_.joined("r0", "carol", carol); });
    loop_.drain();
    join(alice, "r1");
    join(bob, "r2");    // waits
    join(carol, "r0");  // carol is in r0: her presence there is a status change
    EXPECT_EQ(rooms_.seen, (std::vector<std::string>{"join r1 alice", "join r0 carol"}));
    EXPECT_EQ(admission_->running(), 1);
    EXPECT_EQ(admission_->waiting(), 1);
}
