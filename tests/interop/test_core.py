#!/usr/bin/python3
"""Issue 2: real clients log in, chat in rooms, get history, and bad input is refused cleanly.
Usage: test_core.py PATH/TO/perch [test_name ...]"""

import asyncio
import base64
import os
import re
import socket
import sys
import time
import types

from harness import DOMAIN, MUC, IqError, PresenceError, RawStream, Server, connect, run

PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw",
             "erin": "erin-pw", "frank": "frank-pw"}


def setup():
    # Logins: two free failures, a lock at the fourth (the guessing test).
    server = Server(sys.argv[1], c2s_config="login_timeout_s = 2", rate_limits=True,
                    extra_config="[login]\nfree_failures = 2\nlockout_failures = 4\n")
    for user, pw in PASSWORDS.items():
        server.add_user(user, pw)
    server.cli("category", "add", "General", "--creator", "everyone")
    for room in ("lobby", "history", "durable", "conflicts", "pm"):
        server.cli("room", "add", room, "--category", "General")
    server.start()
    return types.SimpleNamespace(server=server)


def teardown(f):
    f.server.cleanup()


async def login(f, user, **kw):
    return await connect(f.server, user, PASSWORDS[user], **kw)


async def test_login_over_starttls_with_each_scram(f):
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        c = await login(f, "alice", mech=mech)
        assert c.secure, "STARTTLS was not negotiated"
        assert c.boundjid.full == f"alice@{DOMAIN}/test"
        await c.close()


async def test_direct_tls_login(f):
    c = await login(f, "bob", use_ssl=True)
    assert c.secure
    await c.close()


async def test_wrong_password_is_refused(f):
    from harness import Client
    c = Client(f.server, "alice", "not-the-password")
    c.connect(("127.0.0.1", f.server.port))
    await asyncio.wait_for(c.auth_failed.wait(), 10)
    c.abort()
    # The server keeps serving everybody else.
    ok = await login(f, "alice")
    await ok.close()


async def test_password_guessing_is_slowed_and_locked_but_not_for_the_owner(f):
    """Past two failures (this server's setting) each attempt on an account waits for the one
    before; an attempt too early is refused unchecked (temporary-auth-failure, with when to
    try again), logged and counted; at four the account is locked, except where its owner
    signed in."""
    c = await login(f, "erin")  # erin's usual place: 127.0.0.1
    await c.close()

    def attempt(source, password):
        s = RawStream(f.server, source=source)
        s.open()
        answer = s.scram_sha256("erin", password)
        s.close()
        return answer

    for i in range(3):
        assert "<not-authorized/>" in attempt("127.0.0.7", f"guess{i}"), i
    answer = attempt("127.0.0.7", PASSWORDS["erin"])  # too early: not even looked at
    assert "<temporary-auth-failure/>" in answer and "try again in 1 s" in answer, answer
    await asyncio.sleep(1.1)
    assert "<not-authorized/>" in attempt("127.0.0.8", "guess3")  # the fourth: locked
    for source in ("127.0.0.7", "127.0.0.9"):
        answer = attempt(source, PASSWORDS["erin"])
        assert "<temporary-auth-failure/>" in answer and "try again in 900 s" in answer, answer
    c = await login(f, "erin")  # the owner's place is not locked out
    await c.close()
    log = f.server.log_text()
    assert "authentication failed for 'erin' from 127.0.0.7:" in log
    assert "logins: account erin locked for 900 s" in log


async def test_tls_offers_only_modern_suites(f):
    """TLS 1.2 with forward secrecy and authenticated encryption only: a client that offers
    nothing but CBC suites with SHA-1 MACs is refused; TLS 1.3 and ECDHE with AES-GCM work."""
    import ssl

    def handshake(ciphers=None, tls12=True):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        with socket.create_connection(("127.0.0.1", f.server.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw) as t:
                return t.version(), t.cipher()[0]

    for weak in ("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
                 "AES128-SHA:AES256-SHA:@SECLEVEL=0", "ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0"):
        try:
            got = handshake(weak)
            raise AssertionError(f"{weak} accepted: {got}")
        except ssl.SSLError:
            pass
    version, cipher = handshake("ECDHE+AESGCM")
    assert version == "TLSv1.2" and "GCM" in cipher, (version, cipher)
    assert handshake(tls12=False)[0] == "TLSv1.3"


async def test_a_renewed_certificate_is_served_without_a_restart(f):
    """The certificate files replaced (a renewal) and SIGHUP: the next handshakes present the
    new certificate, a session that was open stays open. A pair that does not load is logged
    and the one in use kept. (Without SIGHUP the files are looked at every minute.)"""
    import shutil
    import signal
    import ssl
    import subprocess
    tls_dir = f.server.dir / "var" / "tls"

    def served():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", f.server.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw) as t:
                return ssl.DER_cert_to_PEM_cert(t.getpeercert(binary_form=True))

    def hangup_and_wait(line):
        mark = len(f.server.log_text())
        f.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while line not in f.server.log_text()[mark:]:
            assert time.time() < deadline, f.server.log_text()[mark:]
            time.sleep(0.05)

    def same(a, b):
        return ssl.PEM_cert_to_DER_cert(a) == ssl.PEM_cert_to_DER_cert(b)

    first = served()
    assert same(first, (tls_dir / "cert.pem").read_text())
    open_session = await login(f, "alice")
    new = f.server.dir / "renewed"
    new.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=localhost", "-days", "2", "-keyout", str(new / "key.pem"),
                    "-out", str(new / "cert.pem")], check=True, capture_output=True)
    saved = {n: (tls_dir / n).read_bytes() for n in ("cert.pem", "key.pem")}
    try:
        shutil.copy(new / "key.pem", tls_dir / "key.pem")
        shutil.copy(new / "cert.pem", tls_dir / "cert.pem")
        hangup_and_wait("TLS certificate loaded")
        assert same(served(), (new / "cert.pem").read_text())
        # A broken file: logged, the renewed pair still served.
        (tls_dir / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
        hangup_and_wait("TLS certificate not reloaded")
        assert same(served(), (new / "cert.pem").read_text())
        # The session opened (over TLS) before the renewal is still there.
        from slixmpp.xmlstream import ET
        assert open_session.secure
        iq = open_session.make_iq_get(ito=DOMAIN)
        ET.SubElement(iq.xml, "{http://jabber.org/protocol/disco#info}query")
        await iq.send(timeout=10)
    finally:
        for n, data in saved.items():
            (tls_dir / n).write_bytes(data)
        hangup_and_wait("TLS certificate loaded")
        await open_session.close()
    assert same(served(), first)


async def test_disabled_user_cannot_log_in(f):
    f.server.cli("user", "disable", "frank")
    from harness import Client
    c = Client(f.server, "frank", PASSWORDS["frank"])
    c.connect(("127.0.0.1", f.server.port))
    await asyncio.wait_for(c.auth_failed.wait(), 10)
    c.abort()
    f.server.cli("user", "enable", "frank")
    ok = await login(f, "frank")
    await ok.close()


async def test_server_disco_ping_version_roster(f):
    c = await login(f, "alice")
    info = await c["xep_0030"].get_info(jid=DOMAIN)
    assert ("server", "im", None, "Perch") in info["disco_info"]["identities"]
    items = await c["xep_0030"].get_items(jid=DOMAIN)
    assert (MUC, None, "Chat rooms") in items["disco_items"]["items"]
    muc_info = await c["xep_0030"].get_info(jid=MUC)
    assert any(i[0] == "conference" and i[1] == "text" for i in muc_info["disco_info"]["identities"])
    await c["xep_0199"].ping(jid=DOMAIN, timeout=5)
    version = await c["xep_0092"].get_version(DOMAIN)
    assert version["software_version"]["name"] == "Perch"
    roster = await c.get_roster()
    assert roster["type"] == "result"
    await c.close()


async def test_roster_set_is_kept(f):
    c = await login(f, "carol")
    await c.update_roster(f"dave@{DOMAIN}", name="Dave", groups=["Friends"])
    await c.close()
    c = await login(f, "carol")
    roster = await c.get_roster()
    items = roster["roster"]["items"]
    assert f"dave@{DOMAIN}" in items and items[f"dave@{DOMAIN}"]["name"] == "Dave"
    await c.close()


async def test_unsupported_iq_gets_service_unavailable(f):
    c = await login(f, "alice")
    iq = c.make_iq_get(queryxmlns="urn:example:nothing", ito=DOMAIN)
    try:
        await iq.send(timeout=5)
        raise AssertionError("expected an error")
    except IqError as e:
        assert e.iq["error"]["condition"] == "service-unavailable"
    await c.close()


async def test_two_users_chat_in_a_room(f):
    alice = await login(f, "alice")
    bob = await login(f, "bob")
    room = f"lobby@{MUC}"
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    _, _, occupants, _ = await bob["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=0, timeout=10)
    assert any(p["from"].resource == "Alice" for p in occupants)
    alice.send_message(mto=room, mbody="hello bob", mtype="groupchat")
    got = await bob.next_groupchat()
    assert got["body"] == "hello bob" and got["from"].resource == "Alice"
    assert got["stanza_id"]["by"] == room and got["stanza_id"]["id"]
    echo = await alice.next_groupchat()
    assert echo["body"] == "hello bob"
    bob.send_message(mto=room, mbody="hi alice", mtype="groupchat")
    got = await alice.next_groupchat()
    assert got["body"] == "hi alice" and got["from"].resource == "Bob"
    await alice.close()
    await bob.close()


async def test_a_flooder_is_refused_and_readers_keep_up(f):
    """One user sends 6,000 messages as fast as the socket takes them, reading nothing: past
    its rate the room refuses them (and past the session's, the server), so a reader who keeps
    up gets a handful, stays connected, and hears the next person."""
    room = f"conflicts@{MUC}"
    reader = await login(f, "carol")
    await reader["xep_0045"].join_muc_wait(room, "Carol", maxstanzas=0, timeout=10)
    talker = await login(f, "dave")
    await talker["xep_0045"].join_muc_wait(room, "Dave", maxstanzas=0, timeout=10)
    flooder = RawStream(f.server)
    flooder.login("bob", PASSWORDS["bob"])
    flooder.send(f"<presence to='{room}/Flood'><x xmlns='http://jabber.org/protocol/muc'>"
                 "<history maxstanzas='0'/></x></presence>")
    flooder.read_until(b"status code='110'")
    flood = "".join(f"<message to='{room}' type='groupchat' id='f{i}'><body>flood {i}</body>"
                    "</message>" for i in range(6000))
    flooder.sock.settimeout(30)
    flooder.send(flood)
    flooded = 0
    while True:  # until the room has been quiet for 3 s
        try:
            msg = await reader.next_groupchat(timeout=3)
        except asyncio.TimeoutError:
            break
        assert msg["body"].startswith("flood "), msg["body"]
        flooded += 1
    # The burst (50) and what the rate (10 a second) let through while the server went
    # through the 6,000 (the session's own limit drops most of them first).
    assert 50 <= flooded <= 120, flooded
    talker.send_message(mto=room, mbody="after the flood", mtype="groupchat")
    assert (await reader.next_groupchat(timeout=10))["body"] == "after the flood"
    assert reader.is_connected()
    flooder.close()  # refused stanza by stanza (the errors unread: its own queue may overflow)
    log = f.server.log_text()
    assert "posts from bob@localhost/raw to conflicts refused: faster than 10 a second" in log
    assert "stanzas from bob@localhost/raw refused: faster than 100 a second" in log
    await reader.close()
    await talker.close()


async def test_echo_keeps_the_client_id(f):
    alice = await login(f, "alice")
    room = f"lobby@{MUC}"
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    msg = alice.make_message(mto=room, mbody="with my id", mtype="groupchat")
    msg["id"] = "client-chosen-id-1"
    msg.send()
    echo = await alice.next_groupchat()
    assert echo["id"] == "client-chosen-id-1"
    await alice.close()


async def test_late_joiner_gets_history_then_subject(f):
    room = f"history@{MUC}"
    alice = await login(f, "alice")
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    for i in range(35):
        alice.send_message(mto=room, mbody=f"history {i}", mtype="groupchat")
    for i in range(35):
        await alice.next_groupchat()
    carol = await login(f, "carol")
    _, subject, _, history = await carol["xep_0045"].join_muc_wait(room, "Carol", timeout=10)
    bodies = [m["body"] for m in history]
    assert bodies == [f"history {i}" for i in range(5, 35)], bodies  # default: the last 30
    assert all(m["delay"]["from"] == room for m in history)
    assert subject is not None
    await carol.close()
    dave = await login(f, "dave")
    _, _, _, history = await dave["xep_0045"].join_muc_wait(room, "Dave", maxstanzas=3, timeout=10)
    assert [m["body"] for m in history] == ["history 32", "history 33", "history 34"]
    await dave.close()
    await alice.close()


async def test_nick_conflict_is_409(f):
    room = f"conflicts@{MUC}"
    alice = await login(f, "alice")
    bob = await login(f, "bob")
    await alice["xep_0045"].join_muc_wait(room, "Same", maxstanzas=0, timeout=10)
    try:
        await bob["xep_0045"].join_muc_wait(room, "Same", maxstanzas=0, timeout=10)
        raise AssertionError("expected a conflict")
    except PresenceError as e:
        assert e.presence["error"]["condition"] == "conflict"
    # A nickname that only reads like it (case, a Cyrillic letter) is refused as well.
    for alike in ("SAME", "S\u0430me"):
        try:
            await bob["xep_0045"].join_muc_wait(room, alike, maxstanzas=0, timeout=10)
            raise AssertionError(f"expected a conflict for {alike!r}")
        except PresenceError as e:
            assert e.presence["error"]["condition"] == "conflict"
            assert "reads like another" in e.presence["error"]["text"], e.presence
    await alice.close()
    await bob.close()


async def test_one_user_shares_a_nickname_across_devices(f):
    room = f"conflicts@{MUC}"
    pc, phone = await login(f, "carol", resource="pc"), await login(f, "carol", resource="phone")
    bob = await login(f, "bob")
    await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    seen = asyncio.Queue()
    bob.register_handler(Callback("carol presences", MatchXPath("{jabber:client}presence"),
                                  lambda p: p["from"].resource == "Carol" and seen.put_nowait(p)))
    await pc["xep_0045"].join_muc_wait(room, "Carol", maxstanzas=0, timeout=10)
    presence, _, occupants, _ = await phone["xep_0045"].join_muc_wait(room, "Carol", maxstanzas=0, timeout=10)
    assert presence["type"] != "error"
    # Listed once: as itself (status 110), never as somebody else under the same nickname.
    carols = [p for p in occupants if p["from"].resource == "Carol"]
    assert len(carols) == 1 and "110" in str(carols[0]), occupants
    # Both devices get the room's messages and private messages to the nickname.
    bob.send_message(mto=room, mbody="hello both", mtype="groupchat")
    for device in (pc, phone):
        assert (await device.next_groupchat())["body"] == "hello both"
    bob.send_message(mto=f"{room}/Carol", mbody="psst", mtype="chat")
    for device in (pc, phone):
        got = await device.private.get()
        assert got["body"] == "psst"
    # Bob sees Carol leave only when her last device does.
    while not seen.empty():
        seen.get_nowait()
    pc["xep_0045"].leave_muc(room, "Carol")
    await asyncio.sleep(0.5)
    assert all(p["type"] != "unavailable" for p in [seen.get_nowait() for _ in range(seen.qsize())])
    phone["xep_0045"].leave_muc(room, "Carol")
    p = await asyncio.wait_for(seen.get(), 10)
    assert p["type"] == "unavailable"
    for c in (pc, phone, bob):
        await c.close()


async def test_message_to_a_room_not_joined_is_refused(f):
    erin = await login(f, "erin")
    errors = asyncio.Queue()
    erin.add_event_handler("message_error", errors.put_nowait)
    erin.send_message(mto=f"lobby@{MUC}", mbody="am I in?", mtype="groupchat")
    err = await asyncio.wait_for(errors.get(), 10)
    assert err["error"]["condition"] == "not-acceptable"
    await erin.close()


async def test_unknown_room_disco_is_item_not_found(f):
    erin = await login(f, "erin")
    try:
        await erin["xep_0030"].get_info(jid=f"no-such-room@{MUC}")
        raise AssertionError("expected item-not-found")
    except IqError as e:
        assert e.iq["error"]["condition"] == "item-not-found"
    await erin.close()


async def test_private_message_between_occupants(f):
    room = f"pm@{MUC}"
    alice = await login(f, "alice")
    bob = await login(f, "bob")
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    await bob["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=0, timeout=10)
    alice.send_message(mto=f"{room}/Bob", mbody="just for you", mtype="chat")
    got = await asyncio.wait_for(bob.private.get(), 10)
    assert got["body"] == "just for you" and got["from"] == f"{room}/Alice"
    await alice.close()
    await bob.close()


async def test_changing_nickname_in_a_room(f):
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    room = f"pm@{MUC}"
    alice = await login(f, "alice")
    bob = await login(f, "bob")
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    await bob["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=0, timeout=10)
    seen = asyncio.Queue()
    bob.register_handler(Callback("presences", MatchXPath("{jabber:client}presence"), seen.put_nowait))
    alice.send_presence(pto=f"{room}/Alicia")
    gone = await asyncio.wait_for(seen.get(), 10)
    assert gone["type"] == "unavailable" and gone["from"] == f"{room}/Alice"
    item = gone.xml.find("{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}item")
    assert item.get("nick") == "Alicia"
    codes = {s.get("code") for s in gone.xml.iter("{http://jabber.org/protocol/muc#user}status")}
    assert "303" in codes
    back = await asyncio.wait_for(seen.get(), 10)
    assert back["type"] == "available" and back["from"] == f"{room}/Alicia"
    alice.send_message(mto=room, mbody="new name, same me", mtype="groupchat")
    got = await bob.next_groupchat()
    assert got["from"] == f"{room}/Alicia"
    # Taking a nickname in use is a conflict, and changes nothing.
    errors = asyncio.Queue()
    alice.register_handler(Callback("perr", MatchXPath("{jabber:client}presence/{jabber:client}error"), errors.put_nowait))
    alice.send_presence(pto=f"{room}/Bob")
    err = await asyncio.wait_for(errors.get(), 10)
    assert err["error"]["condition"] == "conflict"
    await alice.close()
    await bob.close()


async def test_user_created_room_reports_201(f):
    alice = await login(f, "alice")
    room = f"brand-new@{MUC}"
    presence, _, _, _ = await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    codes = {int(s) for s in presence["muc"]["status_codes"]}
    assert {110, 201} <= codes, codes
    rooms = await alice["xep_0030"].get_items(jid=MUC)
    assert any(item[0] == room for item in rooms["disco_items"]["items"])
    await alice.close()


async def test_malformed_xml_gets_a_stream_error(f):
    raw = RawStream(f.server)
    raw.open()
    raw.send("<message><body>broken</message>")
    out = raw.read_all(timeout=3)
    assert "<not-well-formed" in out and "</stream:stream>" in out, out
    raw.close()
    c = await login(f, "alice")  # others are still served
    await c.close()


async def test_dtd_is_refused(f):
    raw = RawStream(f.server)
    raw.send("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><stream:stream xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
    out = raw.read_all(timeout=3)
    assert "<restricted-xml" in out, out
    raw.close()


async def test_oversized_stanza_is_refused(f):
    raw = RawStream(f.server)
    raw.open()
    raw.send("<message><body>" + "x" * 400_000 + "</body></message>")
    out = raw.read_all(timeout=5)
    assert "<policy-violation" in out, out
    raw.close()


async def test_wrong_host_is_host_unknown(f):
    raw = RawStream(f.server)
    raw.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams' to='elsewhere.example' version='1.0'>")
    out = raw.read_all(timeout=3)
    assert "<host-unknown" in out, out
    raw.close()


async def test_a_connection_that_does_not_log_in_is_closed(f):
    # One client stops after its stream header, another after the server's SCRAM challenge:
    # both are closed at the deadline, and the log says what each login was waiting for.
    silent, halfway = RawStream(f.server, source="127.0.0.31"), RawStream(f.server,
                                                                        source="127.0.0.32")
    silent.open()
    halfway.open()
    nonce = base64.b64encode(os.urandom(18)).decode()
    halfway.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
                 base64.b64encode(f"n,,n=alice,r={nonce}".encode()).decode() + "</auth>")
    assert "<challenge" in halfway.read_sasl()
    for raw in (silent, halfway):
        out = raw.read_all(timeout=5)
        assert "<connection-timeout" in out and "</stream:stream>" in out, out
        raw.close()
    log = f.server.log_text()
    assert re.search(r"127\.0\.0\.31:\d+ not logged in 2 s after it connected: "
                     r"waiting for the client to authenticate", log), log[-2000:]
    assert re.search(r"127\.0\.0\.32:\d+ not logged in 2 s after it connected: "
                     r"waiting for the client's SCRAM proof", log), log[-2000:]


def closed_within(sock, seconds):
    """True when the server closes `sock` within `seconds` (whatever it wrote first is read
    and dropped)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        sock.settimeout(max(0.1, deadline - time.time()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


async def test_a_tls_handshake_that_never_comes_is_cut_off(f):
    # Direct TLS: the socket opens and the client says nothing. The login deadline (2 s in
    # this suite, then 2 s for a goodbye that cannot be written) really closes the socket.
    quiet = socket.create_connection((f.server.host, f.server.tls_port), timeout=5)
    # STARTTLS, the server's <proceed/>, then nothing: a handshake left pending.
    raw = RawStream(f.server)
    raw.open()
    raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    assert "<proceed" in raw.read_until(b"<proceed"), "no proceed"
    # A handshake begun and never finished: half a ClientHello.
    half = socket.create_connection((f.server.host, f.server.tls_port), timeout=5)
    half.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]))
    try:
        assert closed_within(quiet, 8), "direct TLS without a handshake stayed open"
        assert closed_within(raw.sock, 8), "STARTTLS without a handshake stayed open"
        assert closed_within(half, 8), "half a TLS handshake stayed open"
    finally:
        quiet.close()
        raw.close()
        half.close()


async def test_a_start_tag_that_never_ends_is_cut_off(f):
    # `<message x='AAAA…` never closed: every byte counts against c2s.max_stanza_kb (256),
    # a little at a time as a slow attacker sends it.
    raw = RawStream(f.server)
    raw.open()
    raw.send("<message x='")
    cut_off = False
    try:
        for _ in range(80):
            raw.send("A" * 4096)
    except (ConnectionResetError, BrokenPipeError):
        cut_off = True
    out = raw.read_all(timeout=5)
    assert cut_off or "<policy-violation" in out, out
    raw.close()


async def test_at_the_open_file_limit_accept_failures_are_told_once(f):
    # A server allowed few descriptors, and more clients than it can take: the failing accept
    # is logged once (then once a minute with a count), not ten times a second; once
    # descriptors are free again it says so and serves.
    wrapper = f.server.dir / "perch-few-files"
    wrapper.write_text(f'#!/bin/sh\nulimit -n 96\nexec "{f.server.binary}" "$@"\n')
    wrapper.chmod(0o755)
    s = Server(str(wrapper), backend="sqlite")
    s.start()
    socks = []
    try:
        for _ in range(150):
            socks.append(socket.create_connection((s.host, s.port), timeout=5))
        deadline = time.time() + 10
        while "accept failed" not in s.log_text() and time.time() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # twenty more failed accepts
        told = s.log_text().count("accept failed")
        assert told == 1, s.log_text()[-3000:]
        for k in socks:
            k.close()
        socks = []
        deadline = time.time() + 10
        while "accepting again" not in s.log_text() and time.time() < deadline:
            await asyncio.sleep(0.1)
        assert "accepting again" in s.log_text()
        raw = RawStream(s)
        assert "</stream:features>" in raw.open()
        raw.close()
    finally:
        for k in socks:
            k.close()
        s.cleanup()


async def test_pep_publish_items_retract_and_notifications(f):
    from slixmpp.xmlstream import ET
    PUBSUB = "http://jabber.org/protocol/pubsub"
    a1 = await login(f, "dave", resource="one")
    a2 = await login(f, "dave", resource="two")
    info = await a1["xep_0030"].get_info(jid=f"dave@{DOMAIN}")
    assert ("pubsub", "pep", None, None) in info["disco_info"]["identities"], info["disco_info"]["identities"]
    assert "http://jabber.org/protocol/pubsub#publish-options" in info["disco_info"]["features"]
    # A node that was never published to does not exist.
    iq = a1.make_iq_get(ito=f"dave@{DOMAIN}")
    ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}items", {"node": "urn:xmpp:bookmarks:1"})
    try:
        await iq.send(timeout=5)
        raise AssertionError("expected item-not-found")
    except IqError as e:
        assert e.iq["error"]["condition"] == "item-not-found"
    iq = a1.make_iq_set(ito=f"dave@{DOMAIN}")
    pub = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}publish", {"node": "urn:xmpp:bookmarks:1"})
    item = ET.SubElement(pub, f"{{{PUBSUB}}}item", {"id": f"lobby@{MUC}"})
    ET.SubElement(item, "{urn:xmpp:bookmarks:1}conference", {"name": "Lobby", "autojoin": "true"})
    await iq.send(timeout=5)
    event = await a2.next_message_with("{http://jabber.org/protocol/pubsub#event}event")
    got = event.xml.find(".//{http://jabber.org/protocol/pubsub#event}item")
    assert got.get("id") == f"lobby@{MUC}"
    assert got.find("{urn:xmpp:bookmarks:1}conference").get("name") == "Lobby"
    iq = a2.make_iq_get(ito=f"dave@{DOMAIN}")
    ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}items", {"node": "urn:xmpp:bookmarks:1"})
    reply = await iq.send(timeout=5)
    items = reply.xml.findall(f".//{{{PUBSUB}}}item")
    assert [i.get("id") for i in items] == [f"lobby@{MUC}"]
    iq = a1.make_iq_set(ito=f"dave@{DOMAIN}")
    r = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}retract",
                      {"node": "urn:xmpp:bookmarks:1", "notify": "true"})
    ET.SubElement(r, f"{{{PUBSUB}}}item", {"id": f"lobby@{MUC}"})
    await iq.send(timeout=5)
    await a2.next_message_with(".//{http://jabber.org/protocol/pubsub#event}retract")
    await a1.close()
    await a2.close()


async def test_bookmarks_are_kept_in_both_forms(f):
    from slixmpp.xmlstream import ET
    PUBSUB = "http://jabber.org/protocol/pubsub"
    me = f"carol@{DOMAIN}"
    c = await login(f, "carol")
    info = await c["xep_0030"].get_info(jid=me)
    assert "urn:xmpp:bookmarks:1#compat" in info["disco_info"]["features"]

    async def publish(node, item_id, payload):
        iq = c.make_iq_set(ito=me)
        pub = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}publish", {"node": node})
        ET.SubElement(pub, f"{{{PUBSUB}}}item", {"id": item_id}).append(payload)
        await iq.send(timeout=5)

    async def items(node):
        iq = c.make_iq_get(ito=me)
        ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}items", {"node": node})
        return (await iq.send(timeout=5)).xml.findall(f".//{{{PUBSUB}}}item")

    conf = ET.Element("{urn:xmpp:bookmarks:1}conference", {"name": "Lobby", "autojoin": "true"})
    ET.SubElement(conf, "{urn:xmpp:bookmarks:1}nick").text = "caz"
    await publish("urn:xmpp:bookmarks:1", f"lobby@{MUC}", conf)
    legacy = (await items("storage:bookmarks"))[0].find("{storage:bookmarks}storage/{storage:bookmarks}conference")
    assert legacy.get("jid") == f"lobby@{MUC}" and legacy.get("autojoin") == "true"
    assert legacy.findtext("{storage:bookmarks}nick") == "caz"
    # An old client rewrites the whole list: the per-room items follow.
    storage = ET.Element("{storage:bookmarks}storage")
    ET.SubElement(storage, "{storage:bookmarks}conference", {"jid": f"history@{MUC}", "name": "History", "autojoin": "false"})
    await publish("storage:bookmarks", "current", storage)
    assert [i.get("id") for i in await items("urn:xmpp:bookmarks:1")] == [f"history@{MUC}"]
    await c.close()


async def test_private_storage_keeps_legacy_bookmarks(f):
    from slixmpp.xmlstream import ET
    c = await login(f, "erin")
    iq = c.make_iq_set()
    q = ET.SubElement(iq.xml, "{jabber:iq:private}query")
    storage = ET.SubElement(q, "{storage:bookmarks}storage")
    ET.SubElement(storage, "{storage:bookmarks}conference", {"jid": f"lobby@{MUC}", "autojoin": "true"})
    await iq.send(timeout=5)
    await c.close()
    c = await login(f, "erin")
    iq = c.make_iq_get()
    ET.SubElement(ET.SubElement(iq.xml, "{jabber:iq:private}query"), "{storage:bookmarks}storage")
    reply = await iq.send(timeout=5)
    conf = reply.xml.find(".//{storage:bookmarks}conference")
    assert conf is not None and conf.get("jid") == f"lobby@{MUC}"
    await c.close()


async def test_history_survives_restart_and_kill(f):
    room = f"durable@{MUC}"
    alice = await login(f, "alice")
    await alice["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=10)
    for i in range(10):
        alice.send_message(mto=room, mbody=f"kept {i}", mtype="groupchat")
    for i in range(10):
        await alice.next_groupchat()  # the echo comes only after the commit
    await alice.close()
    f.server.restart()
    bob = await login(f, "bob")
    _, _, _, history = await bob["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=10, timeout=10)
    assert [m["body"] for m in history] == [f"kept {i}" for i in range(10)]
    bob.send_message(mto=room, mbody="acknowledged before the kill", mtype="groupchat")
    await bob.next_groupchat()
    f.server.restart(kill=True)
    carol = await login(f, "carol")
    _, _, _, history = await carol["xep_0045"].join_muc_wait(room, "Carol", maxstanzas=1, timeout=10)
    assert [m["body"] for m in history] == ["acknowledged before the kill"], [m["body"] for m in history]
    ids = {m["stanza_id"]["id"] for m in history}
    assert len(ids) == 1 and "" not in ids
    await carol.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
