#!/usr/bin/python3
"""Issue 16: what everyday clients expect between users — messages kept for someone offline,
each user's own archive, carbons, blocking, vCards and avatars — driven by slixmpp's own
plugins for each extension.
Usage: test_im.py PATH/TO/perch [test_name ...]"""

import asyncio
import base64
import hashlib
import sys
import types

from harness import DOMAIN, MUC, Client, IqError, Server, connect, run

PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw",
             "erin": "erin-pw"}


RESUME_TIMEOUT = 3  # seconds a dropped session waits to be resumed (XEP-0198)
LOBBY = f"lobby@{MUC}"


def setup():
    server = Server(sys.argv[1], c2s_config=f"resume_timeout_s = {RESUME_TIMEOUT}")
    for user, pw in PASSWORDS.items():
        server.add_user(user, pw)
    server.cli("category", "add", "Mobile")
    server.cli("room", "add", "lobby", "--category", "Mobile")
    server.start()
    return types.SimpleNamespace(server=server)


def teardown(f):
    f.server.cleanup()


async def login(f, user, resource="test", plugins=()):
    c = await connect(f.server, user, PASSWORDS[user], resource=resource)
    for p in plugins:
        c.register_plugin(p)
    return c


async def next_chat(client, timeout=10):
    while True:
        msg = await asyncio.wait_for(client.private.get(), timeout)
        if msg["body"]:
            return msg


async def test_a_message_to_someone_offline_waits_for_them(f):
    """XEP-0160: sent while bob is away, delivered when he comes online, in order, stamped
    with when it was sent; the server advertises it."""
    alice = await login(f, "alice")
    info = await alice["xep_0030"].get_info(jid=DOMAIN)
    features = set(info["disco_info"]["features"])
    for feature in ("msgoffline", "urn:xmpp:carbons:2", "urn:xmpp:blocking", "vcard-temp"):
        assert feature in features, (feature, features)
    for i in range(3):
        alice.send_message(mto=f"bob@{DOMAIN}", mbody=f"while you were out {i}", mtype="chat")
    await asyncio.sleep(0.5)
    bob = await login(f, "bob")
    assert bob.private.empty(), "delivered before bob's first presence"
    bob.send_presence()
    got = [await next_chat(bob) for _ in range(3)]
    assert [m["body"] for m in got] == [f"while you were out {i}" for i in range(3)]
    assert all(m["from"].bare == f"alice@{DOMAIN}" for m in got)
    assert got[0]["delay"]["stamp"] is not None, got[0]
    await bob.close()
    # Delivered once: bob, back again, gets nothing more.
    again = await login(f, "bob", resource="again")
    again.send_presence()
    await asyncio.sleep(1)
    assert again.private.empty()
    await again.close()
    await alice.close()


async def test_carbons_show_each_device_the_whole_conversation(f):
    """XEP-0280 through slixmpp's plugin: the phone sees what the laptop sends and receives."""
    laptop = await login(f, "carol", "laptop", ["xep_0280"])
    phone = await login(f, "carol", "phone", ["xep_0280"])
    dave = await login(f, "dave")
    sent, received = asyncio.Queue(), asyncio.Queue()
    phone.add_event_handler("carbon_sent", sent.put_nowait)
    phone.add_event_handler("carbon_received", received.put_nowait)
    await phone["xep_0280"].enable()
    laptop.send_message(mto=f"dave@{DOMAIN}/test", mbody="from the laptop", mtype="chat")
    copy = await asyncio.wait_for(sent.get(), 10)
    assert copy["carbon_sent"]["body"] == "from the laptop", copy
    assert (await next_chat(dave))["body"] == "from the laptop"
    dave.send_message(mto=f"carol@{DOMAIN}/laptop", mbody="to the laptop", mtype="chat")
    copy = await asyncio.wait_for(received.get(), 10)
    assert copy["carbon_received"]["body"] == "to the laptop", copy
    assert (await next_chat(laptop))["body"] == "to the laptop"
    for c in (laptop, phone, dave):
        await c.close()


async def test_each_user_pages_their_own_archive_with_slixmpps_iterator(f):
    """XEP-0313 on the user's own JID: slixmpp's iterator walks every message both ways, and
    `with` picks one correspondent."""
    erin = await login(f, "erin", plugins=["xep_0313"])
    alice = await login(f, "alice", "archiver")
    for i in range(120):
        erin.send_message(mto=f"alice@{DOMAIN}", mbody=f"note {i}", mtype="chat")
    for i in range(120):  # read before answered: the replies come after every note
        assert (await next_chat(alice))["body"] == f"note {i}"
    for i in range(5):
        alice.send_message(mto=f"erin@{DOMAIN}", mbody=f"reply {i}", mtype="chat")
    await asyncio.sleep(1.5)
    bodies = [m["mam_result"]["forwarded"]["stanza"]["body"]
              async for m in erin["xep_0313"].iterate(reverse=True, rsm={"max": 50})]
    assert len(bodies) == 125, len(bodies)
    assert bodies[-1] == "note 0" and bodies[0] == "reply 4", (bodies[0], bodies[-1])
    forward = [m["mam_result"]["forwarded"]["stanza"]["body"]
               async for m in erin["xep_0313"].iterate(rsm={"max": 50})]
    assert forward == bodies[::-1]
    from slixmpp import JID
    replies = [m["mam_result"]["forwarded"]["stanza"]["body"]
               async for m in erin["xep_0313"].iterate(with_jid=JID(f"alice@{DOMAIN}"),
                                                       rsm={"max": 50})]
    assert len(replies) == 125  # both directions are with alice
    await erin.close()
    await alice.close()


async def test_blocking_keeps_a_user_away(f):
    """XEP-0191 through slixmpp's plugin: dave blocks erin; her messages bounce, his to her are
    refused with the blocking error; unblocked, they pass again."""
    dave = await login(f, "dave", "blocker", ["xep_0191"])
    erin = await login(f, "erin", "pest")
    await dave["xep_0191"].block([f"erin@{DOMAIN}"])
    blocked = await dave["xep_0191"].get_blocked()
    assert {str(j) for j in blocked["blocklist"]["items"]} == {f"erin@{DOMAIN}"}, blocked
    erin.send_message(mto=f"dave@{DOMAIN}", mbody="are you there?", mtype="chat")
    bounce = await erin.next_message_with(
        "{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable")
    assert bounce["type"] == "error"
    await asyncio.sleep(0.5)
    assert dave.private.empty()
    dave.send_message(mto=f"erin@{DOMAIN}", mbody="go away", mtype="chat")
    refusal = await dave.next_message_with(
        "{jabber:client}error/{urn:xmpp:blocking:errors}blocked")
    assert refusal["type"] == "error"
    await dave["xep_0191"].unblock([f"erin@{DOMAIN}"])
    erin.send_message(mto=f"dave@{DOMAIN}", mbody="now?", mtype="chat")
    assert (await next_chat(dave))["body"] == "now?"
    await dave.close()
    await erin.close()


async def test_vcards_and_avatars(f):
    """XEP-0054 and XEP-0084 through slixmpp's plugins: before a card is set it shows the
    account; a card's photo is the PEP avatar, and a PEP avatar becomes the card's photo."""
    alice = await login(f, "alice", "profile", ["xep_0054", "xep_0084"])
    bob = await login(f, "bob", "viewer", ["xep_0054", "xep_0084"])
    card = await bob["xep_0054"].get_vcard(f"alice@{DOMAIN}")
    assert card["vcard_temp"]["NICKNAME"] == ["alice"], card

    picture = b"\x89PNG not really a png"
    vcard = alice["xep_0054"].make_vcard()
    vcard["FN"] = "Alice Liddell"
    vcard["PHOTO"]["TYPE"] = "image/png"
    vcard["PHOTO"]["BINVAL"] = picture
    await alice["xep_0054"].publish_vcard(vcard)
    card = await bob["xep_0054"].get_vcard(f"alice@{DOMAIN}")
    assert card["vcard_temp"]["FN"] == "Alice Liddell"
    assert card["vcard_temp"]["PHOTO"]["BINVAL"] == picture
    sha1 = hashlib.sha1(picture).hexdigest()
    item = await bob["xep_0084"].retrieve_avatar(f"alice@{DOMAIN}", sha1)
    data = item["pubsub"]["items"]["item"]["avatar_data"]["value"]
    assert data == picture, data

    # The other way: bob publishes an avatar over PEP, as Conversations does.
    avatar = b"GIF89a bob's face"
    await bob["xep_0084"].publish_avatar(avatar)
    await bob["xep_0084"].publish_avatar_metadata(
        [{"id": hashlib.sha1(avatar).hexdigest(), "type": "image/gif", "bytes": len(avatar)}])
    card = await alice["xep_0054"].get_vcard(f"bob@{DOMAIN}")
    assert card["vcard_temp"]["PHOTO"]["BINVAL"] == avatar, card
    assert card["vcard_temp"]["PHOTO"]["TYPE"] == "image/gif"
    try:
        await bob["xep_0054"].publish_vcard(vcard, jid=f"alice@{DOMAIN}")
        raise AssertionError("bob set alice's card")
    except IqError as e:
        assert e.condition == "forbidden", e.condition
    await alice.close()
    await bob.close()


async def test_an_inactive_client_gets_chat_states_only_with_the_next_message(f):
    """XEP-0352 as a phone uses it: inactive, a chat state waits; the next message with a body
    brings it, first; active again, chat states come at once."""
    from slixmpp.xmlstream import ET
    phone = await login(f, "carol", "pocket")
    dave = await login(f, "dave", "typist")

    def typing():
        m = dave.make_message(mto=f"carol@{DOMAIN}/pocket", mtype="chat")
        ET.SubElement(m.xml, "{http://jabber.org/protocol/chatstates}composing")
        m.send()

    phone.send_raw("<inactive xmlns='urn:xmpp:csi:0'/>")
    await phone["xep_0199"].ping(jid=DOMAIN, timeout=10)  # answered after the inactive was taken
    typing()
    await asyncio.sleep(0.8)
    assert phone.every_message.empty(), "a chat state reached an inactive client at once"
    dave.send_message(mto=f"carol@{DOMAIN}/pocket", mbody="are you there?", mtype="chat")
    first = await asyncio.wait_for(phone.every_message.get(), 10)
    second = await asyncio.wait_for(phone.every_message.get(), 10)
    assert first.xml.find("{http://jabber.org/protocol/chatstates}composing") is not None, first
    assert second["body"] == "are you there?", second
    phone.send_raw("<active xmlns='urn:xmpp:csi:0'/>")
    await phone["xep_0199"].ping(jid=DOMAIN, timeout=10)  # answered after the active was taken
    typing()
    state = await asyncio.wait_for(phone.every_message.get(), 5)
    assert state.xml.find("{http://jabber.org/protocol/chatstates}composing") is not None
    await phone.close()
    await dave.close()


async def sm_login(f, user, resource):
    """A client with slixmpp's stream management plugin, acknowledgements enabled."""
    c = Client(f.server, user, PASSWORDS[user], resource=resource)
    c.register_plugin("xep_0198")
    enabled = asyncio.ensure_future(c.wait_until("sm_enabled", 10))
    await c.start()
    await enabled
    return c


async def cut(client):
    """The TCP connection drops without a goodbye (a phone going into a tunnel)."""
    gone = asyncio.ensure_future(client.wait_until("disconnected", 5))
    client.transport.abort()
    await gone


def reconnect(client):
    client.connect((client.perch.host, client.perch.port), force_starttls=True)


def left_room(presences, nick):
    """Whether an unavailable presence of `nick` in the lobby is among what a client got."""
    while not presences.empty():
        p = presences.get_nowait()
        if p["from"].bare == LOBBY and p["from"].resource == nick and p["type"] == "unavailable":
            return True
    return False


async def test_a_dropped_session_is_resumed_with_the_messages_and_room_traffic_it_missed(f):
    """XEP-0198 as slixmpp uses it: the phone's connection is cut; meanwhile a one-to-one
    message and a room message arrive; it reconnects and resumes: both come, the room never
    saw it leave, and acknowledgements flow both ways."""
    phone = await sm_login(f, "erin", "phone")
    await phone["xep_0045"].join_muc_wait(LOBBY, "erin", maxstanzas=0, timeout=10)
    dave = await login(f, "dave", "desk")
    await dave["xep_0045"].join_muc_wait(LOBBY, "dave", maxstanzas=0, timeout=10)
    phone.send_message(mto=LOBBY, mbody="going underground", mtype="groupchat")
    sm = phone["xep_0198"]
    for _ in range(50):  # the server acknowledges everything the phone sent
        await asyncio.sleep(0.1)  # (slixmpp's <r/> can overtake its queued stanzas)
        if sm.last_ack == sm.seq:
            break
        sm.request_ack()
    assert sm.last_ack == sm.seq == 2, (sm.last_ack, sm.seq)  # its join and its message
    await dave.next_groupchat()
    assert (await phone.next_groupchat())["body"] == "going underground"  # its echo

    await cut(phone)
    await asyncio.sleep(0.3)  # the server notices
    dave.send_message(mto=f"erin@{DOMAIN}/phone", mbody="while you were in the tunnel",
                      mtype="chat")
    dave.send_message(mto=LOBBY, mbody="room news", mtype="groupchat")
    await dave.next_groupchat()
    resumed = asyncio.ensure_future(phone.wait_until("session_resumed", 10))
    reconnect(phone)
    await resumed
    assert (await next_chat(phone))["body"] == "while you were in the tunnel"
    news = await phone.next_groupchat()
    assert news["body"] == "room news", news  # nothing it had already, nothing twice
    assert not left_room(dave.every_presence, "erin"), "the room saw the phone leave"
    # The resumed session goes on both ways.
    phone.send_message(mto=LOBBY, mbody="back", mtype="groupchat")
    assert (await dave.next_groupchat())["body"] == "back"
    assert "resumed its session" in f.server.log_text()
    await phone.close()
    await dave.close()


async def test_a_session_not_resumed_in_time_ends_and_the_client_starts_anew(f):
    """Past the resumption timeout the session ends as any other (the room sees it leave); the
    client's resumption is refused and slixmpp binds a new session."""
    phone = await sm_login(f, "carol", "phone")
    await phone["xep_0045"].join_muc_wait(LOBBY, "carol", maxstanzas=0, timeout=10)
    dave = await login(f, "dave", "watcher")
    await dave["xep_0045"].join_muc_wait(LOBBY, "watcher", maxstanzas=0, timeout=10)
    await cut(phone)
    await asyncio.sleep(1)
    assert not left_room(dave.every_presence, "carol"), "left before the timeout"
    for _ in range(100):  # the timeout, plus up to a second for the server's sweep
        if left_room(dave.every_presence, "carol"):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("still in the room 10 s after the timeout")
    started = asyncio.ensure_future(phone.wait_until("session_start", 10))
    reconnect(phone)
    await started  # resumption failed; a new session was bound
    assert "did not come back within" in f.server.log_text()
    await phone.close()
    await dave.close()


async def test_push_notifications_announce_messages_to_a_phone_that_is_gone(f):
    """XEP-0357 with an app server that is an account of this server (dave's client stands in
    for it): the phone enables it; a message while the phone's session waits to be resumed is
    announced to the app server, with the sender and not the text."""
    from slixmpp.xmlstream import ET
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    app = await login(f, "dave", "pushbot")
    published = asyncio.Queue()
    app.register_handler(Callback(
        "push", MatchXPath("{jabber:client}iq/{http://jabber.org/protocol/pubsub}pubsub"),
        published.put_nowait))
    phone = await sm_login(f, "erin", "pushphone")
    info = await phone["xep_0030"].get_info(jid=f"erin@{DOMAIN}")
    assert "urn:xmpp:push:0" in info["disco_info"]["features"]
    iq = phone.make_iq_set()
    iq.append(ET.fromstring(
        f"<enable xmlns='urn:xmpp:push:0' jid='dave@{DOMAIN}' node='device-1'/>"))
    await iq.send(timeout=10)
    refused = phone.make_iq_set()
    refused.append(ET.fromstring(
        "<enable xmlns='urn:xmpp:push:0' jid='push.example.net' node='x'/>"))
    try:
        await refused.send(timeout=10)
        raise AssertionError("an app server on another domain was accepted")
    except IqError as e:
        assert e.condition == "remote-server-not-found", e.condition
    phone.send_presence()
    await asyncio.sleep(0.2)
    await cut(phone)
    for _ in range(100):  # until the server has noticed (before, the message goes to the socket)
        if f"erin@{DOMAIN}/pushphone lost its connection" in f.server.log_text():
            break
        await asyncio.sleep(0.1)
    carol = await login(f, "carol", "sender")
    carol.send_message(mto=f"erin@{DOMAIN}", mbody="wake up", mtype="chat")
    push = await asyncio.wait_for(published.get(), 10)
    text = str(push)
    assert push["from"] == f"erin@{DOMAIN}", push["from"]
    assert "node=\"device-1\"" in text and "urn:xmpp:push:summary" in text, text
    assert f"carol@{DOMAIN}" in text and "wake up" not in text, text
    resumed = asyncio.ensure_future(phone.wait_until("session_resumed", 10))
    reconnect(phone)
    await resumed
    assert (await next_chat(phone))["body"] == "wake up"
    await phone.close()
    await carol.close()
    await app.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
