#!/usr/bin/python3
"""The admin API (/admin/v1 on the admin port, HTTPS) and `perch admin` over it: every area's
success and refusals, each role's limits, bad input that changes nothing, changes that reach
connected clients at once, and every change on the compliance record with who made it.
Usage: test_admin.py PATH/TO/perch [test ...]"""

import asyncio
import base64
import http.client
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import time
import types

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import DOMAIN, MUC, IqError, PresenceError, Server, connect, mam_query, post_link, request_slot, run

ROOT_PW = "root-password-1"


def setup():
    s = Server(sys.argv[1], extra_config="[compliance]\nenabled = true")
    for u in ("alice", "bob", "carol"):
        s.add_user(u, f"{u}-pw")
    s.cli("category", "add", "Projects")
    s.cli("room", "add", "town", "--category", "Projects")
    s.cli("room", "add", "inner", "--category", "Projects", "--privacy", "closed")
    s.cli("room", "grant", "inner", "member", "user:bob")
    s.cli("admin-account", "add", "root", "--password", ROOT_PW)
    s.cli("admin-account", "add", "viewer", "--role", "read-only", "--password", "viewer-pw-1")
    s.cli("admin-account", "add", "auditor", "--role", "compliance-officer", "--password", "auditor-pw-1")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


TOKENS = {}  # (account, password) -> bearer token of a sign-in


def call(f, method, path, body=None, user="root", password=ROOT_PW, headers=None, raw=None):
    """One request to the admin API; (status, parsed body, headers). With an account and no
    Authorization of the caller's own, it signs in once (POST /session) and sends the bearer
    token from then on, as the console does: a key derivation per sign-in, not per request
    (the sign-in's refusal is the answer when it fails). Basic is tried by the tests that
    name it, and by `perch admin`."""
    if user is not None and not (headers and "Authorization" in headers):
        key = (user, password)
        if key not in TOKENS:
            status, answer, out = request(f, "POST", "/session", {"name": user, "password": password})
            if status != 200:
                return status, answer, out
            TOKENS[key] = answer["token"]
        status, answer, out = request(f, method, path, body, {**(headers or {}), "Authorization": "Bearer " + TOKENS[key]}, raw)
        if status == 401:  # signed out meanwhile (a disabled account): once more, afresh
            del TOKENS[key]
            return call(f, method, path, body, user, password, headers, raw)
        return status, answer, out
    return request(f, method, path, body, headers, raw, user, password)


def request(f, method, path, body=None, headers=None, raw=None, user=None, password=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(f.server.host, f.server.admin_port, timeout=15, context=ctx)
    h = dict(headers or {})
    if user is not None:
        h.setdefault("Authorization",
                     "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    conn.request(method, "/admin/v1" + path, body=data, headers=h)
    r = conn.getresponse()
    payload = r.read()
    out_headers = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, (json.loads(payload) if payload else None), out_headers


def compliance_events(f, kind):
    """The events of one type on the compliance record, once the outbox has drained."""
    deadline = time.time() + 15
    while f.server.content_query("SELECT count(*) FROM compliance_outbox")[0][0] and time.time() < deadline:
        time.sleep(0.1)
    db = sqlite3.connect(f"file:{f.server.dir / 'var' / 'compliance.db'}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT content FROM events WHERE type = ? ORDER BY seq", (kind,)).fetchall()
    finally:
        db.close()
    return [json.loads(c) for (c,) in rows]


def perch_admin(f, *args, env=None, server=None):
    """`perch admin` as an operator runs it: credentials from the environment, the server's
    own certificate trusted, reached by the name it holds."""
    e = dict(os.environ)
    e.update({"PERCH_ADMIN_USER": "root", "PERCH_ADMIN_PASSWORD": ROOT_PW,
              "PERCH_ADMIN_CACERT": str(f.server.dir / "var" / "tls" / "cert.pem")})
    e.update(env or {})
    return subprocess.run([f.server.binary, "admin", "--server", server or f"localhost:{f.server.admin_port}",
                           *args], capture_output=True, text=True, timeout=60, env=e)


async def test_no_or_wrong_credentials_are_refused_and_logged(f):
    status, body, headers = call(f, "GET", "/users", user=None)
    assert status == 401 and "Sign in" in body["error"]
    # Never a Basic challenge: a browser would keep and replay the credentials on its own.
    assert "basic" not in headers.get("www-authenticate", "").lower()
    status, body, _ = call(f, "GET", "/users", password="wrong")
    assert status == 401 and body["error"] == "Wrong admin account name or password"
    assert "authentication failed for 'root'" in f.server.log_text()
    assert call(f, "GET", "/users", user="alice", password="alice-pw")[0] == 401  # chat logins are not admins
    assert call(f, "GET", "/users", headers={"Authorization": "Basic !!!"})[0] == 401
    # HTTP Basic, as `perch admin` sends it: right and wrong.
    assert request(f, "GET", "/whoami", user="root", password=ROOT_PW)[1]["name"] == "root"
    assert request(f, "GET", "/whoami", user="root", password="wrong")[0] == 401
    assert call(f, "GET", "/users", headers={"Authorization": "Bearer made-up"})[0] == 401


async def test_guessing_admin_passwords_is_slowed(f):
    statuses = [call(f, "GET", "/whoami", user="ghost", password=f"guess{i}")[0] for i in range(8)]
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:], statuses
    status, _, headers = call(f, "GET", "/whoami", user="ghost", password="again")
    assert status == 429 and int(headers["retry-after"]) >= 1


async def test_each_role_does_what_it_may_and_nothing_more(f):
    assert call(f, "GET", "/whoami")[1] == {"name": "root", "role": "administrator"}
    viewer = {"user": "viewer", "password": "viewer-pw-1"}
    auditor = {"user": "auditor", "password": "auditor-pw-1"}
    assert call(f, "GET", "/users", **viewer)[0] == 200
    assert call(f, "GET", "/rooms/town", **viewer)[0] == 200
    for method, path, body in [("POST", "/users", {"name": "zed"}),
                               ("PATCH", "/users/alice", {"disabled": True}),
                               ("PUT", "/rooms/town/members/user:alice", None),
                               ("DELETE", "/rooms/town", None),
                               ("POST", "/accounts", {"name": "x", "role": "administrator"}),
                               ("DELETE", "/sessions/alice", None)]:
        status, answer, _ = call(f, method, path, body, **viewer)
        assert status == 403 and "read-only may not" in answer["error"], (method, path, status)
        assert call(f, method, path, body, **auditor)[0] == 403, (method, path)
    # The compliance officer reads nothing else either.
    assert call(f, "GET", "/users", **auditor)[0] == 403
    assert call(f, "GET", "/whoami", **auditor)[1]["role"] == "compliance-officer"
    # Nothing changed.
    assert call(f, "GET", "/users/alice")[1]["disabled"] is False
    assert call(f, "GET", "/users/zed")[0] == 404


async def test_bad_input_is_refused_and_changes_nothing(f):
    before = call(f, "GET", "/users")[1]
    cases = [
        ("POST", "/users", {"name": "bad@name"}, 400),
        ("POST", "/users", {"name": "dora", "colour": "blue"}, 400),
        ("POST", "/users", {"name": 7}, 400),
        ("POST", "/users", {"name": "alice"}, 409),
        ("PATCH", "/users/alice", {"disabled": "yes"}, 400),
        ("PATCH", "/users/nobody", {"disabled": True}, 404),
        ("POST", "/rooms", {"node": "x y", "category": "Projects"}, 400),
        ("POST", "/rooms", {"node": "newroom", "category": "Nope"}, 404),
        ("POST", "/rooms", {"node": "newroom", "category": "Projects", "privacy": "wide"}, 400),
        ("PUT", "/rooms/town/members/alice", None, 400),
        ("PUT", "/rooms/town/owners/user:alice", None, 404),
        ("PUT", "/rooms/nosuch/members/user:alice", None, 404),
        ("PUT", "/categories/Projects/allowed/group:", None, 400),
        ("PUT", "/policy/everyone", {"chat": False}, 400),
        ("PUT", "/policy/global", {"chat": "off"}, 400),
        ("POST", "/accounts", {"name": "has space", "role": "administrator"}, 400),
        ("POST", "/accounts", {"name": "newadmin", "role": "king"}, 400),
        ("POST", "/rooms/town/clear", {"before": "yesterday"}, 400),
    ]
    for method, path, body, expected in cases:
        status, answer, _ = call(f, method, path, body)
        assert status == expected and answer["error"], (method, path, status, answer)
    assert call(f, "POST", "/users", raw=b"{not json", headers={"Content-Type": "application/json"})[0] == 400
    assert call(f, "POST", "/users", raw=b'{"name": "x"}', headers={"Content-Type": "text/plain"})[0] == 415
    assert call(f, "GET", "/nothing")[0] == 404
    assert call(f, "DELETE", "/users")[0] == 405
    assert call(f, "GET", "/users")[1] == before
    assert call(f, "GET", "/rooms/newroom")[0] == 404
    assert call(f, "GET", "/accounts")[1] and all(a["name"] != "newadmin" for a in call(f, "GET", "/accounts")[1])


async def test_users_groups_and_policy(f):
    status, made, _ = call(f, "POST", "/users", {"name": "Dora", "display_name": "Dora D"})
    assert status == 201 and made["name"] == "dora" and len(made["password"]) == 16
    dora = await connect(f.server, "dora", made["password"])
    await dora.close()
    status, changed, _ = call(f, "PATCH", "/users/dora", {"password": "dora-pw", "email": "d@example.org"})
    assert status == 200 and changed["email"] == "d@example.org" and "password" not in changed
    dora = await connect(f.server, "dora", "dora-pw")
    await dora.close()
    assert [u["name"] for u in call(f, "GET", "/users?prefix=do")[1]["users"]] == ["dora"]
    page = call(f, "GET", "/users?limit=2")[1]
    assert len(page["users"]) == 2 and page["more"] is True
    assert call(f, "POST", "/groups", {"name": "night shift"})[0] == 201
    assert call(f, "PUT", "/groups/night%20shift/members/dora")[0] == 204
    assert call(f, "PUT", "/groups/nope/members/dora")[0] == 404
    groups = {g["name"]: g for g in call(f, "GET", "/groups")[1]}
    assert groups["night shift"]["members"] == ["dora"]
    assert call(f, "GET", "/users/dora")[1]["groups"] == ["night shift"]
    assert call(f, "PUT", "/policy/group:night%20shift", {"chat": False})[0] == 204
    assert {"scope": "group:night shift", "chat": False} in call(f, "GET", "/policy")[1]
    assert call(f, "PUT", "/policy/group:night%20shift", {"chat": None})[0] == 204
    assert all(p["scope"] != "group:night shift" for p in call(f, "GET", "/policy")[1])
    # Each change is on the compliance record, naming the admin account that made it.
    changes = [e for e in compliance_events(f, "USERCHANGE") if e["user"] == "dora"]
    assert [c["change"] for c in changes] == ["created", "profile", "password"], changes
    assert {c["by"] for c in changes} == {"admin:root"}
    assert any(e.get("group") == "night shift" and e["by"] == "admin:root"
               for e in compliance_events(f, "GROUPCHANGE"))


async def test_a_disabled_user_is_out_at_once(f):
    carol = await connect(f.server, "carol", "carol-pw")
    gone = asyncio.ensure_future(carol.wait_until("disconnected", 5))
    t0 = time.time()
    assert call(f, "PATCH", "/users/carol", {"disabled": True})[1]["disabled"] is True
    await gone
    print(f"  session ended {time.time() - t0:.2f} s after the change", flush=True)
    assert call(f, "PATCH", "/users/carol", {"disabled": False})[0] == 200
    carol = await connect(f.server, "carol", "carol-pw")
    await carol.close()


def fetch_file(f, url, user, password):
    """GET of a download URL with HTTP Basic: the status."""
    path = url[len(f.server.url):]
    conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=10)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request("GET", path, headers={"Authorization": "Basic " + auth})
    status = conn.getresponse().status
    conn.close()
    return status


async def test_a_revoked_member_leaves_the_room_at_once(f):
    bob = await connect(f.server, "bob", "bob-pw")
    await bob["xep_0045"].join_muc_wait(f"inner@{MUC}", "bob", maxstanzas=0, timeout=10)
    # A file another member posted in the room, which bob may read while he is a member.
    assert call(f, "PUT", "/rooms/inner/members/user:carol")[0] == 204
    carol = await connect(f.server, "carol", "carol-pw")
    await carol["xep_0045"].join_muc_wait(f"inner@{MUC}", "carol", maxstanzas=0, timeout=10)
    put, get = await request_slot(carol, "plan.txt", 5)
    conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=10)
    conn.request("PUT", put[len(f.server.url):], body=b"plans", headers={"Content-Type": "application/octet-stream"})
    assert conn.getresponse().status in (200, 201)
    conn.close()
    post_link(carol, f"inner@{MUC}", get)
    await carol.next_groupchat()
    await carol.close()
    assert call(f, "DELETE", "/rooms/inner/members/user:carol")[0] == 204
    assert fetch_file(f, get, "bob", "bob-pw") == 200
    presences = asyncio.Queue()
    bob.register_handler(Callback("gone", MatchXPath("{jabber:client}presence"), presences.put_nowait))
    assert call(f, "DELETE", "/rooms/inner/members/user:bob")[0] == 204
    while True:
        p = await asyncio.wait_for(presences.get(), 10)
        if p["type"] == "unavailable" and p["from"].resource == "bob":
            break
    assert "321" in {s.get("code") for s in p.xml.iter("{http://jabber.org/protocol/muc#user}status")}
    assert "user:bob" not in call(f, "GET", "/rooms/inner")[1]["members"]
    # And may not come back, nor read the archive.
    try:
        await bob["xep_0045"].join_muc_wait(f"inner@{MUC}", "bob", maxstanzas=0, timeout=5)
        raise AssertionError("a revoked member joined again")
    except PresenceError as e:
        assert e.condition == "registration-required", e.condition
    try:
        await mam_query(bob, f"inner@{MUC}")
        raise AssertionError("a revoked member read the archive")
    except IqError as e:
        assert e.iq["error"]["condition"] in ("forbidden", "registration-required", "item-not-found"), e.iq
    assert fetch_file(f, get, "bob", "bob-pw") == 403
    await bob.close()
    assert call(f, "PUT", "/rooms/inner/members/user:bob")[0] == 204
    assert fetch_file(f, get, "bob", "bob-pw") == 200
    events = [e for e in compliance_events(f, "MEMBERSHIP") if e.get("principal") == "user:bob"]
    assert [e["change"] for e in events][-2:] == ["removed", "added"], events


async def left_with_321(client, queue, nick):
    while True:
        p = await asyncio.wait_for(queue.get(), 10)
        if p["type"] == "unavailable" and p["from"].resource == nick:
            codes = {s.get("code") for s in p.xml.iter("{http://jabber.org/protocol/muc#user}status")}
            assert "321" in codes, codes
            return


async def test_group_and_policy_changes_reach_occupants_at_once(f):
    # A category open to one group: leaving the group, or persistent chat turned off by
    # policy, takes a signed-in occupant out of its rooms at once, and keeps them out.
    assert call(f, "POST", "/groups", {"name": "crew"})[0] == 201
    assert call(f, "PUT", "/groups/crew/members/carol")[0] == 204
    assert call(f, "POST", "/categories", {"name": "Crew only", "allowed": ["group:crew"]})[0] == 201
    assert call(f, "POST", "/rooms", {"node": "galley", "category": "Crew only"})[0] == 201
    carol = await connect(f.server, "carol", "carol-pw")
    presences = asyncio.Queue()
    carol.register_handler(Callback("gone", MatchXPath("{jabber:client}presence"), presences.put_nowait))
    await carol["xep_0045"].join_muc_wait(f"galley@{MUC}", "carol", maxstanzas=0, timeout=10)
    # Carol is also signed in on the room pages, which list the room.
    web = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=10)
    web.request("POST", "/api/v1/session", body=json.dumps({"username": "carol", "password": "carol-pw"}),
                headers={"Content-Type": "application/json"})
    signed = web.getresponse()
    cookie = signed.getheader("Set-Cookie").split(";")[0]
    signed.read()

    def web_rooms():
        web.request("GET", "/api/v1/rooms?scope=all", headers={"Cookie": cookie})
        r = web.getresponse()
        return [room["node"] for room in json.loads(r.read())]

    assert "galley" in web_rooms()
    assert call(f, "DELETE", "/groups/crew/members/carol")[0] == 204
    await left_with_321(carol, presences, "carol")
    for _ in range(50):  # the browser's sign-in follows (read with the change notice)
        if "galley" not in web_rooms():
            break
        await asyncio.sleep(0.05)
    assert "galley" not in web_rooms()
    web.close()
    try:
        await carol["xep_0045"].join_muc_wait(f"galley@{MUC}", "carol", maxstanzas=0, timeout=5)
        raise AssertionError("joined a room of a category no longer open to her")
    except PresenceError as e:
        assert e.condition in ("item-not-found", "forbidden", "registration-required"), e.condition
    # Back in the group (same session): in again. Then policy turns persistent chat off.
    assert call(f, "PUT", "/groups/crew/members/carol")[0] == 204
    deadline = time.time() + 5
    while True:
        try:
            await carol["xep_0045"].join_muc_wait(f"galley@{MUC}", "carol", maxstanzas=0, timeout=5)
            break
        except PresenceError:
            assert time.time() < deadline, "not let in again after rejoining the group"
            await asyncio.sleep(0.2)
    assert call(f, "PUT", "/policy/group:crew", {"chat": False})[0] == 204
    await left_with_321(carol, presences, "carol")
    assert call(f, "PUT", "/policy/group:crew", {"chat": None})[0] == 204
    await carol.close()


def form_fields(iq):
    form = iq.xml.find(".//{jabber:x:data}x")
    return {fl.get("var"): fl.findtext("{jabber:x:data}value") for fl in form.findall("{jabber:x:data}field")}


async def test_settings_change_the_running_server_at_once(f):
    settings = {s["name"]: s for s in call(f, "GET", "/settings")[1]}
    assert settings["max_message_chars"]["value"] == "8000" and not settings["max_message_chars"]["set_here"]
    assert set(settings) == {"default_history", "participant_update_limit", "max_message_chars",
                             "max_story_chars", "max_file_size_kb", "room_management_url"}, settings
    # Bad input: refused, nothing changed.
    assert call(f, "PUT", "/settings/max_message_chars", {"value": 0})[0] == 400
    assert call(f, "PUT", "/settings/max_message_chars", {"value": "many"})[0] == 400
    assert call(f, "PUT", "/settings/room_management_url", {"value": "javascript:alert(1)"})[0] == 400
    assert call(f, "PUT", "/settings/no_such_thing", {"value": 1})[0] == 404
    assert call(f, "PUT", "/settings/max_message_chars", {"value": 20},
                user="viewer", password="viewer-pw-1")[0] == 403
    assert call(f, "GET", "/settings", user="viewer", password="viewer-pw-1")[0] == 200
    assert call(f, "GET", "/settings")[1][2]["value"] == "8000"
    alice = await connect(f.server, "alice", "alice-pw")
    await alice["xep_0045"].join_muc_wait(f"town@{MUC}", "alice", maxstanzas=0, timeout=10)
    errors = asyncio.Queue()
    alice.add_event_handler("message_error", errors.put_nowait)
    assert call(f, "PUT", "/settings/max_message_chars", {"value": 20})[0] == 204
    assert call(f, "PUT", "/settings/max_file_size_kb", {"value": "1"})[0] == 204
    assert call(f, "PUT", "/settings/room_management_url",
                {"value": "https://intranet.example.org/rooms"})[0] == 204
    shown = {s["name"]: s for s in call(f, "GET", "/settings")[1]}
    assert shown["max_message_chars"]["value"] == "20" and shown["max_message_chars"]["set_here"]
    assert shown["max_message_chars"]["file_value"] == "8000"
    # At once, on the running server: the limit in the room's disco#info, a longer post
    # refused, the upload limit in the server's.
    assert form_fields(await alice["xep_0030"].get_info(jid=f"town@{MUC}"))[
        "{urn:perch:limits:0}message-max-chars"] == "20"
    alice.send_message(mto=f"town@{MUC}", mbody="x" * 21, mtype="groupchat")
    assert (await asyncio.wait_for(errors.get(), 10))["error"]["condition"] == "not-acceptable"
    service = form_fields(await alice["xep_0030"].get_info(jid=MUC))
    assert service["management-url"] == "https://intranet.example.org/rooms", service
    server_info = await alice["xep_0030"].get_info(jid=DOMAIN)
    assert form_fields(server_info).get("max-file-size") == "1024", form_fields(server_info)
    assert any(e.get("setting") == "max_message_chars" and e["by"] == "admin:root"
               for e in compliance_events(f, "SETTINGCHANGE"))
    # Back to the configuration file's values.
    for name in ("max_message_chars", "max_file_size_kb", "room_management_url"):
        assert call(f, "DELETE", f"/settings/{name}")[0] == 204
    assert form_fields(await alice["xep_0030"].get_info(jid=f"town@{MUC}"))[
        "{urn:perch:limits:0}message-max-chars"] == "8000"
    alice.send_message(mto=f"town@{MUC}", mbody="x" * 21, mtype="groupchat")
    assert (await alice.next_groupchat())["body"] == "x" * 21
    assert form_fields(await alice["xep_0030"].get_info(jid=MUC))["management-url"].endswith("/rooms/")
    await alice.close()


async def test_sighup_reads_the_configuration_again(f):
    import signal
    original = f.server.config.read_text()
    assert "[muc]\nposts_per_second = 0\n" in original

    async def hangup(expect_in_log):
        mark = len(f.server.log_text())
        f.server.proc.send_signal(signal.SIGHUP)
        for _ in range(100):
            if expect_in_log in f.server.log_text()[mark:]:
                return f.server.log_text()[mark:]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {expect_in_log!r} in the log after SIGHUP: {f.server.log_text()[mark:]}")

    try:
        changed = original.replace("[muc]\nposts_per_second = 0\n", "[muc]\nposts_per_second = 0\nmax_story_chars = 777\n")
        changed = changed.replace(f"port = {f.server.port}\n", f"port = {f.server.port + 1}\n", 1)
        f.server.config.write_text(changed)
        await hangup("settings' file values applied")
        for _ in range(100):  # logged beside it, in either order
            if "c2s.port changed" in f.server.log_text():
                break
            await asyncio.sleep(0.05)
        story = {s["name"]: s for s in call(f, "GET", "/settings")[1]}["max_story_chars"]
        assert story["value"] == "777" and story["file_value"] == "777", story
        assert "c2s.port changed" in f.server.log_text(), f.server.log_text()[-2000:]
        alice = await connect(f.server, "alice", "alice-pw")  # still on the port it had
        fields = form_fields(await alice["xep_0030"].get_info(jid=f"town@{MUC}"))
        assert fields["{urn:perch:limits:0}story-max-chars"] == "777", fields
        await alice.close()
        # A file that no longer loads changes nothing.
        f.server.config.write_text(changed + "\n[muc]\nmax_story_chars = -5\n")
        await hangup("not applied")
        assert {s["name"]: s for s in call(f, "GET", "/settings")[1]}["max_story_chars"]["value"] == "777"
    finally:
        f.server.config.write_text(original)
        await hangup("settings' file values applied")
    assert {s["name"]: s for s in call(f, "GET", "/settings")[1]}["max_story_chars"]["value"] == "64000"


async def test_addins_registered_and_shown_by_rooms(f):
    assert call(f, "PUT", "/addins/Team%20wiki", {"url": "https://wiki.example.org/pane"})[0] == 204
    assert call(f, "PUT", "/addins/bad<name>", {"url": "https://x.example.org"})[0] == 400
    assert call(f, "PUT", "/addins/Ftp", {"url": "ftp://x.example.org"})[0] == 400
    assert call(f, "PUT", "/addins/Viewer", {"url": "https://x.example.org"},
                user="viewer", password="viewer-pw-1")[0] == 403
    assert call(f, "PATCH", "/rooms/town", {"addin": "No such"})[0] in (400, 406, 422)
    assert call(f, "GET", "/rooms/town")[1]["addin"] == ""
    assert call(f, "PATCH", "/rooms/town", {"addin": "Team wiki"})[0] == 200
    room = call(f, "GET", "/rooms/town")[1]
    assert room["addin"] == "Team wiki" and room["addin_url"] == "https://wiki.example.org/pane", room
    alice = await connect(f.server, "alice", "alice-pw")
    fields = form_fields(await alice["xep_0030"].get_info(jid=f"town@{MUC}"))
    assert fields["{urn:perch:room:0}addin"] == "Team wiki"
    assert fields["{urn:perch:room:0}addin-url"] == "https://wiki.example.org/pane"
    # A new URL reaches the rooms at once.
    assert call(f, "PUT", "/addins/Team%20wiki", {"url": "https://wiki.example.org/v2"})[0] == 204
    fields = form_fields(await alice["xep_0030"].get_info(jid=f"town@{MUC}"))
    assert fields["{urn:perch:room:0}addin-url"] == "https://wiki.example.org/v2"
    await alice.close()
    listed = call(f, "GET", "/addins")[1]
    assert listed[0]["name"] == "Team wiki" and listed[0]["rooms"] == ["town"], listed
    status, answer, _ = call(f, "DELETE", "/addins/Team%20wiki")
    assert status == 409 and "town" in answer["error"], answer
    assert call(f, "PATCH", "/rooms/town", {"addin": ""})[0] == 200
    assert call(f, "DELETE", "/addins/Team%20wiki")[0] == 204
    assert call(f, "DELETE", "/addins/Team%20wiki")[0] == 404
    assert [e.get("change") for e in compliance_events(f, "ADDINCHANGE")][-1] == "removed"


async def test_messages_removed_or_replaced_by_filter(f):
    assert call(f, "POST", "/rooms", {"node": "sweep", "category": "Projects"})[0] == 201
    alice = await connect(f.server, "alice", "alice-pw")
    bob = await connect(f.server, "bob", "bob-pw")
    for c, nick in ((alice, "alice"), (bob, "bob")):
        await c["xep_0045"].join_muc_wait(f"sweep@{MUC}", nick, maxstanzas=0, timeout=10)
    for c, body in ((alice, "The Launch code is 1234"), (bob, "launch tomorrow"),
                    (bob, "lunch?"), (alice, "nothing to see")):
        c.send_message(mto=f"sweep@{MUC}", mbody=body, mtype="groupchat")
        await c.next_groupchat()
    # Bad filters change nothing.
    assert call(f, "POST", "/rooms/sweep/messages/remove", {})[0] == 400
    assert call(f, "POST", "/rooms/sweep/messages/remove", {"keywords": "x", "match": "some"})[0] == 400
    assert call(f, "POST", "/rooms/sweep/messages/remove", {"from": "yesterday"})[0] == 400
    assert call(f, "POST", "/rooms/nope/messages/remove", {"keywords": "x"})[0] == 404
    assert call(f, "POST", "/rooms/sweep/messages/remove", {"keywords": "launch"},
                user="viewer", password="viewer-pw-1")[0] == 403
    # A dry run says what would go.
    status, would, _ = call(f, "POST", "/rooms/sweep/messages/remove", {"keywords": "launch", "dry_run": True})
    assert status == 200 and would["matched"] == 2 and would["removed"] == 0, would
    # Replaced: what bob sent with "launch" in it; everyone sees the retraction at once.
    status, done, _ = call(f, "POST", "/rooms/sweep/messages/remove",
                           {"keywords": "LAUNCH", "sender": "bob", "replace_with": "[withdrawn]"})
    assert status == 200 and done["removed"] == 1 and done["more"] is False, done
    retraction = await alice.next_message_with("{urn:xmpp:fasten:0}apply-to")
    assert retraction.xml.find("{urn:xmpp:fasten:0}apply-to").get("id") == done["ids"][0]
    # Removed: the exact phrase, case as written.
    status, done, _ = call(f, "POST", "/rooms/sweep/messages/remove",
                           {"keywords": "Launch code", "match": "exact", "case_sensitive": True})
    assert status == 200 and done["removed"] == 1, done
    results, _ = await mam_query(alice, f"sweep@{MUC}")
    assert [r["body"] for r in results] == [
        "This message was removed by a moderator", "[withdrawn]", "lunch?", "nothing to see"], results
    # Nothing matches twice.
    assert call(f, "POST", "/rooms/sweep/messages/remove", {"keywords": "launch"})[1]["matched"] == 0
    # The same from the command line.
    r = perch_admin(f, "room", "remove-messages", "sweep", "--keywords", "see", "--sender", "alice", "--dry-run")
    assert r.returncode == 0 and "matched:" in r.stdout and " 1" in r.stdout.split("matched:")[1].splitlines()[0], r.stdout
    r = perch_admin(f, "room", "remove-messages", "sweep")
    assert r.returncode == 1 and "HTTP 400" in r.stderr, r.stderr
    await alice.close()
    await bob.close()


async def test_rooms_created_configured_moderated_and_deleted(f):
    assert call(f, "POST", "/rooms", {"node": "ops", "category": "Projects", "name": "Operations",
                                      "privacy": "open"})[0] == 201
    assert call(f, "POST", "/rooms", {"node": "ops", "category": "Projects"})[0] == 409
    room = call(f, "GET", "/rooms/ops")[1]
    assert room["name"] == "Operations" and room["managers"] == [], room  # no admin account as manager
    alice = await connect(f.server, "alice", "alice-pw")
    await alice["xep_0045"].join_muc_wait(f"ops@{MUC}", "alice", maxstanzas=0, timeout=10)
    assert call(f, "GET", "/rooms/ops")[1]["occupants"] == 1
    alice.send_message(mto=f"ops@{MUC}", mbody="to be removed", mtype="groupchat")
    msg = await alice.next_groupchat()
    stanza_id = msg.xml.find("{urn:xmpp:sid:0}stanza-id").get("id")
    assert call(f, "PATCH", "/rooms/ops", {"description": "On call", "type": "auditorium"})[0] == 200
    assert call(f, "PATCH", "/rooms/ops", {"privacy": "wide"})[0] == 400
    shown = call(f, "GET", "/rooms/ops")[1]
    assert shown["description"] == "On call" and shown["type"] == "auditorium"
    assert call(f, "DELETE", f"/rooms/ops/messages/{stanza_id}", {"reason": "spam"})[0] == 204
    assert call(f, "DELETE", "/rooms/ops/messages/no-such-id", {})[0] == 404
    assert call(f, "POST", "/rooms/ops/clear", {"before": "2000-01-01T00:00:00Z"})[1] == {"deleted": 0}
    assert "ops" in [r["node"] for r in call(f, "GET", "/rooms?category=Projects")[1]]
    presences = asyncio.Queue()
    alice.register_handler(Callback("gone", MatchXPath("{jabber:client}presence"), presences.put_nowait))
    assert call(f, "DELETE", "/rooms/ops", {"reason": "done with it"})[0] == 204
    while True:
        p = await asyncio.wait_for(presences.get(), 10)
        if p["type"] == "unavailable":
            break
    assert p.xml.find(".//{http://jabber.org/protocol/muc#user}destroy") is not None
    assert call(f, "GET", "/rooms/ops")[0] == 404
    await alice.close()
    assert any(e.get("by") == "admin:root" for e in compliance_events(f, "CLEARHISTORY"))


async def test_a_name_xml_cannot_carry_reaches_clients_as_the_replacement_character(f):
    """JSON may carry what XML 1.0 may not (a NUL, other control characters, U+FFFF); a room
    named so must not make every client that lists the rooms read a broken stream and leave.
    Bytes that are not UTF-8 do not get in from the command line."""
    name, description = "bell\u0007 nul\u0000 end", "not a character: \uffff"
    assert call(f, "POST", "/rooms", {"node": "odd", "category": "Projects", "name": name})[0] == 201
    assert call(f, "PATCH", "/rooms/odd", {"description": description})[0] == 200
    # The command line refuses bytes that are not UTF-8 (the byte 0xFF here): they would
    # reach the database, and from there clients, exports and JSON.
    r = f.server.cli("room", "add", "odder", "--category", "Projects", "--name", "x\udcffy",
                     check=False)
    assert r.returncode == 2 and "not UTF-8" in r.stderr, (r.returncode, r.stderr)
    f.server.cli("room", "add", "odder", "--category", "Projects", "--name", "x\u00ffy")
    alice = await connect(f.server, "alice", "alice-pw")
    deadline = time.time() + 10  # until the running server has picked up the command's room
    while True:
        items = await alice["xep_0030"].get_items(jid=MUC, timeout=10)
        names = {str(i[0]): i[2] for i in items["disco_items"]["items"]}
        if f"odder@{MUC}" in names or time.time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert names[f"odd@{MUC}"] == "bell\ufffd nul\ufffd end", names
    assert names[f"odder@{MUC}"] == "x\u00ffy", names
    info = await alice["xep_0030"].get_info(jid=f"odd@{MUC}", timeout=10)
    assert "\ufffd" in str(info), info
    await alice["xep_0045"].join_muc_wait(f"odd@{MUC}", "alice", maxstanzas=0, timeout=10)
    await alice.close()
    assert call(f, "GET", "/rooms/odd")[1]["name"] == name  # kept as given


async def test_categories(f):
    status, _, _ = call(f, "POST", "/categories", {"name": "Board", "allowed": ["user:alice"],
                                                   "creators": ["user:alice"], "file_upload": False})
    assert status == 201
    assert call(f, "POST", "/categories", {"name": "Board"})[0] == 409
    assert call(f, "POST", "/categories", {"name": "Odd", "allowed": ["somebody"]})[0] == 400
    assert call(f, "PUT", "/categories/Board/allowed/user:bob")[0] == 204
    assert call(f, "PUT", "/categories/Board/members/user:bob")[0] == 404
    board = {c["name"]: c for c in call(f, "GET", "/categories")[1]}["Board"]
    assert board["allowed"] == ["user:alice", "user:bob"] and board["file_upload"] is False, board
    assert "Odd" not in {c["name"] for c in call(f, "GET", "/categories")[1]}
    # Switches and description changed; a category with rooms is not deleted, an empty one is.
    assert call(f, "PATCH", "/categories/Board", {"file_upload": True, "invitations": False,
                                                  "description": "The board"})[0] == 204
    board = {c["name"]: c for c in call(f, "GET", "/categories")[1]}["Board"]
    assert board["file_upload"] is True and board["invitations"] is False and board["description"] == "The board"
    assert call(f, "PATCH", "/categories/Board", {"file_upload": "yes"})[0] == 400
    assert call(f, "PATCH", "/categories/Nope", {"file_upload": True})[0] == 404
    status, answer, _ = call(f, "DELETE", "/categories/Projects")
    assert status == 409 and "town" in answer["error"], answer
    assert perch_admin(f, "category", "set", "Board", "chat_history=off").returncode == 0
    assert {c["name"]: c for c in call(f, "GET", "/categories")[1]}["Board"]["chat_history"] is False
    assert perch_admin(f, "category", "delete", "Board").returncode == 0
    assert "Board" not in {c["name"] for c in call(f, "GET", "/categories")[1]}
    assert call(f, "POST", "/rooms", {"node": "boardroom", "category": "Board"})[0] == 404



async def test_who_is_eligible_for_a_category_and_a_room(f):
    assert call(f, "POST", "/groups", {"name": "oncall"})[0] == 201
    for u in ("alice", "bob", "carol"):
        assert call(f, "PUT", f"/groups/oncall/members/{u}")[0] == 204
    assert call(f, "POST", "/categories", {"name": "Ops", "allowed": ["group:oncall"],
                                           "denied": ["user:carol"], "creators": ["user:alice"]})[0] == 201
    status, who, _ = call(f, "GET", "/categories/Ops/eligible")
    assert status == 200 and who["members"]["users"] == ["alice", "bob"] and who["creators"]["users"] == ["alice"], who
    assert call(f, "POST", "/rooms", {"node": "pager", "category": "Ops", "privacy": "closed"})[0] == 201
    assert call(f, "PUT", "/rooms/pager/members/user:bob")[0] == 204
    assert call(f, "PUT", "/rooms/pager/managers/user:carol")[0] == 204  # denied by the category
    status, who, _ = call(f, "GET", "/rooms/pager/eligible")
    assert status == 200 and who["join"]["users"] == ["bob"] and who["configure"]["users"] == [], who
    assert call(f, "GET", "/rooms/nosuch/eligible")[0] == 404
    assert call(f, "GET", "/categories/Nope/eligible")[0] == 404
    assert call(f, "GET", "/rooms/pager/eligible", user="viewer", password="viewer-pw-1")[0] == 200


async def test_sessions_listed_and_disconnected(f):
    alice = await connect(f.server, "alice", "alice-pw")
    bob = await connect(f.server, "bob", "bob-pw")
    listed = call(f, "GET", "/sessions")[1]
    jids = [s["jid"] for s in listed["sessions"]]
    assert any(j.startswith("alice@") for j in jids) and listed["more"] is False, listed
    assert listed["unanswered"] == [] and "server" not in listed["sessions"][0], listed
    short = call(f, "GET", "/sessions?limit=1")[1]
    assert len(short["sessions"]) == 1 and short["more"] is True, short
    assert call(f, "GET", "/sessions?limit=0")[0] == 400
    r = perch_admin(f, "session", "list")
    assert r.returncode == 0 and "alice@localhost/" in r.stdout and "bob@localhost/" in r.stdout, r.stdout
    await bob.close()
    gone = asyncio.ensure_future(alice.wait_until("disconnected", 5))
    assert call(f, "DELETE", "/sessions/alice")[1] == {"disconnected": 1}
    await gone
    assert not any(s["jid"].startswith("alice@") for s in call(f, "GET", "/sessions")[1]["sessions"])


async def test_admin_accounts_and_console_sign_in(f):
    status, made, _ = call(f, "POST", "/accounts", {"name": "second", "role": "administrator"})
    assert status == 201 and made["role"] == "administrator" and len(made["password"]) == 16
    pw = made["password"]
    # A bearer token from a sign-in, as the console uses.
    status, signed, _ = call(f, "POST", "/session", {"name": "second", "password": pw}, user=None)
    assert status == 200 and signed["role"] == "administrator"
    bearer = {"Authorization": "Bearer " + signed["token"]}
    assert call(f, "GET", "/whoami", user=None, headers=bearer)[1]["name"] == "second"
    assert call(f, "POST", "/session", {"name": "second", "password": "nope"}, user=None)[0] == 401
    # Demoted: the token carries the new role at once; disabled: it is out.
    assert call(f, "PATCH", "/accounts/second", {"role": "read-only"})[1]["role"] == "read-only"
    assert call(f, "POST", "/users", {"name": "x1"}, user=None, headers=bearer)[0] == 403
    assert call(f, "PATCH", "/accounts/second", {"disabled": True})[0] == 200
    assert call(f, "GET", "/whoami", user=None, headers=bearer)[0] == 401
    assert call(f, "GET", "/whoami", user="second", password=pw)[0] == 403
    assert call(f, "PATCH", "/accounts/second", {"disabled": False, "role": "administrator"})[0] == 200
    # Signing out ends the token.
    signed = call(f, "POST", "/session", {"name": "second", "password": pw}, user=None)[1]
    bearer = {"Authorization": "Bearer " + signed["token"]}
    assert call(f, "DELETE", "/session", user=None, headers=bearer)[0] == 204
    assert call(f, "GET", "/whoami", user=None, headers=bearer)[0] == 401
    # The last enabled administrator stays.
    assert call(f, "DELETE", "/accounts/second")[0] == 204
    status, answer, _ = call(f, "DELETE", "/accounts/root")
    assert status == 409 and "last enabled administrator" in answer["error"]
    assert call(f, "PATCH", "/accounts/root", {"role": "read-only"})[0] == 409
    assert call(f, "GET", "/whoami")[1]["role"] == "administrator"
    changes = [(e["account"], e["change"]) for e in compliance_events(f, "ADMINCHANGE")]
    assert ("second", "created") in changes and ("second", "removed") in changes, changes


async def test_perch_admin_from_the_command_line(f):
    r = perch_admin(f, "room", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["NODE", "NAME", "CATEGORY"] and any(l.startswith("town ") for l in lines), r.stdout
    r = perch_admin(f, "--json", "room", "show", "town")
    assert r.returncode == 0 and json.loads(r.stdout)["node"] == "town", r.stdout + r.stderr
    r = perch_admin(f, "user", "add", "erin", "--password", "erin-pw")
    assert r.returncode == 0 and "erin" in r.stdout, r.stderr
    r = perch_admin(f, "room", "grant", "inner", "members", "user:erin")
    assert r.returncode == 0 and "added" in r.stdout, r.stderr
    assert "user:erin" in call(f, "GET", "/rooms/inner")[1]["members"]
    # Refusals: a one-line reason and exit status 1.
    r = perch_admin(f, "room", "grant", "nosuch", "members", "user:erin")
    assert r.returncode == 1 and "No such room (HTTP 404)" in r.stderr, r.stderr
    r = perch_admin(f, "user", "list", env={"PERCH_ADMIN_PASSWORD": "wrong"})
    assert r.returncode == 1 and "HTTP 401" in r.stderr, r.stderr
    r = perch_admin(f, "user", "list", env={"PERCH_ADMIN_USER": "", "PERCH_ADMIN_PASSWORD": ""})
    assert r.returncode == 1 and "give an admin account" in r.stderr, r.stderr
    # The certificate is checked: by another name, or without the server's certificate, no.
    r = perch_admin(f, "health", server=f"127.0.0.1:{f.server.admin_port}")
    assert r.returncode == 1 and "--cacert" in r.stderr, r.stderr
    r = perch_admin(f, "health", env={"PERCH_ADMIN_CACERT": ""})
    assert r.returncode == 1 and "not trusted" in r.stderr, r.stderr
    # A password file works as the environment does.
    pw = f.server.dir / "admin-pw"
    pw.write_text(ROOT_PW + "\n")
    r = perch_admin(f, "--password-file", str(pw), "whoami", env={"PERCH_ADMIN_PASSWORD": ""})
    assert r.returncode == 0 and "administrator" in r.stdout, r.stderr
    r = perch_admin(f, "health", server="localhost:1")
    assert r.returncode == 1 and "cannot connect" in r.stderr, r.stderr
    # Settings, add-ins and who is eligible, as the API has them.
    r = perch_admin(f, "settings", "set", "default_history", "12")
    assert r.returncode == 0 and "set" in r.stdout, r.stderr
    r = perch_admin(f, "settings", "list")
    row = next(l.split() for l in r.stdout.splitlines() if l.startswith("default_history "))
    assert row[1:] == ["12", "30", "true"], r.stdout
    r = perch_admin(f, "settings", "set", "default_history", "lots")
    assert r.returncode == 1 and "whole number" in r.stderr and "HTTP 400" in r.stderr, r.stderr
    assert perch_admin(f, "settings", "reset", "default_history").returncode == 0
    assert {s["name"]: s for s in call(f, "GET", "/settings")[1]}["default_history"]["value"] == "30"
    r = perch_admin(f, "addin", "set", "Board", "https://board.example.org/")
    assert r.returncode == 0, r.stderr
    assert perch_admin(f, "room", "set", "inner", "addin=Board").returncode == 0
    r = perch_admin(f, "addin", "list")
    assert any(l.split() == ["Board", "https://board.example.org/", "inner"] for l in r.stdout.splitlines()), r.stdout
    r = perch_admin(f, "addin", "remove", "Board")
    assert r.returncode == 1 and "HTTP 409" in r.stderr, r.stderr
    assert perch_admin(f, "room", "set", "inner", "addin=").returncode == 0
    assert perch_admin(f, "addin", "remove", "Board").returncode == 0
    r = perch_admin(f, "room", "eligible", "inner")
    join = next(l for l in r.stdout.splitlines() if l.startswith("join:"))
    assert "bob" in join and "erin" in join and "alice" not in join, r.stdout



async def test_data_exported_from_another_machine(f):
    import tarfile
    out = f.server.dir / "remote-export.tar"
    assert call(f, "PUT", "/settings/max_story_chars", {"value": 5000})[0] == 204
    r = perch_admin(f, "data", "export", "--out", str(out))
    assert r.returncode == 0 and "exported to" in r.stdout and " users" in r.stdout, r.stdout + r.stderr
    with tarfile.open(out) as t:
        names = t.getnames()
        assert "perch-export/manifest.json" in names and "perch-export/users.jsonl" in names, names
        manifest = json.load(t.extractfile("perch-export/manifest.json"))
        users = [json.loads(l)["username"] for l in t.extractfile("perch-export/users.jsonl")]
        settings = [json.loads(l) for l in t.extractfile("perch-export/settings.jsonl")]
    assert manifest["format"] == "perch-data" and "alice" in users
    assert {"name": "max_story_chars", "value": "5000"} in settings, settings
    assert call(f, "DELETE", "/settings/max_story_chars")[0] == 204
    # Nothing is left behind on the server; only administrators may take the data.
    assert list((f.server.dir / "var" / "tmp").glob("*")) == []
    assert call(f, "POST", "/data/export", {}, user="viewer", password="viewer-pw-1")[0] == 403
    assert call(f, "POST", "/data/export", {}, user="auditor", password="auditor-pw-1")[0] == 403
    # The archive loads into a new server's empty database: locally, with `perch data import`…
    other = Server(sys.argv[1])
    try:
        (other.dir / "unpacked").mkdir()
        subprocess.run(["tar", "-xf", str(out), "-C", str(other.dir / "unpacked")], check=True)
        other.cli("data", "import", str(other.dir / "unpacked" / "perch-export"))
        other.start()
        alice = await connect(other, "alice", "alice-pw")
        await alice.close()
    finally:
        other.cleanup()
    await data_imported_from_another_machine(f, out)


async def data_imported_from_another_machine(f, out):
    """…and over the admin API into a running server that holds only its admin account."""
    import hashlib
    archive = out.read_bytes()
    # Only a signed-in administrator's upload is read; never into a database in use.
    status, body, _ = request(f, "POST", "/data/import", raw=archive, user="root", password=ROOT_PW)
    assert status == 401 and "bearer token" in body["error"], body
    assert call(f, "POST", "/data/import", raw=archive, user="viewer", password="viewer-pw-1")[0] == 403
    status, body, _ = call(f, "POST", "/data/import", raw=archive)
    assert status == 409 and "not empty" in body["error"], body
    # A client that waits for 100 Continue hears the refusal instead, and sends nothing.
    first = expect_continue(f, None)
    assert first.startswith("HTTP/1.1 401"), first
    assert expect_continue(f, TOKENS[("root", ROOT_PW)]).startswith("HTTP/1.1 100 Continue")
    other = Server(sys.argv[1])
    try:
        other.cli("admin-account", "add", "root", "--password", ROOT_PW)
        other.start()
        g = types.SimpleNamespace(server=other)
        TOKENS.pop(("root", ROOT_PW), None)
        try:
            # A name that leaves the folder: refused, nothing written outside.
            evil = other.dir / "evil.tar"
            with tarfile_writer(evil) as t:
                add_member(t, "../escaped.txt", b"x")
            status, body, _ = call(g, "POST", "/data/import", raw=evil.read_bytes())
            assert status == 400 and "'..'" in body["error"], body
            assert not (other.dir / "var" / "escaped.txt").exists()
            # An archive whose messages name a room it lacks (its checksums made to match):
            # the users, categories and rooms loaded before the failure are rolled back.
            broken = other.dir / "broken"
            broken.mkdir()
            subprocess.run(["tar", "-xf", str(out), "-C", str(broken)], check=True)
            top = broken / "perch-export"
            with open(top / "messages.jsonl", "a") as m:
                m.write(json.dumps({"room": "nowhere", "seq": 1, "stanza_id": "x", "origin_id": "",
                                    "sender": "alice", "nick": "a", "occupant_id": "", "kind": 0,
                                    "body": "b", "payload": "", "ts_us": 1, "removed": False}) + "\n")
            manifest = json.loads((top / "manifest.json").read_text())
            manifest["sha256"]["messages.jsonl"] = hashlib.sha256((top / "messages.jsonl").read_bytes()).hexdigest()
            (top / "manifest.json").write_text(json.dumps(manifest))
            r = perch_admin(g, "data", "import", str(top))
            assert r.returncode == 1 and "Nothing was imported" in r.stderr, r.stdout + r.stderr
            assert call(g, "GET", "/users")[1]["users"] == [] and call(g, "GET", "/rooms")[1] == []
            assert list((other.dir / "var" / "tmp").glob("*")) == []
            # The export itself: loaded, and in force at once (rooms, settings, sign-ins).
            r = perch_admin(g, "data", "import", str(out))
            assert r.returncode == 0 and "imported" in r.stdout and " users" in r.stdout, r.stdout + r.stderr
            assert any(room["node"] == "town" for room in call(g, "GET", "/rooms")[1])
            settings = {x["name"]: x for x in call(g, "GET", "/settings")[1]}
            assert settings["max_story_chars"]["value"] == "5000", settings
            alice = await connect(other, "alice", "alice-pw")
            listed = await alice["xep_0030"].get_items(jid=MUC)
            assert f"town@{MUC}" in {i[0] for i in listed["disco_items"]["items"]}, listed
            await alice["xep_0045"].join_muc_wait(f"town@{MUC}", "alice", maxstanzas=0, timeout=10)
            await alice.close()
            assert list((other.dir / "var" / "tmp").glob("*")) == []
            r = perch_admin(g, "data", "import", str(broken / "perch-export"))  # a folder, packed
            assert r.returncode == 1 and "not empty" in r.stderr, r.stderr
        finally:
            TOKENS.pop(("root", ROOT_PW), None)
    finally:
        other.cleanup()


def expect_continue(f, token):
    """The first answer to an import's head sent with Expect: 100-continue (and a gigabyte
    announced), before any of the body."""
    import socket
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((f.server.host, f.server.admin_port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            s.sendall((f"POST /admin/v1/data/import HTTP/1.1\r\nHost: x\r\n{auth}"
                       "Content-Type: application/x-tar\r\nContent-Length: 1000000000\r\n"
                       "Expect: 100-continue\r\n\r\n").encode())
            import time as _t; _t.sleep(0.3)
            return s.recv(4096).decode(errors="replace")


TOPOLOGY = """
[databases.content]
url = "host=db1 dbname=perch password=hidden"

[[pools]]
name = "chat"
content_database = "content"
file_store = "/srv/perch-files"
standby_after_s = 20

[[pools.servers]]
name = "north"
client_address = "chat1.example.org:5222"
peer_address = "10.0.0.1:8011"
site = "a"

[[pools.servers]]
name = "south"
client_address = "chat2.example.org:5222"
peer_address = "10.0.0.2:8011"
role = "standby"
site = "b"
"""


async def test_the_topology_checked_and_published(f):
    assert call(f, "GET", "/topology")[1] == {"version": 0}
    # Each rule broken is named, with what to do; nothing is published.
    five = TOPOLOGY + "".join(f'[[pools.servers]]\nname = "x{i}"\nclient_address = "x{i}:5222"\n'
                              f'peer_address = "10.0.1.{i}:8011"\n' for i in range(4))
    status, body, _ = call(f, "PUT", "/topology", {"text": five})
    assert status == 400 and "at most 4 may be active" in body["error"], body
    status, body, _ = call(f, "PUT", "/topology", {"text": TOPOLOGY.replace('role = "standby"', 'role = "spare"')})
    assert status == 400 and body["error"].startswith("topology:21: server south: role is"), body
    assert call(f, "PUT", "/topology", {"text": TOPOLOGY}, user="viewer", password="viewer-pw-1")[0] == 403
    assert call(f, "GET", "/topology")[1] == {"version": 0}
    status, body, _ = call(f, "POST", "/topology/check", {"text": five})
    assert status == 200 and len(body["problems"]) == 1, body
    # From another machine's command line: checked, published, shown.
    path = f.server.dir / "topology.toml"
    path.write_text(five)
    r = perch_admin(f, "topology", "validate", str(path))
    assert r.returncode == 1 and "at most 4 may be active" in r.stdout, r.stdout + r.stderr
    path.write_text(TOPOLOGY)
    r = perch_admin(f, "topology", "publish", str(path))
    assert r.returncode == 0 and "topology version 1" in r.stdout, r.stdout + r.stderr
    shown = call(f, "GET", "/topology", user="viewer", password="viewer-pw-1")[1]
    servers = shown["pools"][0]["servers"]
    assert shown["version"] == 1 and shown["by"] == "admin:root" and shown["text"] == TOPOLOGY
    assert [(x["name"], x["role"], x["up"]) for x in servers] == [("north", "active", False), ("south", "standby", False)]
    assert "hidden" not in json.dumps(shown["databases"]), shown["databases"]
    assert shown["slots"] == [{"pool": "chat", "slot": "north", "holder": "north", "since": shown["slots"][0]["since"]}]
    assert shown["pools"][0]["active_servers"] == []
    # Slots by hand: refused with the reason (nobody runs north or south here).
    status, body, _ = call(f, "POST", "/pool/failover", {"server": "north"})
    assert status == 409 and "no standby of pool chat is up" in body["error"], body
    assert call(f, "POST", "/pool/failover", {"server": "nobody"})[0] == 404
    assert call(f, "POST", "/pool/failover", {"server": "north"}, user="viewer", password="viewer-pw-1")[0] == 403
    assert call(f, "PUT", "/pool/active-servers", {"servers": ["nobody"]})[0] == 404
    assert call(f, "PUT", "/pool/active-servers", {"servers": "north"})[0] == 400
    assert call(f, "POST", "/pool/failback", {})[1] == {"back": []}
    r = perch_admin(f, "pool", "active-servers", "set", "south")
    assert r.returncode == 1 and "holds an active slot" in r.stderr, r.stderr
    r = perch_admin(f, "pool", "active-servers", "set", "north")
    assert r.returncode == 0 and call(f, "GET", "/topology")[1]["pools"][0]["active_servers"] == ["north"], r.stderr
    assert perch_admin(f, "pool", "active-servers", "clear").returncode == 0
    r = perch_admin(f, "topology", "show")
    assert r.returncode == 0 and "standby" in r.stdout and "chat2.example.org:5222" in r.stdout, r.stdout
    # The running server read it (this single server is in no pool of it, and says so).
    deadline = time.time() + 5
    while call(f, "GET", "/health")[1]["topology"]["version"] != 1:
        assert time.time() < deadline
        time.sleep(0.1)
    assert "topology version 1 (published by admin:root) does not list this server" in f.server.log_text()
    assert any(e["by"] == "admin:root" for e in compliance_events(f, "TOPOLOGYCHANGE"))


def tarfile_writer(path):
    import tarfile
    return tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)


def add_member(t, name, data):
    import io
    import tarfile
    info = tarfile.TarInfo(name)
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))


async def test_the_compliance_officer_verifies_and_exports(f):
    auditor = {"user": "auditor", "password": "auditor-pw-1"}
    status, state, _ = call(f, "GET", "/compliance", **auditor)
    assert status == 200 and state["enabled"] is True and state["healthy"] is True, state
    assert call(f, "GET", "/compliance", user="viewer", password="viewer-pw-1")[0] == 403
    compliance_events(f, "USERCHANGE")  # the outbox drained
    status, verified, _ = call(f, "POST", "/compliance/verify", {}, **auditor)
    assert status == 200 and verified["ok"] is True and verified["checked"] >= 5, verified
    assert call(f, "POST", "/compliance/export", {"format": "pdf"}, **auditor)[0] == 400
    # The compliance settings, changed while the server runs, by the officer.
    assert call(f, "PATCH", "/compliance/settings", {"run_interval_s": 60, "user_details": True}, **auditor)[0] == 204
    settings = call(f, "GET", "/compliance", **auditor)[1]
    assert settings["run_interval_s"] == 60 and settings["settings"]["user_details"] == "true", settings
    for bad in ({"run_interval_s": 5}, {"xml": False, "jsonl": False}, {"nope": 1}, {"xml": "yes"}, {}):
        assert call(f, "PATCH", "/compliance/settings", bad, **auditor)[0] == 400, bad
    assert call(f, "PATCH", "/compliance/settings", {"run_interval_s": 60},
                user="viewer", password="viewer-pw-1")[0] == 403
    assert call(f, "PATCH", "/compliance/settings", {"run_interval_s": None, "user_details": None}, **auditor)[0] == 204
    assert call(f, "GET", "/compliance", **auditor)[1]["run_interval_s"] == 900
    assert any(e["by"] == "admin:auditor" for e in compliance_events(f, "COMPLIANCECHANGE"))
    r = perch_admin(f, "compliance", "set", "retention_days=30",
                    env={"PERCH_ADMIN_USER": "auditor", "PERCH_ADMIN_PASSWORD": "auditor-pw-1"})
    assert r.returncode == 0 and call(f, "GET", "/compliance", **auditor)[1]["retention_days"] == 30, r.stderr
    assert perch_admin(f, "compliance", "set", "retention_days=file").returncode == 0
    assert call(f, "GET", "/compliance", **auditor)[1]["retention_days"] == 0
    assert call(f, "POST", "/compliance/export", {"from": "yesterday"}, **auditor)[0] == 400
    # From the command line: the events as JSON lines, the chain's head signed beside them.
    out = f.server.dir / "export.jsonl"
    r = perch_admin(f, "compliance", "export", "--format", "jsonl", "--out", str(out),
                    env={"PERCH_ADMIN_USER": "auditor", "PERCH_ADMIN_PASSWORD": "auditor-pw-1"})
    assert r.returncode == 0 and "exported" in r.stdout, r.stdout + r.stderr
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    assert any(e["type"] == "ADMINCHANGE" for e in lines) and len(lines) >= verified["checked"], len(lines)
    checkpoint = (f.server.dir / "export.jsonl.checkpoint.json").read_text()
    assert json.loads(checkpoint)["seq"] >= verified["checked"]
    # The checkpoint, kept by the officer, holds the chain.
    status, held, _ = call(f, "POST", "/compliance/verify", {"checkpoints": [checkpoint]}, **auditor)
    assert held["ok"] is True and held["checkpoints"] >= 1, held
    # Nothing of the export is left on the server.
    left = list((f.server.dir / "var" / "compliance-export" / "admin-api").iterdir())
    assert left == [], left


async def test_the_synthetic_transaction(f):
    """`perch admin test-message`: OK with its timings; CRITICAL when a test user is disabled
    or the service is stopped; UNKNOWN when the admin account may not run it."""
    xmpp = f"localhost:{f.server.port}"
    r = perch_admin(f, "test-message", "--xmpp", xmpp)
    assert r.returncode == 0 and r.stdout.startswith("OK - a message went from perch-test-1 to perch-test-2"), r.stdout
    assert len(r.stdout.splitlines()) == 1 and "delivery=" in r.stdout, r.stdout
    # Again: the users and room made the first time serve, with fresh passwords.
    assert perch_admin(f, "test-message", "--xmpp", xmpp).returncode == 0
    # Monitoring may use a read-only account.
    r = perch_admin(f, "test-message", "--xmpp", xmpp,
                    env={"PERCH_ADMIN_USER": "viewer", "PERCH_ADMIN_PASSWORD": "viewer-pw-1"})
    assert r.returncode == 0, r.stdout
    r = perch_admin(f, "test-message", "--xmpp", xmpp,
                    env={"PERCH_ADMIN_USER": "auditor", "PERCH_ADMIN_PASSWORD": "auditor-pw-1"})
    assert r.returncode == 3 and r.stdout.startswith("UNKNOWN -") and "HTTP 403" in r.stdout, r.stdout
    # A disabled test user: CRITICAL, and the test does not enable it again.
    assert call(f, "PATCH", "/users/perch-test-2", {"disabled": True})[0] == 200
    r = perch_admin(f, "test-message", "--xmpp", xmpp)
    assert r.returncode == 2 and "CRITICAL - sign-in of perch-test-2 refused" in r.stdout, r.stdout
    assert call(f, "GET", "/users/perch-test-2")[1]["disabled"] is True
    assert call(f, "PATCH", "/users/perch-test-2", {"disabled": False})[0] == 200
    # Slower than --warning (1 ms cannot be met): WARNING.
    r = perch_admin(f, "test-message", "--xmpp", xmpp, "--warning", "1")
    assert r.returncode == 1 and r.stdout.startswith("WARNING - slow"), r.stdout
    # The room stays hidden from everybody else.
    assert "perch-test" not in [r["node"] for r in call(f, "GET", "/rooms?category=Projects")[1]]
    # The service stopped: CRITICAL.
    f.server.stop()
    try:
        r = perch_admin(f, "test-message", "--xmpp", xmpp)
        assert r.returncode == 2 and r.stdout.startswith("CRITICAL - the server is not reachable"), r.stdout
    finally:
        f.server.start()


if __name__ == "__main__":
    run(globals(), setup, teardown)
