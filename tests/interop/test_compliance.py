#!/usr/bin/python3
"""The compliance service with real clients: events of a session on record in order, a crash
test (posting while the server is killed with SIGKILL, three times) after which every
acknowledged message is stored and every event is in the compliance database exactly once with
a valid chain, tamper detection by `perch compliance verify`, exports, and posting refused while
the compliance database is unusable when so configured. Usage: test_compliance.py PATH/TO/perch"""

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
import time
import types
import xml.etree.ElementTree as ET

from harness import MUC, Server, connect, mam_query, run

CONFIG = "[compliance]\nenabled = true\nfile_manifest = true\nroom_details = true"


def setup():
    s = Server(sys.argv[1], extra_config=CONFIG)
    for u in ("alice", "bob"):
        s.add_user(u, f"{u}-pw")
    s.cli("category", "add", "Projects")
    s.cli("room", "add", "garden", "--category", "Projects")
    s.cli("room", "add", "stress", "--category", "Projects")
    s.cli("room", "add", "record", "--category", "Projects")
    s.cli("room", "grant", "record", "manager", "user:alice")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


def query(path, sql, *args):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def compliance_db(f):
    return f.server.dir / "var" / "compliance.db"


async def drained(server, timeout=15):
    """Waits until the outbox is empty: everything captured is in the compliance database."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.content_query("SELECT count(*) FROM compliance_outbox")[0][0] == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not drain")


def events(f, **where):
    sql = "SELECT seq, type, actor, room, content FROM events"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    return query(compliance_db(f), sql + " ORDER BY seq", *where.values())


async def test_a_session_is_on_record_in_order(f):
    alice = await connect(f.server, "alice", "alice-pw")
    await alice["xep_0045"].join_muc_wait(f"garden@{MUC}", "alice", maxstanzas=5, timeout=10)
    for body in ("first words", "second words"):
        alice.send_message(mto=f"garden@{MUC}", mbody=body, mtype="groupchat")
        await alice.next_groupchat()
    bob = await connect(f.server, "bob", "bob-pw")
    await mam_query(bob, f"garden@{MUC}")
    alice["xep_0045"].leave_muc(f"garden@{MUC}", "alice")
    await asyncio.sleep(0.2)
    await alice.close()
    await bob.close()
    await asyncio.sleep(0.3)
    await drained(f.server)
    mine = [(t, json.loads(c)) for _, t, _, _, c in events(f, actor="alice")]
    types_ = [t for t, _ in mine]
    for earlier, later in (("SIGNIN", "JOIN"), ("JOIN", "BACKCHAT"), ("BACKCHAT", "CHAT"),
                           ("CHAT", "PART"), ("PART", "SIGNOUT")):
        assert types_.index(earlier) < types_.index(later), types_
    chats = [c["body"] for t, c in mine if t == "CHAT"]
    assert chats == ["first words", "second words"], chats
    bobs = [(t, json.loads(c)) for _, t, _, _, c in events(f, actor="bob")]
    assert ("BACKCHAT", "archive") in [(t, c.get("on")) for t, c in bobs], bobs
    r = f.server.cli("compliance", "verify")
    assert "intact" in r.stdout, r.stdout
    # Account changes from the command line are events too.
    f.server.cli("user", "disable", "bob")
    f.server.cli("user", "enable", "bob")
    await drained(f.server)
    changes = [json.loads(c)["change"] for _, _, _, _, c in events(f, type="USERCHANGE")]
    assert changes[-2:] == ["disabled", "enabled"] and "created" in changes, changes


async def test_everything_shown_in_a_room_is_on_record(f):
    """Issue 17, item 3: a message with a no-store hint, one with only an XHTML-IM body and a
    change of subject are shown to the occupants, so they are kept: in the archive and in the
    compliance record. Only the room's managers change its subject (its setting)."""
    from slixmpp.xmlstream import ET
    room = f"record@{MUC}"
    alice = await connect(f.server, "alice", "alice-pw")
    bob = await connect(f.server, "bob", "bob-pw")
    for c, nick in ((alice, "alice"), (bob, "bob")):
        await c["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=10)
    hinted = bob.make_message(mto=room, mbody="off the record?", mtype="groupchat")
    ET.SubElement(hinted.xml, "{urn:xmpp:hints}no-store")
    hinted.send()
    shown = await alice.next_groupchat()
    assert shown["body"] == "off the record?"
    assert shown.xml.find("{urn:xmpp:hints}no-store") is None  # kept, so not passed on
    rich = bob.make_message(mto=room, mtype="groupchat")
    html = ET.SubElement(rich.xml, "{http://jabber.org/protocol/xhtml-im}html")
    body = ET.SubElement(html, "{http://www.w3.org/1999/xhtml}body")
    ET.SubElement(body, "{http://www.w3.org/1999/xhtml}p").text = "only in XHTML"
    rich.send()
    shown = await alice.next_groupchat()
    assert shown["body"] == "only in XHTML", shown
    assert shown.xml.find("{http://jabber.org/protocol/xhtml-im}html") is not None
    # The subject: bob is no manager of the room, alice is.
    bob.send_message(mto=room, msubject="bob's subject", mtype="groupchat")
    err = await bob.next_message_with("{jabber:client}error")
    assert err.xml.find("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}forbidden") is not None
    alice.send_message(mto=room, msubject="On the record", mtype="groupchat")
    changed = await bob.next_message_with("{jabber:client}subject")
    assert changed["subject"] == "On the record"
    results, _ = await mam_query(alice, room, query_id="rec")
    bodies = [r["body"] for r in results]
    assert "off the record?" in bodies and "only in XHTML" in bodies, bodies
    await alice.close()
    await bob.close()
    await drained(f.server)
    chats = [json.loads(c)["body"] for _, _, _, _, c in events(f, type="CHAT", room="record")]
    assert "off the record?" in chats and "only in XHTML" in chats, chats
    subjects = [json.loads(c) for _, _, _, _, c in events(f, type="SUBJECT", room="record")]
    assert [(s["subject"], s["nick"]) for s in subjects] == [("On the record", "alice")], subjects


async def test_posting_through_three_kills_loses_and_doubles_nothing(f):
    acked = set()
    for round_ in range(3):
        client = await connect(f.server, "bob", "bob-pw")
        await client["xep_0045"].join_muc_wait(f"stress@{MUC}", "bob", maxstanzas=0, timeout=10)
        for i in range(2000):
            client.send_message(mto=f"stress@{MUC}", mbody=f"round {round_} post {i}", mtype="groupchat")
        # Collect acknowledgements (the room's echo with its stanza-id); kill the server while
        # posts are still arriving, at a different point each round.
        in_round = 0
        while in_round < 150 + 250 * round_:
            try:
                msg = await client.next_groupchat(timeout=5)
            except asyncio.TimeoutError:
                break
            acked.add(msg["stanza_id"]["id"])
            in_round += 1
        f.server.stop(kill=True)
        await client.close()
        f.server.start()
    assert len(acked) > 100, len(acked)
    print(f"  {len(acked)} of 6000 posts acknowledged before the kills", flush=True)
    await drained(f.server)
    stored = {row[0] for row in f.server.content_query("SELECT m.stanza_id FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.node = 'stress'")}
    assert acked <= stored, f"{len(acked - stored)} acknowledged messages lost"
    chats = [json.loads(c) for _, _, _, _, c in events(f, type="CHAT", room="stress")]
    ids = [c["id"] for c in chats]
    assert len(ids) == len(set(ids)), "an event was recorded twice"
    assert set(ids) == stored, f"{len(stored - set(ids))} stored messages have no event"
    print(f"  {len(stored)} stored, {len(ids)} CHAT events, each once, in order", flush=True)
    seqs = [int(c["seq"]) for c in chats]
    assert seqs == sorted(seqs), "events out of order"
    assert query(compliance_db(f), "SELECT count(*), count(DISTINCT outbox_id) FROM events")[0] in [(n, n) for n in range(1, 10**6)]
    r = f.server.cli("compliance", "verify")
    assert "intact" in r.stdout, r.stdout


def verify_copy(f, mutate, *args):
    copy = f.server.dir / "tampered.db"
    source = sqlite3.connect(f"file:{compliance_db(f)}?mode=ro", uri=True)
    db = sqlite3.connect(copy)
    source.backup(db)  # the live database is in WAL mode: copy it through SQLite
    source.close()
    mutate(db)
    db.commit()
    db.close()
    config = f.server.dir / "tampered.toml"
    text = f.server.config.read_text().replace("[compliance]\n", f'[compliance]\npath = "{copy}"\n')
    config.write_text(text)
    r = subprocess.run([f.server.binary, "--config", str(config), "compliance", "verify", *args],
                       capture_output=True, text=True, timeout=60)
    copy.unlink()
    return r


async def test_verify_finds_modified_deleted_and_inserted_events(f):
    assert verify_copy(f, lambda db: None).returncode == 0
    r = verify_copy(f, lambda db: db.execute("UPDATE events SET content = replace(content, 'first', 'final') WHERE type = 'CHAT'"))
    assert r.returncode != 0 and "BROKEN at event" in r.stdout and "changed" in r.stdout, r.stdout
    r = verify_copy(f, lambda db: db.execute("DELETE FROM events WHERE seq = 3"))
    assert r.returncode != 0 and "BROKEN at event 3" in r.stdout, r.stdout

    def insert(db):
        db.execute("UPDATE events SET seq = seq + 1000000 WHERE seq >= 4")
        db.execute("UPDATE events SET seq = seq - 999999 WHERE seq >= 1000000")
        prev = db.execute("SELECT hash FROM events WHERE seq = 3").fetchone()[0]
        db.execute("INSERT INTO events VALUES (4, 999999, 1, 'CHAT', 'mallory', 'garden', 'Projects', '{}', ?, ?)", (prev, "0" * 64))
    r = verify_copy(f, insert)
    assert r.returncode != 0 and "BROKEN at event 4" in r.stdout, r.stdout


async def test_a_rewritten_chain_is_caught_by_an_exports_checkpoint(f):
    """Someone with the whole compliance table can change an event and recompute every hash
    after it, and wipe the checkpoints kept in the database: the chain alone then verifies.
    The checkpoint an export wrote beside its file (signed with a key outside the database)
    does not match the rewritten chain."""
    out = f.server.dir / "hold.jsonl"
    r = f.server.cli("compliance", "export", "--format", "jsonl", "--out", str(out))
    assert "checkpoint of event" in r.stdout, r.stdout
    checkpoint = json.loads((f.server.dir / "hold.jsonl.checkpoint.json").read_text())
    assert checkpoint["seq"] > 3 and len(checkpoint["hash"]) == 64, checkpoint
    r = verify_copy(f, lambda db: None)
    assert r.returncode == 0 and "checkpoint signatures held" in r.stdout, r.stdout

    def rewrite(db):
        db.execute("UPDATE events SET content = replace(content, 'first', 'final') WHERE type = 'CHAT'")
        prev = db.execute("SELECT prev_hash FROM events ORDER BY seq LIMIT 1").fetchone()[0]
        for seq, ts, type_, actor, room, category, content in db.execute(
                "SELECT seq, ts_us, type, actor, room, category, content FROM events ORDER BY seq").fetchall():
            data = prev + "".join("\x1f" + str(x) for x in (seq, ts, type_, actor, room, category, content))
            digest = hashlib.sha256(data.encode()).hexdigest()
            db.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
            prev = digest
        db.execute("DELETE FROM checkpoints")

    r = verify_copy(f, rewrite)
    assert r.returncode == 0 and "no checkpoint yet" in r.stdout, r.stdout  # the gap
    r = verify_copy(f, rewrite, "--checkpoint", str(f.server.dir / "hold.jsonl.checkpoint.json"))
    assert r.returncode != 0 and "rewritten" in r.stdout, r.stdout
    # Verified on another machine with the public key alone.
    key = f.server.dir / "public.pem"
    key.write_text(f.server.cli("compliance", "public-key").stdout)
    r = verify_copy(f, lambda db: None, "--public-key", str(key))
    assert r.returncode == 0 and "checkpoint signatures held" in r.stdout, r.stdout


async def test_one_to_one_messages_are_on_record(f):
    """Perch records messages between users (the original did not): an IM event with both
    addresses, in the chain and the XML export with its recipient."""
    alice = await connect(f.server, "alice", "alice-pw")
    bob = await connect(f.server, "bob", "bob-pw")
    alice.send_message(mto="bob@localhost", mbody="between us", mtype="chat")
    msg = await asyncio.wait_for(bob.private.get(), 10)
    assert msg["body"] == "between us"
    await alice.close()
    await bob.close()
    await drained(f.server)
    ims = [(a, json.loads(c)) for _, _, a, _, c in events(f, type="IM")]
    assert [(a, c["body"], c["to"]) for a, c in ims] == [("alice", "between us", "bob@localhost")], ims
    out = f.server.dir / "im.xml"
    f.server.cli("compliance", "export", "--format", "xml", "--user", "alice", "--out", str(out))
    im = [m for m in ET.parse(out).getroot().iter("Message") if m.get("type") == "IM"]
    assert [m.get("content") for m in im] == ["between us"]
    assert im[0].find("Recipient").get("Uri") == "bob@localhost"
    assert "intact" in f.server.cli("compliance", "verify").stdout


async def test_exports_by_room_and_user(f):
    out = f.server.dir / "garden.xml"
    r = f.server.cli("compliance", "export", "--format", "xml", "--room", "garden", "--out", str(out))
    assert "exported" in r.stdout
    doc = ET.parse(out).getroot()
    assert doc.tag == "Conversations"
    conversation = doc.find("Conversation")
    assert conversation.find("Channel").get("uri") == f"garden@{MUC}"
    assert conversation.find("Channel").get("category") == "Projects"
    messages = conversation.findall("Messages/Message")
    contents = [m.get("content") for m in messages if m.get("type") == "CHAT"]
    assert contents == ["first words", "second words"], contents
    chat = [m for m in messages if m.get("type") == "CHAT"][0]
    assert chat.find("Sender").get("Uri") == "alice@localhost"
    assert chat.find("DateTimeUTC").text.endswith("Z")
    out = f.server.dir / "alice.jsonl"
    f.server.cli("compliance", "export", "--format", "jsonl", "--user", "alice", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all(e["actor"] == "alice" for e in lines)
    r = f.server.cli("compliance", "export", "--format", "xml", "--from", "yesterday", "--out", str(out), check=False)
    assert r.returncode != 0 and "not a time" in r.stderr


async def test_posting_is_refused_while_the_compliance_database_is_unusable(f):
    s = Server(sys.argv[1], extra_config='[compliance]\nenabled = true\non_failure = "refuse"\n'
               'path = "/nonexistent/perch-compliance.db"')
    try:
        s.add_user("erin", "erin-pw")
        s.cli("category", "add", "Projects")
        s.cli("room", "add", "town", "--category", "Projects")
        s.start()
        await asyncio.sleep(0.5)
        erin = await connect(s, "erin", "erin-pw")
        await erin["xep_0045"].join_muc_wait(f"town@{MUC}", "erin", maxstanzas=0, timeout=10)
        erin.send_message(mto=f"town@{MUC}", mbody="is anybody recording?", mtype="groupchat")
        err = await erin.next_message_with("{jabber:client}error")
        assert err["error"]["condition"] == "resource-constraint", err
        assert "compliance" in err["error"]["text"]
        await erin.close()
        assert "compliance" in s.log_text() and "outbox" in s.log_text()
    finally:
        s.cleanup()


async def test_retention_purges_old_messages_and_says_so(f):
    s = Server(sys.argv[1], extra_config="[store]\nretention_days = 30\n" + CONFIG)
    try:
        s.add_user("erin", "erin-pw")
        s.cli("category", "add", "Projects")
        s.cli("room", "add", "attic", "--category", "Projects")
        # Messages from long ago, as an old installation would have them.
        room = s.content_query("SELECT id FROM rooms WHERE node = 'attic'")[0][0]
        for seq, ts in ((1, 1_000_000), (2, 2_000_000)):
            s.content_query("INSERT INTO messages (room_id, seq, stanza_id, sender, nick, body, payload, ts_us) "
                            "VALUES (?, ?, ?, 'erin@localhost', 'erin', 'dusty', '', ?)", room, seq, f"old{seq}", ts)
        s.content_query("UPDATE rooms SET last_seq = 2 WHERE id = ?", room)
        s.start()
        erin = await connect(s, "erin", "erin-pw")
        await erin["xep_0045"].join_muc_wait(f"attic@{MUC}", "erin", maxstanzas=0, timeout=10)
        erin.send_message(mto=f"attic@{MUC}", mbody="fresh", mtype="groupchat")
        await erin.next_groupchat()
        await erin.close()
        deadline = time.time() + 20  # the first retention run comes ten seconds after start
        while time.time() < deadline:
            left = s.content_query("SELECT body FROM messages ORDER BY seq")
            if left == [("fresh",)]:
                break
            await asyncio.sleep(0.5)
        assert left == [("fresh",)], left
        await drained(s)  # the purge's CLEARHISTORY goes through the outbox like every event
        cleared = query(s.dir / "var" / "compliance.db", "SELECT room, content FROM events WHERE type = 'CLEARHISTORY'")
        assert cleared and cleared[0][0] == "attic" and '"by":"retention"' in cleared[0][1], cleared
        chats = query(s.dir / "var" / "compliance.db", "SELECT count(*) FROM events WHERE type = 'CHAT'")
        assert chats == [(1,)]  # the compliance record keeps what it has
    finally:
        s.cleanup()


if __name__ == "__main__":
    run(globals(), setup, teardown)
