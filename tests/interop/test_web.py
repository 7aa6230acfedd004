#!/usr/bin/python3
"""The web services: XMPP over WebSocket (RFC 7395), host-meta (XEP-0156), health and metrics,
and HTTP file upload (XEP-0363) with downloads for the readers of the room the link was
posted in. Usage: test_web.py PATH/TO/perch [test ...]"""

import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import sys
import time
import types
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from harness import (MUC, UPLOAD, IqError, RawStream, Server, WsXmpp, connect, post_link,
                     request_slot, run)



def setup():
    s = Server(sys.argv[1], extra_config="[files]\nmax_file_size_kb = 64",
               http_config='websocket_origins = ["https://intranet.example.com"]\n'
                           'min_body_rate = 1000\nbody_grace_s = 2')
    for u in ("alice", "bob", "mallory"):
        s.add_user(u, f"{u}-pw")
    s.cli("category", "add", "Projects")
    s.cli("category", "add", "Paperless", "--no-file-upload")
    s.cli("room", "add", "design", "--category", "Projects", "--privacy", "closed")
    s.cli("room", "grant", "design", "member", "user:alice")
    s.cli("room", "grant", "design", "member", "user:bob")
    s.cli("room", "add", "memo", "--category", "Paperless")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


def fetch(f, method, path, body=None, headers=None, auth=None):
    """(status, headers, body bytes) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=10)
    headers = dict(headers or {})
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    conn.close()
    return out


def local(url, f):
    assert url.startswith(f.server.url), url
    return url[len(f.server.url):]


async def login(f, user):
    return await connect(f.server, user, f"{user}-pw")


async def test_health_and_metrics(f):
    status, headers, body = fetch(f, "GET", "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok", body
    alice = await login(f, "alice")
    status, headers, body = fetch(f, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    sessions = re.search(r"^perch_sessions (\d+)$", text, re.M)
    assert sessions and int(sessions.group(1)) >= 1, text
    for name in ("perch_rooms", "perch_messages_posted_total", "perch_store_commit_seconds_total",
                 "perch_store_job_wait_seconds_total", 'perch_http_responses_total{class="2xx"}'):
        assert name in text, name
    # Nobody is joining: no room join under way or waiting (the admission's count is not leaked).
    for name in ("perch_room_joins_running", "perch_room_joins_waiting"):
        assert re.search(rf"^{name} 0$", text, re.M), (name, text)
    # Latency histograms: alice's login is in the login one (each bucket counts what is at or
    # under its bound, so the +Inf bucket equals the count).
    logins = int(re.search(r'^perch_login_seconds_count (\d+)$', text, re.M).group(1))
    assert logins >= 1 and f'perch_login_seconds_bucket{{le="+Inf"}} {logins}' in text, text
    buckets = [int(n) for n in re.findall(r'^perch_login_seconds_bucket\{le="[^"]+"\} (\d+)$', text, re.M)]
    assert len(buckets) == 15 and buckets == sorted(buckets), buckets
    for name in ("perch_post_commit_seconds", "perch_delivery_seconds", "perch_mam_query_seconds",
                 "perch_search_seconds", "perch_store_job_wait_seconds"):
        assert f"# TYPE {name} histogram" in text and f"{name}_count " in text, name
    # Stream errors by condition: a stream with a bad namespace is one more.
    def errors(text, condition):
        return int(re.search(rf'^perch_stream_errors_total{{condition="{condition}"}} (\d+)$', text, re.M).group(1))
    before = errors(text, "invalid-namespace")
    import socket
    with socket.create_connection((f.server.host, f.server.port), timeout=5) as raw:
        raw.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                    b"xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
        while raw.recv(4096):
            pass
    after = fetch(f, "GET", "/metrics")[2].decode()
    assert errors(after, "invalid-namespace") == before + 1, after
    await alice.close()
    assert fetch(f, "GET", "/nothing-here")[0] == 404
    assert fetch(f, "GET", "/chat/../../etc/passwd")[0] in (400, 404)


async def test_https_serves_with_the_xmpp_certificate(f):
    import ssl
    context = ssl.create_default_context(cafile=str(f.server.cert))
    conn = http.client.HTTPSConnection("localhost", f.server.https_port, timeout=10, context=context)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())["status"] == "ok"
    # Browsers are told to keep to HTTPS for this host (and only over HTTPS: RFC 6797).
    assert r.getheader("Strict-Transport-Security") == "max-age=31536000"
    conn.close()
    plain = http.client.HTTPConnection(f.server.host, f.server.http_port, timeout=10)
    plain.request("GET", "/healthz")
    assert plain.getresponse().getheader("Strict-Transport-Security") is None
    plain.close()


def raw_exchange(f, data):
    """Sends raw bytes to the web port and reads everything until the server closes."""
    import socket
    with socket.create_connection((f.server.host, f.server.http_port), timeout=5) as s:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got.decode(errors="replace")


async def test_a_body_whose_end_is_unclear_is_refused(f):
    # `chunked, identity`: read as no body, the rest would be taken for a second request
    # (request smuggling behind a proxy that reads it otherwise). Refused, and the connection
    # ends; so do two Transfer-Encoding lines.
    for codings in (["chunked, identity"], ["identity"], ["gzip, chunked"], ["chunked", "chunked"]):
        lines = "".join(f"Transfer-Encoding: {c}\r\n" for c in codings)
        text = raw_exchange(f, ("POST /api/v1/session HTTP/1.1\r\nHost: x\r\n" + lines +
                                "\r\n5\r\nhello\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").encode())
        assert re.match(r"HTTP/1.1 (400|501) ", text), (codings, text)
        assert text.count("HTTP/1.1") == 1, text  # nothing after it was taken as a request
    # A chunk whose size is not a number, or not one that fits, is answered, not hung up on.
    for size in ("zz", "FFFFFFFFFFFFFFFFFFFF", "5;bad extension", ""):
        text = raw_exchange(f, ("POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
                                f"Transfer-Encoding: chunked\r\n\r\n{size}\r\nhello\r\n").encode())
        assert text.startswith("HTTP/1.1 400 ") and "malformed" in text, (size, text)


async def test_a_declared_length_beyond_memory_is_refused_at_once(f):
    # Answered from the head: nothing of the declared size is set aside, and the server lives.
    for path in ("/api/v1/session", "/healthz", "/upload/no-such-slot/x"):
        method = "PUT" if path.startswith("/upload/") else "POST"
        text = raw_exchange(f, f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 779999999999999090\r\n\r\nabc".encode())
        assert re.match(r"HTTP/1.1 (413|404) ", text), (path, text)
    assert raw_exchange(f, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        ).startswith("HTTP/1.1 200 ")


async def test_folded_header_lines_are_refused(f):
    """A header line continued on the next (obs-fold) is refused, not joined: a proxy in front
    could read such a head otherwise. Pipelined requests behind an ordinary one still work."""
    def exchange(data):
        return raw_exchange(f, data)

    for fold in (" b", "\tb"):
        text = exchange(f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n{fold}\r\n"
                        "Connection: close\r\n\r\n".encode())
        assert text.startswith("HTTP/1.1 400 ") and "folded header lines" in text, text
    text = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert text.count("HTTP/1.1 200 ") == 2, text
    # A head whose lines end in a bare LF is refused at once (it waited for the idle timeout).
    started = time.monotonic()
    text = exchange(b"GET /healthz HTTP/1.1\nHost: x\n\n")
    assert text.startswith("HTTP/1.1 400 ") and "CR LF" in text, text
    assert time.monotonic() - started < 5, time.monotonic() - started
    # A head that never ends within 16 KB is refused too.
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
    text = exchange(head + b"a" * (16 * 1024 - len(head)))  # all of it read: no reset
    assert text.startswith("HTTP/1.1 400 "), text[:200]


async def test_a_body_that_trickles_is_cut_off(f):
    """A request body must keep coming: after http.body_grace_s (2 s here), at
    http.min_body_rate bytes a second (1000 here). Ten bytes every half second loses the
    connection within seconds (it held it for the whole 300 s transfer timeout before); a body
    that comes at a few KB a second is read and answered."""
    import socket
    import time

    def send_slowly(chunk, interval, total):
        s = socket.create_connection((f.server.host, f.server.http_port), timeout=15)
        s.sendall(f"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {total}\r\n\r\n".encode())
        start, sent = time.monotonic(), 0
        try:
            while sent < total:
                part = b" " * min(chunk, total - sent)
                s.sendall(part)
                sent += len(part)
                time.sleep(interval)
                if time.monotonic() - start > 12:
                    break
            s.settimeout(15)
            answer = s.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""
        finally:
            s.close()
        return answer, sent, time.monotonic() - start

    answer, sent, took = send_slowly(10, 0.5, 60000)
    assert answer == b"" and took < 8, (answer[:200], sent, took)
    answer, sent, took = send_slowly(2000, 0.25, 16000)
    assert answer.startswith(b"HTTP/1.1 400 "), (answer[:200], sent, took)


async def test_host_meta_names_the_websocket_endpoint(f):
    status, headers, body = fetch(f, "GET", "/.well-known/host-meta")
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    link = ET.fromstring(body).find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("rel") == "urn:xmpp:alt-connections:websocket"
    assert link.get("href") == f"ws://127.0.0.1:{f.server.http_port}/xmpp-websocket"
    status, headers, body = fetch(f, "GET", "/.well-known/host-meta.json")
    assert json.loads(body)["links"][0]["href"] == link.get("href")


async def test_websocket_opens_only_for_this_servers_pages_and_those_configured(f):
    """A page of another site may not open a chat session (its visitor's cookies, their
    network): refused before the upgrade. The server's own pages, the origins configured in
    http.websocket_origins and clients that are not browser pages (no Origin) get in."""
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{f.server.http_port + 1}"):
        ws = WsXmpp(f.server, origin=origin)
        assert ws.status == 403, (origin, ws.status)
        ws.close()
    for origin in (f"http://127.0.0.1:{f.server.http_port}", "https://INTRANET.example.com",
                   None):
        ws = WsXmpp(f.server, origin=origin)
        assert ws.status == 101, (origin, ws.status)
        ws.close()


async def test_websocket_session_speaks_rfc7395(f):
    refused = WsXmpp(f.server, protocols=())
    assert refused.status == 400  # no xmpp subprotocol offered
    refused.close()
    ws = WsXmpp(f.server)
    assert ws.status == 101 and ws.headers["sec-websocket-protocol"] == "xmpp"
    frames = ws.login("alice", "alice-pw")
    assert frames[0].startswith("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'"), frames[0]
    for frame in frames:  # one complete element per frame, namespaces declared on it
        root = ET.fromstring(frame)
        assert root.tag.startswith("{"), frame
    assert "xmlns:stream='http://etherx.jabber.org/streams'" in frames[1]
    assert "SCRAM-SHA-256" in frames[1]
    assert "alice@localhost/ws" in frames[-1]
    # The same session core as TCP: a room joined over WebSocket talks to a slixmpp client.
    bob = await login(f, "bob")
    await bob["xep_0045"].join_muc_wait(f"design@{MUC}", "bob", maxstanzas=0, timeout=10)
    ws.send(f"<presence xmlns='jabber:client' to='design@{MUC}/alice'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>")
    joined = ws.recv_until("code='110'")
    assert all(ET.fromstring(fr).tag == "{jabber:client}presence" for fr in joined if fr), joined
    ws.send(f"<message xmlns='jabber:client' to='design@{MUC}' type='groupchat' id='w1'><body>over the web</body></message>")
    got = await bob.next_groupchat()
    assert got["body"] == "over the web" and got["from"].resource == "alice"
    bob.send_message(mto=f"design@{MUC}", mbody="back to you", mtype="groupchat")
    await bob.next_groupchat()  # (lets slixmpp write it: the WebSocket reads below block)
    frames = ws.recv_until("back to you")
    assert ET.fromstring(frames[-1]).find("{jabber:client}body").text == "back to you"
    ws.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
    assert ws.recv_until("close")[-1].startswith("<close")
    ws.close()
    await bob.close()


async def test_upload_post_and_download(f):
    alice, bob = await login(f, "alice"), await login(f, "bob")
    info = await alice["xep_0030"].get_info(jid="localhost")
    assert UPLOAD in info["disco_info"]["features"]
    form = info.xml.find(".//{jabber:x:data}x")
    sizes = [fl.find("{jabber:x:data}value").text for fl in form.findall("{jabber:x:data}field") if fl.get("var") == "max-file-size"]
    assert sizes == [str(64 * 1024)], sizes
    data = os.urandom(40000)
    put, get = await request_slot(alice, "../../etc/report v1.bin", len(data))
    assert put.startswith(f.server.url + "/upload/") and get.startswith(f.server.url + "/files/")
    assert get.endswith("/report%20v1.bin"), get  # no path taken from the client
    assert fetch(f, "OPTIONS", local(put, f))[1]["access-control-allow-methods"].startswith("PUT")
    # A wrong Content-Length is refused before anything is stored.
    conn = http.client.HTTPConnection("127.0.0.1", f.server.http_port, timeout=10)
    conn.putrequest("PUT", local(put, f))
    conn.putheader("Content-Length", str(len(data) - 1))
    conn.endheaders()
    conn.send(data[:-1])
    assert conn.getresponse().status == 400
    conn.close()
    assert fetch(f, "PUT", local(put, f), body=data + b"x")[0] == 413
    status, _, _ = fetch(f, "PUT", local(put, f), body=data)
    assert status == 201
    assert fetch(f, "PUT", local(put, f), body=data)[0] == 404  # a slot is used once
    # Not readable by anybody but the uploader until posted in a room.
    assert fetch(f, "GET", local(get, f))[0] == 401
    assert fetch(f, "GET", local(get, f), auth=("bob", "bob-pw"))[0] == 403
    status, headers, body = fetch(f, "GET", local(get, f), auth=("alice", "alice-pw"))
    assert status == 200 and body == data
    for c, nick in ((alice, "alice"), (bob, "bob")):
        await c["xep_0045"].join_muc_wait(f"design@{MUC}", nick, maxstanzas=0, timeout=10)
    post_link(alice, f"design@{MUC}", get)
    got = await bob.next_groupchat()
    assert got.xml.find("{jabber:x:oob}x/{jabber:x:oob}url").text == get
    status, headers, body = fetch(f, "GET", local(get, f), auth=("bob", "bob-pw"))
    assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert headers["content-disposition"] == "attachment; filename*=UTF-8''report%20v1.bin"
    assert headers["x-content-type-options"] == "nosniff"
    # Mallory is no member of the closed room: refused.
    assert fetch(f, "GET", local(get, f), auth=("mallory", "mallory-pw"))[0] == 403
    assert fetch(f, "GET", local(get, f), auth=("bob", "wrong"))[0] == 401
    await alice.close()
    await bob.close()


async def test_bad_uploads_are_refused(f):
    alice, mallory = await login(f, "alice"), await login(f, "mallory")
    try:
        await request_slot(alice, "huge.iso", 64 * 1024 + 1)
        raise AssertionError("an oversized slot was given")
    except IqError as e:
        assert e.iq["error"]["condition"] == "not-acceptable"
        assert e.iq.xml.find(f".//{{{UPLOAD}}}file-too-large/{{{UPLOAD}}}max-file-size").text == str(64 * 1024)
    try:
        await request_slot(alice, "x.bin", "-3")
        raise AssertionError("a negative size was accepted")
    except IqError as e:
        assert e.iq["error"]["condition"] == "bad-request"
    assert fetch(f, "PUT", "/upload/not-a-slot/x.bin", body=b"abc")[0] == 404
    # Two dots inside a name are no path trick.
    put, get = await request_slot(alice, "notes..v2.txt", 3, "text/plain")
    assert fetch(f, "PUT", local(put, f), body=b"v2!")[0] == 201
    assert fetch(f, "GET", local(get, f), auth=("alice", "alice-pw"))[2] == b"v2!"
    # Uploads are off in the Paperless category: the link is refused there.
    put, get = await request_slot(alice, "memo.txt", 5, "text/plain")
    assert fetch(f, "PUT", local(put, f), body=b"hello")[0] == 201
    await alice["xep_0045"].join_muc_wait(f"memo@{MUC}", "alice", maxstanzas=0, timeout=10)
    post_link(alice, f"memo@{MUC}", get)
    err = await alice.next_message_with("{jabber:client}error")
    assert err["error"]["condition"] == "not-allowed", err
    # Nobody may post a link to somebody else's file to make it readable.
    put2, get2 = await request_slot(alice, "secret.txt", 3, "text/plain")
    assert fetch(f, "PUT", local(put2, f), body=b"abc")[0] == 201
    bob = await login(f, "bob")
    await bob["xep_0045"].join_muc_wait(f"design@{MUC}", "bob2", maxstanzas=0, timeout=10)
    post_link(bob, f"design@{MUC}", get2)
    err = await bob.next_message_with("{jabber:client}error")
    assert err["error"]["condition"] == "forbidden", err
    assert fetch(f, "GET", local(get2, f), auth=("bob", "bob-pw"))[0] == 403
    for c in (alice, bob, mallory):
        await c.close()



async def test_a_first_start_that_cannot_work_says_why(f):
    """An operator's mistakes stop the server with one line that names the setting: a port in
    use, a configured certificate that is missing (nothing is made in its place) or whose key
    is another's."""
    import subprocess
    config = f.server.config.read_text()
    # The running server's own ports: the first listener tells.
    rc, out = start_with(f, config)
    assert rc == 1 and f"cannot listen on {f.server.host}:{f.server.port} (c2s.port): Address already in use (another server may be running)" in out, out
    assert "reactive_socket_service" not in out, out
    # Elsewhere for the rest, with a certificate path that does not exist.
    moved = config
    for port in (f.server.port, f.server.tls_port, f.server.http_port, f.server.https_port, f.server.admin_port):
        moved = moved.replace(f"= {port}\n", "= 0\n")
    missing = f.server.dir / "no-such-cert.pem"
    rc, out = start_with(f, moved + f'\n[tls]\ncert = "{missing}"\nkey = "{f.server.dir / "var" / "tls" / "key.pem"}"\n')
    assert rc == 1 and f"tls.cert {missing} does not exist" in out, out
    assert not missing.exists()
    other_key = f.server.dir / "other-key.pem"
    subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-out", str(other_key)],
                   check=True, capture_output=True)
    rc, out = start_with(f, moved + f'\n[tls]\ncert = "{f.server.dir / "var" / "tls" / "cert.pem"}"\nkey = "{other_key}"\n')
    assert rc == 1 and "cannot be used together" in out and "is not the certificate's" in out, out
    # A database that cannot be reached: nothing is left in the data directory.
    empty = f.server.dir / "untouched"
    rc, out = start_with(f, moved.replace(f'data_dir = "{f.server.dir / "var"}"', f'data_dir = "{empty}"')
                         + '\n[store]\nbackend = "postgres"\nurl = "host=127.0.0.1 port=1 connect_timeout=2"\n')
    assert rc == 1, out
    assert sorted(p.name for p in empty.iterdir()) == [], list(empty.iterdir())


async def test_the_log_can_go_to_a_rotated_file(f):
    import signal
    import subprocess
    import time
    other = Server(sys.argv[1])
    log = other.dir / "logs" / "perch.log"
    log.parent.mkdir()
    try:
        other.config.write_text(f'log_file = "{log}"\nlog_max_mb = 1\nlog_files = 2\n' + other.config.read_text())
        proc = subprocess.Popen([other.binary, "serve", "--config", str(other.config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not (log.exists() and " serving " in log.read_text()):
            assert time.time() < deadline and proc.poll() is None, "no start line in the log file"
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 0 and " serving " not in out, out  # nothing on standard error
        assert "stopped" in log.read_text()
    finally:
        other.cleanup()


async def test_a_public_url_that_does_not_resolve_is_warned_about(f):
    other = Server(sys.argv[1])
    try:
        other.config.write_text(other.config.read_text().replace(
            f'public_url = "{other.url}"', 'public_url = "https://chat.example.invalid:8443"'))
        other.start()
        assert "http.public_url https://chat.example.invalid:8443 names the host chat.example.invalid, which does not resolve here" in other.log_text()
    finally:
        other.cleanup()
    assert "does not resolve" not in f.server.log_text()


async def test_joins_beyond_the_limit_wait_their_turn_and_a_post_follows_its_join(f):
    """With at most two joins under way, a client that asks for twelve rooms at once and posts
    into the last right away gets all twelve, and its post lands after its join (not refused as
    coming from a non-occupant); then nothing is left running or waiting."""
    other = Server(sys.argv[1], c2s_config="max_pending_joins = 2")
    raw = None
    try:
        other.add_user("ann", "ann-pw")
        other.cli("category", "add", "Halls")
        other.cli("room", "bulk-add", "hall", "12", "--category", "Halls")  # hall1 .. hall12
        other.start()
        raw = RawStream(other)
        raw.login("ann", "ann-pw")
        raw.send("".join(f"<presence to='hall{i}@{MUC}/ann'><x xmlns='http://jabber.org/protocol/muc'>"
                         "<history maxstanzas='0'/></x></presence>" for i in range(1, 13))
                 + f"<message to='hall12@{MUC}' type='groupchat' id='m1'><body>after my joins</body></message>")
        out = raw.read_until(b"after my joins", timeout=20)
        out += raw.read_all(timeout=1)
        assert "type='error'" not in out, out
        for i in range(1, 13):
            assert re.search(rf"<presence[^>]*from='hall{i}@{MUC}/ann'[^>]*>.*?code='110'", out), (i, out)
        assert f"from='hall12@{MUC}/ann'" in out.split("after my joins")[0], out
        status, _, body = fetch(types.SimpleNamespace(server=other), "GET", "/metrics")
        text = body.decode()
        for name in ("perch_room_joins_running", "perch_room_joins_waiting"):
            assert re.search(rf"^{name} 0$", text, re.M), (name, text)
    finally:
        if raw:
            raw.close()
        other.cleanup()


def start_with(f, text):
    import subprocess
    path = f.server.dir / "other.toml"
    path.write_text(text)
    r = subprocess.run([f.server.binary, "serve", "--config", str(path)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


if __name__ == "__main__":
    run(globals(), setup, teardown)
