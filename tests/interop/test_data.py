#!/usr/bin/python3
"""`perch data export` and `perch data import`: a server's whole content moved into a new
database gives identical history, MAM paging, search, logins, files, lists and bookmarks.
The source is always SQLite; the target is SQLite, or PostgreSQL when ctest runs the suite
against the test cluster (interop_data_postgres): the move from the embedded database.
Usage: test_data.py PATH/TO/perch [test ...]"""

import asyncio
import base64
import hashlib
import http.client
import os
import sys
import types

from harness import MUC, Server, connect, mam_query, run

PUBSUB = "http://jabber.org/protocol/pubsub"


def setup():
    s = Server(sys.argv[1], backend="sqlite")
    for u in ("alice", "bob"):
        s.add_user(u, f"{u}-pw")
    s.cli("group", "add", "staff")
    s.cli("group", "join", "staff", "bob")
    s.cli("policy", "user:bob", "on")
    s.cli("category", "add", "Projects", "--creator", "user:alice", "--deny", "user:mallory")
    s.cli("room", "add", "garden", "--category", "Projects", "--privacy", "closed", "--name", "Garden club")
    s.cli("room", "grant", "garden", "member", "group:staff")
    s.cli("room", "grant", "garden", "manager", "user:alice")
    s.cli("room", "add", "patch", "--category", "Projects")
    s.start()
    return types.SimpleNamespace(server=s, target=None)


def teardown(f):
    f.server.cleanup()
    if f.target:
        f.target.cleanup()


async def everything(client, room):
    """The whole archive of a room, paged backward, as (id, nick, body)."""
    out, before = [], ""
    while True:
        results, fin = await mam_query(client, room, rsm={"max": "40", "before": before}, query_id=f"q{len(out)}")
        out = [(r["id"], r["nick"], r["body"]) for r in results] + out
        first = fin.find("{http://jabber.org/protocol/rsm}set/{http://jabber.org/protocol/rsm}first")
        if fin.get("complete") == "true" or first is None:
            return out
        before = first.text


async def snapshot(server):
    alice = await connect(server, "alice", "alice-pw")
    history = await everything(alice, f"garden@{MUC}")
    found, _ = await mam_query(alice, MUC, fields={"{urn:xmpp:fulltext:0}fulltext": "tomato"}, rsm={"max": "100"}, query_id="search")
    from slixmpp.xmlstream import ET
    iq = alice.make_iq_get()
    ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}items", {"node": "urn:xmpp:bookmarks:1"})
    items = (await iq.send(timeout=10)).xml.findall(f".//{{{PUBSUB}}}item")
    roster = await alice.get_roster()
    own, _ = await mam_query(alice, None, query_id="own")
    iq = alice.make_iq_get(ito="alice@localhost")
    ET.SubElement(iq.xml, "{vcard-temp}vCard")
    card = (await iq.send(timeout=10)).xml.find("{vcard-temp}vCard/{vcard-temp}FN").text
    iq = alice.make_iq_get()
    ET.SubElement(iq.xml, "{urn:xmpp:blocking}blocklist")
    blocked = [i.get("jid") for i in (await iq.send(timeout=10)).xml.iter("{urn:xmpp:blocking}item")]
    await alice.close()
    return {"history": history,
            "search": [(r["id"], r["room"], r["body"]) for r in found],
            "bookmarks": sorted(i.get("id") for i in items),
            "roster": sorted(str(j) for j in roster["roster"]["items"]),
            "own archive": [(r["id"], r["body"]) for r in own],
            "vcard": card,
            "blocked": blocked,
            "rooms": server.cli("room", "list").stdout,
            "categories": server.cli("category", "list").stdout,
            "users": server.cli("user", "list").stdout}


async def test_export_then_import_into_a_new_database_changes_nothing(f):
    alice = await connect(f.server, "alice", "alice-pw")
    await alice["xep_0045"].join_muc_wait(f"garden@{MUC}", "alice", maxstanzas=0, timeout=10)
    for i in range(250):
        alice.send_message(mto=f"garden@{MUC}", mbody=f"tomato number {i}" if i % 50 == 0 else f"line {i}", mtype="groupchat")
    for _ in range(250):
        await alice.next_groupchat()
    # A second room whose messages interleave with the first's: search across rooms pages in
    # the order of storage, which the move must keep.
    await alice["xep_0045"].join_muc_wait(f"patch@{MUC}", "alice", maxstanzas=0, timeout=10)
    for i in range(20):
        room = "patch" if i % 2 else "garden"
        alice.send_message(mto=f"{room}@{MUC}", mbody=f"tomato in {room} {i}", mtype="groupchat")
        await alice.next_groupchat()
    # A file posted in the room, a bookmark, a roster entry.
    from slixmpp.xmlstream import ET
    data = os.urandom(3000)
    iq = alice.make_iq_get(ito="localhost")
    ET.SubElement(iq.xml, "{urn:xmpp:http:upload:0}request", {"filename": "seeds.bin", "size": str(len(data))})
    slot = (await iq.send(timeout=10)).xml.find("{urn:xmpp:http:upload:0}slot")
    put = slot.find("{urn:xmpp:http:upload:0}put").get("url")[len(f.server.url):]
    get = slot.find("{urn:xmpp:http:upload:0}get").get("url")[len(f.server.url):]
    conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=10)
    conn.request("PUT", put, body=data)
    assert conn.getresponse().status == 201
    conn.close()
    alice.send_message(mto=f"garden@{MUC}", mbody=f.server.url + get, mtype="groupchat")
    await alice.next_groupchat()
    iq = alice.make_iq_set()
    pub = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}publish", {"node": "urn:xmpp:bookmarks:1"})
    ET.SubElement(ET.SubElement(pub, f"{{{PUBSUB}}}item", {"id": f"garden@{MUC}"}), "{urn:xmpp:bookmarks:1}conference", {"autojoin": "true"})
    await iq.send(timeout=10)
    alice.update_roster("bob@localhost", name="Bob")
    # One-to-one: a message waiting for bob (offline), a card, a block.
    alice.send_message(mto="bob@localhost", mbody="waiting for you", mtype="chat")
    iq = alice.make_iq_set()
    ET.SubElement(ET.SubElement(iq.xml, "{vcard-temp}vCard"), "{vcard-temp}FN").text = "Alice L."
    await iq.send(timeout=10)
    iq = alice.make_iq_set()
    ET.SubElement(ET.SubElement(iq.xml, "{urn:xmpp:blocking}block"), "{urn:xmpp:blocking}item",
                  {"jid": "mallory@localhost"})
    await iq.send(timeout=10)
    await alice.close()
    before = await snapshot(f.server)
    assert len(before["history"]) == 261 and len(before["search"]) == 25, (len(before["history"]), before["search"])
    assert {r for _, r, _ in before["search"]} == {f"garden@{MUC}", f"patch@{MUC}"}, before["search"]
    assert before["bookmarks"] == [f"garden@{MUC}"] and any("bob@localhost" in j for j in before["roster"]), before
    assert "Garden club" in before["rooms"] or "garden" in before["rooms"]
    assert [b for _, b in before["own archive"]] == ["waiting for you"], before["own archive"]
    assert before["vcard"] == "Alice L." and before["blocked"] == ["mallory@localhost"], before

    export = f.server.dir / "export"
    r = f.server.cli("data", "export", str(export))
    assert "271 messages" in r.stdout and "1 files" in r.stdout, r.stdout
    assert f.server.cli("data", "export", str(export), check=False).returncode != 0  # never over an export

    f.target = Server(sys.argv[1])
    r = f.target.cli("data", "import", str(export))
    assert "counts and checksums match" in r.stdout, r.stdout
    assert f.target.cli("data", "import", str(export), check=False).returncode != 0  # not empty now
    assert f.target.backend in f.target.cli("db", "migrate").stdout  # the database we meant
    f.target.start()
    after = await snapshot(f.target)
    for key in before:
        assert before[key] == after[key], (key, before[key], after[key])
    # The same password logs in, and the file is there with the same bytes for a reader.
    auth = "Basic " + base64.b64encode(b"bob:bob-pw").decode()
    conn = http.client.HTTPConnection("127.0.0.1", f.target.http_port, timeout=10)
    conn.request("GET", get, headers={"Authorization": auth})
    response = conn.getresponse()
    assert response.status == 200 and hashlib.sha256(response.read()).digest() == hashlib.sha256(data).digest()
    conn.close()
    # What waited for bob waits on the new database, once.
    bob = await connect(f.target, "bob", "bob-pw")
    bob.send_presence()
    msg = await asyncio.wait_for(bob.private.get(), 10)
    assert msg["body"] == "waiting for you" and msg["from"].bare == "alice@localhost"
    await bob.close()


async def test_a_damaged_export_is_refused(f):
    export = f.server.dir / "export"
    messages = export / "messages.jsonl"
    text = messages.read_text()
    messages.write_text(text.replace("line 7", "line 8", 1))
    empty = Server(sys.argv[1])
    try:
        r = empty.cli("data", "import", str(export), check=False)
        assert r.returncode != 0 and "checksum" in r.stderr, r.stderr
        assert "0 users" not in r.stdout
        assert empty.cli("user", "list").stdout.strip() == "" or "alice" not in empty.cli("user", "list").stdout
    finally:
        messages.write_text(text)
        empty.cleanup()



async def test_backup_while_running_then_restore_into_an_empty_server(f):
    """`perch backup` of a running server (compliance on), the data directory lost, `perch
    restore` into an empty one: the same history with the same occupant ids (the secret came
    back), the same certificate, an intact compliance record; a second restore and a damaged
    backup are refused."""
    import shutil
    import subprocess
    s = Server(sys.argv[1], backend="sqlite", extra_config="[compliance]\nenabled = true")
    try:
        s.add_user("alice", "alice-pw")
        s.cli("category", "add", "Projects")
        s.cli("room", "add", "yard", "--category", "Projects")
        s.start()
        alice = await connect(s, "alice", "alice-pw")
        room = f"yard@{MUC}"
        await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=0, timeout=10)
        for i in range(3):
            alice.send_message(mto=room, mbody=f"kept {i}", mtype="groupchat")
            echo = await alice.next_groupchat()
        occupant_id = echo.xml.find("{urn:xmpp:occupant-id:0}occupant-id").get("id")
        before = await everything(alice, room)
        await alice.close()
        backup = s.dir / "backup"
        r = s.cli("backup", str(backup))
        assert "content database copied" in r.stdout and "compliance database copied" in r.stdout, r.stdout
        cert = (s.dir / "var" / "tls" / "cert.pem").read_bytes()
        s.stop()
        shutil.move(str(s.dir / "var"), str(s.dir / "lost"))
        r = s.cli("restore", str(backup))
        assert "restored" in r.stdout, r.stdout
        assert s.cli("restore", str(backup), check=False).returncode == 1  # it holds data now
        s.start()
        assert (s.dir / "var" / "tls" / "cert.pem").read_bytes() == cert
        alice = await connect(s, "alice", "alice-pw")
        assert await everything(alice, room) == before
        await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=0, timeout=10)
        alice.send_message(mto=room, mbody="after the restore", mtype="groupchat")
        echo = await alice.next_groupchat()
        assert echo.xml.find("{urn:xmpp:occupant-id:0}occupant-id").get("id") == occupant_id
        await alice.close()
        r = s.cli("compliance", "verify")
        assert "compliance log intact" in r.stdout, r.stdout
        # A backup changed after it was made is refused before anything is written.
        s.stop()
        shutil.rmtree(s.dir / "var")
        with open(backup / "secret", "a") as out:
            out.write("x")
        r = s.cli("restore", str(backup), check=False)
        assert r.returncode == 1 and "changed since the backup" in r.stderr, r.stderr
        assert not (s.dir / "var" / "perch.db").exists()
    finally:
        s.cleanup()


if __name__ == "__main__":
    run(globals(), setup, teardown)
