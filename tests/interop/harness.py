"""Shared pieces of the interop tests: a Perch server in a temporary directory, real clients
(slixmpp) connected to it, and a tiny runner that prints the closing `N passed, N failed` line.

Everything runs on loopback, on ports picked free at start; the server is stopped at the end."""

import asyncio
import base64
import hashlib
import hmac
import inspect
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import slixmpp
from slixmpp.exceptions import IqError, PresenceError

REPO = pathlib.Path(__file__).resolve().parents[2]
DOMAIN = "localhost"
MUC = "chat.localhost"


_PORTS_HANDED_OUT = set()


def free_port(host="127.0.0.1"):
    # Never the same port twice in one test process: the kernel readily hands back a port just
    # closed, and two settings of one server given the same one (its c2s and admin ports, seen
    # once) could never start — new_ports() keeps ports that two settings share together.
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _PORTS_HANDED_OUT:
            _PORTS_HANDED_OUT.add(port)
            return port


# Reports that a sanitizer build of the server (make test-asan, make test-tsan) wrote to its
# log: each fails the suite (see run()).
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
SANITIZER_FINDINGS = []


def note_sanitizer_reports(what, text):
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKERS):
            SANITIZER_FINDINGS.append(f"{what}: {line.strip()}")
            return


def postgres_server():
    """The connection string of the test PostgreSQL cluster when ctest runs a suite against it
    (PERCH_TEST_PG_FILE, from scripts/pg-cluster.sh), else None."""
    path = os.environ.get("PERCH_TEST_PG_FILE")
    return pathlib.Path(path).read_text().strip() if path else None


def psql(conninfo, sql):
    subprocess.run(["psql", conninfo, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True, text=True, timeout=60)


class Server:
    """One perch process on its own data directory. Its content goes to SQLite, or to a new
    database of the test PostgreSQL cluster when the suite runs against it (backend=None picks
    by the environment)."""

    def __init__(self, binary, extra_config="", c2s_config="", http_config="", backend=None,
                 host="127.0.0.1", database=None, rate_limits=False, admin_port=None):
        """`host`: the loopback address every listener binds (a pool's servers each have
        their own); `database`: an existing database of the test cluster to share (a pool),
        which this server then neither creates nor drops; `rate_limits`: keep the default
        limits on how fast a session and an occupant may send (off otherwise: most suites
        post hundreds of messages at once to have something to page through)."""
        self.binary = os.path.abspath(binary)
        self.host = host
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="perch-interop-"))
        self.pg_server, self.pg_database = postgres_server(), None
        self.owns_database = database is None
        if backend is None:
            backend = "postgres" if self.pg_server else "sqlite"
        self.backend = backend
        if backend == "postgres":
            self.pg_database = database or "perch_" + self.dir.name.replace("-", "_").lower()
            if self.owns_database:
                psql(self.pg_server + " dbname=postgres", f'CREATE DATABASE "{self.pg_database}"')
            store = ('backend = "postgres"\n'
                     f'url = "{self.pg_server} dbname={self.pg_database}"\n')
            if "[store]\n" in extra_config:
                extra_config = extra_config.replace("[store]\n", "[store]\n" + store, 1)
            else:
                http_config += "\n[store]\n" + store
        if not rate_limits:
            c2s_config += "\nstanzas_per_second = 0\n"
            if "[muc]\n" in extra_config:
                extra_config = extra_config.replace("[muc]\n", "[muc]\nposts_per_second = 0\n", 1)
            else:
                http_config += "\n[muc]\nposts_per_second = 0\n"
        self.port = free_port()
        self.tls_port = free_port()
        self.http_port = free_port()
        self.https_port = free_port()
        # A pool member's admin API shares its pool port (as by default).
        self.admin_port = admin_port or free_port()
        self.url = f"http://{host}:{self.http_port}"
        self.config = self.dir / "perch.toml"
        self.config.write_text(
            f'domain = "{DOMAIN}"\n'
            f'data_dir = "{self.dir / "var"}"\n'
            f'log_level = "{os.environ.get("PERCH_LOG_LEVEL", "info")}"\n'
            f"{extra_config}\n"
            "[c2s]\n"
            f'bind = "{host}"\n'
            f"port = {self.port}\n"
            f"direct_tls_port = {self.tls_port}\n"
            f"{c2s_config}\n"
            "[http]\n"
            f'bind = "{host}"\n'
            f"port = {self.http_port}\n"
            f"tls_port = {self.https_port}\n"
            f'public_url = "{self.url}"\n'
            f'www_dir = "{REPO / "www"}"\n'
            f'converse_dir = "{REPO / "node_modules" / "converse.js" / "dist"}"\n'
            f"{http_config}\n"
            "[admin]\n"
            f'bind = "{host}"\n'
            f"port = {self.admin_port}\n"
        )
        self.proc = None
        self.log = open(self.dir / "server.log", "ab")

    def content_query(self, sql, *args):
        """Runs one statement on the content database, whichever back end holds it; `?`
        placeholders. Returns the rows (numbers as int) of a query, [] otherwise."""
        if self.backend != "postgres":
            import sqlite3
            db = sqlite3.connect(self.dir / "var" / "perch.db", timeout=10)
            try:
                rows = db.execute(sql, args).fetchall()
                db.commit()
                return rows
            finally:
                db.close()
        parts = sql.split("?")
        assert len(parts) == len(args) + 1, sql
        text = parts[0]
        for arg, rest in zip(args, parts[1:]):
            text += (str(int(arg)) if isinstance(arg, int) else "'" + str(arg).replace("'", "''") + "'") + rest
        out = subprocess.run(["psql", f"{self.pg_server} dbname={self.pg_database}", "-qAt", "-F", "\x1f",
                              "-v", "ON_ERROR_STOP=1", "-c", text],
                             check=True, capture_output=True, text=True, timeout=60).stdout
        rows = []
        for line in out.splitlines():
            rows.append(tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("\x1f")))
        return rows

    def cli(self, *args, check=True):
        r = subprocess.run([self.binary, "--config", str(self.config), *args],
                           capture_output=True, text=True, timeout=120)
        note_sanitizer_reports("perch " + " ".join(args), r.stderr)
        if check and r.returncode != 0:
            raise RuntimeError(f"perch {' '.join(args)} failed: {r.stderr}")
        return r

    def add_user(self, name, password):
        self.cli("user", "add", name, "--password", password)

    def start(self, attempts=3):
        # Only what this start logs counts: after a restart on the same ports, another test's
        # server may hold one of them now, and answer the probe below in this one's place.
        mark = len(self.log_text()) if (self.dir / "server.log").exists() else 0
        self.proc = subprocess.Popen([self.binary, "serve", "--config", str(self.config)],
                                     stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.flush()
                if attempts > 1 and "Address already in use" in self.log_text()[mark:]:
                    # Another test took a port between free_port() and now: other ports.
                    self.new_ports()
                    return self.start(attempts - 1)
                # The log's end goes into the test's output: its folder is gone by the time a
                # clean-clone run's output is read.
                tail = "".join(self.log_text()[mark:].splitlines(keepends=True)[-15:])
                raise RuntimeError("server exited at start; see " + str(self.dir / "server.log") +
                                   "; it ended:\n" + tail)
            if " serving " not in self.log_text()[mark:]:  # logged once it listens
                time.sleep(0.05)
                continue
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start listening")

    def new_ports(self):
        # A pool member's peer port too (its peers learn it from the database).
        names = ("port", "tls_port", "http_port", "https_port", "admin_port") + (
            ("peer_port",) if hasattr(self, "peer_port") else ())
        old = {getattr(self, name) for name in names}
        moved = {}
        for name in names:
            if getattr(self, name) in moved:  # a port two settings share (a pool's)
                setattr(self, name, moved[getattr(self, name)])
                continue
            new = free_port(self.host)
            # Distinct from every port of this server, old or new: the kernel readily hands
            # back the one the failed start just freed.
            while new in old or new in moved.values():
                new = free_port(self.host)
            moved[getattr(self, name)] = new
            setattr(self, name, new)
        # One pass over the lines, each value mapped once (replacing one port after another
        # could map a new port onto an old one's and give two listeners the same port).
        lines = []
        for line in self.config.read_text().splitlines(keepends=True):
            key, sep, value = line.partition(" = ")
            if sep and value.strip().isdigit() and int(value) in moved:
                line = f"{key} = {moved[int(value)]}\n"
            elif sep and value.startswith('"') and ":" in value:
                for o, n in moved.items():
                    value = value.replace(f":{o}\"", f":{n}\"")
                line = key + sep + value
            lines.append(line)
        self.url = f"http://{self.host}:{self.http_port}"
        self.config.write_text("".join(lines))

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.flush()
            note_sanitizer_reports(f"server {self.dir}", self.log_text())
        self.proc = None

    def restart(self, kill=False):
        self.stop(kill=kill)
        self.start()

    def log_text(self):
        return (self.dir / "server.log").read_text(errors="replace")

    def cleanup(self):
        self.stop()
        self.log.close()
        if os.environ.get("PERCH_KEEP_TMP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.pg_database and self.owns_database:
                psql(self.pg_server + " dbname=postgres",
                     f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')

    @property
    def cert(self):
        return self.dir / "var" / "tls" / "cert.pem"


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that verifies the server's certificate against the one Perch generated."""

    def __init__(self, server, user, password, resource="test", mech=None):
        super().__init__(f"{user}@{DOMAIN}/{resource}", password, sasl_mech=mech)
        self.perch = server
        self.ca_certs = server.cert
        for p in ("xep_0030", "xep_0045", "xep_0199", "xep_0092", "xep_0203", "xep_0359"):
            self.register_plugin(p)
        self.groupchat = asyncio.Queue()
        self.private = asyncio.Queue()
        self.every_message = asyncio.Queue()  # all message stanzas, bodies or not
        self.every_presence = asyncio.Queue()
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        self.register_handler(Callback("every message", MatchXPath("{jabber:client}message"),
                                       self.every_message.put_nowait))
        self.register_handler(Callback("every presence", MatchXPath("{jabber:client}presence"),
                                       self.every_presence.put_nowait))
        self.add_event_handler("groupchat_message", self.groupchat.put_nowait)
        self.add_event_handler("message", self._on_message)
        self.auth_failed = asyncio.Event()
        self.add_event_handler("failed_all_auth", lambda _: self.auth_failed.set())
        self.add_event_handler("failed_auth", lambda _: self.auth_failed.set())

    def _on_message(self, msg):
        if msg["type"] in ("chat", "normal"):
            self.private.put_nowait(msg)

    async def start(self, use_ssl=False, timeout=10):
        started = asyncio.ensure_future(self.wait_until("session_start", timeout))
        port = self.perch.tls_port if use_ssl else self.perch.port
        self.connect((self.perch.host, port), use_ssl=use_ssl, force_starttls=not use_ssl)
        await started
        return self

    async def next_message_with(self, path, timeout=10):
        """The next message stanza holding the element at ElementTree `path`."""
        while True:
            msg = await asyncio.wait_for(self.every_message.get(), timeout)
            if msg.xml.find(path) is not None:
                return msg

    @property
    def secure(self):
        return self.transport is not None and self.transport.get_extra_info("sslcontext") is not None

    async def next_groupchat(self, timeout=10, with_body=True, live=True):
        """The next room message; by default skips history replayed on join (it has a delay)."""
        while True:
            msg = await asyncio.wait_for(self.groupchat.get(), timeout)
            if live and msg.get_plugin("delay", check=True) is not None and msg["delay"]["stamp"]:
                continue
            if not with_body or msg["body"]:
                return msg

    async def close(self):
        if self.transport:
            self.disconnect()
            try:
                await self.wait_until("disconnected", 5)
            except asyncio.TimeoutError:
                pass


async def removal(queue, room, timeout=10):
    """Status codes and reason of the next unavailable self-presence (status 110) from `room`
    (bare JID) in a queue of presences (a client's `every_presence`)."""
    ns = "{http://jabber.org/protocol/muc#user}"
    while True:
        p = await asyncio.wait_for(queue.get(), timeout)
        codes = {st.get("code") for st in p.xml.iter(f"{ns}status")}
        if p["type"] == "unavailable" and p["from"].bare == room and "110" in codes:
            reason = p.xml.find(f"{ns}x/{ns}item/{ns}reason")
            return codes, reason.text if reason is not None else None


UPLOAD = "urn:xmpp:http:upload:0"
MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"


async def request_slot(client, name, size, content_type="application/octet-stream"):
    from slixmpp.xmlstream import ET as SET
    iq = client.make_iq_get(ito="localhost")
    SET.SubElement(iq.xml, f"{{{UPLOAD}}}request", {"filename": name, "size": str(size), "content-type": content_type})
    reply = await iq.send(timeout=10)
    slot = reply.xml.find(f"{{{UPLOAD}}}slot")
    return slot.find(f"{{{UPLOAD}}}put").get("url"), slot.find(f"{{{UPLOAD}}}get").get("url")


def post_link(client, room, url):
    """A groupchat message carrying a file's link (XEP-0066), as clients post uploads."""
    from slixmpp.xmlstream import ET as SET
    msg = client.make_message(mto=room, mbody=url, mtype="groupchat")
    SET.SubElement(SET.SubElement(msg.xml, "{jabber:x:oob}x"), "{jabber:x:oob}url").text = url
    msg.send()


async def mam_query(client, to, fields=None, rsm=None, query_id="q1", timeout=30):
    """One XEP-0313 query, built by hand (slixmpp's plugin has no full-text field).
    Returns (results, fin): results as dicts in arrival order, fin as an ElementTree element."""
    from slixmpp.xmlstream import ET
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    results = []

    def on_result(msg):
        result = msg.xml.find(f"{{{MAM}}}result")
        if result is None or result.get("queryid") != query_id:
            return
        inner = result.find("{urn:xmpp:forward:0}forwarded/{jabber:client}message")
        body = inner.find("{jabber:client}body")
        results.append({"id": result.get("id"), "from": msg["from"].full,
                        "body": body.text if body is not None else None,
                        "nick": inner.get("from", "").split("/", 1)[-1],
                        "room": inner.get("from", "").split("/", 1)[0]})

    name = f"mam-{query_id}-{id(results)}"
    client.register_handler(Callback(name, MatchXPath(f"{{jabber:client}}message/{{{MAM}}}result"), on_result))
    try:
        iq = client.make_iq_set(ito=to)
        query = ET.SubElement(iq.xml, f"{{{MAM}}}query", {"queryid": query_id})
        if fields:
            form = ET.SubElement(query, "{jabber:x:data}x", {"type": "submit"})
            field = ET.SubElement(form, "{jabber:x:data}field", {"var": "FORM_TYPE", "type": "hidden"})
            ET.SubElement(field, "{jabber:x:data}value").text = MAM
            for var, value in fields.items():
                field = ET.SubElement(form, "{jabber:x:data}field", {"var": var})
                ET.SubElement(field, "{jabber:x:data}value").text = value
        if rsm:
            s = ET.SubElement(query, f"{{{RSM}}}set")
            for key, value in rsm.items():
                ET.SubElement(s, f"{{{RSM}}}{key}").text = value
        reply = await iq.send(timeout=timeout)
        return results, reply.xml.find(f"{{{MAM}}}fin")
    finally:
        client.remove_handler(name)


async def connect(server, user, password, **kw):
    start_kw = {k: kw.pop(k) for k in ("use_ssl",) if k in kw}
    return await Client(server, user, password, **kw).start(**start_kw)


class RawStream:
    """A plain TCP XMPP stream written by hand, for malformed and hostile input. `source`: the
    loopback address to connect from (127.0.0.x), to look like another machine."""

    def __init__(self, server, source=None):
        self.sock = socket.create_connection((server.host, server.port), timeout=5,
                                             source_address=(source, 0) if source else None)

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def open(self, to=DOMAIN):
        self.send(f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  f"xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0'>")
        return self.read_until(b"</stream:features>")

    def read_until(self, marker, timeout=5):
        """Reads until `marker` (bytes, or a compiled bytes pattern) is in what came."""
        found = marker.search if isinstance(marker, re.Pattern) else (lambda data: marker in data)
        data = b""
        deadline = time.time() + timeout
        while not found(data) and time.time() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")

    def read_all(self, timeout=5):
        return self.read_until(b"\0never\0", timeout)

    def scram_sha256(self, user, password):
        """One SCRAM-SHA-256 attempt on an open stream (RFC 5802, no channel binding); returns
        the server's last answer: <success>, or <failure> with its condition."""
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={user},r={nonce}"
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>"
                  + base64.b64encode(("n,," + first_bare).encode()).decode() + "</auth>")
        answer = self.read_sasl()
        m = re.search(r"<challenge[^>]*>([^<]*)</challenge>", answer)
        if not m:
            return answer
        server_first = base64.b64decode(m.group(1)).decode()
        fields = dict(part.split("=", 1) for part in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                     base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        final_bare = f"c=biws,r={fields['r']}"
        auth_message = f"{first_bare},{server_first},{final_bare}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.b64encode(
            f"{final_bare},p={base64.b64encode(proof).decode()}".encode()).decode() + "</response>")
        return self.read_sasl()

    def login(self, user, password, resource="raw"):
        """Opens the stream, logs in with SCRAM-SHA-256 and binds `resource`."""
        self.open()
        answer = self.scram_sha256(user, password)
        assert "<success" in answer, answer
        self.open()
        self.send(f"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  f"<resource>{resource}</resource></bind></iq>")
        answer = self.read_until(b"</iq>")
        assert "<jid>" in answer, answer

    SASL_END = re.compile(rb"</challenge>|</failure>|<success[^>]*/>|</success>|</stream:stream>")

    def read_sasl(self, timeout=10):
        """Reads up to the end of the server's next SASL answer (or of the stream)."""
        return self.read_until(self.SASL_END, timeout)

    def close(self):
        self.sock.close()


if os.environ.get("PERCH_CLIENT_DEBUG"):
    import logging
    logging.basicConfig(level=logging.DEBUG)


class WsXmpp:
    """A bare XMPP-over-WebSocket client (RFC 7395), to see the frames exactly as sent."""

    def __init__(self, server, protocols=("xmpp",), path="/xmpp-websocket", origin=None):
        import base64
        self.sock = socket.create_connection((server.host, server.http_port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.http_port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if origin:
            head += f"Origin: {origin}\r\n"
        if protocols:
            head += f"Sec-WebSocket-Protocol: {', '.join(protocols)}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        header, _, self.buf = data.partition(b"\r\n\r\n")
        lines = header.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in
                        (line.split(":", 1) for line in lines[1:] if ":" in line)}

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        frame = bytes([0x81])
        if len(payload) < 126:
            frame += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            frame += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
        else:
            frame += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
        frame += mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(frame)

    def recv(self):
        """The next text frame, or None when the server closes."""
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(self._read(2), "big")
        elif length == 127:
            length = int.from_bytes(self._read(8), "big")
        payload = self._read(length)
        opcode = first & 0x0F
        if opcode == 8:
            return None
        if opcode in (9, 10):
            return self.recv()
        return payload.decode()

    def recv_until(self, marker):
        frames = []
        while True:
            f = self.recv()
            frames.append(f)
            if f is None or marker in f:
                return frames

    def login(self, user, password, resource="ws"):
        """SCRAM-SHA-256, then bind; returns every frame received."""
        import base64, hashlib, hmac
        frames = []
        self.send(f"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{DOMAIN}' version='1.0'/>")
        frames += self.recv_until("</stream:features>")
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={user},r={nonce}"
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>"
                  + base64.b64encode(("n,," + first_bare).encode()).decode() + "</auth>")
        challenge = self.recv_until("challenge")[-1]
        frames.append(challenge)
        server_first = base64.b64decode(challenge.split(">", 1)[1].split("<", 1)[0]).decode()
        fields = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        final_bare = f"c=biws,r={fields['r']}"
        auth_message = f"{first_bare},{server_first},{final_bare}".encode()
        signature = hmac.new(stored, auth_message, hashlib.sha256).digest()
        proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
        self.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                  + base64.b64encode(f"{final_bare},p={proof}".encode()).decode() + "</response>")
        frames += self.recv_until("success")
        if "<success" not in frames[-1]:
            raise RuntimeError("login failed: " + str(frames[-1]))
        self.send(f"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{DOMAIN}' version='1.0'/>")
        frames += self.recv_until("</stream:features>")
        self.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  f"<resource>{resource}</resource></bind></iq>")
        frames += self.recv_until("</iq>")
        return frames

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def run(tests_module_globals, setup, teardown):
    """Runs every `test_*` coroutine of a module, in file order, each with the fixture that
    `setup` returns; prints one line per test and the closing summary."""
    tests = [(name, fn) for name, fn in tests_module_globals.items()
             if name.startswith("test_") and inspect.iscoroutinefunction(fn)]
    only = sys.argv[2:]
    if only:
        tests = [t for t in tests if t[0] in only]
    passed = failed = 0
    fixture = setup()
    # One event loop for the whole module: slixmpp keeps loop-bound state between clients.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        for name, fn in tests:
            t0 = time.time()
            try:
                loop.run_until_complete(asyncio.wait_for(fn(fixture), 120))
                passed += 1
                print(f"PASS {name} ({time.time() - t0:.2f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {name} ({time.time() - t0:.2f}s)", flush=True)
                traceback.print_exc()
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        if failed and hasattr(fixture, "server"):
            print("---- server log (tail) ----")
            print("\n".join(fixture.server.log_text().splitlines()[-40:]))
        teardown(fixture)
    if SANITIZER_FINDINGS:
        failed += 1
        print("FAIL sanitizer reports in server logs:")
        for finding in SANITIZER_FINDINGS:
            print("  " + finding)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


__all__ = ["Server", "Client", "RawStream", "WsXmpp", "connect", "run", "IqError", "PresenceError",
           "DOMAIN", "MUC", "free_port", "mam_query", "MAM", "RSM", "removal"]
