// The room service without sockets: commands against a temporary SQLite store, run on a
// manual loop (tests/manual_runtime.hpp), events caught by a recording sink.
#include <gtest/gtest.h>

#include <filesystem>

#include "chat/room_service.hpp"
#include "manual_runtime.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"

using namespace perch;
using chat::Fault;
using store::Principal;

namespace {

struct RecordingSink final : chat::RoomEventSink {
    std::vector<chat::RoomEvent> events;
    std::vector<chat::Invitation> invitations;
    void room_event(const chat::RoomEvent& e) override { events.push_back(e); }
    void invitation(const chat::Invitation& inv) override { invitations.push_back(inv); }

    template <class T>
    std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& e : events)
            if (auto* t = std::get_if<T>(&e.what)) out.push_back(*t);
        return out;
    }
};

class RoomServiceTest : public ::testing::Test {
  protected:
    void SetUp() override { start(false); }
    void TearDown() override {
        service_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    void start(bool compliance) {
        service_.reset();
        store_.reset();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
        dir_ = std::filesystem::temp_directory_path() / ("perch-rooms-" + util::random_id());
        std::filesystem::create_directories(dir_);
        store::StoreConfig sc;
        sc.path = (dir_ / "content.db").string();
        sc.synchronous_full = false;
        sc.compliance = compliance;
        store_ = store::open_store(sc);
        manual_ = std::make_unique<manual::Store>(loop_, *store_);

        // Category "Projects": everyone allowed, bob denied, alice creates rooms.
        store::Category cat;
        cat.name = "Projects";
        projects_ = store_->add_category(cat);
        store_->set_category_principal(projects_, store::CategoryList::allowed, Principal::all(),
                                       true);
        store_->set_category_principal(projects_, store::CategoryList::denied,
                                       Principal::user("bob"), true);
        store_->set_category_principal(projects_, store::CategoryList::creator,
                                       Principal::user("alice"), true);
        cat.name = "Quiet";
        cat.chat_history = false;
        int64_t quiet = store_->add_category(cat);
        store_->set_category_principal(quiet, store::CategoryList::allowed, Principal::all(), true);

        room("open", projects_, store::Privacy::open);
        room("closed", projects_, store::Privacy::closed,
             {{store::RoomList::member, Principal::group("staff")}});
        room("secret", projects_, store::Privacy::secret,
             {{store::RoomList::member, Principal::user("carol")}});
        room("stage", projects_, store::Privacy::open,
             {{store::RoomList::presenter, Principal::user("carol")}}, store::RoomType::auditorium);
        room("managed", projects_, store::Privacy::open,
             {{store::RoomList::manager, Principal::user("alice")},
              {store::RoomList::member, Principal::user("dave")}});
        room("hush", quiet, store::Privacy::open);

        directory_.load(*store_);
        chat::RoomServiceConfig config;
        chat::Settings settings;
        settings.default_history = 5;
        settings.participant_update_limit = 4;
        config.settings = std::make_shared<chat::LiveSettings>(settings);
        config.history_cache = 10;
        config.default_category = "Projects";
        config.occupant_id_secret = "secret";
        config.compliance = compliance;
        config.post_rate = {0.001, 20};  // twenty posts each, then (practically) none
        config.tombstone = [](const std::string&, const std::string& by, const std::string& reason,
                              int64_t) {
            return "<moderated by='" + by + "'>" + reason + "</moderated>";
        };
        service_ = std::make_unique<chat::RoomService>(config, directory_, shards_, *manual_,
                                                       *manual_, sink_);
    }

    void room(const std::string& node, int64_t category, store::Privacy privacy,
              std::vector<std::pair<store::RoomList, Principal>> lists = {},
              store::RoomType type = store::RoomType::normal) {
        store::Room r;
        r.node = node;
        r.name = node;
        r.category_id = category;
        r.privacy = privacy;
        r.type = type;
        int64_t id = store_->add_room(r);
        for (auto& [list, p] : lists) store_->set_room_principal(id, list, p, true);
    }

    // Pools: this server ("here") and another ("there") in the pool; the room service started
    // again as a pool member's, with `config`.
    void pool_of_two() {
        store_->join_pool({0, "here", "h:1", "h:2", 1, ""}, 60000);
        store_->join_pool({0, "there", "t:1", "t:2", 2, ""}, 60000);
    }
    void in_a_pool(chat::RoomServiceConfig config) {
        service_.reset();
        config.occupant_id_secret = "secret";
        service_ = std::make_unique<chat::RoomService>(config, directory_, shards_, *manual_,
                                                       *manual_, sink_);
    }
    static std::map<int64_t, int64_t> claim_here(store::Store& s, const std::vector<int64_t>& ids) {
        return s.claim_rooms(ids, "here");
    }

    static chat::SubjectPtr who(std::string user, std::set<std::string> groups = {},
                                bool admin = false) {
        auto s = std::make_shared<chat::Subject>();
        s->user = std::move(user);
        s->groups = std::move(groups);
        s->administrator = admin;
        return s;
    }
    static chat::Actor as(const chat::SubjectPtr& s, const std::string& resource = "pc") {
        return chat::Actor{s, s->user + "@example.org/" + resource, {}};
    }

    template <class T>
    std::optional<chat::Result<T>> run(std::function<void(chat::Reply<T>)> command) {
        std::optional<chat::Result<T>> out;
        command([&](chat::Result<T> r) { out.emplace(std::move(r)); });
        loop_.drain();
        return out;
    }

    chat::Result<chat::JoinResult> join(const std::string& room, const chat::Actor& actor,
                                        const std::string& nick, chat::HistoryRequest h = {}) {
        chat::JoinCommand c;
        c.room = room;
        c.actor = actor;
        c.nick = nick;
        c.history = h;
        auto r = run<chat::JoinResult>([&](auto reply) { service_->join(c, reply); });
        EXPECT_TRUE(r.has_value()) << "no reply";
        return std::move(*r);
    }

    chat::Result<chat::Posted> post(const std::string& room, const chat::Actor& actor,
                                    const std::string& body) {
        chat::PostCommand c;
        c.room = room;
        c.full_jid = actor.full_jid;
        c.body = body;
        c.origin_id = "o-" + body;
        auto r = run<chat::Posted>([&](auto reply) { service_->post(c, reply); });
        EXPECT_TRUE(r.has_value()) << "no reply";
        return std::move(*r);
    }

    // The room becomes members-only, by a manager's settings change.
    void close_room(const std::string& room, const chat::Actor& manager) {
        chat::SettingsChange closed;
        closed.privacy = store::Privacy::closed;
        auto done = run<chat::Ok>([&](auto reply) {
            service_->configure({room, manager, closed}, reply);
        });
        ASSERT_TRUE(done && done->ok());
    }

    std::vector<std::string> outbox_types() {
        std::vector<std::string> types;
        for (const auto& e : store_->outbox(1000)) types.push_back(e.type);
        return types;
    }

    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    manual::Loop loop_;
    util::Shards shards_ = manual::shards(loop_, 3);
    std::unique_ptr<manual::Store> manual_;
    chat::Directory directory_;
    RecordingSink sink_;
    std::unique_ptr<chat::RoomService> service_;
    int64_t projects_ = 0;
};

}  // namespace

TEST_F(RoomServiceTest, JoinRulesFollowPrivacyAndCategoryLists) {
    auto erin = who("erin"), staff = who("sam", {"staff"}), carol = who("carol"), bob = who("bob");
    EXPECT_TRUE(join("open", as(erin), "erin").ok());
    // Closed: listed, but for members only (a group counts).
    EXPECT_EQ(join("closed", as(erin), "erin").error().fault, Fault::members_only);
    EXPECT_TRUE(join("closed", as(staff), "sam").ok());
    // Secret: a non-member learns nothing, not even that it exists.
    EXPECT_EQ(join("secret", as(erin), "erin").error().fault, Fault::not_found);
    EXPECT_TRUE(join("secret", as(carol), "carol").ok());
    // Denied in the category: the category's rooms are not there for bob.
    EXPECT_EQ(join("open", as(bob), "bob").error().fault, Fault::not_found);
    // Persistent chat off for the user.
    auto off = std::make_shared<chat::Subject>(*erin);
    off->chat_enabled = false;
    EXPECT_EQ(join("open", as(off, "x"), "off").error().fault, Fault::forbidden);
    EXPECT_EQ(join("nowhere", as(erin), "erin").error().fault, Fault::not_found);
    EXPECT_EQ(join("open", as(erin, "tablet"), "").error().fault, Fault::bad_address);
}

TEST_F(RoomServiceTest, RolesFromManagersMembersAndTheAuditorium) {
    auto alice = join("managed", as(who("alice")), "alice");
    ASSERT_TRUE(alice.ok());
    EXPECT_EQ(alice->self.affiliation, chat::Affiliation::owner);
    EXPECT_EQ(alice->self.role, chat::Role::moderator);
    auto dave = join("managed", as(who("dave")), "dave");
    EXPECT_EQ(dave->self.affiliation, chat::Affiliation::member);
    EXPECT_EQ(dave->self.role, chat::Role::participant);
    EXPECT_EQ(join("managed", as(who("erin")), "erin")->self.affiliation, chat::Affiliation::none);
    // In an auditorium only presenters (and managers) speak.
    auto listener = join("stage", as(who("erin")), "erin");
    EXPECT_EQ(listener->self.role, chat::Role::visitor);
    auto presenter = join("stage", as(who("carol")), "carol");
    EXPECT_EQ(presenter->self.role, chat::Role::participant);
    EXPECT_EQ(post("stage", as(who("erin")), "may I?").error().fault, Fault::forbidden);
    EXPECT_TRUE(post("stage", as(who("carol")), "welcome").ok());
    // Only occupants post.
    EXPECT_EQ(post("open", as(who("erin")), "hello?").error().fault, Fault::not_occupant);
}

TEST_F(RoomServiceTest, NicknamesConflictExceptForTheSameUsersOtherDevices) {
    auto erin = who("erin");
    ASSERT_TRUE(join("open", as(erin, "pc"), "erin").ok());
    EXPECT_EQ(join("open", as(who("frank")), "erin").error().fault, Fault::conflict);
    sink_.events.clear();
    auto second = join("open", as(erin, "phone"), "erin");
    ASSERT_TRUE(second.ok());
    // The others see the nickname once: the second device is not announced to them anew.
    auto joined = sink_.all<chat::OccupantJoined>();
    ASSERT_EQ(joined.size(), 1u);
    EXPECT_EQ(joined[0].occupant.full_jid, "erin@example.org/phone");
    // A leave of one device is not the nickname leaving.
    run<chat::Ok>([&](auto reply) { service_->leave({"open", "erin@example.org/pc", {}}, reply); });
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_FALSE(left[0].announce);
}

TEST_F(RoomServiceTest, ACategoryCreatorCreatesARoomByJoiningIt) {
    auto alice = join("fresh", as(who("alice")), "alice");
    ASSERT_TRUE(alice.ok());
    EXPECT_TRUE(alice->created);
    EXPECT_EQ(alice->self.affiliation, chat::Affiliation::owner);
    EXPECT_TRUE(directory_.room("fresh"));
    // Nobody else brings rooms into being.
    EXPECT_EQ(join("other", as(who("erin")), "erin").error().fault, Fault::not_found);
    EXPECT_FALSE(store_->find_room("other"));
}

TEST_F(RoomServiceTest, HistoryOnJoinIsTheNewestMessagesInOrder) {
    auto erin = as(who("erin"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    for (int i = 1; i <= 20; ++i) ASSERT_TRUE(post("open", erin, "m" + std::to_string(i)).ok());
    auto frank = as(who("frank"));
    auto seqs = [](const chat::JoinResult& r) {
        std::vector<int64_t> out;
        for (const auto& m : r.history) out.push_back(m.seq);
        return out;
    };
    // The default (5), from the cache.
    EXPECT_EQ(seqs(join("open", frank, "frank").value()),
              (std::vector<int64_t>{16, 17, 18, 19, 20}));
    // More than the cache holds (10): read from the store.
    chat::HistoryRequest many;
    many.max_stanzas = 15;
    auto r = join("open", as(who("gina")), "gina", many);
    EXPECT_EQ(seqs(r.value()).size(), 15u);
    EXPECT_EQ(seqs(r.value()).front(), 6);
    EXPECT_EQ(seqs(r.value()).back(), 20);
    chat::HistoryRequest none;
    none.max_stanzas = 0;
    EXPECT_TRUE(join("open", as(who("hal")), "hal", none)->history.empty());
    // A category without chat history shows none.
    ASSERT_TRUE(join("hush", erin, "erin").ok());
    ASSERT_TRUE(post("hush", erin, "whisper").ok());
    EXPECT_TRUE(join("hush", frank, "frank")->history.empty());
}

TEST_F(RoomServiceTest, PostsArePublishedInSequenceAfterTheyAreStored) {
    auto erin = as(who("erin"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    sink_.events.clear();
    for (int i = 0; i < 5; ++i) {
        auto m = post("open", erin, "n" + std::to_string(i));
        ASSERT_TRUE(m.ok());
        EXPECT_EQ(m->seq, i + 1);
        EXPECT_EQ(store_->count_messages(store_->find_room("open")->id), i + 1);  // stored first
    }
    auto posted = sink_.all<chat::MessagePosted>();
    ASSERT_EQ(posted.size(), 5u);
    for (size_t i = 0; i < posted.size(); ++i) {
        EXPECT_EQ(posted[i].message.seq, int64_t(i + 1));
        EXPECT_EQ(posted[i].message.origin_id, "o-n" + std::to_string(i));
    }
    // A failed commit shows nothing.
    manual_->refuse = true;
    EXPECT_EQ(post("open", erin, "lost").error().fault, Fault::busy);
    manual_->refuse = false;
    EXPECT_EQ(sink_.all<chat::MessagePosted>().size(), 5u);
}

TEST_F(RoomServiceTest, ModerationReplacesTheMessageForManagersOnly) {
    auto alice = as(who("alice")), dave = as(who("dave"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    ASSERT_TRUE(join("managed", dave, "dave").ok());
    auto m = post("managed", dave, "oops");
    ASSERT_TRUE(m.ok());
    auto moderate = [&](const chat::Actor& a, const std::string& id) {
        return *run<chat::Ok>([&](auto reply) {
            service_->moderate({"managed", a, id, "spam", {}}, reply);
        });
    };
    EXPECT_EQ(moderate(dave, m->stanza_id).error().fault, Fault::forbidden);
    EXPECT_EQ(moderate(alice, "no-such-id").error().fault, Fault::not_found);
    ASSERT_TRUE(moderate(alice, m->stanza_id).ok());
    auto retracted = sink_.all<chat::MessageRetracted>();
    ASSERT_EQ(retracted.size(), 1u);
    EXPECT_EQ(retracted[0].by_nick, "alice");
    EXPECT_TRUE(retracted[0].message.removed);
    auto q = store::ArchiveQuery{};
    q.room_id = store_->find_room("managed")->id;
    auto page = store_->query_archive(q);
    ASSERT_EQ(page.messages.size(), 1u);
    EXPECT_NE(page.messages[0].body, "oops");
    EXPECT_EQ(page.messages[0].payload, "<moderated by='alice'>spam</moderated>");
    // Who joins later sees the notice, not the text.
    auto later = join("managed", as(who("erin")), "erin");
    ASSERT_EQ(later->history.size(), 1u);
    EXPECT_TRUE(later->history[0].removed);
    // And the answer says which message is the room's newest (a pool's follower starts there).
    EXPECT_EQ(later->last_seq, later->history[0].seq);
}

TEST_F(RoomServiceTest, SettingsThatShutSomebodyOutRemoveThem) {
    auto alice = as(who("alice")), dave = as(who("dave")), erin = as(who("erin"));
    for (auto* a : {&alice, &dave, &erin}) ASSERT_TRUE(join("managed", *a, a->user()).ok());
    chat::SettingsChange change;
    change.privacy = store::Privacy::closed;
    EXPECT_EQ((*run<chat::Ok>([&](auto reply) {
                  service_->configure({"managed", erin, change}, reply);
              }))
                  .error()
                  .fault,
              Fault::forbidden);
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) {
                    service_->configure({"managed", alice, change}, reply);
                })).ok());
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);  // erin; dave is a member
    EXPECT_EQ(left[0].occupant.nick, "erin");
    EXPECT_EQ(left[0].why, chat::Departure::members_only);
    EXPECT_EQ(directory_.room("managed")->meta.privacy, store::Privacy::closed);
    EXPECT_EQ(store_->find_room("managed")->privacy, store::Privacy::closed);
    ASSERT_FALSE(sink_.all<chat::RoomChanged>().empty());
    // A name over the limit is refused, nothing changed.
    chat::SettingsChange long_name;
    long_name.name = std::string(300, 'x');
    EXPECT_EQ((*run<chat::Ok>([&](auto reply) {
                  service_->configure({"managed", alice, long_name}, reply);
              }))
                  .error()
                  .fault,
              Fault::not_acceptable);
    EXPECT_EQ(store_->find_room("managed")->name, "managed");
}

TEST_F(RoomServiceTest, ListChangesApplyAtOnce) {
    auto alice = as(who("alice")), dave = as(who("dave"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    close_room("managed", alice);
    ASSERT_TRUE(join("managed", dave, "dave").ok());
    chat::ListsCommand c{
        "managed", alice, {{store::RoomList::member, Principal::user("dave"), false, {}}}};
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) { service_->change_lists(c, reply); })).ok());
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].why, chat::Departure::affiliation_lost);
    EXPECT_EQ(join("managed", dave, "dave").error().fault, Fault::members_only);
    // By nickname: the occupant's user.
    ASSERT_TRUE(join("managed", as(who("erin")), "erin").error().fault == Fault::members_only);
    chat::ListsCommand by_nick{
        "managed", alice, {{store::RoomList::presenter, Principal{}, true, "alice"}}};
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) { service_->change_lists(by_nick, reply); })).ok());
    bool presenter = false;
    for (auto& [list, p] : store_->room_principals(store_->find_room("managed")->id))
        presenter |= list == store::RoomList::presenter && p == Principal::user("alice");
    EXPECT_TRUE(presenter);
}

// A ban (the room's denied list) takes the occupant out with its own reason, keeps them out
// with forbidden, and is lifted by taking them off the list.
TEST_F(RoomServiceTest, ABanTakesTheOccupantOutAndKeepsThemOut) {
    auto alice = as(who("alice")), dave = as(who("dave"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    ASSERT_TRUE(join("managed", dave, "dave").ok());
    auto change = [&](bool present) {
        chat::ListsCommand c{
            "managed", alice, {{store::RoomList::denied, Principal::user("dave"), present, {}}}};
        return *run<chat::Ok>([&](auto reply) { service_->change_lists(c, reply); });
    };
    ASSERT_TRUE(change(true).ok());
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].occupant.nick, "dave");
    EXPECT_EQ(left[0].why, chat::Departure::banned);
    auto refused = join("managed", dave, "dave");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().fault, Fault::forbidden);
    EXPECT_EQ(refused.error().text, "You are banned from this room");
    ASSERT_TRUE(change(false).ok());
    EXPECT_TRUE(join("managed", dave, "dave").ok());
}

// A ban made outside the server (the command line) reaches the room with its reload: the
// occupant goes as banned (XEP-0045 301), not as one who lost their membership.
TEST_F(RoomServiceTest, ABanFromOutsideTheServerIsABan) {
    auto alice = as(who("alice")), dave = as(who("dave"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    ASSERT_TRUE(join("managed", dave, "dave").ok());
    store_->set_room_principal(store_->find_room("managed")->id, store::RoomList::denied,
                               Principal::user("dave"), true);
    service_->reload("managed");
    loop_.drain();
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].occupant.nick, "dave");
    EXPECT_EQ(left[0].why, chat::Departure::banned);
}

TEST_F(RoomServiceTest, ManagersKickOccupantsButNotManagers) {
    auto alice = as(who("alice")), erin = as(who("erin"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    ASSERT_TRUE(join("managed", erin, "erin").ok());
    auto kick = [&](const chat::Actor& by, const std::string& nick) {
        return *run<chat::Ok>([&](auto reply) {
            service_->kick({"managed", by, nick, "calm down"}, reply);
        });
    };
    EXPECT_EQ(kick(erin, "alice").error().fault, Fault::forbidden);
    EXPECT_EQ(kick(alice, "nobody").error().fault, Fault::not_found);
    ASSERT_TRUE(kick(alice, "erin").ok());
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].why, chat::Departure::kicked);
    EXPECT_EQ(left[0].text, "calm down");
    auto admin = as(who("root", {}, true));
    ASSERT_TRUE(join("managed", admin, "root").ok());
    EXPECT_EQ(kick(admin, "alice").error().fault, Fault::not_allowed);
}

TEST_F(RoomServiceTest, AManagersInvitationMakesTheInviteeAMember) {
    auto alice = as(who("alice"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    close_room("managed", alice);
    EXPECT_EQ(join("managed", as(who("gina")), "gina").error().fault, Fault::members_only);
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) {
                    service_->invite({"managed", alice, "gina", "come"}, reply);
                })).ok());
    ASSERT_EQ(sink_.invitations.size(), 1u);
    EXPECT_EQ(sink_.invitations[0].to_user, "gina");
    EXPECT_TRUE(join("managed", as(who("gina")), "gina").ok());
}

TEST_F(RoomServiceTest, OnlyAdministratorsDeleteRooms) {
    auto alice = as(who("alice")), erin = as(who("erin"));
    ASSERT_TRUE(join("managed", erin, "erin").ok());
    EXPECT_EQ((*run<chat::Ok>([&](auto reply) {
                  service_->destroy({"managed", alice, {}}, reply);
              }))
                  .error()
                  .fault,
              Fault::forbidden);
    ASSERT_TRUE(post("managed", erin, "bye").ok());
    auto admin = as(who("root", {}, true));
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) {
                    service_->destroy({"managed", admin, "gone"}, reply);
                })).ok());
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].why, chat::Departure::destroyed);
    EXPECT_FALSE(directory_.room("managed"));
    EXPECT_FALSE(store_->find_room("managed"));
    EXPECT_EQ(join("managed", erin, "erin").error().fault, Fault::not_found);
}

TEST_F(RoomServiceTest, ArchivePagesAndSearchAreForReadersOnly) {
    auto carol = as(who("carol")), erin = as(who("erin"));
    ASSERT_TRUE(join("secret", carol, "carol").ok());
    ASSERT_TRUE(post("secret", carol, "the plan").ok());
    ASSERT_TRUE(join("open", erin, "erin").ok());
    ASSERT_TRUE(post("open", erin, "the weather").ok());
    auto page = [&](const chat::Actor& a) {
        store::ArchiveQuery q;
        return *run<store::ArchivePage>([&](auto reply) {
            service_->archive({"secret", a, q}, reply);
        });
    };
    EXPECT_EQ(page(erin).error().fault, Fault::not_found);
    ASSERT_TRUE(page(carol).ok());
    EXPECT_EQ(page(carol)->messages.size(), 1u);
    auto search = [&](const chat::Actor& a) {
        store::ArchiveQuery q;
        q.text = "the";
        return *run<chat::SearchResult>([&](auto reply) {
            service_->search({a, q, false}, reply);
        });
    };
    auto mine = search(erin);
    ASSERT_TRUE(mine.ok());
    ASSERT_EQ(mine->page.messages.size(), 1u);
    EXPECT_EQ(mine->rooms.at(mine->page.messages[0].room_id), "open");
    EXPECT_EQ(search(carol)->page.messages.size(), 2u);
}

TEST_F(RoomServiceTest, EveryChangeIsOnRecordWithComplianceOn) {
    start(true);
    auto alice = as(who("alice")), dave = as(who("dave"));
    ASSERT_TRUE(join("managed", alice, "alice").ok());
    ASSERT_TRUE(join("managed", dave, "dave").ok());
    auto m = post("managed", dave, "hello");
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) {
                    service_->moderate({"managed", alice, m->stanza_id, "no", {}}, reply);
                })).ok());
    chat::SettingsChange desc;
    desc.description = "about";
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) {
                    service_->configure({"managed", alice, desc}, reply);
                })).ok());
    chat::ListsCommand lists{
        "managed", alice, {{store::RoomList::presenter, Principal::user("dave"), true, {}}}};
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) { service_->change_lists(lists, reply); })).ok());
    ASSERT_TRUE((*run<chat::Ok>([&](auto reply) {
                    service_->kick({"managed", alice, "dave", {}}, reply);
                })).ok());
    store::ArchiveQuery q;
    ASSERT_TRUE((*run<store::ArchivePage>([&](auto reply) {
                    service_->archive({"managed", alice, q}, reply);
                })).ok());
    run<chat::Ok>([&](auto reply) { service_->leave({"managed", alice.full_jid, {}}, reply); });
    EXPECT_EQ(outbox_types(),
              (std::vector<std::string>{"JOIN", "BACKCHAT", "JOIN", "BACKCHAT", "CHAT", "MODERATE",
                                        "ROOMCHANGE", "MEMBERSHIP", "PART", "BACKCHAT", "PART"}));
}

TEST_F(RoomServiceTest, ARefusingStoreIsAnsweredBusy) {
    manual_->refuse = true;
    // The room is not loaded yet: loading needs the store.
    EXPECT_EQ(join("open", as(who("erin")), "erin").error().fault, Fault::busy);
    manual_->refuse = false;
    ASSERT_TRUE(join("open", as(who("erin")), "erin").ok());
    manual_->refuse = true;
    chat::SettingsChange desc;
    desc.description = "x";
    auto admin = as(who("root", {}, true));
    EXPECT_EQ((*run<chat::Ok>([&](auto reply) {
                  service_->configure({"open", admin, desc}, reply);
              }))
                  .error()
                  .fault,
              Fault::busy);
}

// Pools: a room claimed with an epoch that its commits carry; a room let go keeps nothing
// here; occupants adopted by the room's next server are in it again without a word; the
// occupants of a server that went leave with their reason.
TEST_F(RoomServiceTest, InAPoolARoomServedElsewhereIsRefusedAsBusy) {
    pool_of_two();
    auto open = store_->find_room("open");
    ASSERT_TRUE(store_->claim_room(open->id, "there"));
    chat::RoomServiceConfig config;
    config.claim = claim_here;
    in_a_pool(config);
    auto refused = join("open", as(who("erin")), "erin");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().fault, Fault::busy);
    // Its server lets it go: now it is served here, under a newer epoch that posts carry.
    store_->release_room(open->id, "there", *store_->claim_room(open->id, "there"));
    ASSERT_TRUE(join("open", as(who("erin")), "erin").ok());
    ASSERT_TRUE(post("open", as(who("erin")), "mine now").ok());
    // Taken by another server behind this one's back (its lease lapsed, say): the next post is
    // refused by the database and the room is dropped here rather than served stale.
    store_->leave_pool({0, "here", "h:1", "h:2", 1, ""});
    ASSERT_TRUE(store_->claim_room(open->id, "there"));
    auto late = post("open", as(who("erin")), "too late");
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().fault, Fault::busy);
    EXPECT_EQ(store_->count_messages(open->id), 1);
}

// A room moving here from a server that has not let it go yet (the pool changed; it learns
// of the change moments later): the command waits and is served once the room is let go;
// a room held for good is refused as busy after the last attempt.
TEST_F(RoomServiceTest, InAPoolACommandWaitsForARoomItsFormerServerIsLettingGo) {
    pool_of_two();
    auto open = store_->find_room("open");
    auto held = store_->claim_room(open->id, "there");
    ASSERT_TRUE(held);
    std::vector<std::function<void()>> later;
    chat::RoomServiceConfig config;
    config.claim = claim_here;
    config.after = [&](std::chrono::milliseconds, std::function<void()> work) {
        later.push_back(std::move(work));
    };
    in_a_pool(config);
    chat::JoinCommand c;
    c.room = "open";
    c.actor = as(who("erin"));
    c.nick = "erin";
    auto waiting = run<chat::JoinResult>([&](auto reply) { service_->join(c, reply); });
    EXPECT_FALSE(waiting) << "answered while the room was held elsewhere";
    ASSERT_EQ(later.size(), 1u);
    store_->release_room(open->id, "there", *held);  // its former server lets it go
    std::exchange(later, {})[0]();
    loop_.drain();
    EXPECT_TRUE(later.empty());
    // Now served here: the waiting join was answered (run's reply still holds it).
    ASSERT_TRUE(post("open", as(who("erin")), "mine now").ok());

    // "there" holds "hush" and never lets it go: refused after the last attempt.
    auto hush = store_->find_room("hush");
    ASSERT_TRUE(store_->claim_room(hush->id, "there"));
    std::optional<chat::Result<chat::JoinResult>> refused;
    c.room = "hush";
    service_->join(c, [&](chat::Result<chat::JoinResult> r) { refused.emplace(std::move(r)); });
    loop_.drain();
    int attempts = 1;
    while (!later.empty()) {
        std::exchange(later, {})[0]();
        loop_.drain();
        ++attempts;
    }
    ASSERT_TRUE(refused);
    ASSERT_FALSE(refused->ok());
    EXPECT_EQ(refused->error().fault, Fault::busy);
    EXPECT_GT(attempts, 5);
}

// Rooms asked for together are loaded together: one claim and one read for all of them (a
// pool moving thousands of rooms); a room of the batch held by another server waits alone,
// the others are served; history and lists come with each.
TEST_F(RoomServiceTest, InAPoolRoomsAskedForTogetherAreClaimedAndReadTogether) {
    pool_of_two();
    auto stage = store_->find_room("stage");
    auto held = store_->claim_room(stage->id, "there");
    ASSERT_TRUE(held);
    auto open = store_->find_room("open");
    store::NewMessage m;
    m.room_id = open->id;
    m.stanza_id = "s1";
    m.sender = "erin@example.org";
    m.nick = "erin";
    m.body = "before the move";
    store_->append_messages({m});
    std::vector<size_t> claims;  // the rooms of each claim
    std::vector<std::function<void()>> later;
    chat::RoomServiceConfig config;
    config.claim = [&](store::Store& s, const std::vector<int64_t>& ids) {
        claims.push_back(ids.size());
        return s.claim_rooms(ids, "here");
    };
    config.after = [&](std::chrono::milliseconds, std::function<void()> work) {
        later.push_back(std::move(work));
    };
    in_a_pool(config);
    std::map<std::string, std::optional<chat::Result<chat::JoinResult>>> joined;
    for (std::string room : {"open", "managed", "stage", "nowhere"}) {
        chat::JoinCommand c;
        c.room = room;
        c.actor = as(who("dave"));
        c.nick = "dave";
        c.history.max_stanzas = 10;
        service_->join(c, [&joined, room](chat::Result<chat::JoinResult> r) {
            joined[room].emplace(std::move(r));
        });
    }
    loop_.drain();
    EXPECT_EQ(claims, (std::vector<size_t>{3})) << "one claim for the three rooms that exist";
    ASSERT_TRUE(joined["open"] && joined["open"]->ok());
    ASSERT_EQ(joined["open"]->value().history.size(), 1u);
    EXPECT_EQ(joined["open"]->value().history[0].body, "before the move");
    ASSERT_TRUE(joined["managed"] && joined["managed"]->ok());
    // dave is on managed's member list, read with the batch: he gets its member affiliation.
    EXPECT_EQ(joined["managed"]->value().self.affiliation, chat::Affiliation::member);
    ASSERT_TRUE(joined["nowhere"]);
    EXPECT_EQ(joined["nowhere"]->error().fault, Fault::not_found);
    EXPECT_FALSE(joined["stage"]) << "answered while the room was held elsewhere";
    // Its server lets it go: the next attempt claims it alone.
    store_->release_room(stage->id, "there", *held);
    ASSERT_EQ(later.size(), 1u);
    std::exchange(later, {})[0]();
    loop_.drain();
    EXPECT_EQ(claims, (std::vector<size_t>{3, 1}));
    ASSERT_TRUE(joined["stage"]);
    EXPECT_TRUE(joined["stage"]->ok());
}

// The pool changed while the room loaded: it is served elsewhere now. The load's claim is
// given back at once (else the new server's claims are refused while this one lives) and the
// command is refused as busy.
TEST_F(RoomServiceTest, InAPoolARoomLoadedAfterItMovedIsLetGo) {
    pool_of_two();
    auto open = store_->find_room("open");
    bool serves = true;
    chat::RoomServiceConfig config;
    config.claim = [&](store::Store& s, const std::vector<int64_t>& ids) {
        auto epochs = s.claim_rooms(ids, "here");
        serves = false;  // the pool changes right after the claim
        return epochs;
    };
    config.serves = [&](const std::string&) { return serves; };
    config.release = [](store::Store& s, int64_t id, int64_t epoch) {
        s.release_room(id, "here", epoch);
    };
    in_a_pool(config);
    auto refused = join("open", as(who("erin")), "erin");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().fault, Fault::busy);
    EXPECT_TRUE(store_->claim_room(open->id, "there")) << "the claim was not given back";
    // Served elsewhere before the load: nothing is claimed at all.
    auto hush = store_->find_room("hush");
    EXPECT_FALSE(join("hush", as(who("erin")), "erin").ok());
    EXPECT_TRUE(store_->claim_room(hush->id, "there"));
}

TEST_F(RoomServiceTest, ARoomLetGoIsAdoptedWithItsOccupantsSilently) {
    auto erin = as(who("erin"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    chat::Actor far = as(who("frank"));
    far.server = 7;  // a client of another server of the pool
    ASSERT_TRUE(join("open", far, "frank").ok());
    ASSERT_TRUE(post("open", erin, "one").ok());
    std::optional<chat::RoomService::Released> was;
    service_->unload("open", [&](chat::RoomService::Released r) { was = std::move(r); });
    loop_.drain();
    ASSERT_TRUE(was);
    EXPECT_EQ(was->last_seq, 1);
    ASSERT_EQ(was->occupants.size(), 2u);
    // Not loaded any more: a new occupant list starts from the store, empty.
    sink_.events.clear();
    auto joined = join("open", as(who("gina")), "gina");
    ASSERT_TRUE(joined.ok());
    EXPECT_TRUE(joined->others.empty());
    // The adoption: erin and frank are back, nobody is told (they never left), a nickname
    // taken meanwhile by another user stays with them.
    chat::Occupant clash = was->occupants[0];
    clash.nick = "gina";
    clash.full_jid = "henry@example.org/pc";
    auto adopted = run<int64_t>([&](auto reply) {
        auto occupants = was->occupants;
        occupants.push_back(clash);
        service_->adopt("open", occupants, reply);
    });
    ASSERT_TRUE(adopted && adopted->ok());
    EXPECT_EQ(adopted->value(), 1);  // the newest message, to catch up from
    auto events = sink_.all<chat::OccupantJoined>();
    ASSERT_EQ(events.size(), 3u);  // gina's join, then the two adopted
    EXPECT_FALSE(events[1].announce);
    EXPECT_FALSE(events[2].announce);
    auto nicks = run<std::vector<std::string>>(
        [&](auto reply) { service_->occupants("open", erin, reply); });
    ASSERT_TRUE(nicks && nicks->ok());
    EXPECT_EQ(nicks->value(), (std::vector<std::string>{"erin", "frank", "gina"}));
    // Their server goes: frank leaves, with the reason (XEP-0045 333 in the adapter).
    sink_.events.clear();
    service_->drop_server(7);
    loop_.drain();
    auto left = sink_.all<chat::OccupantLeft>();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].occupant.nick, "frank");
    EXPECT_EQ(left[0].why, chat::Departure::server_lost);
    EXPECT_TRUE(left[0].announce);
}

// A server of the pool was restarted under the same number: its former occupants are dropped
// (who is read at once, their leaving goes in slices after) while its new session of the same
// client joins again. The one who joined again is not taken for the one who left.
TEST_F(RoomServiceTest, AnOccupantWhoJoinedAgainBeforeTheDropReachedHimStays) {
    ASSERT_TRUE(join("open", as(who("erin")), "erin").ok());
    chat::Actor before = as(who("frank"));
    before.server = 7;
    ASSERT_TRUE(join("open", before, "frank").ok());
    sink_.events.clear();
    service_->drop_server(7);
    chat::Actor again = as(who("frank"));  // the restarted server's session: another subject
    again.server = 7;
    ASSERT_TRUE(join("open", again, "frank").ok());  // runs the drop first, then this join
    loop_.drain();
    EXPECT_TRUE(sink_.all<chat::OccupantLeft>().empty());
    auto nicks = run<std::vector<std::string>>(
        [&](auto reply) { service_->occupants("open", as(who("erin")), reply); });
    ASSERT_TRUE(nicks && nicks->ok());
    EXPECT_EQ(nicks->value(), (std::vector<std::string>{"erin", "frank"}));
}

TEST_F(RoomServiceTest, ARetriedPostIsStoredOnceAndShownAgainToItsSenderOnly) {
    auto erin = as(who("erin"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    auto first = post("open", erin, "only once");
    ASSERT_TRUE(first.ok());
    EXPECT_FALSE(first->repeated);
    sink_.events.clear();
    auto again = post("open", erin, "only once");  // the same client id and text
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE(again->repeated);
    EXPECT_EQ(again->seq, first->seq);
    EXPECT_EQ(again->stanza_id, first->stanza_id);
    EXPECT_TRUE(sink_.all<chat::MessagePosted>().empty());  // nobody else sees it twice
    EXPECT_EQ(store_->count_messages(store_->find_room("open")->id), 1);
    // Another text under the same client id is another message.
    chat::PostCommand c{
        "open", erin.full_jid, "o-only once", store::MessageKind::normal, "something else", {}, {}};
    auto other = run<chat::Posted>([&](auto reply) { service_->post(c, reply); });
    ASSERT_TRUE(other && other->ok());
    EXPECT_FALSE((*other)->repeated);
    EXPECT_EQ(store_->count_messages(store_->find_room("open")->id), 2);
}

// A client that heard nothing back (the database failing over holds the commit) sends its post
// again with the same id: the retry waits for the first one's outcome and shares it.
TEST_F(RoomServiceTest, ARetrySentWhileThePostIsBeingStoredSharesItsOutcome) {
    auto erin = as(who("erin"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    sink_.events.clear();
    chat::PostCommand c{"open", erin.full_jid, "o-1", store::MessageKind::normal, "hello", {}, {}};
    std::vector<chat::Result<chat::Posted>> answers;
    for (int i = 0; i < 3; ++i)
        service_->post(c, [&](chat::Result<chat::Posted> r) { answers.push_back(std::move(r)); });
    loop_.drain();
    ASSERT_EQ(answers.size(), 3u);
    for (const auto& a : answers) {
        ASSERT_TRUE(a.ok());
        EXPECT_EQ(a->seq, answers[0]->seq);
        EXPECT_EQ(a->stanza_id, answers[0]->stanza_id);
        EXPECT_FALSE(a->repeated);  // the room's one copy is the sender's echo
    }
    EXPECT_EQ(sink_.all<chat::MessagePosted>().size(), 1u);
    EXPECT_EQ(store_->count_messages(store_->find_room("open")->id), 1);
    // A refused commit is the retries' answer too, and the next attempt is a new one.
    manual_->refuse = true;
    answers.clear();
    c.origin_id = "o-2";
    for (int i = 0; i < 2; ++i)
        service_->post(c, [&](chat::Result<chat::Posted> r) { answers.push_back(std::move(r)); });
    loop_.drain();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[1].error().fault, Fault::busy);
    manual_->refuse = false;
    auto third = run<chat::Posted>([&](auto reply) { service_->post(c, reply); });
    ASSERT_TRUE(third && third->ok());
    EXPECT_EQ(store_->count_messages(store_->find_room("open")->id), 2);
}

// The database stored a post but its answer was lost (the connection dropped during the commit,
// past the outage wait): the client heard an error and sends it again with the same id. The
// retry is answered with the stored message, not stored twice; a new post is stored as ever.
TEST_F(RoomServiceTest, ARetryAfterACommitWhoseAnswerWasLostIsNotStoredTwice) {
    auto erin = as(who("erin"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    ASSERT_TRUE(post("open", erin, "before").ok());
    manual_->lose_answers = true;
    auto lost = post("open", erin, "hello");
    ASSERT_FALSE(lost.ok());
    EXPECT_EQ(lost.error().fault, Fault::internal);
    manual_->lose_answers = false;
    int64_t room_id = store_->find_room("open")->id;
    ASSERT_EQ(store_->count_messages(room_id), 2);  // it was stored all the same
    sink_.events.clear();
    auto retry = post("open", erin, "hello");
    ASSERT_TRUE(retry.ok());
    ASSERT_TRUE(retry->repeated);
    EXPECT_EQ(retry->repeated->body, "hello");
    EXPECT_EQ(store_->count_messages(room_id), 2);
    EXPECT_TRUE(sink_.all<chat::MessagePosted>().empty());
    // The cache read again holds each message once, and takes the next one.
    ASSERT_TRUE(post("open", erin, "after").ok());
    EXPECT_EQ(store_->count_messages(room_id), 3);
    auto frank = as(who("frank"));
    chat::HistoryRequest all;
    all.max_stanzas = 10;
    auto joined = join("open", frank, "frank", all);
    ASSERT_TRUE(joined.ok());
    std::vector<std::string> bodies;
    for (const auto& m : joined->history) bodies.push_back(m.body);
    EXPECT_EQ(bodies, (std::vector<std::string>{"before", "hello", "after"}));
}

// The subject is a room setting like the others: its managers change it unless the room lets
// everyone who may speak; each change is stored with its compliance event before it is shown.
TEST_F(RoomServiceTest, TheSubjectIsChangedByManagersUnlessTheRoomSaysEveryone) {
    start(true);
    auto alice = who("alice"), dave = who("dave");
    ASSERT_TRUE(join("managed", as(alice), "alice").ok());
    ASSERT_TRUE(join("managed", as(dave), "dave").ok());
    auto subject = [&](const chat::Actor& a, std::string text) {
        auto r = run<chat::Ok>([&](auto reply) {
            service_->set_subject({"managed", a.full_jid, std::move(text)}, reply);
        });
        EXPECT_TRUE(r.has_value());
        return std::move(*r);
    };
    sink_.events.clear();
    auto refused = subject(as(dave), "dave's topic");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().fault, Fault::forbidden);
    EXPECT_TRUE(sink_.all<chat::SubjectChanged>().empty());
    ASSERT_TRUE(subject(as(alice), "Release 2").ok());
    ASSERT_EQ(sink_.all<chat::SubjectChanged>().size(), 1u);
    EXPECT_EQ(store_->find_room("managed")->subject, "Release 2");
    auto types = outbox_types();
    ASSERT_EQ(std::count(types.begin(), types.end(), "SUBJECT"), 1);
    // The managers open it to everyone who may speak: kept in the store, and dave may.
    chat::SettingsChange open;
    open.occupants_change_subject = true;
    auto done = run<chat::Ok>([&](auto reply) {
        service_->configure({"managed", as(alice), open}, reply);
    });
    ASSERT_TRUE(done && done->ok());
    EXPECT_TRUE(store_->find_room("managed")->occupants_change_subject);
    ASSERT_TRUE(subject(as(dave), "dave's topic").ok());
    EXPECT_EQ(store_->find_room("managed")->subject, "dave's topic");
    EXPECT_EQ(store_->find_room("managed")->subject_nick, "dave");
}

// Somebody outside a secret room learns nothing from a message to it: the answer is the one a
// room that does not exist gives. An open room may say "you are not in it".
TEST_F(RoomServiceTest, AMessageToASecretRoomAnswersLikeNoRoomAtAll) {
    auto erin = who("erin");
    auto secret = post("secret", as(erin), "hello?");
    auto nowhere = post("nowhere", as(erin), "hello?");
    ASSERT_FALSE(secret.ok());
    ASSERT_FALSE(nowhere.ok());
    EXPECT_EQ(secret.error().fault, nowhere.error().fault);
    EXPECT_EQ(secret.error().text, nowhere.error().text);
    chat::PrivateCommand pm{"secret", as(erin).full_jid, "carol", "chat", "1", "<body>x</body>"};
    auto whisper = run<chat::Ok>([&](auto reply) { service_->send_private(pm, reply); });
    ASSERT_TRUE(whisper && !whisper->ok());
    EXPECT_EQ(whisper->error().fault, nowhere.error().fault);
    EXPECT_EQ(post("open", as(erin), "hello?").error().fault, Fault::not_occupant);
}

// One occupant posting faster than the room allows is refused past the burst (too-fast, not
// stored, not shown, not queued), and says so in one log line; the others post on.
TEST_F(RoomServiceTest, AFlooderIsRefusedPastItsRateAndTheOthersPostOn) {
    auto erin = as(who("erin")), dave = as(who("dave"));
    ASSERT_TRUE(join("open", erin, "erin").ok());
    ASSERT_TRUE(join("open", dave, "dave").ok());
    sink_.events.clear();
    int refused = 0;
    for (int i = 0; i < 50; ++i) {
        auto m = post("open", erin, "flood" + std::to_string(i));
        if (m.ok()) continue;
        EXPECT_EQ(m.error().fault, Fault::too_fast);
        EXPECT_NE(m.error().text.find("faster than this room allows"), std::string::npos);
        ++refused;
    }
    EXPECT_EQ(refused, 30);
    EXPECT_TRUE(post("open", dave, "still here").ok());
    int64_t id = store_->find_room("open")->id;
    EXPECT_EQ(store_->count_messages(id), 21);
    EXPECT_EQ(sink_.all<chat::MessagePosted>().size(), 21u);
    EXPECT_EQ(service_->posts_over_rate(), 30u);
    // Leaving and coming back does not refill the budget of a resource still in the room.
    ASSERT_TRUE(join("open", erin, "erin").ok());
    EXPECT_EQ(post("open", erin, "again").error().fault, Fault::too_fast);
}
