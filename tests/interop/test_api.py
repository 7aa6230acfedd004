#!/usr/bin/python3
"""The REST API under /api/v1: every endpoint's success and error cases, and that a change made
there reaches XMPP clients at once. Usage: test_api.py PATH/TO/perch [test ...]"""

import asyncio
import base64
import http.client
import json
import re
import sys
import types

from harness import MUC, Server, connect, request_slot, run


def setup():
    s = Server(sys.argv[1])
    for u in ("alice", "bob", "carol", "erin", "gina", "root"):
        s.add_user(u, f"{u}-pw")
    s.cli("user", "admin", "root", "on")
    s.cli("group", "add", "staff")
    s.cli("group", "join", "staff", "carol")
    s.cli("category", "add", "Projects", "--creator", "user:alice")
    s.cli("category", "add", "Board", "--allow", "user:alice", "--allow", "user:bob")
    s.cli("category", "add", "Hidden", "--allow", "user:root")
    s.cli("room", "add", "town", "--category", "Projects")
    s.cli("room", "add", "inner", "--category", "Projects", "--privacy", "closed")
    s.cli("room", "grant", "inner", "manager", "user:alice")
    s.cli("room", "grant", "inner", "member", "user:bob")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


class Web:
    """One browser-like client: keeps the session cookie and the CSRF token."""

    def __init__(self, f, source=None):
        self.port = f.server.http_port
        self.cookie = None
        self.csrf = None
        self.source = (source, 0) if source else None  # a loopback address to come from

    def call(self, method, path, body=None, headers=None, raw=None, csrf=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                          source_address=self.source)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        return r.status, parsed, headers

    def sign_in(self, user, password=None):
        status, body, headers = self.call("POST", "/api/v1/session",
                                          {"username": user, "password": password or f"{user}-pw"})
        if status == 200:
            self.cookie = headers["set-cookie"].split(";")[0]
            self.csrf = body["csrf_token"]
        return status, body, headers


def signed_in(f, user):
    w = Web(f)
    assert w.sign_in(user)[0] == 200
    return w


async def test_session_sign_in_and_out(f):
    w = Web(f)
    assert w.call("GET", "/api/v1/session")[0] == 401
    assert w.sign_in("alice", "wrong")[0] == 401
    assert w.sign_in("nobody")[0] == 401
    assert w.call("POST", "/api/v1/session", raw=b"{not json", headers={"Content-Type": "application/json"})[0] == 400
    assert w.call("POST", "/api/v1/session", raw=b"username=alice", headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert w.call("POST", "/api/v1/session", {"username": "alice"})[0] == 400
    status, body, headers = w.sign_in("alice")
    assert status == 200 and body["user"] == "alice" and body["administrator"] is False
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    status, body, _ = w.call("GET", "/api/v1/session")
    assert status == 200 and body["user"] == "alice"
    assert w.call("DELETE", "/api/v1/session", csrf=False)[0] == 403  # CSRF token required
    assert w.call("DELETE", "/api/v1/session")[0] == 204
    assert w.call("GET", "/api/v1/session")[0] == 401


async def test_a_user_disabled_from_the_command_line_is_signed_out_everywhere(f):
    """`perch user disable` while the server runs: within seconds the user's XMPP session ends
    and their browser sign-in no longer works."""
    web = signed_in(f, "gina")
    xmpp = await connect(f.server, "gina", "gina-pw")
    gone = asyncio.ensure_future(xmpp.wait_until("disconnected", 10))
    f.server.cli("user", "disable", "gina")
    await gone
    for _ in range(50):
        if web.call("GET", "/api/v1/session")[0] == 401:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the browser sign-in still works")
    assert "user gina disabled: 1 sessions ended" in f.server.log_text()
    f.server.cli("user", "enable", "gina")
    assert signed_in(f, "gina").call("GET", "/api/v1/session")[0] == 200


async def test_password_guessing_over_http_is_slowed_and_counted(f):
    """Sign-ins and Basic authentication share the login guard: past five failures from one
    address each attempt must wait for the one before (429 with Retry-After), unchecked."""
    owner = signed_in(f, "erin")  # from 127.0.0.1, where erin signs in

    def counters():
        text = owner.call("GET", "/metrics")[1].decode()
        return [int(re.search(name + r'\{channel="http"\} (\d+)', text).group(1))
                for name in ("perch_failed_logins_total", "perch_login_refusals_total")]

    failed, refused = counters()
    guesser = Web(f, source="127.0.0.21")
    for i in range(4):
        assert guesser.sign_in("erin", f"guess{i}")[0] == 401, i
    basic = {"Authorization": "Basic " + base64.b64encode(b"erin:guess").decode()}
    assert guesser.call("GET", "/api/v1/rooms", headers=basic)[0] == 401
    assert guesser.sign_in("erin", "guess5")[0] == 401  # the sixth: checked, starts a delay
    status, body, headers = guesser.sign_in("erin")  # too early: the right password is refused
    assert status == 429 and "try again in" in body["error"], (status, body)
    assert int(headers["retry-after"]) >= 1
    assert guesser.call("GET", "/api/v1/rooms", headers=basic)[0] == 429
    # Another address on the same account waits too; a signed-in session is not concerned.
    assert Web(f, source="127.0.0.22").sign_in("erin")[0] == 429
    assert owner.call("GET", "/api/v1/session")[0] == 200
    await asyncio.sleep(int(headers["retry-after"]) + 0.1)
    assert guesser.sign_in("erin")[0] == 200
    # Seen: a log line per failure and the counters.
    log = f.server.log_text()
    assert "authentication failed for 'erin' from 127.0.0.21:" in log and "(http)" in log
    assert counters() == [failed + 6, refused + 3]


async def test_basic_authentication_reads_but_never_writes(f):
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-pw").decode()}
    w = Web(f)
    status, body, _ = w.call("GET", "/api/v1/categories", headers=auth)
    assert status == 200
    status, _, _ = w.call("POST", "/api/v1/rooms", {"address": "sneaky", "category": "Projects"}, headers=auth)
    assert status == 403  # a browser replays Basic credentials on its own: no changes with them
    # The address as people type it works as well as the bare name; another domain does not.
    for name, expected in (("alice@localhost", 200), ("alice@LOCALHOST", 200), ("alice@elsewhere.org", 401)):
        basic = {"Authorization": "Basic " + base64.b64encode(f"{name}:alice-pw".encode()).decode()}
        assert w.call("GET", "/api/v1/categories", headers=basic)[0] == expected, name
    # And signing in to the pages with the address.
    assert Web(f).sign_in("alice@localhost", "alice-pw")[0] == 200


async def test_categories_visible_to_me(f):
    cats = {c["name"]: c["may_create"] for c in signed_in(f, "alice").call("GET", "/api/v1/categories")[1]}
    assert cats.get("Projects") is True and cats.get("Board") is False and "Hidden" not in cats, cats
    cats = {c["name"] for c in signed_in(f, "erin").call("GET", "/api/v1/categories")[1]}
    assert "Board" not in cats and "Projects" in cats
    cats = {c["name"]: c["may_create"] for c in signed_in(f, "root").call("GET", "/api/v1/categories")[1]}
    assert cats["Hidden"] is True  # administrators: everywhere
    assert Web(f).call("GET", "/api/v1/categories")[0] == 401


async def test_rooms_mine_and_all(f):
    bob = signed_in(f, "bob")
    mine = {r["node"]: r for r in bob.call("GET", "/api/v1/rooms")[1]}
    assert set(mine) == {"inner"} and mine["inner"]["my_roles"]["member"] is True
    assert mine["inner"]["address"] == f"inner@{MUC}" and mine["inner"]["privacy"] == "closed"
    everything = {r["node"] for r in bob.call("GET", "/api/v1/rooms?scope=all")[1]}
    assert {"town", "inner"} <= everything
    status, room, _ = bob.call("GET", "/api/v1/rooms/inner")
    assert status == 200 and "members" not in room  # lists are for managers
    status, room, _ = signed_in(f, "alice").call("GET", "/api/v1/rooms/inner")
    assert room["members"] == ["user:bob"] and room["managers"] == ["user:alice"], room
    assert bob.call("GET", "/api/v1/rooms/nowhere")[0] == 404


async def test_creating_rooms(f):
    alice, bob = signed_in(f, "alice"), signed_in(f, "bob")
    status, room, _ = alice.call("POST", "/api/v1/rooms", {
        "address": "launch", "name": "Launch plans", "description": "Rockets", "category": "Projects",
        "privacy": "closed", "type": "normal"})
    assert status == 201 and room["name"] == "Launch plans" and room["my_roles"]["manager"], room
    assert alice.call("POST", "/api/v1/rooms", {"address": "launch", "category": "Projects"})[0] == 409
    assert alice.call("POST", "/api/v1/rooms", {"address": "other", "name": "launch plans", "category": "Projects"})[0] == 409
    assert bob.call("POST", "/api/v1/rooms", {"address": "bobs", "category": "Projects"})[0] == 403
    assert alice.call("POST", "/api/v1/rooms", {"address": "x", "category": "Hidden"})[0] == 404
    assert alice.call("POST", "/api/v1/rooms", {"address": "bad address!", "category": "Projects"})[0] == 400
    assert alice.call("POST", "/api/v1/rooms", {"address": "y", "category": "Projects", "privacy": "public"})[0] == 400
    assert alice.call("POST", "/api/v1/rooms", {"address": "z", "category": "Projects", "name": "n" * 257})[0] == 400
    assert alice.call("POST", "/api/v1/rooms", {"address": 5, "category": "Projects"})[0] == 400
    # The new room is usable over XMPP at once, and its creator manages it.
    client = await connect(f.server, "alice", "alice-pw")
    presence, _, _, _ = await client["xep_0045"].join_muc_wait(f"launch@{MUC}", "alice", maxstanzas=0, timeout=10)
    assert presence["muc"]["affiliation"] == "owner"
    await client.close()


async def test_editing_a_room_and_its_lists(f):
    alice, bob = signed_in(f, "alice"), signed_in(f, "bob")
    status, room, _ = alice.call("PATCH", "/api/v1/rooms/inner", {"description": "Inner circle", "type": "auditorium"})
    assert status == 200 and room["description"] == "Inner circle" and room["type"] == "auditorium"
    assert bob.call("PATCH", "/api/v1/rooms/inner", {"description": "mine now"})[0] == 403
    assert alice.call("PATCH", "/api/v1/rooms/inner", {"privacy": "wide open"})[0] == 400
    assert alice.call("PATCH", "/api/v1/rooms/inner", {"colour": "blue"})[0] == 400
    assert alice.call("PATCH", "/api/v1/rooms/inner", {"disabled": "yes"})[0] == 400
    assert alice.call("PATCH", "/api/v1/rooms/inner", {"category": "Board"})[0] == 403  # no creator there
    # Lists: erin joins the members, carol's group the presenters; erin then enters over XMPP.
    assert alice.call("PUT", "/api/v1/rooms/inner/members/user:erin")[0] == 204
    assert alice.call("PUT", "/api/v1/rooms/inner/presenters/group:staff")[0] == 204
    assert alice.call("PUT", "/api/v1/rooms/inner/owners/user:erin")[0] == 404
    assert alice.call("PUT", "/api/v1/rooms/inner/members/nobody")[0] == 400
    assert bob.call("PUT", "/api/v1/rooms/inner/members/user:bob")[0] == 403
    room = alice.call("GET", "/api/v1/rooms/inner")[1]
    assert "user:erin" in room["members"] and room["presenters"] == ["group:staff"], room
    erin = await connect(f.server, "erin", "erin-pw")
    await erin["xep_0045"].join_muc_wait(f"inner@{MUC}", "erin", maxstanzas=0, timeout=10)
    # Removing erin from the members of the members-only room puts her out at once.
    import asyncio
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    gone = asyncio.Queue()
    erin.register_handler(Callback("gone", MatchXPath("{jabber:client}presence"), gone.put_nowait))
    assert alice.call("DELETE", "/api/v1/rooms/inner/members/user:erin")[0] == 204
    while True:
        p = await asyncio.wait_for(gone.get(), 10)
        if p["type"] == "unavailable" and p["from"].resource == "erin":
            break
    assert "321" in {s.get("code") for s in p.xml.iter("{http://jabber.org/protocol/muc#user}status")}
    await erin.close()
    # Disabling and enabling.
    assert alice.call("PATCH", "/api/v1/rooms/inner", {"disabled": True})[1]["disabled"] is True
    assert alice.call("PATCH", "/api/v1/rooms/inner", {"disabled": False, "type": "normal"})[1]["disabled"] is False


async def test_search(f):
    bob = await connect(f.server, "bob", "bob-pw")
    await bob["xep_0045"].join_muc_wait(f"town@{MUC}", "bob", maxstanzas=0, timeout=10)
    for i in range(3):
        bob.send_message(mto=f"town@{MUC}", mbody=f"the heron lands {i}", mtype="groupchat")
    for _ in range(3):
        await bob.next_groupchat()
    await bob.close()
    w = signed_in(f, "erin")
    status, body, _ = w.call("GET", "/api/v1/search?q=heron")
    assert status == 200 and body["count"] == 3 and not body["truncated"], body
    assert [r["body"] for r in body["results"]] == [f"the heron lands {i}" for i in (2, 1, 0)]  # newest first
    assert body["results"][0]["room"] == f"town@{MUC}" and body["results"][0]["nick"] == "bob"
    status, body, _ = w.call("GET", "/api/v1/search?q=heron&limit=2")
    assert len(body["results"]) == 2 and body["truncated"] is True
    status, body, _ = w.call("GET", "/api/v1/search?sender=bob&q=lands+2")
    assert [r["body"] for r in body["results"]] == ["the heron lands 2"], body
    assert w.call("GET", "/api/v1/search")[0] == 400
    assert w.call("GET", "/api/v1/search?q=x&limit=zero")[0] == 400
    assert w.call("GET", "/api/v1/search?q=x&start=yesterday")[0] == 400
    assert w.call("GET", "/api/v1/search?q=%22unclosed")[0] in (200, 400)
    # Bytes that are not UTF-8, or a NUL, are no query (PostgreSQL would refuse them as text).
    for bad in ("q=%C1", "q=heron%00", "sender=bob&q=%FF", "q=%zz"):
        assert w.call("GET", f"/api/v1/search?{bad}")[0] == 400, bad
    assert Web(f).call("GET", "/api/v1/search?q=heron")[0] == 401


async def test_unknown_endpoints_and_methods(f):
    w = signed_in(f, "alice")
    assert w.call("GET", "/api/v1/nothing")[0] == 404
    assert w.call("GET", "/api/v2/rooms")[0] == 404
    assert w.call("DELETE", "/api/v1/rooms")[0] == 405
    assert w.call("POST", "/api/v1/categories", {})[0] == 405
    status = w.call("POST", "/api/v1/rooms", raw=b"x" * (70 * 1024), headers={"Content-Type": "application/json"})[0]
    assert status == 413, status
    status, body, _ = Web(f).call("GET", "/api/v1/info")
    assert status == 200 and body["muc_domain"] == MUC


async def test_the_openapi_file_describes_every_route(f):
    import yaml
    from harness import REPO
    spec = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    w = signed_in(f, "root")
    values = {"{node}": "town", "{list}": "presenters", "{principal}": "user:erin"}
    bodies = {"post": {"username": "root", "password": "root-pw"}, "patch": {"description": "Town square"}}
    for path, ops in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in ops or (path, method) == ("/session", "delete"):
                continue
            url = "/api/v1" + path
            for key, value in values.items():
                url = url.replace(key, value)
            body = bodies.get(method) if path != "/rooms" else {"address": "from-spec", "category": "Projects"}
            status, answer, _ = w.call(method.upper(), url, body)
            assert status != 405 and not (status == 404 and answer == {"error": "Not found"}), (method, path, status, answer)
            assert str(status) in ops[method]["responses"], (method, path, status, "undocumented status")



async def test_a_file_of_megabytes_uploads_and_downloads(f):
    """Larger than an HTTP parser's usual 1 MiB: the upload slot's size is the only limit."""
    import hashlib
    import os
    data = os.urandom(5 * 1024 * 1024 + 17)
    alice = await connect(f.server, "alice", "alice-pw")
    try:
        put, get = await request_slot(alice, "big.bin", len(data))
        conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=30)
        conn.request("PUT", put[len(f.server.url):], body=data, headers={"Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        assert r.status == 201, (r.status, r.read())
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=30)
        auth = base64.b64encode(b"alice:alice-pw").decode()
        conn.request("GET", get[len(f.server.url):], headers={"Authorization": "Basic " + auth})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        assert r.status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    finally:
        await alice.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
