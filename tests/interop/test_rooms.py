#!/usr/bin/python3
"""Who may find, join, post in and read which room: categories (allowed/denied/creators),
privacy (open/closed/secret), roles (members, managers, presenters; groups too) and the
persistent chat policy, seen by real clients. Usage: test_rooms.py PATH/TO/perch [test ...]"""

import asyncio
import sys
import types

from slixmpp import JID

from harness import DOMAIN, MUC, IqError, PresenceError, Server, connect, mam_query, removal, run

USERS = ("alice", "bob", "carol", "dave", "erin", "mallory", "olga", "root")


def setup():
    s = Server(sys.argv[1], extra_config="[muc]\nmax_message_chars = 100\nmax_story_chars = 300")
    for u in USERS:
        s.add_user(u, f"{u}-pw")
    s.cli("group", "add", "engineering")
    s.cli("group", "join", "engineering", "dave")
    s.cli("category", "add", "Projects", "--deny", "user:mallory", "--creator", "user:alice")
    s.cli("category", "add", "Board", "--allow", "user:alice", "--allow", "user:bob")
    s.cli("category", "add", "General", "--creator", "user:alice")  # where joined-into rooms go
    s.cli("room", "add", "town", "--category", "Projects")
    s.cli("room", "add", "inner", "--category", "Projects", "--privacy", "closed")
    s.cli("room", "grant", "inner", "member", "user:bob")
    s.cli("room", "grant", "inner", "member", "group:engineering")
    s.cli("room", "add", "vault", "--category", "Projects", "--privacy", "secret")
    s.cli("room", "grant", "vault", "member", "user:bob")
    s.cli("room", "add", "keynote", "--category", "Projects", "--type", "auditorium")
    s.cli("room", "grant", "keynote", "presenter", "user:carol")
    s.cli("room", "add", "boardroom", "--category", "Board")
    s.cli("room", "add", "forum", "--category", "Projects")
    s.cli("room", "grant", "forum", "manager", "user:alice")
    s.cli("category", "add", "Quiet", "--no-invitations")
    s.cli("room", "add", "quiet", "--category", "Quiet")
    s.cli("category", "add", "Ephemeral", "--no-chat-history")
    s.cli("room", "add", "ephemeral", "--category", "Ephemeral")
    s.cli("room", "grant", "ephemeral", "manager", "user:alice")
    s.cli("category", "add", "Labs", "--allow", "group:engineering", "--allow", "user:alice",
          "--allow", "user:carol", "--creator", "user:alice", "--creator", "user:carol")
    s.cli("room", "add", "workshop", "--category", "Projects")
    s.cli("room", "grant", "workshop", "manager", "user:alice")
    s.cli("room", "grant", "workshop", "member", "user:bob")
    s.cli("room", "grant", "workshop", "member", "user:dave")
    s.cli("room", "add", "plaza", "--category", "Projects")
    s.cli("room", "add", "hideaway", "--category", "Projects", "--privacy", "secret")
    s.cli("room", "grant", "plaza", "manager", "user:alice")
    s.cli("room", "add", "pit", "--category", "Projects")
    s.cli("room", "grant", "pit", "manager", "user:alice")
    s.cli("room", "add", "scrap", "--category", "Projects")
    s.cli("policy", "user:olga", "off")
    s.cli("user", "admin", "root", "on")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


async def login(f, user):
    return await connect(f.server, user, f"{user}-pw")


async def join_error(client, room, nick):
    try:
        await client["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=10)
    except PresenceError as e:
        return e.presence["error"]["condition"]
    return None


async def listed(client):
    items = await client["xep_0030"].get_items(jid=MUC)
    return {i[0].split("@")[0] for i in items["disco_items"]["items"]}


async def test_closed_room_refuses_a_non_member_and_admits_members(f):
    erin = await login(f, "erin")
    assert await join_error(erin, f"inner@{MUC}", "erin") == "registration-required"
    assert "inner" in await listed(erin)  # closed rooms are listed
    await erin.close()
    for member in ("bob", "dave"):  # by name, and through the engineering group
        c = await login(f, member)
        assert await join_error(c, f"inner@{MUC}", member) is None
        await c.close()


async def test_secret_room_is_invisible_to_non_members(f):
    erin = await login(f, "erin")
    assert "vault" not in await listed(erin)
    assert await join_error(erin, f"vault@{MUC}", "erin") == "item-not-found"
    for probe in (erin["xep_0030"].get_info(jid=f"vault@{MUC}"), mam_query(erin, f"vault@{MUC}")):
        try:
            await probe
            raise AssertionError("a non-member learned the secret room exists")
        except IqError as e:
            assert e.iq["error"]["condition"] == "item-not-found"
    await erin.close()
    bob = await login(f, "bob")
    assert "vault" in await listed(bob)
    assert await join_error(bob, f"vault@{MUC}", "bob") is None
    results, fin = await mam_query(bob, f"vault@{MUC}")
    assert fin is not None
    await bob.close()


async def test_in_an_auditorium_only_presenters_speak(f):
    room = f"keynote@{MUC}"
    carol = await login(f, "carol")
    erin = await login(f, "erin")
    await carol["xep_0045"].join_muc_wait(room, "carol", maxstanzas=0, timeout=10)
    presence, _, _, _ = await erin["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=10)
    assert presence["muc"]["role"] == "visitor"
    errors = asyncio.Queue()
    erin.add_event_handler("message_error", errors.put_nowait)
    erin.send_message(mto=room, mbody="may I?", mtype="groupchat")
    err = await asyncio.wait_for(errors.get(), 10)
    assert err["error"]["condition"] == "forbidden"
    carol.send_message(mto=room, mbody="welcome to the keynote", mtype="groupchat")
    got = await erin.next_groupchat()
    assert got["body"] == "welcome to the keynote"
    await carol.close()
    await erin.close()


async def test_denied_user_cannot_find_or_join(f):
    mallory = await login(f, "mallory")
    names = await listed(mallory)
    assert not names & {"town", "inner", "vault", "keynote"}, names
    assert await join_error(mallory, f"town@{MUC}", "mallory") == "item-not-found"
    await mallory.close()


async def test_category_allowed_list_is_enforced(f):
    erin = await login(f, "erin")
    assert "boardroom" not in await listed(erin)
    assert await join_error(erin, f"boardroom@{MUC}", "erin") == "item-not-found"
    await erin.close()
    bob = await login(f, "bob")
    assert await join_error(bob, f"boardroom@{MUC}", "bob") is None
    await bob.close()


async def test_policy_disabled_user_cannot_join_any_room(f):
    olga = await login(f, "olga")
    assert await join_error(olga, f"town@{MUC}", "olga") == "forbidden"
    await olga.close()


async def test_only_category_creators_create_rooms(f):
    bob = await login(f, "bob")  # allowed in General, but not a creator there
    assert await join_error(bob, f"brand-new@{MUC}", "bob") == "item-not-found"
    await bob.close()
    alice = await login(f, "alice")
    presence, _, _, _ = await alice["xep_0045"].join_muc_wait(f"brand-new@{MUC}", "alice", maxstanzas=0, timeout=10)
    assert "201" in {str(c) for c in presence["muc"]["status_codes"]}
    assert presence["muc"]["affiliation"] == "owner"
    await alice.close()
    out = f.server.cli("room", "list").stdout
    assert "brand-new@" in out and "manager user:alice" in out, out


async def test_managers_are_owners_and_members_are_members(f):
    room = f"inner@{MUC}"
    bob = await login(f, "bob")
    presence, _, _, _ = await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
    assert presence["muc"]["affiliation"] == "member"
    await bob.close()


async def test_search_all_rooms_covers_exactly_the_rooms_one_may_read(f):
    bob = await login(f, "bob")  # member of inner and vault
    for node in ("town", "inner", "vault"):
        room = f"{node}@{MUC}"
        await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
        bob.send_message(mto=room, mbody=f"the Zeppelin lands in {node}", mtype="groupchat")
        await bob.next_groupchat()
    results, fin = await mam_query(bob, MUC, fields={"{urn:xmpp:fulltext:0}fulltext": "zeppelin"},
                                   rsm={"before": ""})
    assert sorted(r["room"].split("@")[0] for r in results) == ["inner", "town", "vault"], results
    assert all(r["from"] == MUC for r in results)
    # Case-sensitive, and any-word.
    results, _ = await mam_query(bob, MUC, fields={"{urn:xmpp:fulltext:0}fulltext": "zeppelin",
                                                   "{urn:perch:search:0}case-sensitive": "1"})
    assert results == []
    results, _ = await mam_query(bob, MUC, fields={"{urn:xmpp:fulltext:0}fulltext": "Zeppelin vault",
                                                   "{urn:perch:search:0}any": "1"})
    assert len(results) == 3
    await bob.close()
    erin = await login(f, "erin")  # in the category, member of nothing
    results, fin = await mam_query(erin, MUC, fields={"{urn:xmpp:fulltext:0}fulltext": "zeppelin"})
    assert [r["room"].split("@")[0] for r in results] == ["town"], results
    await erin.close()
    mallory = await login(f, "mallory")  # denied in the category
    results, fin = await mam_query(mallory, MUC, fields={"{urn:xmpp:fulltext:0}fulltext": "zeppelin"})
    assert results == [] and fin.get("complete") == "true"
    await mallory.close()


async def moderate(client, room, stanza_id, reason):
    from slixmpp.xmlstream import ET
    iq = client.make_iq_set(ito=room)
    apply = ET.SubElement(iq.xml, "{urn:xmpp:fasten:0}apply-to", {"id": stanza_id})
    mod = ET.SubElement(apply, "{urn:xmpp:message-moderate:0}moderate")
    ET.SubElement(mod, "{urn:xmpp:message-retract:0}retract")
    ET.SubElement(mod, "{urn:xmpp:message-moderate:0}reason").text = reason
    return await iq.send(timeout=10)


async def test_a_manager_removes_a_message_and_history_shows_the_notice(f):
    room = f"forum@{MUC}"
    bob, erin, alice = await login(f, "bob"), await login(f, "erin"), await login(f, "alice")
    for c, nick in ((bob, "bob"), (erin, "erin"), (alice, "alice")):
        await c["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=10)
    bob.send_message(mto=room, mbody="something regrettable", mtype="groupchat")
    posted = await erin.next_groupchat()
    await alice.next_groupchat()
    sid = posted["stanza_id"]["id"]
    try:
        await moderate(erin, room, sid, "not yours to remove")
        raise AssertionError("a non-manager removed a message")
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden"
    await moderate(alice, room, sid, "off topic")
    retraction = await erin.next_message_with("{urn:xmpp:fasten:0}apply-to")
    assert retraction.xml.find("{urn:xmpp:message-retract:1}retract").get("id") == sid
    applied = retraction.xml.find("{urn:xmpp:fasten:0}apply-to")
    assert applied is not None and applied.get("id") == sid
    assert applied.find("{urn:xmpp:message-moderate:0}moderated").get("by") == f"{room}/alice"
    results, _ = await mam_query(erin, room)
    assert [r["body"] for r in results] == ["This message was removed by a moderator: off topic"], results
    carol = await login(f, "carol")
    _, _, _, history = await carol["xep_0045"].join_muc_wait(room, "carol", timeout=10)
    assert [m["body"] for m in history] == ["This message was removed by a moderator: off topic"]
    # A message that is not there is answered so, and the archive is untouched.
    try:
        await moderate(alice, room, "no-such-id", "x")
        raise AssertionError("an unknown message was removed")
    except IqError as e:
        assert e.iq["error"]["condition"] == "item-not-found", e.iq
    for c in (bob, erin, alice, carol):
        await c.close()


async def test_alerts_stories_and_size_limits(f):
    from slixmpp.xmlstream import ET
    room = f"town@{MUC}"
    bob, erin = await login(f, "bob"), await login(f, "erin")
    await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
    await erin["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=10)
    info = await erin["xep_0030"].get_info(jid=room)
    form = info.xml.find(".//{jabber:x:data}x")
    fields = {f.get("var"): f.findtext("{jabber:x:data}value") for f in form.findall("{jabber:x:data}field")}
    assert fields["{urn:perch:limits:0}message-max-chars"] == "100", fields
    assert fields["{urn:perch:limits:0}story-max-chars"] == "300"
    assert fields["{urn:perch:room:0}category"] == "Projects"
    errors = asyncio.Queue()
    bob.add_event_handler("message_error", errors.put_nowait)

    def post(body, kind=None, title=None):
        msg = bob.make_message(mto=room, mbody=body, mtype="groupchat")
        if kind:
            k = ET.SubElement(msg.xml, "{urn:perch:kind:0}kind", {"value": kind})
            if title:
                ET.SubElement(k, "{urn:perch:kind:0}title").text = title
        msg.send()

    post("x" * 101)
    assert (await asyncio.wait_for(errors.get(), 10))["error"]["condition"] == "not-acceptable"
    post("a story without a title", "story")
    assert (await asyncio.wait_for(errors.get(), 10))["error"]["condition"] == "bad-request"
    post("y" * 250, "story", "The long read")  # over the message limit, within the story limit
    got = await erin.next_groupchat()
    kind = got.xml.find("{urn:perch:kind:0}kind")
    assert kind.get("value") == "story" and kind.find("{urn:perch:kind:0}title").text == "The long read"
    post("the building is on fire", "alert")
    got = await erin.next_groupchat()
    assert got.xml.find("{urn:perch:kind:0}kind").get("value") == "alert"
    results, _ = await mam_query(erin, room, rsm={"max": "2", "before": ""})
    assert [r["body"] for r in results] == ["y" * 250, "the building is on fire"]
    await bob.close()
    await erin.close()


async def admin_iq(client, room, items=None, affiliation=None):
    from slixmpp.xmlstream import ET
    iq = client.make_iq_set(ito=room) if items else client.make_iq_get(ito=room)
    q = ET.SubElement(iq.xml, "{http://jabber.org/protocol/muc#admin}query")
    for attrs in items or [{"affiliation": affiliation}]:
        ET.SubElement(q, "{http://jabber.org/protocol/muc#admin}item", attrs)
    reply = await iq.send(timeout=10)
    return [(i.get("jid"), i.get("affiliation")) for i in reply.xml.iter("{http://jabber.org/protocol/muc#admin}item")]


async def test_managers_edit_members_through_affiliation_lists(f):
    room = f"inner@{MUC}"
    bob = await login(f, "bob")  # a member, not a manager
    try:
        await admin_iq(bob, room, affiliation="member")
        raise AssertionError("a member edited the lists")
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden"
    await bob.close()
    root = await login(f, "root")  # an administrator
    members = await admin_iq(root, room, affiliation="member")
    assert ("bob@localhost", "member") in members, members
    await admin_iq(root, room, items=[{"jid": "erin@localhost", "affiliation": "member"},
                                      {"jid": "carol@localhost", "affiliation": "owner"}])
    assert ("erin@localhost", "member") in await admin_iq(root, room, affiliation="member")
    assert ("carol@localhost", "owner") in await admin_iq(root, room, affiliation="owner")
    await root.close()
    erin = await login(f, "erin")  # now admitted to the closed room
    assert await join_error(erin, room, "erin") is None
    await erin.close()
    carol = await login(f, "carol")  # a manager now: she may edit the lists
    await admin_iq(carol, room, items=[{"jid": "erin@localhost", "affiliation": "none"}])
    await carol.close()
    erin = await login(f, "erin")
    assert await join_error(erin, room, "erin2") == "registration-required"
    await erin.close()


async def test_a_category_and_room_added_while_running_are_usable(f):
    f.server.cli("category", "add", "Late")
    f.server.cli("room", "add", "latecomer", "--category", "Late")
    erin = await login(f, "erin")
    assert await join_error(erin, f"latecomer@{MUC}", "erin") is None
    assert "latecomer" in await listed(erin)
    await erin.close()


def send_invite(client, room, invitee, reason="join us"):
    from slixmpp.xmlstream import ET
    msg = client.make_message(mto=room)
    x = ET.SubElement(msg.xml, "{http://jabber.org/protocol/muc#user}x")
    inv = ET.SubElement(x, "{http://jabber.org/protocol/muc#user}invite", {"to": invitee})
    ET.SubElement(inv, "{http://jabber.org/protocol/muc#user}reason").text = reason
    msg.send()


async def test_mediated_invitations(f):
    bob, erin, root = await login(f, "bob"), await login(f, "erin"), await login(f, "root")
    invite_path = "{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}invite"
    send_invite(bob, f"town@{MUC}", "erin@localhost")
    got = await erin.next_message_with(invite_path)
    assert got["from"] == f"town@{MUC}"
    assert got.xml.find(invite_path).get("from") == "bob@localhost/test"
    # A manager's (here an administrator's) invitation to a secret room makes a member.
    assert await join_error(erin, f"vault@{MUC}", "erin") == "item-not-found"
    send_invite(root, f"vault@{MUC}", "erin@localhost")
    await erin.next_message_with(invite_path)
    assert await join_error(erin, f"vault@{MUC}", "erin") is None
    # Invitations switched off in the category.
    errors = asyncio.Queue()
    bob.add_event_handler("message_error", errors.put_nowait)
    send_invite(bob, f"quiet@{MUC}", "erin@localhost")
    err = await bob.next_message_with("{jabber:client}error")
    assert err["error"]["condition"] == "forbidden"
    for c in (bob, erin, root):
        await c.close()


async def configure(client, room, values):
    from slixmpp.xmlstream import ET
    iq = client.make_iq_set(ito=room)
    q = ET.SubElement(iq.xml, "{http://jabber.org/protocol/muc#owner}query")
    form = ET.SubElement(q, "{jabber:x:data}x", {"type": "submit"})
    for var, value in {"FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", **values}.items():
        field = ET.SubElement(form, "{jabber:x:data}field", {"var": var})
        ET.SubElement(field, "{jabber:x:data}value").text = value
    await iq.send(timeout=10)


async def test_managers_change_privacy_and_disable_through_the_config_form(f):
    room = f"forum@{MUC}"
    alice, erin = await login(f, "alice"), await login(f, "erin")
    iq = alice.make_iq_get(queryxmlns="http://jabber.org/protocol/muc#owner", ito=room)
    form = (await iq.send(timeout=10)).xml.find(".//{jabber:x:data}x")
    fields = {x.get("var") for x in form.findall("{jabber:x:data}field")}
    assert {"muc#roomconfig_membersonly", "muc#roomconfig_moderatedroom", "{urn:perch:room:0}disabled"} <= fields
    try:
        await configure(erin, room, {"muc#roomconfig_membersonly": "1"})
        raise AssertionError("a non-manager configured the room")
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden"
    await configure(alice, room, {"muc#roomconfig_membersonly": "1"})
    assert await join_error(erin, room, "erin-again") == "registration-required"
    await configure(alice, room, {"muc#roomconfig_publicroom": "0"})
    assert "forum" not in await listed(erin)
    await configure(alice, room, {"muc#roomconfig_publicroom": "1", "muc#roomconfig_membersonly": "0",
                                  "{urn:perch:room:0}disabled": "1"})
    assert await join_error(erin, room, "erin-again") == "forbidden"  # disabled
    await configure(alice, room, {"{urn:perch:room:0}disabled": "0"})
    assert await join_error(erin, room, "erin-again") is None
    assert "forum@chat.localhost  [Projects] open normal" in f.server.cli("room", "list").stdout
    await alice.close()
    await erin.close()


async def test_long_history_requests_keep_roles_and_the_history_switch(f):
    room = f"ephemeral@{MUC}"
    bob = await login(f, "bob")
    await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
    for i in range(60):  # more than the 50 a room keeps in memory
        bob.send_message(mto=room, mbody=f"fleeting {i}", mtype="groupchat")
    for i in range(60):
        await bob.next_groupchat()
    alice = await login(f, "alice")  # a manager, asking for more than the cache holds
    presence, _, _, history = await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=60, timeout=10)
    assert presence["muc"]["affiliation"] == "owner"
    assert history == []  # the category keeps no chat history for readers
    await alice.close()
    await bob.close()


def presences(client):
    """A queue of every presence stanza the client gets from now on."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    q = asyncio.Queue()
    client.register_handler(Callback(f"presences-{id(q)}", MatchXPath("{jabber:client}presence"), q.put_nowait))
    return q


async def config_error(client, room, values):
    try:
        await configure(client, room, values)
    except IqError as e:
        return e.iq["error"]["condition"], e.iq["error"]["text"]
    return None


async def test_moving_a_room_names_or_drops_members_the_new_category_refuses(f):
    room = f"workshop@{MUC}"
    alice, bob, erin = await login(f, "alice"), await login(f, "bob"), await login(f, "erin")
    bob_presences = presences(bob)
    await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
    iq = alice.make_iq_get(queryxmlns="http://jabber.org/protocol/muc#owner", ito=room)
    form = (await iq.send(timeout=10)).xml.find(".//{jabber:x:data}x")
    category = [x for x in form.findall("{jabber:x:data}field") if x.get("var") == "{urn:perch:room:0}category"][0]
    options = {o.find("{jabber:x:data}value").text for o in category.findall("{jabber:x:data}option")}
    assert {"Projects", "Labs", "General"} <= options and "Board" not in options, options
    assert (await config_error(erin, room, {"{urn:perch:room:0}category": "Labs"}))[0] == "forbidden"
    # Alice creates no rooms in Board: she may not move one there.
    assert (await config_error(alice, room, {"{urn:perch:room:0}category": "Board"}))[0] == "forbidden"
    assert (await config_error(alice, room, {"{urn:perch:room:0}category": "Nowhere"}))[0] == "not-acceptable"
    # Labs admits engineering (dave) and alice, not bob: refused, naming him, nothing changed.
    condition, text = await config_error(alice, room, {"{urn:perch:room:0}category": "Labs",
                                                       "muc#roomconfig_roomdesc": "moved"})
    assert condition == "not-acceptable" and "user:bob (member)" in text and "dave" not in text, text
    assert "workshop@chat.localhost  [Projects]" in f.server.cli("room", "list").stdout
    # Asked explicitly: bob is dropped from the members and leaves the room.
    await configure(alice, room, {"{urn:perch:room:0}category": "Labs",
                                  "{urn:perch:room:0}drop-outsiders": "1"})
    codes, _ = await removal(bob_presences, room)
    assert "321" in codes, codes
    assert "workshop@chat.localhost  [Labs]" in f.server.cli("room", "list").stdout
    assert await join_error(bob, room, "bob") == "item-not-found"
    info = await alice["xep_0030"].get_info(jid=room)
    category = info.xml.find(".//{jabber:x:data}field[@var='{urn:perch:room:0}category']")
    assert category.find("{jabber:x:data}value").text == "Labs"
    for c in (alice, bob, erin):
        await c.close()


async def test_members_only_and_disabled_rooms_remove_who_may_not_stay(f):
    room = f"plaza@{MUC}"
    alice, erin = await login(f, "alice"), await login(f, "erin")
    alice_presences, erin_presences = presences(alice), presences(erin)
    await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=0, timeout=10)
    await erin["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=10)
    await configure(alice, room, {"muc#roomconfig_membersonly": "1"})
    codes, reason = await removal(erin_presences, room)
    assert "322" in codes and "members only" in reason, (codes, reason)
    await configure(alice, room, {"{urn:perch:room:0}disabled": "1"})
    codes, reason = await removal(alice_presences, room)  # nobody stays in a disabled room
    assert "322" in codes and "disabled" in reason, (codes, reason)
    await alice.close()
    await erin.close()


async def test_managers_cannot_destroy_a_room(f):
    from slixmpp.xmlstream import ET
    alice = await login(f, "alice")
    iq = alice.make_iq_set(ito=f"forum@{MUC}")
    q = ET.SubElement(iq.xml, "{http://jabber.org/protocol/muc#owner}query")
    ET.SubElement(q, "{http://jabber.org/protocol/muc#owner}destroy")
    try:
        await iq.send(timeout=10)
        raise AssertionError("a manager destroyed a room")
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden"
    assert "forum@chat.localhost" in f.server.cli("room", "list").stdout
    await alice.close()


def send_direct_invite(client, invitee, room):
    from slixmpp.xmlstream import ET
    msg = client.make_message(mto=invitee)
    ET.SubElement(msg.xml, "{jabber:x:conference}x", {"jid": room, "reason": "come along"})
    msg.send()


async def test_direct_invitations_follow_the_rooms_rules(f):
    bob, erin, mallory = await login(f, "bob"), await login(f, "erin"), await login(f, "mallory")
    path = "{jabber:x:conference}x"
    send_direct_invite(bob, "erin@localhost", f"town@{MUC}")
    got = await erin.next_message_with(path)
    assert got.xml.find(path).get("jid") == f"town@{MUC}"
    send_direct_invite(bob, "erin@localhost", f"quiet@{MUC}")  # invitations off in Quiet
    err = await bob.next_message_with("{jabber:client}error")
    assert err["error"]["condition"] == "forbidden"
    send_direct_invite(mallory, "erin@localhost", f"town@{MUC}")  # denied in Projects
    err = await mallory.next_message_with("{jabber:client}error")
    assert err["error"]["condition"] == "item-not-found"
    await asyncio.sleep(0.2)
    while not erin.every_message.empty():
        assert erin.every_message.get_nowait().xml.find(path) is None
    for c in (bob, erin, mallory):
        await c.close()


async def disco_items(client, node):
    items = await client["xep_0030"].get_items(jid=MUC, node=node)
    return items["disco_items"]["items"]


async def test_categories_are_disco_nodes(f):
    erin = await login(f, "erin")
    categories = {name: node for _, node, name in await disco_items(erin, "categories")}
    assert {"Projects", "General", "Quiet"} <= set(categories) and "Board" not in categories, categories
    assert categories["Projects"] == "category/Projects"
    rooms = {jid.split("@")[0] for jid, _, _ in await disco_items(erin, "category/Projects")}
    assert {"town", "inner", "keynote"} <= rooms, rooms
    assert "hideaway" not in rooms and "boardroom" not in rooms and "quiet" not in rooms, rooms
    assert len(await disco_items(erin, "category/Board")) == 0
    await erin.close()


async def test_clients_create_rooms_where_they_are_creators(f):
    carol = await login(f, "carol")  # a creator in Labs only
    await carol["xep_0045"].join_muc_wait(f"carols-lab@{MUC}", "carol", maxstanzas=0, timeout=10)
    assert "carols-lab@chat.localhost  [Labs]" in f.server.cli("room", "list").stdout
    await carol.close()
    erin = await login(f, "erin")  # a creator nowhere
    assert await join_error(erin, f"erins-room@{MUC}", "erin") == "item-not-found"
    await erin.close()


async def admin_items(client, room, *items):
    from slixmpp.xmlstream import ET
    iq = client.make_iq_set(ito=room)
    q = ET.SubElement(iq.xml, "{http://jabber.org/protocol/muc#admin}query")
    for attrs, reason in items:
        item = ET.SubElement(q, "{http://jabber.org/protocol/muc#admin}item", attrs)
        if reason:
            ET.SubElement(item, "{http://jabber.org/protocol/muc#admin}reason").text = reason
    try:
        await iq.send(timeout=10)
        return None
    except IqError as e:
        return e.iq["error"]["condition"]


async def test_a_manager_kicks_an_occupant_and_an_administrator_deletes_a_room(f):
    from slixmpp.xmlstream import ET
    room = f"pit@{MUC}"
    alice, erin, carol, root = [await login(f, u) for u in ("alice", "erin", "carol", "root")]
    erin_presences, carol_presences = presences(erin), presences(carol)
    for c, nick in ((alice, "alice"), (erin, "erin"), (carol, "carol"), (root, "root")):
        await c["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=10)
    # Only managers kick, and a manager is not kicked.
    assert await admin_items(erin, room, ({"nick": "carol", "role": "none"}, None)) == "forbidden"
    assert await admin_items(root, room, ({"nick": "alice", "role": "none"}, None)) == "not-allowed"
    assert await admin_items(alice, room, ({"nick": "erin", "role": "none"}, "behave")) is None
    codes, reason = await removal(erin_presences, room)
    assert "307" in codes and reason == "behave", (codes, reason)
    ns = "{http://jabber.org/protocol/muc#user}"
    while True:  # the others see erin go, kicked
        p = await asyncio.wait_for(carol_presences.get(), 10)
        if p["type"] == "unavailable" and p["from"].resource == "erin":
            assert "307" in {st.get("code") for st in p.xml.iter(f"{ns}status")}
            break
    # A kicked user may come back (a kick is not a ban).
    await erin["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=10)

    # Deleting a room: managers may not, an administrator may; everybody in it is told.
    scrap = f"scrap@{MUC}"
    await carol["xep_0045"].join_muc_wait(scrap, "carol", maxstanzas=0, timeout=10)
    await erin["xep_0045"].join_muc_wait(scrap, "erin", maxstanzas=0, timeout=10)
    destroy = root.make_iq_set(ito=scrap)
    ET.SubElement(ET.SubElement(destroy.xml, "{http://jabber.org/protocol/muc#owner}query"),
                  "{http://jabber.org/protocol/muc#owner}destroy")
    await destroy.send(timeout=10)
    while True:
        p = await asyncio.wait_for(carol_presences.get(), 10)
        if p["type"] == "unavailable" and p["from"].bare == scrap:
            assert p.xml.find(f"{ns}x/{ns}destroy") is not None
            break
    assert "scrap@" not in f.server.cli("room", "list").stdout
    await removal(erin.every_presence, scrap)  # erin's client has seen it before asking again
    assert await join_error(erin, scrap, "erin") == "item-not-found"  # erin creates no rooms
    for c in (alice, erin, carol, root):
        await c.close()


async def test_a_manager_bans_with_outcast_on_the_rooms_own_denied_list(f):
    """XEP-0045 9.1 through slixmpp: the banned occupant leaves with 301, may not come back
    (forbidden), is on the outcast list (the room's denied list, also on the command line and
    the REST API), and may return once the ban is lifted."""
    room = f"pit@{MUC}"
    alice, carol = await login(f, "alice"), await login(f, "carol")
    carol_presences = presences(carol)
    await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=0, timeout=10)
    await carol["xep_0045"].join_muc_wait(room, "carol", maxstanzas=0, timeout=10)
    await alice["xep_0045"].set_affiliation(room, "outcast", jid=JID(f"carol@{DOMAIN}"),
                                            reason="spam")
    codes, _ = await removal(carol_presences, room)
    assert "301" in codes, codes
    await asyncio.sleep(0.2)
    assert await join_error(carol, room, "carol") == "forbidden"
    outcasts = await alice["xep_0045"].get_affiliation_list(room, "outcast")
    assert [str(j) for j in outcasts] == [f"carol@{DOMAIN}"], outcasts
    # The same list from the command line, picked up by the running server.
    erin = await login(f, "erin")
    f.server.cli("room", "grant", "pit", "denied", "user:erin")
    await asyncio.sleep(1.5)
    assert await join_error(erin, room, "erin") == "forbidden"
    f.server.cli("room", "revoke", "pit", "denied", "user:erin")
    await asyncio.sleep(1.5)
    await erin["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=10)
    await erin.close()
    await alice["xep_0045"].set_affiliation(room, "none", jid=JID(f"carol@{DOMAIN}"))
    await carol["xep_0045"].join_muc_wait(room, "carol", maxstanzas=0, timeout=10)
    for c in (alice, carol):
        await c.close()


async def test_a_revocation_on_the_command_line_takes_effect_in_the_running_server(f):
    room = f"inner@{MUC}"
    bob = await login(f, "bob")
    try:
        await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
        f.server.cli("room", "revoke", "inner", "member", "user:bob")
        codes, _ = await removal(bob.every_presence, room)
        assert "321" in codes, codes
        assert await join_error(bob, room, "bob") == "registration-required"
    finally:
        f.server.cli("room", "grant", "inner", "member", "user:bob")
        await bob.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
