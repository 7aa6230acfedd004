// Session: what a bound session does between users — offline messages, the archive, carbons,
// blocking, vCards, client state, bookmarks of the user's rooms, push. The fixture:
// session_fixture.hpp.
#include "session_fixture.hpp"
#include "xmpp/push.hpp"

// XEP-0160: a message to a user who is offline waits for them, and comes with their first
// presence, stamped with when it was sent; it is in both parties' archives (XEP-0313).
TEST_F(SessionTest, MessagesToAnOfflineUserWaitForTheirFirstPresence) {
    auto& alice = bound("alice", "pc");
    EXPECT_EQ(send(alice,
                   "<message to='bob@example.org' type='chat' id='m1'><body>first</body>"
                   "</message>"),
              "");
    send(alice, "<message to='bob@example.org/phone' type='chat'><body>second</body></message>");
    // Chat states and other content-free messages are not kept: the sender hears so.
    EXPECT_NE(send(alice,
                   "<message to='bob@example.org' type='chat'><gone "
                   "xmlns='http://jabber.org/protocol/chatstates'/></message>")
                  .find("The recipient is offline"),
              std::string::npos);
    // Nor is a message with a no-store hint.
    send(alice,
         "<message to='bob@example.org' type='chat'><body>secret</body><no-store "
         "xmlns='urn:xmpp:hints'/></message>");
    // Nobody of that name: refused, not kept.
    EXPECT_NE(send(alice, "<message to='nobody@example.org'><body>x</body></message>")
                  .find("No such user"),
              std::string::npos);

    auto& bob = bound("bob", "phone");
    EXPECT_EQ(bob.transport->take(), "");  // bound, but nothing until the first presence
    auto out = send(bob, "<presence/>");
    auto first = out.find("first"), second = out.find("second");
    ASSERT_NE(first, std::string::npos) << out;
    ASSERT_NE(second, std::string::npos) << out;
    EXPECT_LT(first, second);
    EXPECT_EQ(out.find("secret"), std::string::npos);
    EXPECT_NE(out.find("<delay xmlns='urn:xmpp:delay' from='example.org' stamp='"),
              std::string::npos);
    EXPECT_NE(out.find("<stanza-id xmlns='urn:xmpp:sid:0' id='"), std::string::npos);
    EXPECT_EQ(send(bob, "<presence/>"), "");  // delivered once
    auto& later = bound("bob", "tablet");
    EXPECT_EQ(send(later, "<presence/>").find("first"), std::string::npos);

    // Both archives hold the two kept messages; the recipient's says who sent them.
    out = send(bob, "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='a'/></iq>");
    EXPECT_NE(out.find("<result xmlns='urn:xmpp:mam:2' queryid='a'"), std::string::npos) << out;
    EXPECT_NE(out.find("from='alice@example.org/pc'"), std::string::npos);
    EXPECT_NE(out.find("<count exact='true'>2</count>"), std::string::npos) << out;
    out = send(alice,
               "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
               "type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>"
               "<field var='with'><value>bob@example.org</value></field></x></query></iq>");
    EXPECT_NE(out.find("<count exact='true'>2</count>"), std::string::npos) << out;
    out = send(alice,
               "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
               "type='submit'><field var='with'><value>carl@example.org</value></field></x>"
               "</query></iq>");
    EXPECT_NE(out.find("<count exact='true'>0</count>"), std::string::npos) << out;
}

// XEP-0313 section 6: a user who archives nothing keeps no copy; the other party still does.
TEST_F(SessionTest, ArchivingPreferencesDecideWhatGoesIntoAUsersArchive) {
    auto& alice = bound("alice", "pc");
    auto& bob = bound("bob", "pc");
    auto out = send(bob,
                    "<iq type='set' id='p'><prefs xmlns='urn:xmpp:mam:2' default='never'>"
                    "<always><jid>carl@example.org</jid></always></prefs></iq>");
    EXPECT_NE(out.find("default='never'"), std::string::npos) << out;
    EXPECT_NE(out.find("<jid>carl@example.org</jid>"), std::string::npos) << out;
    send(alice, "<message to='bob@example.org' type='chat'><body>hello</body></message>");
    EXPECT_NE(bob.transport->take().find("hello"), std::string::npos);
    out = send(bob, "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>");
    EXPECT_NE(out.find("<count exact='true'>0</count>"), std::string::npos) << out;
    out = send(alice, "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>");
    EXPECT_NE(out.find("<count exact='true'>1</count>"), std::string::npos) << out;
    out = send(bob, "<iq type='get' id='g'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
    EXPECT_NE(out.find("default='never'"), std::string::npos) << out;
    // Words are not searched in a user's archive: said so, not silently ignored.
    out = send(alice,
               "<iq type='set' id='w'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
               "type='submit'><field var='{urn:xmpp:fulltext:0}fulltext'><value>hello"
               "</value></field></x></query></iq>");
    EXPECT_NE(out.find("<feature-not-implemented"), std::string::npos) << out;
}

// XEP-0280: a resource that enabled carbons sees what its user's other resources send and
// receive; a message marked private is not copied.
TEST_F(SessionTest, CarbonsCopyConversationsToTheUsersOtherResources) {
    auto& pc = bound("alice", "pc");
    auto& phone = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    EXPECT_NE(send(phone, "<iq type='set' id='c'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
                  .find("type='result'"),
              std::string::npos);
    send(pc, "<message to='bob@example.org/pc' type='chat' id='x'><body>out</body></message>");
    auto copy = phone.transport->take();
    EXPECT_NE(copy.find("<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"),
              std::string::npos)
        << copy;
    EXPECT_NE(copy.find("from='alice@example.org' to='alice@example.org/phone'"),
              std::string::npos);
    EXPECT_NE(copy.find("<body>out</body>"), std::string::npos);
    EXPECT_NE(bob.transport->take().find("out"), std::string::npos);

    send(bob, "<message to='alice@example.org/pc' type='chat'><body>back</body></message>");
    EXPECT_NE(pc.transport->take().find("back"), std::string::npos);
    copy = phone.transport->take();
    EXPECT_NE(copy.find("<received xmlns='urn:xmpp:carbons:2'>"), std::string::npos) << copy;

    send(bob,
         "<message to='alice@example.org/pc' type='chat'><body>psst</body><private "
         "xmlns='urn:xmpp:carbons:2'/></message>");
    EXPECT_EQ(phone.transport->take(), "");
    send(phone, "<iq type='set' id='d'><disable xmlns='urn:xmpp:carbons:2'/></iq>");
    phone.transport->take();
    send(pc, "<message to='bob@example.org/pc' type='chat'><body>again</body></message>");
    EXPECT_EQ(phone.transport->take(), "");
    // The pc has no carbons: it saw none of the phone's copies.
    EXPECT_EQ(pc.transport->take(), "");
}

// XEP-0191: nothing passes between a user and an address they block, either way; the list is
// shown, pushed to the user's resources, and lifted.
TEST_F(SessionTest, BlockedAddressesNeitherReachNorHearFromTheBlocker) {
    auto& alice = bound("alice", "pc");
    auto& other = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    auto out = send(alice,
                    "<iq type='set' id='b'><block xmlns='urn:xmpp:blocking'><item "
                    "jid='bob@example.org'/></block></iq>");
    EXPECT_NE(out.find("type='result'"), std::string::npos) << out;
    EXPECT_NE(out.find("<block xmlns='urn:xmpp:blocking'>"), std::string::npos);  // the push
    EXPECT_NE(other.transport->take().find("<block xmlns='urn:xmpp:blocking'>"), std::string::npos);
    EXPECT_NE(send(alice, "<iq type='get' id='l'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
                  .find("<item jid='bob@example.org'/>"),
              std::string::npos);

    out = send(bob, "<message to='alice@example.org' type='chat'><body>let me in</body></message>");
    EXPECT_NE(out.find("<service-unavailable"), std::string::npos) << out;
    EXPECT_EQ(alice.transport->take(), "");
    send(bob, "<presence to='alice@example.org'/>");
    EXPECT_EQ(alice.transport->take(), "");
    out = send(alice, "<message to='bob@example.org/pc'><body>hi</body></message>");
    EXPECT_NE(out.find("<blocked xmlns='urn:xmpp:blocking:errors'/>"), std::string::npos) << out;
    EXPECT_EQ(bob.transport->take(), "");
    // Blocked offline too: nothing waits for alice from bob.
    alice.session->closed();
    other.session->closed();
    send(bob, "<message to='alice@example.org' type='chat'><body>later</body></message>");
    auto& back = bound("alice", "pc2");
    EXPECT_EQ(send(back, "<presence/>").find("later"), std::string::npos);

    send(back, "<iq type='set' id='u'><unblock xmlns='urn:xmpp:blocking'/></iq>");
    EXPECT_TRUE(blocklists_.of("alice").empty());
    send(bob, "<message to='alice@example.org' type='chat'><body>now</body></message>");
    EXPECT_NE(back.transport->take().find("now"), std::string::npos);
    EXPECT_NE(send(back, "<iq type='set' id='e'><block xmlns='urn:xmpp:blocking'/></iq>")
                  .find("<bad-request"),
              std::string::npos);
    // The lists live in memory: each holds at most 1000 addresses.
    std::vector<std::string> many;
    for (int i = 0; i < 1000; ++i) many.push_back("spam" + std::to_string(i) + ".example");
    blocklists_.add("alice", many);
    EXPECT_NE(send(back,
                   "<iq type='set' id='m'><block xmlns='urn:xmpp:blocking'><item "
                   "jid='one-more.example'/></block></iq>")
                  .find("at most 1000"),
              std::string::npos);
    EXPECT_EQ(blocklists_.of("alice").size(), 1000u);
}

// XEP-0054: a user's card is theirs to set and everyone's to read; before they set one it
// shows their account's name. A photo in it is their PEP avatar too (XEP-0084), and a PEP
// avatar published by a client becomes the card's photo.
TEST_F(SessionTest, VcardsAndAvatarsStayInStep) {
    auto& alice = bound("alice", "pc");
    auto& bob = bound("bob", "pc");
    auto out = send(bob,
                    "<iq type='get' id='v' to='alice@example.org'><vCard xmlns='vcard-temp'/>"
                    "</iq>");
    EXPECT_NE(out.find("from='alice@example.org'"), std::string::npos) << out;
    EXPECT_NE(out.find("<NICKNAME>alice</NICKNAME>"), std::string::npos) << out;
    EXPECT_NE(send(bob,
                   "<iq type='set' id='s' to='alice@example.org'><vCard "
                   "xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>")
                  .find("<forbidden"),
              std::string::npos);
    EXPECT_NE(send(bob,
                   "<iq type='get' id='n' to='nobody@example.org'><vCard "
                   "xmlns='vcard-temp'/></iq>")
                  .find("<service-unavailable"),
              std::string::npos);

    // "hello" in base64, folded as vCards fold it; its SHA-1 names the avatar.
    out = send(alice,
               "<iq type='set' id='s'><vCard xmlns='vcard-temp'><FN>Alice A.</FN><PHOTO>"
               "<TYPE>image/png</TYPE><BINVAL>aGVs\nbG8=</BINVAL></PHOTO></vCard></iq>");
    EXPECT_NE(out.find("type='result'"), std::string::npos) << out;
    EXPECT_NE(out.find("<info bytes='5' id='aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d' "
                       "type='image/png'/>"),
              std::string::npos)
        << out;  // the user's resources hear of the new avatar
    out = send(bob,
               "<iq type='get' id='v' to='alice@example.org'><vCard xmlns='vcard-temp'/>"
               "</iq>");
    EXPECT_NE(out.find("<FN>Alice A.</FN>"), std::string::npos) << out;
    out = send(bob,
               "<iq type='get' id='a' to='alice@example.org'><pubsub "
               "xmlns='http://jabber.org/protocol/pubsub'><items "
               "node='urn:xmpp:avatar:data'/></pubsub></iq>");
    EXPECT_NE(out.find("<data xmlns='urn:xmpp:avatar:data'>aGVsbG8=</data>"), std::string::npos)
        << out;
    EXPECT_NE(send(bob,
                   "<iq type='get' id='b' to='alice@example.org'><pubsub "
                   "xmlns='http://jabber.org/protocol/pubsub'><items "
                   "node='urn:xmpp:bookmarks:1'/></pubsub></iq>")
                  .find("<forbidden"),
              std::string::npos);

    // The other way: bob's client publishes a PEP avatar ("bye"), his card follows.
    send(bob,
         "<iq type='set' id='d'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
         "node='urn:xmpp:avatar:data'><item id='78c9a53e2f28b543ea62c8266acfdf36d5c63e61'>"
         "<data xmlns='urn:xmpp:avatar:data'>Ynll</data></item></publish></pubsub></iq>");
    send(bob,
         "<iq type='set' id='m'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
         "node='urn:xmpp:avatar:metadata'><item id='78c9a53e2f28b543ea62c8266acfdf36d5c63e61'>"
         "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='3' "
         "id='78c9a53e2f28b543ea62c8266acfdf36d5c63e61' type='image/jpeg'/></metadata>"
         "</item></publish></pubsub></iq>");
    out =
        send(alice, "<iq type='get' id='v' to='bob@example.org'><vCard xmlns='vcard-temp'/></iq>");
    EXPECT_NE(out.find("<PHOTO><TYPE>image/jpeg</TYPE><BINVAL>Ynll</BINVAL></PHOTO>"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("<NICKNAME>bob</NICKNAME>"), std::string::npos);
}

// XEP-0352: while the client says it is inactive, presence and messages without a body wait
// (a newer presence from the same address replacing the older); a message with a body lets
// them out first, in order; being active again lets them out; the waiting is bounded.
TEST_F(SessionTest, AnInactiveClientGetsWhatCanWaitWithTheNextThingThatCannot) {
    auto& t = open();
    send(t, kOpen);
    scram(t, "alice", "secret");
    EXPECT_NE(send(t, kOpen).find("<csi xmlns='urn:xmpp:csi:0'/>"), std::string::npos);

    auto& alice = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    EXPECT_EQ(send(alice, "<inactive xmlns='urn:xmpp:csi:0'/>"), "");
    send(bob, "<presence to='alice@example.org'><status>one</status></presence>");
    send(bob, "<presence to='alice@example.org'><status>two</status></presence>");
    send(bob,
         "<message to='alice@example.org' type='chat'><composing "
         "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_EQ(alice.transport->take(), "");
    send(bob, "<message to='alice@example.org' type='chat'><body>wake up</body></message>");
    auto out = alice.transport->take();
    EXPECT_EQ(out.find("<status>one"), std::string::npos) << out;  // replaced by the newer one
    auto two = out.find("<status>two</status>"), typing = out.find("composing"),
         body = out.find("wake up");
    ASSERT_NE(two, std::string::npos) << out;
    EXPECT_LT(two, typing);
    EXPECT_LT(typing, body);

    send(bob, "<presence to='alice@example.org'><status>three</status></presence>");
    EXPECT_EQ(alice.transport->take(), "");
    EXPECT_NE(send(alice, "<active xmlns='urn:xmpp:csi:0'/>").find("three"), std::string::npos);
    send(bob, "<presence to='alice@example.org'><status>four</status></presence>");
    EXPECT_NE(alice.transport->take().find("four"), std::string::npos);  // active: at once

    send(alice, "<inactive xmlns='urn:xmpp:csi:0'/>");
    for (int i = 0; i < 100; ++i)
        send(bob,
             "<message to='alice@example.org' type='chat'><paused "
             "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_EQ(alice.transport->take(), "");
    send(bob,
         "<message to='alice@example.org' type='chat'><gone "
         "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_NE(alice.transport->take().find("gone"), std::string::npos);  // past 100: all go
    EXPECT_FALSE(alice.transport->closed);
}

// XEP-0402: the rooms a user belongs to are among their bookmarks the first time a client
// reads them, joining at sign-in, so that a client opens on them; a room taken out of the
// bookmarks stays out; a room the user joins later comes in at the next read.
TEST_F(SessionTest, TheRoomsAUserBelongsToAreAmongTheirBookmarks) {
    auto room = [](int64_t id, const std::string& node, const std::string& name) {
        store::Room r;
        r.id = id;
        r.node = node;
        r.name = name;
        r.category_id = 1;
        r.privacy = store::Privacy::closed;
        return r;
    };
    chat::RoomRules members;
    members.privacy = store::Privacy::closed;
    members.members = {store::Principal::user("alice")};
    directory_.put_room(room(1, "budget", "Budget"), members);
    directory_.put_room(room(2, "lobby", "Lobby"), chat::RoomRules{});  // open, not a member's
    auto& alice = bound("alice", "pc");
    const std::string items =
        "<iq type='get' id='i'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items "
        "node='urn:xmpp:bookmarks:1'/></pubsub></iq>";
    auto out = send(alice, items);
    EXPECT_NE(out.find("<item id='budget@chat.example.org'><conference "
                       "xmlns='urn:xmpp:bookmarks:1' name='Budget' autojoin='true'><nick>alice"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("lobby@"), std::string::npos);
    auto legacy = send(alice,
                       "<iq type='get' id='l'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                       "<items node='storage:bookmarks'/></pubsub></iq>");
    EXPECT_NE(legacy.find("jid='budget@chat.example.org'"), std::string::npos) << legacy;

    send(
        alice,
        "<iq type='set' id='r'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract "
        "node='urn:xmpp:bookmarks:1'><item id='budget@chat.example.org'/></retract></pubsub></iq>");
    EXPECT_EQ(send(alice, items).find("budget@"), std::string::npos);  // stays out

    members.members.push_back(store::Principal::user("bob"));
    auto board = members;
    directory_.put_room(room(3, "board", "Board"), board);
    out = send(alice, items);
    EXPECT_NE(out.find("board@chat.example.org"), std::string::npos) << out;
    EXPECT_EQ(out.find("budget@"), std::string::npos);
    // Bob's own first read: the room he belongs to, not alice's.
    out = send(bound("bob", "pc"), items);
    EXPECT_EQ(out.find("budget@chat.example.org"), std::string::npos);
    EXPECT_NE(out.find("board@chat.example.org"), std::string::npos);
}

// XEP-0357: a client registers an app server (an account of this server: Perch does not
// federate); a message that reaches nobody connected — the user offline, or every session
// waiting to be resumed — is announced to it, without the text; disabled, nothing more.
TEST_F(SessionTest, PushNotificationsGoToTheAppServerWhenNobodyIsConnected) {
    store::User dave;
    dave.username = "dave";
    xmpp::Credentials::set_password(dave, "secret", 64);
    store_->add_user(dave);
    auto& phone = bound("alice", "phone");
    auto& app = bound("bob", "pushbot");
    auto out = send(phone,
                    "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' "
                    "jid='bob@example.org' node='n1'><x xmlns='jabber:x:data' type='submit'>"
                    "<field var='FORM_TYPE'><value>http://jabber.org/protocol/"
                    "pubsub#publish-options</value></field><field var='secret'><value>s3cret"
                    "</value></field></x></enable></iq>");
    EXPECT_NE(out.find("type='result'"), std::string::npos) << out;
    out = send(phone,
               "<iq type='set' id='f'><enable xmlns='urn:xmpp:push:0' "
               "jid='push.example.net' node='n2'/></iq>");
    EXPECT_NE(out.find("<remote-server-not-found"), std::string::npos) << out;
    send(phone, "<presence/>");
    phone.transport->closed = true;
    phone.session->closed();  // no stream management: offline
    loop_.drain();

    auto& sender = bound("dave", "pc");
    send(sender,
         "<message to='alice@example.org' type='chat'><body>private words</body></message>");
    out = app.transport->take();
    EXPECT_NE(out.find("<publish node='n1'><item><notification xmlns='urn:xmpp:push:0'>"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("<value>urn:xmpp:push:summary</value>"), std::string::npos);
    EXPECT_NE(out.find("<field var='message-count'><value>1</value>"), std::string::npos);
    EXPECT_NE(out.find("<field var='last-message-sender'><value>dave@example.org</value>"),
              std::string::npos);
    EXPECT_NE(out.find("<publish-options><x xmlns='jabber:x:data' type='submit'>"),
              std::string::npos);
    EXPECT_NE(out.find("s3cret"), std::string::npos);
    EXPECT_NE(out.find("from='alice@example.org'"), std::string::npos);
    EXPECT_EQ(out.find("private words"), std::string::npos);

    // A session waiting to be resumed: announced too; a connected one: not.
    auto& again = bound("alice", "phone");
    send(again, "<presence/>");
    send(again, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    send(sender, "<message to='alice@example.org' type='chat'><body>seen</body></message>");
    EXPECT_EQ(app.transport->take(), "");
    again.transport->closed = true;
    again.session->closed();
    send(sender, "<message to='alice@example.org' type='chat'><body>asleep</body></message>");
    EXPECT_NE(app.transport->take().find("<publish node='n1'>"), std::string::npos);

    auto& desk = bound("alice", "desk");
    send(desk,
         "<iq type='set' id='d'><disable xmlns='urn:xmpp:push:0' jid='bob@example.org'/></iq>");
    desk.transport->closed = true;
    desk.session->closed();
    send(sender, "<message to='alice@example.org' type='chat'><body>quiet</body></message>");
    EXPECT_EQ(app.transport->take(), "");
}

// What one user keeps in personal storage (PEP items, private XML) is bounded: a write that
// would go past ServerContext::personal_storage is refused and stores nothing; replacing an
// item counts only the new one; what is retracted makes room again.
TEST_F(SessionTest, PersonalStorageIsBoundedPerUser) {
    ctx_->personal_storage = 200;  // characters
    auto& alice = bound("alice", "pc");
    auto publish = [&](const std::string& id, size_t size) {
        return send(alice,
                    "<iq type='set' id='p'><pubsub xmlns='http://jabber.org/protocol/"
                    "pubsub'><publish node='notes'><item id='" +
                        id + "'><note xmlns='urn:example:notes'>" + std::string(size, 'n') +
                        "</note></item></publish></pubsub></iq>");
    };
    const size_t wrapping = std::string("<note xmlns='urn:example:notes'></note>").size();
    EXPECT_NE(publish("one", 150 - wrapping).find("type='result'"), std::string::npos);
    auto refused = publish("two", 60 - wrapping);
    EXPECT_NE(refused.find("<resource-constraint"), std::string::npos) << refused;
    EXPECT_NE(refused.find("personal storage is full"), std::string::npos) << refused;
    EXPECT_NE(publish("one", 190 - wrapping).find("type='result'"), std::string::npos)
        << "replacing an item counts the new one only";
    auto items = send(alice,
                      "<iq type='get' id='i'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                      "<items node='notes'/></pubsub></iq>");
    EXPECT_EQ(items.find("id='two'"), std::string::npos) << items;
    auto private_set = [&] {
        return send(alice,
                    "<iq type='set' id='x'><query xmlns='jabber:iq:private'><prefs "
                    "xmlns='urn:example:prefs'>" +
                        std::string(40, 'p') + "</prefs></query></iq>");
    };
    EXPECT_NE(private_set().find("<resource-constraint"), std::string::npos);
    send(alice,
         "<iq type='set' id='r'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract "
         "node='notes'><item id='one'/></retract></pubsub></iq>");
    EXPECT_NE(private_set().find("type='result'"), std::string::npos);
    // Another user's storage is their own.
    auto& bob = bound("bob", "pc");
    EXPECT_NE(send(bob,
                   "<iq type='set' id='p'><pubsub xmlns='http://jabber.org/protocol/"
                   "pubsub'><publish node='notes'><item id='b'><note xmlns='urn:e'>" +
                       std::string(150, 'b') + "</note></item></publish></pubsub></iq>")
                  .find("type='result'"),
              std::string::npos);
}

// A roster is bounded (RFC 6121 2.3.3): a name or group beyond the limits is not-acceptable;
// a new contact beyond ServerContext::max_roster_items is not-allowed, while a contact
// already there may still change and one removed makes room again.
TEST_F(SessionTest, ARosterIsBounded) {
    ctx_->max_roster_items = 2;
    auto& alice = bound("alice", "pc");
    auto set = [&](const std::string& item) {
        return send(alice, "<iq type='set' id='r'><query xmlns='jabber:iq:roster'>" + item +
                               "</query></iq>");
    };
    EXPECT_NE(set("<item jid='a@example.org' name='" + std::string(1024, 'n') + "'/>")
                  .find("<not-acceptable"),
              std::string::npos);
    EXPECT_NE(set("<item jid='a@example.org'><group/></item>").find("<not-acceptable"),
              std::string::npos);
    std::string many;
    for (int i = 0; i < 65; ++i) many += "<group>g" + std::to_string(i) + "</group>";
    EXPECT_NE(set("<item jid='a@example.org'>" + many + "</item>").find("<not-acceptable"),
              std::string::npos);
    EXPECT_NE(set("<item jid='a@example.org' name='" + std::string(1023, 'n') + "'/>")
                  .find("type='result'"),
              std::string::npos);
    EXPECT_NE(set("<item jid='b@example.org'/>").find("type='result'"), std::string::npos);
    auto full = set("<item jid='c@example.org'/>");
    EXPECT_NE(full.find("<not-allowed"), std::string::npos) << full;
    EXPECT_NE(full.find("contact list is full"), std::string::npos) << full;
    EXPECT_NE(set("<item jid='b@example.org' name='Bee'><group>Friends</group></item>")
                  .find("type='result'"),
              std::string::npos);
    set("<item jid='a@example.org' subscription='remove'/>");
    EXPECT_NE(set("<item jid='c@example.org'/>").find("type='result'"), std::string::npos);
    auto roster = send(alice, "<iq type='get' id='g'><query xmlns='jabber:iq:roster'/></iq>");
    EXPECT_EQ(roster.find("a@example.org"), std::string::npos) << roster;
    EXPECT_NE(roster.find("name='Bee'"), std::string::npos) << roster;
    EXPECT_NE(roster.find("c@example.org"), std::string::npos) << roster;
}

// Each device registers for push itself (XEP-0357); a user's registrations are bounded, the
// oldest (most likely a device long gone) giving way to a new one.
TEST(Push, ARegistrationBeyondTheLimitReplacesTheOldest) {
    std::vector<xmpp::push::Registration> registrations;
    for (size_t i = 0; i < xmpp::push::kMaxRegistrations + 5; ++i)
        xmpp::push::enable(registrations, {"push@example.org", "device" + std::to_string(i), ""});
    ASSERT_EQ(registrations.size(), xmpp::push::kMaxRegistrations);
    EXPECT_EQ(registrations.front().node, "device5");
    EXPECT_EQ(registrations.back().node,
              "device" + std::to_string(xmpp::push::kMaxRegistrations + 4));
    // Enabled again: one registration, its options the newest, the newest in the list.
    xmpp::push::enable(registrations, {"push@example.org", "device7", "<x/>"});
    ASSERT_EQ(registrations.size(), xmpp::push::kMaxRegistrations);
    EXPECT_EQ(registrations.back().options, "<x/>");
    EXPECT_EQ(registrations.front().node, "device5");
    auto back = xmpp::push::decode(xmpp::push::encode(registrations));
    EXPECT_EQ(back.size(), xmpp::push::kMaxRegistrations);
}

// A one-to-one message that is kept (each party's archive, offline storage) is bounded as a
// room's: its body by the longest message setting (read as it changes), the whole stanza by
// 64 KB; one that is not kept (no-store) is only bounded by the stanza size.
TEST_F(SessionTest, AOneToOneMessageThatIsKeptIsBoundedAsARoomsIs) {
    chat::Settings settings;
    settings.max_message_chars = 10;
    chat::LiveSettings live(settings);
    ctx_->settings = &live;
    ctx_->limits.max_stanza_bytes = 256 * 1024;  // as by default: the 64 KB bound is the store's
    auto& alice = bound("alice", "pc");
    auto& bob = bound("bob", "pc");
    auto message = [](const std::string& body, const std::string& extra = "") {
        return "<message to='bob@example.org' type='chat' id='m'><body>" + body + "</body>" +
               extra + "</message>";
    };
    EXPECT_EQ(send(alice, message("ten chars!")).find("type='error'"), std::string::npos);
    EXPECT_NE(bob.transport->take().find("ten chars!"), std::string::npos);
    auto refused = send(alice, message("eleven chars"));
    EXPECT_NE(refused.find("<not-acceptable"), std::string::npos) << refused;
    EXPECT_NE(refused.find("limited to 10 characters"), std::string::npos) << refused;
    EXPECT_EQ(bob.transport->take().find("eleven"), std::string::npos);
    settings.max_message_chars = 20;
    live.set(settings);
    EXPECT_EQ(send(alice, message("eleven chars")).find("type='error'"), std::string::npos);
    std::string padding = "<x xmlns='urn:example:pad'>" + std::string(70 * 1024, 'p') + "</x>";
    refused = send(alice, message("short", padding));
    EXPECT_NE(refused.find("at most 64 KB"), std::string::npos) << refused;
    EXPECT_EQ(send(alice, message(std::string(30, 'n'), "<no-store xmlns='urn:xmpp:hints'/>"))
                  .find("type='error'"),
              std::string::npos);
}
