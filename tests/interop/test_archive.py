#!/usr/bin/python3
"""Room archives through MAM (XEP-0313) with RSM paging and full-text search, as Converse.js
and slixmpp use them. Usage: test_archive.py PATH/TO/perch [test_name ...]"""

import asyncio
import sys
import types

from harness import MUC, RSM, IqError, Server, connect, mam_query, run

ROOM = f"archive@{MUC}"
COUNT = 5000
NEEDLE_AT = COUNT - 4000  # the word searched for was posted 4,000 messages before the end


def setup():
    server = Server(sys.argv[1])
    for user in ("alice", "bob", "carol"):
        server.add_user(user, f"{user}-pw")
    server.cli("category", "add", "General")
    server.cli("room", "add", "archive", "--category", "General")
    server.cli("room", "add", "hidden", "--category", "General", "--privacy", "closed")
    server.cli("room", "grant", "hidden", "member", "user:bob")
    server.start()
    return types.SimpleNamespace(server=server, posted=False)


def teardown(f):
    f.server.cleanup()


async def login(f, user):
    return await connect(f.server, user, f"{user}-pw")


async def fill(f):
    """Posts COUNT messages once; waits for every echo, so all are committed."""
    if f.posted:
        return
    alice = await login(f, "alice")
    await alice["xep_0045"].join_muc_wait(ROOM, "alice", maxstanzas=0, timeout=10)
    for i in range(COUNT):
        body = f"message {i}" + (" with a rare pelican" if i == NEEDLE_AT else "")
        alice.send_message(mto=ROOM, mbody=body, mtype="groupchat")
    for _ in range(COUNT):
        await alice.next_groupchat(timeout=60)
    await alice.close()
    f.posted = True


async def test_room_advertises_mam(f):
    bob = await login(f, "bob")
    info = await bob["xep_0030"].get_info(jid=ROOM)
    features = info["disco_info"]["features"]
    assert "urn:xmpp:mam:2" in features and "urn:xmpp:mam:2#extended" in features, features
    await bob.close()


async def test_paging_backward_through_everything(f):
    await fill(f)
    bob = await login(f, "bob")
    seen = []
    before = ""
    pages = 0
    while True:
        results, fin = await mam_query(bob, ROOM, rsm={"max": "50", "before": before}, query_id=f"p{pages}")
        pages += 1
        assert all(r["from"] == ROOM for r in results)  # from the room's bare JID
        seen = [r["body"] for r in results] + seen
        rsm = fin.find(f"{{{RSM}}}set")
        assert int(rsm.find(f"{{{RSM}}}count").text) == COUNT
        if fin.get("complete") == "true":
            break
        assert len(results) == 50
        before = rsm.find(f"{{{RSM}}}first").text
        assert before == results[0]["id"]
    assert pages == COUNT // 50
    expected = [f"message {i}" + (" with a rare pelican" if i == NEEDLE_AT else "") for i in range(COUNT)]
    assert seen == expected, "gap, duplicate or disorder in the pages"
    await bob.close()


async def test_paging_forward_with_after(f):
    await fill(f)
    bob = await login(f, "bob")
    first, fin = await mam_query(bob, ROOM, rsm={"max": "10"})
    assert [r["body"] for r in first] == [f"message {i}" for i in range(10)]
    assert fin.get("complete") != "true"
    last = fin.find(f"{{{RSM}}}set/{{{RSM}}}last").text
    second, _ = await mam_query(bob, ROOM, rsm={"max": "10", "after": last}, query_id="q2")
    assert [r["body"] for r in second] == [f"message {i}" for i in range(10, 20)]
    await bob.close()


async def test_slixmpps_own_iterator_pages_through_everything_both_ways(f):
    """slixmpp's MAM iterator (XEP-0059 paging as the library does it) reaches every message,
    newest first and oldest first. It stops when index + page size = count; that holds on the
    newest page when an index is given there, so backward pages carry none."""
    await fill(f)
    bob = await login(f, "bob")
    bob.register_plugin("xep_0313")
    expected = [f"message {i}" + (" with a rare pelican" if i == NEEDLE_AT else "") for i in range(COUNT)]
    backward = [m["mam_result"]["forwarded"]["stanza"]["body"]
                async for m in bob["xep_0313"].iterate(jid=ROOM, reverse=True, rsm={"max": 250})]
    assert len(backward) == COUNT and backward == expected[::-1], (len(backward), backward[:3])
    forward = [m["mam_result"]["forwarded"]["stanza"]["body"]
               async for m in bob["xep_0313"].iterate(jid=ROOM, rsm={"max": 250})]
    assert forward == expected, (len(forward), forward[-3:])
    await bob.close()


async def test_fulltext_finds_a_word_posted_4000_messages_ago(f):
    await fill(f)
    bob = await login(f, "bob")
    for field in ("{urn:xmpp:fulltext:0}fulltext", "withtext"):
        results, fin = await mam_query(bob, ROOM, fields={field: "PELICAN"})
        assert [r["body"] for r in results] == [f"message {NEEDLE_AT} with a rare pelican"], results
        assert fin.get("complete") == "true"
    await bob.close()


async def test_with_and_time_filters(f):
    await fill(f)
    bob = await login(f, "bob")
    results, _ = await mam_query(bob, ROOM, fields={"with": f"{ROOM}/alice"}, rsm={"max": "5"})
    assert len(results) == 5 and all(r["nick"] == "alice" for r in results)
    results, fin = await mam_query(bob, ROOM, fields={"with": f"{ROOM}/nobody"})
    assert results == [] and fin.get("complete") == "true"
    results, _ = await mam_query(bob, ROOM, fields={"start": "2100-01-01T00:00:00Z"})
    assert results == []
    await bob.close()


async def test_bad_queries_get_errors(f):
    await fill(f)
    bob = await login(f, "bob")
    for rsm, fields, condition in (({"after": "no-such-id"}, None, "item-not-found"),
                                   (None, {"start": "yesterday"}, "bad-request")):
        try:
            await mam_query(bob, ROOM, fields=fields, rsm=rsm)
            raise AssertionError("expected an error")
        except IqError as e:
            assert e.iq["error"]["condition"] == condition, e.iq
    await bob.close()


async def test_closed_room_archive_is_for_members(f):
    carol = await login(f, "carol")  # not a member
    try:
        await mam_query(carol, f"hidden@{MUC}")
        raise AssertionError("expected forbidden")
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden"
    await carol.close()
    bob = await login(f, "bob")  # a member
    results, fin = await mam_query(bob, f"hidden@{MUC}")
    assert results == [] and fin.get("complete") == "true"
    await bob.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
