"""A pool of four Perch servers on one PostgreSQL database, each on its own loopback address,
with slixmpp clients spread over them (issue 14). Needs the test cluster (ctest's `postgres`
fixture): without PERCH_TEST_PG_FILE it says so and fails."""

import asyncio
import base64
import http.client
import hashlib
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import json
import threading
import time

from harness import MUC, Server, connect, mam_query, postgres_server, psql, removal, run

SECRET = "pool-test-secret-0123456789abcdef"
USERS = ["alice", "bob", "carol", "dave", "erin"]
HOSTS = [f"127.0.0.{11 + i}" for i in range(4)]


class Pool:
    """p1, p2 … on the loopback addresses `hosts`, one database of the test cluster."""

    def __init__(self, binary, hosts=HOSTS):
        self.database = "perch_pool_" + os.urandom(4).hex()
        self.pg = postgres_server()
        if not self.pg:
            raise RuntimeError("the pool suite needs the test PostgreSQL cluster (PERCH_TEST_PG_FILE)")
        psql(self.pg + " dbname=postgres", f'CREATE DATABASE "{self.database}"')
        # The compliance record, one for the pool, in its own database.
        self.compliance = self.database + "_compliance"
        psql(self.pg + " dbname=postgres", f'CREATE DATABASE "{self.compliance}"')
        self.servers = []
        self.shared_files = None
        for i, host in enumerate(hosts):
            peer_port = free_port_on(host)
            files = f'[files]\ndir = "{self.shared_files}"\n' if self.shared_files else ""
            s = Server(binary, host=host, database=self.database, admin_port=peer_port,
                       extra_config=(f'secret = "{SECRET}-server"\n'
                                     f"[pool]\nname = \"p{i + 1}\"\npeer_bind = \"{host}\"\n"
                                     f"peer_port = {peer_port}\nsecret = \"{SECRET}\"\ndrain_timeout_s = 4\n"
                                     "[compliance]\nenabled = true\n"
                                     f'url = "{self.pg} dbname={self.compliance}"\n' + files))
            s.peer_port = peer_port
            # Where its clients connect (a standby sends them to an active server's).
            s.config.write_text(s.config.read_text().replace(
                "[pool]\n", f'[pool]\nclient_address = "{host}:{s.port}"\n', 1))
            if self.shared_files is None:
                self.shared_files = s.dir / "shared-files"
                s.config.write_text(s.config.read_text().replace(
                    "[c2s]\n", f'[files]\ndir = "{self.shared_files}"\n\n[c2s]\n', 1))
            self.servers.append(s)
        first = self.servers[0]
        for u in USERS:
            first.add_user(u, f"{u}-pw")
        first.cli("category", "add", "Projects", "--creator", "user:alice")
        for room in ("town", "plaza", "square", "busy", "link", "market"):
            first.cli("room", "add", room, "--category", "Projects")
        first.cli("room", "add", "inner", "--category", "Projects", "--privacy", "closed")
        first.cli("room", "grant", "inner", "member", "user:alice")
        first.cli("admin-account", "add", "root", "--password", "root-password-1")
        try:
            for s in self.servers:
                s.start()
            self.wait_linked()
        except BaseException:
            self.cleanup()  # no server of a pool that did not come up is left running
            raise

    def wait_linked(self, timeout=20):
        """Until every server has linked with all the others."""
        deadline = time.time() + timeout
        others = len(self.servers) - 1
        while time.time() < deadline:
            if all(s.log_text().count("pool: linked with server") >= others for s in self.servers):
                return
            time.sleep(0.1)
        raise RuntimeError("the pool did not link up")

    def cleanup(self):
        for s in self.servers:
            s.cleanup()
        for db in (self.database, self.compliance):
            psql(self.pg + " dbname=postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def server_of(node, names=("p1", "p2", "p3", "p4")):
    """The index of the server that serves a room: rendezvous hashing as the servers do it."""
    weights = [int.from_bytes(hashlib.sha256(f"{n}\0{node}".encode()).digest()[:8], "big")
               for n in names]
    return weights.index(max(weights))


async def post_and_confirm(client, room, body, timeout=4):
    """Posts and waits for the room's echo (the acknowledgement: the message is stored);
    False on an error or no echo in time."""
    msg = client.make_message(mto=room, mbody=body, mtype="groupchat")
    msg["id"] = "p-" + os.urandom(6).hex()
    msg.send()
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            return False
        try:
            got = await asyncio.wait_for(client.every_message.get(), left)
        except asyncio.TimeoutError:
            return False
        if got["type"] == "error" and got["id"] == msg["id"]:
            return False
        if got["type"] == "groupchat" and got["body"] == body:
            return True


def free_port_on(host):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def setup():
    return Pool(sys.argv[1])


def teardown(pool):
    pool.cleanup()


async def everyone_in(pool, room, users=("alice", "bob", "carol", "dave"), servers=None):
    """One client per server, each joined to `room`; returns them in server order."""
    clients = []
    for server, user in zip(servers or pool.servers, users):
        c = await connect(server, user, f"{user}-pw")
        await c["xep_0045"].join_muc_wait(room, user, maxstanzas=0, timeout=15)
        clients.append(c)
    return clients


async def close_all(clients):
    for c in clients:
        await c.close()


async def test_a_post_on_one_server_reaches_the_occupants_on_all_four_in_order(pool):
    room = f"town@{MUC}"
    clients = await everyone_in(pool, room)
    try:
        for i in range(20):
            clients[0].send_message(mto=room, mbody=f"from one {i}", mtype="groupchat")
        for c in clients:
            bodies = [(await c.next_groupchat(timeout=15))["body"] for _ in range(20)]
            assert bodies == [f"from one {i}" for i in range(20)], (c.boundjid, bodies)
        clients[2].send_message(mto=room, mbody="from three", mtype="groupchat")
        for c in clients:
            assert (await c.next_groupchat(timeout=15))["body"] == "from three"
    finally:
        await close_all(clients)


async def test_one_to_one_messages_cross_servers_with_carbons_and_wait_when_nobody_is_there(pool):
    """alice on server 1, bob on server 2 (and his phone on 3, with carbons): each hears the
    other at once; bob's phone gets the copy; a message for dave, signed in nowhere, waits and
    reaches him through server 4; chat states cross too."""
    alice = await connect(pool.servers[0], "alice", "alice-pw")
    bob = await connect(pool.servers[1], "bob", "bob-pw")
    phone = await connect(pool.servers[2], "bob", "bob-pw", resource="phone")
    clients = [alice, bob, phone]
    try:
        phone.register_plugin("xep_0280")
        carbons = asyncio.Queue()
        phone.add_event_handler("carbon_received", carbons.put_nowait)
        await phone["xep_0280"].enable()
        for i in range(5):
            alice.send_message(mto="bob@localhost/test", mbody=f"across {i}", mtype="chat")
        for i in range(5):
            msg = await asyncio.wait_for(bob.private.get(), 10)
            assert msg["body"] == f"across {i}" and msg["from"].full == "alice@localhost/test"
        copy = await asyncio.wait_for(carbons.get(), 10)
        assert copy["carbon_received"]["body"] == "across 0", copy
        bob.send_message(mto="alice@localhost", mbody="and back", mtype="chat")
        assert (await asyncio.wait_for(alice.private.get(), 10))["body"] == "and back"
        # Nobody of that name signed in anywhere: kept, and delivered where he signs in.
        alice.send_message(mto="dave@localhost", mbody="for later", mtype="chat")
        await asyncio.sleep(1)
        dave = await connect(pool.servers[3], "dave", "dave-pw")
        clients.append(dave)
        dave.send_presence()
        msg = await asyncio.wait_for(dave.private.get(), 10)
        assert msg["body"] == "for later" and msg["delay"]["stamp"] is not None
        # Content-free messages (a chat state) are not kept, but they cross servers.
        from slixmpp.xmlstream import ET
        state = alice.make_message(mto="bob@localhost", mtype="chat")
        ET.SubElement(state.xml, "{http://jabber.org/protocol/chatstates}composing")
        state.send()
        await bob.next_message_with("{http://jabber.org/protocol/chatstates}composing")
        # Both archives hold the exchange, read through any server.
        results, _ = await mam_query(bob, None, query_id="bobs")
        assert [r["body"] for r in results][:6] == [f"across {i}" for i in range(5)] + ["and back"], results
    finally:
        await close_all(clients)


async def test_a_joiner_sees_the_occupants_of_every_server(pool):
    room = f"plaza@{MUC}"
    clients = await everyone_in(pool, room, ("alice", "bob", "carol"))
    try:
        erin = await connect(pool.servers[3], "erin", "erin-pw")
        clients.append(erin)
        _, _, occupants, _ = await erin["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=15)
        nicks = {p["from"].resource for p in occupants}
        assert {"alice", "bob", "carol"} <= nicks, nicks
        # ... and they see erin come in, each on their own server.
        for c in clients[:3]:
            while True:
                p = await asyncio.wait_for(c.every_presence.get(), 15)
                if p["from"].resource == "erin":
                    break
        # A joiner on a server that has occupants there already and does not serve the room:
        # that server knows the list (the room's server leaves it out of its answer).
        knows = next(i for i in range(3) if i != server_of("plaza"))
        dave = await connect(pool.servers[knows], "dave", "dave-pw")
        clients.append(dave)
        _, _, occupants, _ = await dave["xep_0045"].join_muc_wait(room, "dave", maxstanzas=0, timeout=15)
        nicks = {p["from"].resource for p in occupants}
        assert {"alice", "bob", "carol", "erin"} <= nicks <= {"alice", "bob", "carol", "erin", "dave"}, nicks
    finally:
        await close_all(clients)


async def test_history_archive_and_search_are_the_same_from_every_server(pool):
    room = f"square@{MUC}"
    clients = await everyone_in(pool, room)
    try:
        for i, c in enumerate(clients):
            c.send_message(mto=room, mbody=f"archived word{i} from {i}", mtype="groupchat")
            # Each post's echo comes back before the next is sent: the archive's order is known.
            while (await c.next_groupchat(timeout=15))["body"] != f"archived word{i} from {i}":
                pass
        pages = []
        for c in clients:
            results, fin = await mam_query(c, room, rsm={"max": "50"}, query_id="all")
            pages.append([(r["id"], r["body"]) for r in results])
        assert all(p == pages[0] for p in pages), pages
        assert [b for _, b in pages[0]][-4:] == [f"archived word{i} from {i}" for i in range(4)]
        for c in clients:
            results, _ = await mam_query(c, room, fields={"{urn:xmpp:fulltext:0}fulltext": "word2"},
                                         query_id="find")
            assert [r["body"] for r in results] == ["archived word2 from 2"], results
    finally:
        await close_all(clients)


UPLOAD = "urn:xmpp:http:upload:0"


def http_request(server, method, path, body=None, user=None):
    import base64
    import http.client
    conn = http.client.HTTPConnection(server.host, server.http_port, timeout=10)
    headers = {}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{user}-pw".encode()).decode()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


async def test_a_file_uploaded_through_one_server_downloads_through_another(pool):
    from urllib.parse import urlsplit
    from slixmpp.xmlstream import ET as SET
    room = f"plaza@{MUC}"
    alice = await connect(pool.servers[1], "alice", "alice-pw")
    bob = await connect(pool.servers[3], "bob", "bob-pw")
    try:
        for c, nick in ((alice, "alice"), (bob, "bob")):
            await c["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=15)
        data = os.urandom(30000)
        iq = alice.make_iq_get(ito="localhost")
        SET.SubElement(iq.xml, f"{{{UPLOAD}}}request",
                       {"filename": "plan.bin", "size": str(len(data)),
                        "content-type": "application/octet-stream"})
        slot = (await iq.send(timeout=10)).xml.find(f"{{{UPLOAD}}}slot")
        put = urlsplit(slot.find(f"{{{UPLOAD}}}put").get("url")).path
        get = slot.find(f"{{{UPLOAD}}}get").get("url")
        assert http_request(pool.servers[1], "PUT", put, body=data)[0] == 201
        msg = alice.make_message(mto=room, mbody=get, mtype="groupchat")
        SET.SubElement(SET.SubElement(msg.xml, "{jabber:x:oob}x"), "{jabber:x:oob}url").text = get
        msg.send()
        got = await bob.next_groupchat(timeout=15)
        assert got["body"] == get
        status, body = http_request(pool.servers[3], "GET", urlsplit(get).path, user="bob")
        assert status == 200 and body == data, status
        # Still only for the room's readers, whichever server asks.
        assert http_request(pool.servers[2], "GET", urlsplit(get).path)[0] == 401
    finally:
        await close_all([alice, bob])


async def test_host_meta_names_this_server_first_then_the_other_live_ones(pool):
    # XEP-0156: a web client whose server is gone finds the others in host-meta.
    want = [f"ws://{s.host}:{s.http_port}/xmpp-websocket" for s in pool.servers]
    for i, server in enumerate(pool.servers):
        status, body = http_request(server, "GET", "/.well-known/host-meta.json")
        assert status == 200, status
        hrefs = [link["href"] for link in json.loads(body)["links"]
                 if link["rel"] == "urn:xmpp:alt-connections:websocket"]
        assert hrefs[0] == want[i], hrefs
        assert sorted(hrefs) == sorted(want), hrefs
        status, body = http_request(server, "GET", "/.well-known/host-meta")
        assert status == 200 and body.decode().count("alt-connections:websocket") == 4, body


async def test_a_change_from_the_command_line_reaches_every_server(pool):
    from slixmpp.exceptions import PresenceError
    room = f"inner@{MUC}"
    alice = await connect(pool.servers[0], "alice", "alice-pw")
    bob = await connect(pool.servers[2], "bob", "bob-pw")
    try:
        await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=0, timeout=15)
        try:
            await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=15)
            raise AssertionError("bob joined a closed room he is no member of")
        except PresenceError as e:
            assert e.presence["error"]["condition"] == "registration-required"
        # Granted on one machine's command line (the database is the pool's): every server
        # knows within seconds.
        pool.servers[1].cli("room", "grant", "inner", "member", "user:bob")
        deadline = time.time() + 10
        while True:
            try:
                await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=15)
                break
            except PresenceError:
                assert time.time() < deadline, "the grant did not reach the room's server"
                await asyncio.sleep(0.5)
        # Revoked: he leaves the room at once, told why (321), wherever his session is.
        pool.servers[3].cli("room", "revoke", "inner", "member", "user:bob")
        codes, _ = await removal(bob.every_presence, room)
        assert "321" in codes, codes
    finally:
        await close_all([alice, bob])


def see_other_host(server):
    """Where `server` sends a client that opens a stream (RFC 6120 see-other-host), or None."""
    with socket.create_connection((server.host, server.port), timeout=5) as c:
        c.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                  b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        got = b""
        while b"</stream:stream>" not in got and b"<stream:features" not in got:
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
    found = re.search(rb"<see-other-host[^>]*>([^<]+)</see-other-host>", got)
    return found.group(1).decode() if found else None


def write_topology(pool, standby, standby_after_s=30, replica="", sites=None):
    """The pool as a topology file (p1…p4; those in `standby` on standby); its path.
    `replica`: the address of the content database's replica, if it has one; `sites`: each
    server's site, by name."""
    sites = sites or {}
    servers = "".join(f'[[pools.servers]]\nname = "p{i + 1}"\nclient_address = "{s.host}:5222"\n'
                      f'peer_address = "{s.host}:{s.peer_port}"\n'
                      + ('role = "standby"\n' if f"p{i + 1}" in standby else "")
                      + (f'site = "{sites[f"p{i + 1}"]}"\n' if f"p{i + 1}" in sites else "")
                      for i, s in enumerate(pool.servers))
    path = pool.servers[0].dir / "topology.toml"
    replicas = f'replicas = ["{replica}"]\n' if replica else ""
    path.write_text(f'[databases.content]\nurl = "{pool.pg} dbname={pool.database}"\n{replicas}[[pools]]\n'
                    f'name = "chat"\ncontent_database = "content"\nfile_store = "{pool.shared_files}"\n'
                    f"standby_after_s = {standby_after_s}\n" + servers)
    return path


def admin_call(server, method, path, body=None):
    """The admin API of one pool member, on its pool port (shared with the peer links)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(server.host, server.peer_port, timeout=15, context=ctx)
    auth = base64.b64encode(b"root:root-password-1").decode()
    headers = {"Authorization": "Basic " + auth}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, "/admin/v1" + path, body=data, headers=headers)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, (json.loads(body) if body else None)


async def test_the_admin_api_on_the_pool_port_changes_every_server(pool):
    """The pool port serves the admin API beside the peer links; a change made through one
    server's API reaches an occupant on another server at once."""
    status, health = admin_call(pool.servers[1], "GET", "/health")
    assert status == 200 and len(health["pool"]["live"]) == 4, health
    room = f"inner@{MUC}"
    bob = await connect(pool.servers[3], "bob", "bob-pw")
    try:
        assert admin_call(pool.servers[1], "PUT", "/rooms/inner/members/user:bob")[0] == 204
        await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=15)
        assert admin_call(pool.servers[2], "DELETE", "/rooms/inner/members/user:bob")[0] == 204
        codes, _ = await removal(bob.every_presence, room)
        assert "321" in codes, codes
        # A setting and a disconnection asked of one server hold on every server.
        assert admin_call(pool.servers[0], "PUT", "/settings/max_message_chars", {"value": 30})[0] == 204
        deadline = time.time() + 10
        while True:
            info = await bob["xep_0030"].get_info(jid=f"town@{MUC}")
            fields = {fl.get("var"): fl.findtext("{jabber:x:data}value")
                      for fl in info.xml.find(".//{jabber:x:data}x").findall("{jabber:x:data}field")}
            if fields["{urn:perch:limits:0}message-max-chars"] == "30":
                break
            assert time.time() < deadline, fields
            await asyncio.sleep(0.1)
        assert admin_call(pool.servers[0], "DELETE", "/settings/max_message_chars")[0] == 204
        # Every server's sessions, asked of one: bob's is on another server.
        listed = admin_call(pool.servers[0], "GET", "/sessions")[1]
        where = {s["jid"].split("/")[0]: s["server"] for s in listed["sessions"]}
        assert listed["unanswered"] == [] and where.get("bob@localhost") == "p4", listed
        gone = asyncio.ensure_future(bob.wait_until("disconnected", 10))
        assert admin_call(pool.servers[0], "DELETE", "/sessions/bob")[0] == 200
        await gone
    finally:
        await close_all([bob])
    # A topology published on one server's command line: every server reads its role.
    r = pool.servers[0].cli("topology", "publish", str(write_topology(pool, standby=())))
    assert "topology version 1" in r.stdout, r.stdout
    deadline = time.time() + 10
    for s in pool.servers:
        while admin_call(s, "GET", "/health")[1]["topology"] != {"version": 1, "pool": "chat", "role": "active"}:
            assert time.time() < deadline, admin_call(s, "GET", "/health")[1]
            time.sleep(0.1)
    shown = pool.servers[2].cli("topology", "show").stdout
    assert shown.count("  up") == 4 and "p4  active" in shown, shown
    # The links are all still up: a post still crosses the pool.
    town = f"town@{MUC}"
    clients = await everyone_in(pool, town, ("erin", "bob"))
    try:
        clients[0].send_message(mto=town, mbody="after the admin calls", mtype="groupchat")
        assert (await clients[1].next_groupchat(timeout=15))["body"] == "after the admin calls"
    finally:
        await close_all(clients)


async def test_a_new_subject_shows_in_every_servers_room_list(pool):
    """The subject set through one server shows in the room lists of the others, those with
    nobody in the room included."""
    pool.servers[0].cli("room", "grant", "square", "manager", "user:alice")
    # Every server has read the grant first, so that the test is about the subject alone (a
    # server whose read of the grant overlaps the subject's event reads it again:
    # Directory::put_room_if, unit-tested).
    for s in pool.servers:
        deadline = time.time() + 10
        while True:
            status, body = http_request(s, "GET", "/api/v1/rooms/square", user="alice")
            if status == 200 and json.loads(body)["my_roles"]["manager"]:
                break
            assert time.time() < deadline, (pool.servers.index(s), status, body)
            await asyncio.sleep(0.2)
    room = f"square@{MUC}"
    alice = await connect(pool.servers[0], "alice", "alice-pw")
    try:
        deadline = time.time() + 10
        while True:
            await alice["xep_0045"].join_muc_wait(room, "alice", maxstanzas=0, timeout=15)
            msg = alice.make_message(mto=room, mtype="groupchat")
            msg["subject"] = "Harvest plans"
            msg.send()
            got = await alice.next_message_with("{jabber:client}subject")
            if got["type"] != "error":
                break
            # The grant reaches the room's server within a second or two.
            assert time.time() < deadline, got
            await alice["xep_0045"].leave_muc(room, "alice")
            await asyncio.sleep(0.5)
        for s in pool.servers[1:]:
            deadline = time.time() + 5
            while True:
                status, body = http_request(s, "GET", "/api/v1/rooms/square", user="bob")
                assert status == 200, (status, body)
                if json.loads(body)["subject"] == "Harvest plans":
                    break
                assert time.time() < deadline, (pool.servers.index(s), body)
                await asyncio.sleep(0.2)
    finally:
        await close_all([alice])


def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def read_frame(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    n = struct.unpack(">I", head)[0]
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)


async def test_a_stranger_on_the_peer_port_is_refused(pool):
    target = pool.servers[0]
    before = target.log_text().count("does not know the pool's secret")
    # Plain TCP, no TLS: the handshake fails and the socket is closed.
    with socket.create_connection((target.host, target.peer_port), timeout=5) as raw:
        raw.sendall(frame({"t": "hello"}))
        raw.settimeout(5)
        got = b"x"
        try:
            while got:
                got = raw.recv(100)  # a TLS alert at most, then the end
        except ConnectionResetError:
            pass
    # TLS, then a hello and a proof made with the wrong secret.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((target.host, target.peer_port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            tls.sendall(frame({"t": "hello", "v": 1, "name": "intruder", "number": 99,
                               "nonce": "00" * 16}))
            hello = read_frame(tls)
            assert hello and hello["t"] == "hello"
            tls.sendall(frame({"t": "auth", "proof": "ab" * 32}))
            # The server's own proof may come; then the link ends, and nothing else was sent.
            tls.settimeout(5)
            kinds = []
            try:
                while (f := read_frame(tls)) is not None:
                    kinds.append(f["t"])
            except (ssl.SSLError, ConnectionResetError):
                pass
            assert kinds in ([], ["auth"]), kinds
    deadline = time.time() + 5
    while time.time() < deadline:
        if target.log_text().count("does not know the pool's secret") > before:
            break
        await asyncio.sleep(0.1)
    assert target.log_text().count("does not know the pool's secret") > before
    # The pool is untouched.
    room = f"town@{MUC}"
    clients = await everyone_in(pool, room, ("erin", "bob"))
    try:
        clients[0].send_message(mto=room, mbody="still fine", mtype="groupchat")
        assert (await clients[1].next_groupchat(timeout=15))["body"] == "still fine"
    finally:
        await close_all(clients)


async def test_a_pool_on_sqlite_is_refused_with_the_reason(pool):
    s = Server(sys.argv[1], backend="sqlite",
               extra_config=f'[pool]\nname = "lonely"\npeer_bind = "127.0.0.1"\nsecret = "{SECRET}"\n')
    try:
        r = s.cli("serve", check=False)
        assert r.returncode != 0
        assert "a pool needs PostgreSQL" in r.stdout + r.stderr, r.stdout + r.stderr
    finally:
        s.cleanup()


def cut_link(dialer, acceptor):
    """Kills the TCP connection of two servers' peer link as a network fault would: `ss -K`
    (as root) aborts the dialer's end, the acceptor's gets a reset. (The server with the lower
    pool number dials; it dials from its own peer address.) The link comes back by itself."""
    r = subprocess.run(["ss", "-K", "src", dialer.host, "dst", f"{acceptor.host}:{acceptor.peer_port}"],
                       capture_output=True, text=True)
    return r.stdout.count(f"{acceptor.host}:{acceptor.peer_port}")


async def test_a_cut_peer_link_loses_and_doubles_nothing(pool):
    room = f"link@{MUC}"
    owner = server_of("link")
    other = (owner + 1) % 4
    writer = await connect(pool.servers[owner], "carol", "carol-pw")
    reader = await connect(pool.servers[other], "dave", "dave-pw")
    try:
        for c, nick in ((writer, "carol"), (reader, "dave")):
            await c["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=15)
        writer.send_message(mto=room, mbody="before the cut", mtype="groupchat")
        assert (await reader.next_groupchat(timeout=15))["body"] == "before the cut"
        linked = pool.servers[other].log_text().count("pool: linked with server")
        # The cut: the reader's server misses what the room's server sends meanwhile.
        low, high = sorted((owner, other))
        assert cut_link(pool.servers[low], pool.servers[high]) == 1
        for i in range(30):
            writer.send_message(mto=room, mbody=f"during {i}", mtype="groupchat")
        deadline = time.time() + 15
        while pool.servers[other].log_text().count("pool: linked with server") <= linked:
            assert time.time() < deadline, "the link did not come back"
            await asyncio.sleep(0.1)
        writer.send_message(mto=room, mbody="after the cut", mtype="groupchat")
        bodies = []
        while not bodies or bodies[-1] != "after the cut":
            bodies.append((await reader.next_groupchat(timeout=15))["body"])
        assert bodies == [f"during {i}" for i in range(30)] + ["after the cut"], bodies
    finally:
        await close_all([writer, reader])


async def post_until(clients, room, stop_at):
    """Each client posts to `room` until `stop_at`; the bodies acknowledged, by sender."""
    acked = {c.boundjid.user: [] for c in clients}

    async def poster(c, name):
        i = 0
        while time.time() < stop_at:
            body = f"{name} {i}"
            i += 1
            try:
                if await post_and_confirm(c, room, body):
                    acked[name].append(body)
            except Exception:  # a client whose server was killed
                return
            await asyncio.sleep(0.05)

    await asyncio.gather(*(poster(c, c.boundjid.user) for c in clients))
    return acked


def assert_stored_once_in_order(pool, node, acked):
    """Every acknowledged message of `node` is stored once, each sender's in the order sent."""
    rows = pool.servers[1].content_query(
        "SELECT body FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.node = ? "
        "ORDER BY m.seq", node)
    stored = [r[0] for r in rows]
    for name, bodies in acked.items():
        assert bodies, f"{name} had nothing acknowledged"
        mine = [b for b in stored if b.startswith(name + " ")]
        assert len(mine) == len(set(mine)), \
            f"{name}: stored twice: {sorted({b for b in mine if mine.count(b) > 1})}"
        positions = [stored.index(b) for b in bodies]
        assert positions == sorted(positions), f"{name}: out of order"


async def test_a_server_leaving_and_joining_again_moves_its_rooms_while_clients_post(pool):
    # Shrink, then growth: the server of "market" stops cleanly (it leaves the pool at once)
    # and starts again, so the room moves to another server and back, while a client on each
    # of the other three posts to it all along.
    room = f"market@{MUC}"
    moving = server_of("market")
    others = [s for i, s in enumerate(pool.servers) if i != moving]
    clients = await everyone_in(pool, room, servers=others)
    try:
        served = [s.log_text().count("room market is served by another server now")
                  for s in pool.servers]
        posting = asyncio.ensure_future(post_until(clients, room, time.time() + 14))
        await asyncio.sleep(2)
        linked = pool.servers[moving].log_text().count("pool: linked with server")
        pool.servers[moving].stop()  # SIGTERM: leaves the pool, the room moves at once
        await asyncio.sleep(4)
        pool.servers[moving].start()
        deadline = time.time() + 20
        while pool.servers[moving].log_text().count("pool: linked with server") < linked + 3:
            assert time.time() < deadline, "the restarted server did not link up"
            await asyncio.sleep(0.1)
        acked = await posting
        assert_stored_once_in_order(pool, "market", acked)
        # No post reached the room's server before its sender was adopted there again.
        for s in pool.servers:
            assert "to market refused: not an occupant" not in s.log_text(), s.host
        # The room went back: the server that served it meanwhile let it go.
        assert any(s.log_text().count("room market is served by another server now") > served[i]
                   for i, s in enumerate(pool.servers) if i != moving), "the room did not move back"
        # Nobody was dropped: each is still in the room, and nobody saw another leave.
        clients[0].send_message(mto=room, mbody="after both moves", mtype="groupchat")
        for c in clients:
            while (await c.next_groupchat(timeout=10))["body"] != "after both moves":
                pass
        staying = {c.boundjid.user for c in clients}
        for c in clients:
            while not c.every_presence.empty():
                p = c.every_presence.get_nowait()
                if p["type"] == "unavailable" and p["from"].bare == room:
                    assert p["from"].resource not in staying, (c.boundjid.user, p["from"])
    finally:
        await close_all(clients)


async def test_killing_the_server_of_a_busy_room_loses_no_acknowledged_message(pool):
    room = f"busy@{MUC}"
    victim = server_of("busy")
    clients = await everyone_in(pool, room)
    living = [c for i, c in enumerate(clients) if i != victim]
    posting = asyncio.ensure_future(post_until(clients, room, time.time() + 14))
    await asyncio.sleep(2)
    moved = [s.log_text().count("pool: the rooms moved in") for s in pool.servers]
    killed_at = time.time()
    pool.servers[victim].stop(kill=True)
    # The room serves again: a post through a living server is acknowledged.
    probe = living[0]
    while not await post_and_confirm(probe, room, f"probe {time.time()}", timeout=1):
        assert time.time() - killed_at < 20, "the room did not come back"
    back_after = time.time() - killed_at
    acked = await posting
    print(f"  the room served again {back_after:.1f} s after the kill", flush=True)
    # Alone this takes 0.0-0.1 s: the killed server's database session ended with it, and the
    # living servers, its link closed, end its lease at once rather than wait for it (3 s).
    assert back_after < 20, back_after
    cut = "'s database session ended: its lease ends now"
    assert any(cut in s.log_text() for i, s in enumerate(pool.servers) if i != victim), cut
    assert_stored_once_in_order(pool, "busy", acked)
    # Each living server held its clients' room joins while the rooms moved, and let them go
    # when the change was through there, not at the hold's limit.
    deadline = time.time() + 10
    for i, s in enumerate(pool.servers):
        if i == victim:
            continue
        while s.log_text().count("pool: the rooms moved in") <= moved[i]:
            assert time.time() < deadline, f"p{i + 1} did not say the rooms moved"
            await asyncio.sleep(0.1)
        assert "room joins held" not in s.log_text(), i
    # The living servers' clients saw the victim's occupant leave, and are still in the room.
    gone = clients[victim].boundjid.user
    presences = {c.boundjid.user: [] for c in living}
    for c in living:
        deadline = time.time() + 10
        seen = False
        while not seen and time.time() < deadline:
            try:
                p = await asyncio.wait_for(c.every_presence.get(), 1)
            except asyncio.TimeoutError:
                continue
            presences[c.boundjid.user].append(p)
            if p["from"].bare == room and p["from"].resource == gone and p["type"] == "unavailable":
                seen = True
        assert seen, f"{c.boundjid.user} still sees {gone}"
    living[0].send_message(mto=room, mbody="after the storm", mtype="groupchat")
    for c in living:
        while (await c.next_groupchat(timeout=10))["body"] != "after the storm":
            pass
    # The pool's compliance record: every stored message of the room once, the chain intact.
    deadline = time.time() + 20
    while pool.servers[0].content_query("SELECT count(*) FROM compliance_outbox")[0][0] != 0:
        assert time.time() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.2)
    out = subprocess.run(["psql", f"{pool.pg} dbname={pool.compliance}", "-qAt", "-c",
                          "SELECT content FROM events WHERE type = 'CHAT' AND room = 'busy'"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    recorded = [json.loads(line)["body"] for line in out]
    stored_now = [r[0] for r in pool.servers[0].content_query(
        "SELECT body FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.node = 'busy'")]
    assert sorted(recorded) == sorted(stored_now), (len(recorded), len(stored_now))
    verified = pool.servers[1].cli("compliance", "verify")
    assert "intact" in verified.stdout, verified.stdout
    # The killed server comes back, takes its rooms again, and its clients are served.
    linked = pool.servers[victim].log_text().count("pool: linked with server")
    pool.servers[victim].start()
    deadline = time.time() + 20
    while pool.servers[victim].log_text().count("pool: linked with server") < linked + 3:
        assert time.time() < deadline, "the restarted server did not link up"
        await asyncio.sleep(0.1)
    again = await connect(pool.servers[victim], "erin", "erin-pw")
    try:
        await again["xep_0045"].join_muc_wait(room, "erin", maxstanzas=0, timeout=20)
        assert await post_and_confirm(again, room, "erin is back", timeout=10)
        for c in living:
            while (await c.next_groupchat(timeout=10))["body"] != "erin is back":
                pass
        # Through the failover and the server's return nobody on a living server saw anybody
        # else leave: the rooms moved twice without dropping an occupant.
        for c in living:
            while not c.every_presence.empty():
                presences[c.boundjid.user].append(c.every_presence.get_nowait())
        staying = {c.boundjid.user for c in living}
        for user, seen in presences.items():
            left = [p["from"].resource for p in seen
                    if p["type"] == "unavailable" and p["from"].bare == room]
            assert not staying & set(left), (user, left)
    finally:
        await again.close()
        await close_all(living)



async def test_a_server_taken_for_gone_while_paused_stops_and_its_clients_go_on_elsewhere(pool):
    """A server paused past its lease (as one cut off from the database and the others) was
    taken for gone: its occupants left the rooms, its rooms moved. Woken, it does not go on as
    if nothing had happened: it stops with status 75 for its supervisor to start it again, its
    clients are told, and through another server they are in their rooms again."""
    room = f"square@{MUC}"
    victim = server_of("square")
    # A room served by another server, in which the victim's client is too.
    elsewhere = next(r for r in ("plaza", "town", "link") if server_of(r) != victim)
    clients = await everyone_in(pool, room)
    living = [c for i, c in enumerate(clients) if i != victim]
    paused = clients[victim]
    user = paused.boundjid.user
    told = []
    paused.add_event_handler("stream_error", lambda e: told.append(e["condition"]))
    for c, nick in ((paused, user), (living[0], living[0].boundjid.user)):
        await c["xep_0045"].join_muc_wait(f"{elsewhere}@{MUC}", nick, maxstanzas=0, timeout=15)
    server = pool.servers[victim]
    number_line = re.search(r"is member (\d+) of", server.log_text())
    assert number_line, "no pool number in the log"
    gone_line = f"({number_line.group(1)}) left the pool"
    dropped = [s.log_text().count(gone_line) for s in pool.servers]
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        deadline = time.time() + 20
        for i, s in enumerate(pool.servers):
            while i != victim and s.log_text().count(gone_line) <= dropped[i]:
                assert time.time() < deadline, f"p{i + 1} did not take p{victim + 1} for gone"
                await asyncio.sleep(0.1)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    try:
        try:
            status = server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server taken for gone went on: " + server.log_text()[-2000:])
        log = server.log_text()
        assert status == 75, (status, log[-2000:])
        assert "for gone while its lease had lapsed" in log, log[-2000:]
        assert "stopped, status 75" in log, log[-2000:]
        server.stop()
        deadline = time.time() + 10
        while "system-shutdown" not in told:
            assert time.time() < deadline, f"its client was not told: {told}"
            await asyncio.sleep(0.1)
        # The living servers' clients saw it leave both rooms, the room it served moved.
        for c, rooms in ((living[0], {room, f"{elsewhere}@{MUC}"}), (living[1], {room})):
            deadline = time.time() + 10
            seen = []
            while rooms:
                try:
                    p = await asyncio.wait_for(c.every_presence.get(), max(0.1, deadline - time.time()))
                except asyncio.TimeoutError:
                    raise AssertionError(f"{c.boundjid.user} still sees {user} in {rooms}: {seen}")
                seen.append(f'{p["from"]} {p["type"]}')
                if p["from"].resource == user and p["type"] == "unavailable":
                    rooms.discard(str(p["from"].bare))
        # Its user connects through another server and is in both rooms again, served.
        again = await connect(pool.servers[(victim + 1) % 4], user, f"{user}-pw", resource="again")
        try:
            for r in (room, f"{elsewhere}@{MUC}"):
                await again["xep_0045"].join_muc_wait(r, user, maxstanzas=0, timeout=20)
                assert await post_and_confirm(again, r, f"{user} is back in {r}", timeout=10)
            for c in living:
                while (await c.next_groupchat(timeout=10))["body"] != f"{user} is back in {room}":
                    pass
            # The server starts again (as its supervisor would) and is a member as before: the
            # room moves back to it once every other server has seen it.
            moved = [s.log_text().count("pool: the rooms moved in") for s in pool.servers]
            server.start()
            deadline = time.time() + 20
            for i, s in enumerate(pool.servers):
                while i != victim and s.log_text().count("pool: the rooms moved in") <= moved[i]:
                    assert time.time() < deadline, f"p{i + 1} did not see p{victim + 1} back"
                    await asyncio.sleep(0.1)
            assert await post_and_confirm(living[1], room, "after its return", timeout=10)
            while (await again.next_groupchat(timeout=15))["body"] != "after its return":
                pass
        finally:
            await again.close()
            await close_all(living)
            await paused.close()
    finally:
        if server.proc is None or server.proc.poll() is not None:
            server.stop()
            server.start()  # as its supervisor would: the tests after need all four


def sees_live(server, name):
    """Whether the last set of live servers `server` logged has `name` in it, and the rooms
    have moved since (joins through it go to the rooms' new servers)."""
    log = server.log_text()
    at = log.rfind("pool: live servers now ")
    if at < 0:
        return False
    line = log[at + len("pool: live servers now "):log.find("\n", at)]
    names = [n.replace(" (standby)", "") for n in line.split(", ")]
    return name in names and log.find("pool: the rooms moved in", at) >= 0


def start_and_link(pool, server):
    """Starts a server of the pool and waits until it has linked with the others and they
    have moved its rooms back to it; where its log of this start begins."""
    name = f"p{pool.servers.index(server) + 1}"
    others = [s for s in pool.servers if s is not server]
    moved = [s.log_text().count("pool: the rooms moved in") for s in others]
    mark = len(server.log_text())
    server.start()
    deadline = time.time() + 20
    while (server.log_text()[mark:].count("pool: linked with server") < len(others) or
           any(s.log_text().count("pool: the rooms moved in") <= n for s, n in zip(others, moved))
           or not all(sees_live(s, name) for s in others)):
        assert time.time() < deadline, "it did not come back: " + server.log_text()[mark:][-2000:]
        time.sleep(0.1)
    return mark


class Relay:
    """A TCP relay on a free loopback port to `port` there, which `cut()` ends as a failed
    network would: what went through it is reset, a new connection refused."""

    def __init__(self, port):
        self.target = port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.sockets, self.cut_off, self.frozen = [], False, False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.cut_off:
            try:
                near, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                far = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                near.close()
                continue
            self.sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def pump(self, source, sink):
        try:
            while data := source.recv(65536):
                if not self.frozen:
                    sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def freeze(self):
        """What is sent goes nowhere and nothing comes back, as when packets are dropped; no
        side sees its connection end."""
        self.frozen = True
        self.listener.close()

    def cut(self):
        self.cut_off = True
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


async def test_a_server_cut_off_from_the_database_alone_stops_and_its_clients_go_on_elsewhere(pool):
    """The network between one server and the database fails; the others still reach both.
    They take it for gone when its lease lapses and tell it so over their links: it stops
    (status 75, for its supervisor to start it again) at once, rather than keep its clients in
    rooms they have left everywhere else until it reaches the database again, and through
    another server they go on."""
    room = f"plaza@{MUC}"
    victim = server_of("plaza")
    server = pool.servers[victim]
    original = server.config.read_text()
    pg_port = re.search(r"port=(\d+)", pool.pg).group(1)
    relay = Relay(int(pg_port))
    relayed = original.replace(f"port={pg_port} ", f"port={relay.port} ")
    assert relayed.count(f"port={relay.port} ") == 2, relayed  # the content and the compliance
    server.stop()
    server.config.write_text(relayed)
    mark = start_and_link(pool, server)
    try:
        clients = await everyone_in(pool, room)
        cut_off = clients[victim]
        user = cut_off.boundjid.user
        told = []
        cut_off.add_event_handler("stream_error", lambda e: told.append(e["condition"]))
        assert await post_and_confirm(cut_off, room, "before the cut", timeout=10)
        relay.freeze()
        cut_at = time.time()
        deadline = cut_at + 15
        while "system-shutdown" not in told:
            assert time.time() < deadline, (f"its client was not told: {told}; " +
                                            server.log_text()[mark:][-2000:])
            await asyncio.sleep(0.1)
        told_after = time.time() - cut_at
        log = server.log_text()[mark:]
        assert "took this server for gone" in log, log[-2000:]
        print(f"  its clients told {told_after:.1f} s after the cut (lease 3 s)")
        # Its database calls stay stuck until the network says the connections are dead
        # (TCP keepalives): ended here at once, it stops with status 75.
        relay.cut()
        try:
            status = server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("it did not stop: " + server.log_text()[mark:][-2000:])
        log = server.log_text()[mark:]
        assert status == 75 and "stopped, status 75" in log, (status, log[-2000:])
        server.stop()
        # Its user goes on through another server, in the room that moved.
        again = await connect(pool.servers[(victim + 1) % 4], user, f"{user}-pw", resource="again")
        try:
            await again["xep_0045"].join_muc_wait(room, user, maxstanzas=0, timeout=20)
            assert await post_and_confirm(again, room, f"{user} goes on", timeout=10)
        finally:
            await again.close()
            await close_all([c for i, c in enumerate(clients) if i != victim])
            await cut_off.close()
    finally:
        relay.cut()
        server.stop()
        server.config.write_text(original)
        start_and_link(pool, server)  # as its supervisor would: the tests after need all four


async def test_a_standby_takes_the_slot_of_a_dead_active_server_by_itself(pool):
    """p4 on standby serves no room; p1 killed, p4 takes its slot after standby_after_s (5 s)
    by itself and p1's rooms serve again; p1 restarted does not take it back; failback does."""
    def active(i):
        return admin_call(pool.servers[i], "GET", "/health")[1]["pool"]["active"]

    async def wait(what, check, timeout=20):
        deadline = time.time() + timeout
        while not check():
            assert time.time() < deadline, what
            await asyncio.sleep(0.2)

    first = pool.servers[0]
    first.cli("topology", "publish", str(write_topology(pool, standby=("p4",), standby_after_s=5)))
    await wait("p4 became a standby", lambda: not active(3))
    status = first.cli("pool", "status").stdout
    assert "pool state: normal" in status and "standby p4 (up)" in status, status
    # Every room is served by p1, p2 or p3 now; a client of p4 is sent to one of them
    # (see-other-host), in turn. (slixmpp 1.8 does not follow it by itself: it reconnects to
    # its first address, so the test follows for it.)
    room = next(n for n in ("town", "plaza", "square", "link", "busy")
                if server_of(n, ("p1", "p2", "p3")) == 0)
    sent_to = {see_other_host(pool.servers[3]) for _ in range(3)}
    assert sent_to == {f"{x.host}:{x.port}" for x in pool.servers[:3]}, sent_to
    clients = await everyone_in(pool, f"{room}@{MUC}", servers=pool.servers[:3])
    try:
        dave = await connect(pool.servers[1], "dave", "dave-pw")
        clients.append(dave)
        await dave["xep_0045"].join_muc_wait(f"{room}@{MUC}", "dave", maxstanzas=0, timeout=15)
        assert await post_and_confirm(dave, f"{room}@{MUC}", "from a client sent away", timeout=10)
        # Posting goes on through the kill and the takeover.
        posting = asyncio.ensure_future(post_until(clients[1:], f"{room}@{MUC}", time.time() + 16))
        await asyncio.sleep(1)
        killed_at = time.time()
        pool.servers[0].stop(kill=True)
        await wait("p4 took p1's slot", lambda: "slot p1  held by p4" in pool.servers[1].cli("pool", "status").stdout, 30)
        took = time.time() - killed_at
        assert took >= 5, took  # not before the set time
        assert active(3)
        # p1's room serves again, now from p4.
        deadline = time.time() + 20
        while not await post_and_confirm(clients[1], f"{room}@{MUC}", f"after {time.time()}", timeout=2):
            assert time.time() < deadline, "the room did not come back"
        print(f"  p4 took p1's slot {took:.1f} s after the kill", flush=True)
        assert "failed over" in pool.servers[1].cli("pool", "status").stdout
        assert_stored_once_in_order(pool, room, await posting)
        # p1 comes back as a standby: the slot stays with p4.
        pool.servers[0].start()
        await wait("p1 is up", lambda: "slot p1  held by p4 (up)" in pool.servers[1].cli("pool", "status").stdout
             and "standby p1 (up)" in pool.servers[1].cli("pool", "status").stdout)
        await asyncio.sleep(2)
        assert not active(0) and active(3)
        assert see_other_host(pool.servers[0]) is not None  # the returned server serves nobody
        assert see_other_host(pool.servers[3]) is None  # the new holder serves
        # By hand: back to normal.
        back = pool.servers[1].cli("pool", "failback").stdout
        assert "p1 holds its slot again" in back, back
        await wait("p1 active again", lambda: active(0) and not active(3))
        assert "pool state: normal" in pool.servers[1].cli("pool", "status").stdout
        refused = pool.servers[1].cli("pool", "failover", "p9", check=False)
        assert refused.returncode == 1 and "holds no active slot" in refused.stderr, refused.stderr
    finally:
        await close_all(clients[1:])  # the first one's server was killed under it



async def test_a_server_left_out_of_the_active_list_drains(pool):
    """The active-server list without p4: p4 takes no new client, its rooms move to the others
    without an occupant leaving, and after pool.drain_timeout_s (4 s here) its clients are
    sent to an active server; cleared, p4 serves again."""
    def active(i):
        return admin_call(pool.servers[i], "GET", "/health")[1]["pool"]["active"]

    first = pool.servers[0]
    first.cli("topology", "publish", str(write_topology(pool, standby=())))
    deadline = time.time() + 15
    while not all(active(i) for i in range(4)):
        assert time.time() < deadline, "not every server active"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # the rooms settle on their servers
    room = next(n for n in ("town", "plaza", "square", "link", "busy") if server_of(n) == 3)
    clients = await everyone_in(pool, f"{room}@{MUC}")

    async def posts(client, body):
        deadline = time.time() + 15
        while not await post_and_confirm(client, f"{room}@{MUC}", body, timeout=2):
            assert time.time() < deadline, f"{body!r} was not taken"

    try:
        gone = asyncio.ensure_future(clients[3].wait_until("disconnected", 30))
        # Under load: the other servers' clients post throughout the change and the drain.
        posting = asyncio.ensure_future(post_until(clients[:3], f"{room}@{MUC}", time.time() + 9))
        await asyncio.sleep(1)
        changed_at = time.time()
        r = first.cli("pool", "active-servers", "set", "p1,p2,p3")
        assert "the others drain" in r.stdout, r.stdout
        while active(3):
            assert time.time() - changed_at < 10, "p4 still serves"
            await asyncio.sleep(0.1)
        assert see_other_host(pool.servers[3]) is not None
        # The room p4 served moved; its occupants (p4's own too, until the drain) stay.
        await posts(clients[3], "p4's client, draining")
        status = first.cli("pool", "status").stdout
        assert "draining p4" in status and "active-server list: p1,p2,p3" in status, status
        await gone
        drained_after = time.time() - changed_at
        assert drained_after >= 4, drained_after
        print(f"  p4's client was sent away {drained_after:.1f} s after the change", flush=True)
        assert_stored_once_in_order(pool, room, await posting)
        # p4 ends with no session and serves no room.
        deadline = time.time() + 5
        while admin_call(pool.servers[3], "GET", "/health")[1]["sessions"] != 0:
            assert time.time() < deadline, "p4 still holds sessions"
            await asyncio.sleep(0.2)
        owned = first.content_query("SELECT node FROM rooms WHERE owner = 'p4'")
        assert not owned, owned
        for c in clients[:3]:
            while not c.every_presence.empty():
                p = c.every_presence.get_nowait()
                if p["type"] == "unavailable" and p["from"].bare == f"{room}@{MUC}":
                    # Only p4's client, and only once it was sent away.
                    assert p["from"].resource == "dave", p
        assert admin_call(pool.servers[2], "PUT", "/pool/active-servers", {"servers": []})[0] == 204
        deadline = time.time() + 10
        while not active(3):
            assert time.time() < deadline, "p4 does not serve again"
            await asyncio.sleep(0.1)
        assert see_other_host(pool.servers[3]) is None
        refused = first.cli("pool", "active-servers", "set", "p9", check=False)
        assert refused.returncode == 1 and "no server of the topology" in refused.stderr, refused.stderr
    finally:
        await close_all(clients[:3])


if __name__ == "__main__":
    run(globals(), setup, teardown)
