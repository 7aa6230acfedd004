#!/usr/bin/python3
"""Following rooms without joining them: the followed list is the user's XEP-0402 bookmarks;
the chat service answers unread counts and serves the activity feed (a search of all rooms
limited to the followed ones). Usage: test_following.py PATH/TO/perch [test ...]"""

import asyncio
import sys
import time
import types

from harness import MUC, IqError, Server, connect, mam_query, run

FOLLOWING = "urn:perch:following:0"
PUBSUB = "http://jabber.org/protocol/pubsub"


def setup():
    s = Server(sys.argv[1])
    for u in ("alice", "bob", "erin"):
        s.add_user(u, f"{u}-pw")
    s.cli("category", "add", "Projects")
    for room in ("news", "sports", "weather"):
        s.cli("room", "add", room, "--category", "Projects")
    s.cli("room", "add", "hideout", "--category", "Projects", "--privacy", "secret")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


async def login(f, user):
    return await connect(f.server, user, f"{user}-pw")


async def follow(client, room):
    from slixmpp.xmlstream import ET
    iq = client.make_iq_set()
    pub = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}publish",
                        {"node": "urn:xmpp:bookmarks:1"})
    item = ET.SubElement(pub, f"{{{PUBSUB}}}item", {"id": room})
    ET.SubElement(item, "{urn:xmpp:bookmarks:1}conference", {"autojoin": "false"})
    await iq.send(timeout=10)


async def following(client):
    """{room JID: (unread, more, last body or None)} from the chat service."""
    from slixmpp.xmlstream import ET
    iq = client.make_iq_get(ito=MUC)
    ET.SubElement(iq.xml, f"{{{FOLLOWING}}}following")
    reply = await iq.send(timeout=10)
    out = {}
    for r in reply.xml.iter(f"{{{FOLLOWING}}}room"):
        last = r.find(f"{{{FOLLOWING}}}last")
        out[r.get("jid")] = (int(r.get("unread")), r.get("more") == "true",
                             last.text if last is not None else None)
    return out


async def post(client, room, bodies):
    await client["xep_0045"].join_muc_wait(room, client.boundjid.user, maxstanzas=0, timeout=10)
    for b in bodies:
        client.send_message(mto=room, mbody=b, mtype="groupchat")
    for _ in bodies:
        await client.next_groupchat()


async def eventually(check, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


async def test_unread_counts_of_followed_rooms(f):
    alice, bob = await login(f, "alice"), await login(f, "bob")
    info = await alice["xep_0030"].get_info(jid=MUC)
    assert FOLLOWING in info["disco_info"]["features"]
    for room in ("news", "sports", "hideout"):  # hideout: secret, alice is no member
        await follow(alice, f"{room}@{MUC}")
    assert await following(alice) == {f"news@{MUC}": (0, False, None), f"sports@{MUC}": (0, False, None)}
    await post(bob, f"news@{MUC}", ["n1", "n2", "n3"])
    await post(bob, f"weather@{MUC}", ["w1"])  # not followed
    counts = await following(alice)
    assert counts[f"news@{MUC}"] == (3, False, "n3"), counts
    assert counts[f"sports@{MUC}"] == (0, False, None)
    assert f"weather@{MUC}" not in counts and f"hideout@{MUC}" not in counts
    # While in the room she sees everything; after leaving, nothing is unread.
    await alice["xep_0045"].join_muc_wait(f"news@{MUC}", "alice", maxstanzas=0, timeout=10)
    assert (await following(alice))[f"news@{MUC}"][0] == 0
    bob.send_message(mto=f"news@{MUC}", mbody="n4", mtype="groupchat")
    await alice.next_groupchat()
    await bob.next_groupchat()
    alice["xep_0045"].leave_muc(f"news@{MUC}", "alice")
    await asyncio.sleep(0.2)

    async def news_read():
        return (await following(alice))[f"news@{MUC}"][0] == 0
    assert await eventually(news_read)
    await post(bob, f"news@{MUC}", ["n5"])
    counts = await following(alice)
    assert counts[f"news@{MUC}"][:2] == (1, False), counts
    await alice.close()
    await bob.close()


async def test_marking_a_room_read(f):
    from slixmpp.xmlstream import ET
    erin, bob = await login(f, "erin"), await login(f, "bob")
    await follow(erin, f"sports@{MUC}")
    await post(bob, f"sports@{MUC}", ["s1", "s2"])
    assert (await following(erin))[f"sports@{MUC}"][0] == 2
    iq = erin.make_iq_set(ito=MUC)
    ET.SubElement(iq.xml, f"{{{FOLLOWING}}}read", {"jid": f"sports@{MUC}"})
    await iq.send(timeout=10)
    assert (await following(erin))[f"sports@{MUC}"][0] == 0
    iq = erin.make_iq_set(ito=MUC)
    ET.SubElement(iq.xml, f"{{{FOLLOWING}}}read", {"jid": f"hideout@{MUC}"})
    try:
        await iq.send(timeout=10)
        raise AssertionError("marked a secret room read")
    except IqError as e:
        assert e.iq["error"]["condition"] == "item-not-found"
    await erin.close()
    await bob.close()


async def test_activity_feed_is_the_followed_rooms_newest_first(f):
    alice, bob = await login(f, "alice"), await login(f, "bob")
    await follow(alice, f"weather@{MUC}")
    await post(bob, f"weather@{MUC}", ["sunny later"])
    results, fin = await mam_query(alice, MUC, fields={"{urn:perch:following:0}followed": "1"},
                                   rsm={"max": "100", "before": ""})
    rooms = {r["room"] for r in results}
    assert rooms <= {f"news@{MUC}", f"sports@{MUC}", f"weather@{MUC}"}, rooms
    assert f"weather@{MUC}" in rooms
    assert results[-1]["body"] == "sunny later"
    assert fin.get("complete") == "true"
    # Erin follows nothing of weather: her feed has none of it.
    erin = await login(f, "erin")
    results, _ = await mam_query(erin, MUC, fields={"{urn:perch:following:0}followed": "1"})
    assert all(r["room"] == f"sports@{MUC}" for r in results), results
    await erin.close()
    await alice.close()
    await bob.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
