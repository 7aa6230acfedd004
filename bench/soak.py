#!/usr/bin/python3
"""A long mixed load against a running server, to see that nothing grows and nothing is lost.
Loopback only; started by bench/soak.sh, which provisions the accounts and rooms and reads the
figures this prints.

Runs for --minutes with, at the same time:
  - witnesses: one session per room that stays joined the whole run and records every message;
  - speakers: sessions that each post to their rooms every few seconds, move to another room
    now and then, and sign out and in again every few minutes;
  - churn: a session a second that signs in, joins a room, posts once, leaves and signs out;
  - uploads: a file every few seconds (XEP-0363 slot, HTTP PUT, GET back, posted as a link);
  - bad input: a connection a second that does something wrong (broken XML, an unfinished tag,
    an oversized stanza, a wrong password, junk where TLS is expected, a malformed or slow HTTP
    request, a flood of posts, a session dropped without closing).
Every 30 s a progress line: sessions, messages posted and acknowledged, and the server's
memory, descriptors and threads (from /proc). At the end it checks that every acknowledged
message is in the archive and reached every witness of its room, and prints one JSON line."""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import sqlite3
import ssl
import time
import xml.etree.ElementTree as ET

CLIENT = "jabber:client"
MUC = "http://jabber.org/protocol/muc"
UPLOAD = "urn:xmpp:http:upload:0"


class Failed(Exception):
    pass


class Session:
    """One raw XMPP session over TCP: SCRAM-SHA-256, bind, then stanzas as ElementTree."""

    def __init__(self, args, user, password):
        self.args, self.user, self.password = args, user, password
        self.domain = args.domain
        self.inbox = asyncio.Queue()
        self.on_message = None
        self.reader = self.writer = None
        self.task = None

    async def open(self, source="127.0.0.1"):
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", self.args.port, local_addr=(source, 0)), 10)
        await self._restart()
        await self._expect_features()
        nonce = base64.b64encode(os.urandom(18)).decode()
        bare = f"n={self.user},r={nonce}"
        await self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>"
                        f"{base64.b64encode(('n,,' + bare).encode()).decode()}</auth>")
        challenge = await self._next_raw()
        if not challenge.tag.endswith("challenge"):
            raise Failed(f"sasl: {ET.tostring(challenge)[:200]}")
        first = base64.b64decode(challenge.text).decode()
        fields = dict(p.split("=", 1) for p in first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(),
                                     base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        without_proof = f"c=biws,r={fields['r']}"
        auth = f"{bare},{first},{without_proof}".encode()
        signature = hmac.new(hashlib.sha256(client_key).digest(), auth, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        final = f"{without_proof},p={base64.b64encode(proof).decode()}"
        await self.send(f"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                        f"{base64.b64encode(final.encode()).decode()}</response>")
        if not (await self._next_raw()).tag.endswith("success"):
            raise Failed("sasl failure")
        await self._restart()
        await self._expect_features()
        await self.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
                        "</iq>")
        await self._next_raw()
        await self.send("<presence/>")
        self.task = asyncio.ensure_future(self._pump())

    async def _restart(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.pending = []
        await self.send(f"<?xml version='1.0'?><stream:stream xmlns='{CLIENT}' "
                        f"xmlns:stream='http://etherx.jabber.org/streams' to='{self.domain}' "
                        "version='1.0'>")

    async def _expect_features(self):
        features = await self._next_raw()
        if not features.tag.endswith("features"):
            raise Failed(f"expected features, got {features.tag}")

    async def _next_raw(self):
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 30)
            if not data:
                raise Failed("closed by the server")
            self.parser.feed(data)
            for event, element in self.parser.read_events():
                if event == "start":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.pending.append(element)
        return self.pending.pop(0)

    async def _pump(self):
        try:
            while True:
                stanza = await self._next_raw()
                if stanza.tag == f"{{{CLIENT}}}message" and self.on_message:
                    self.on_message(stanza)
                else:
                    self.inbox.put_nowait(stanza)
        except (Failed, OSError, asyncio.TimeoutError, ET.ParseError):
            self.inbox.put_nowait(None)

    async def send(self, text):
        self.writer.write(text.encode())
        await self.writer.drain()

    async def wait_for(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed("timed out waiting for an answer")
            stanza = await asyncio.wait_for(self.inbox.get(), left)
            if stanza is None:
                raise Failed("the session ended")
            if predicate(stanza):
                return stanza

    async def join(self, room, nick):
        await self.send(f"<presence to='{room}/{nick}'><x xmlns='{MUC}'>"
                        "<history maxstanzas='0'/></x></presence>")

        def self_presence(p):
            if p.get("from") != f"{room}/{nick}":
                return False
            if p.get("type") == "error":
                raise Failed(f"join {room} refused: {ET.tostring(p)[:300]}")
            return any(s.get("code") == "110" for s in p.iter(f"{{{MUC}#user}}status"))
        await self.wait_for(self_presence)

    async def leave(self, room, nick):
        await self.send(f"<presence to='{room}/{nick}' type='unavailable'/>")
        await self.wait_for(lambda p: p.get("from") == f"{room}/{nick}"
                            and p.get("type") == "unavailable")

    async def close(self):
        try:
            await self.send("</stream:stream>")
        except OSError:
            pass
        if self.task:
            self.task.cancel()
        self.writer.close()


class Soak:
    def __init__(self, args):
        self.args = args
        self.rooms = [f"{args.room_prefix}{i}@{args.muc}" for i in range(1, args.rooms + 1)]
        self.acked = {}       # body -> room (reflected to its sender: stored and delivered)
        self.refused = 0      # posts answered with an error (the flooder's, over the limit)
        self.witnessed = {r: set() for r in self.rooms}
        self.counts = {"logins": 0, "joins": 0, "leaves": 0, "uploads": 0, "bad": 0,
                       "posted": 0, "errors": 0}
        self.error_kinds = {}
        self.stop = False

    def error(self, where, e):
        self.counts["errors"] += 1
        key = f"{where}: {type(e).__name__} {e}"[:160]
        self.error_kinds[key] = self.error_kinds.get(key, 0) + 1

    async def session(self, user, source="127.0.0.1"):
        s = Session(self.args, user, self.args.password)
        await s.open(source)
        self.counts["logins"] += 1
        return s

    async def witness(self, room, ready):
        s = await self.session(f"{self.args.user_prefix}{self.rooms.index(room) + 1}")

        def seen(m):
            body = m.find(f"{{{CLIENT}}}body")
            if m.get("type") == "groupchat" and body is not None and body.text:
                self.witnessed[room].add(body.text)
        s.on_message = seen
        await s.join(room, "witness")
        ready.set_result(True)
        while not self.stop:
            await asyncio.sleep(1)
        await s.close()

    async def post(self, s, room, body):
        """Posts and waits for the room's reflection (the server's acknowledgement)."""
        done = asyncio.get_running_loop().create_future()
        s.waiting[body] = done
        await s.send(f"<message to='{room}' type='groupchat' id='{body}'><body>{body}</body>"
                     "</message>")
        self.counts["posted"] += 1
        try:
            ok = await asyncio.wait_for(done, 30)
        finally:
            s.waiting.pop(body, None)
        if ok:
            self.acked[body] = room
        else:
            self.refused += 1

    def tracking(self, s):
        s.waiting = {}

        def reflected(m):
            body = m.find(f"{{{CLIENT}}}body")
            key = body.text if body is not None else m.get("id")
            if key in s.waiting and not s.waiting[key].done():
                s.waiting[key].set_result(m.get("type") != "error")
        s.on_message = reflected

    async def speaker(self, n):
        user = f"{self.args.user_prefix}{self.args.rooms + n}"
        seq = 0
        signins = 0
        while not self.stop:
            try:
                s = await self.session(user)
                signins += 1
                nick = f"speaker{n}-{signins}"
                self.tracking(s)
                joined = random.sample(self.rooms, min(3, len(self.rooms)))
                for room in joined:
                    await s.join(room, nick)
                    self.counts["joins"] += 1
                until = time.monotonic() + random.uniform(120, 300)
                while not self.stop and time.monotonic() < until:
                    for room in list(joined):
                        seq += 1
                        await self.post(s, room, f"soak-{n}-{seq}")
                    await asyncio.sleep(random.uniform(2, 4))
                    if random.random() < 0.05:
                        old = joined.pop(random.randrange(len(joined)))
                        await s.leave(old, nick)
                        self.counts["leaves"] += 1
                        new = random.choice([r for r in self.rooms if r not in joined])
                        await s.join(new, nick)
                        self.counts["joins"] += 1
                        joined.append(new)
                await s.close()
            except (Failed, OSError, asyncio.TimeoutError) as e:
                self.error("speaker", e)
                await asyncio.sleep(2)

    async def churn(self):
        n = 0
        while not self.stop:
            n += 1
            user = f"{self.args.user_prefix}{self.args.rooms + self.args.speakers + 1 + n % 20}"
            try:
                s = await self.session(user)
                self.tracking(s)
                room = random.choice(self.rooms)
                await s.join(room, f"churn{n}")
                await self.post(s, room, f"churn-{n}")
                await s.leave(room, f"churn{n}")
                self.counts["joins"] += 1
                self.counts["leaves"] += 1
                await s.close()
            except (Failed, OSError, asyncio.TimeoutError) as e:
                self.error("churn", e)
            await asyncio.sleep(1)

    async def http(self, method, path, body=b"", headers=None):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.args.http_port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.args.domain}\r\n" \
               f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        data = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        status = int(data.split(b" ", 2)[1])
        return status, data.split(b"\r\n\r\n", 1)[1]

    async def uploads(self):
        n = 0
        user = f"{self.args.user_prefix}{self.args.rooms + self.args.speakers + 22}"
        while not self.stop:
            try:
                s = await self.session(user)
                self.tracking(s)
                room = self.rooms[0]
                await s.join(room, "uploader")
                while not self.stop:
                    n += 1
                    data = os.urandom(random.randint(1000, 200000))
                    await s.send(f"<iq type='get' id='up{n}' to='{self.args.domain}'>"
                                 f"<request xmlns='{UPLOAD}' filename='soak{n}.bin' "
                                 f"size='{len(data)}'/></iq>")
                    slot = await s.wait_for(lambda st: st.get("id") == f"up{n}")
                    put = slot.find(f".//{{{UPLOAD}}}put").get("url")
                    get = slot.find(f".//{{{UPLOAD}}}get").get("url")
                    path = lambda url: "/" + url.split("/", 3)[3]
                    status, _ = await self.http("PUT", path(put), data)
                    if status != 201:
                        raise Failed(f"PUT answered {status}")
                    status, back = await self.http(
                        "GET", path(get), headers={"Authorization": "Basic " + base64.b64encode(
                            f"{user}:{self.args.password}".encode()).decode()})
                    if status != 200 or back != data:
                        raise Failed(f"GET answered {status}, {len(back)} bytes")
                    await self.post(s, room, get)
                    self.counts["uploads"] += 1
                    await asyncio.sleep(5)
                await s.close()
            except (Failed, OSError, asyncio.TimeoutError, AttributeError) as e:
                self.error("upload", e)
                await asyncio.sleep(2)

    async def raw(self, port, data, linger=0.5, source="127.0.0.9"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(data)
        await writer.drain()
        try:
            await asyncio.wait_for(reader.read(1 << 20), linger)
        except asyncio.TimeoutError:
            pass
        writer.close()

    async def bad_inputs(self):
        header = (f"<?xml version='1.0'?><stream:stream xmlns='{CLIENT}' xmlns:stream="
                  f"'http://etherx.jabber.org/streams' to='{self.args.domain}' version='1.0'>")
        kinds = [
            lambda: self.raw(self.args.port, (header + "<message><body>x</mess").encode()),
            lambda: self.raw(self.args.port, (header + "<message x='" + "A" * 300000).encode()),
            lambda: self.raw(self.args.port, (header + "<iq>" + "<a>" * 100).encode()),
            lambda: self.raw(self.args.port, b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"),
            lambda: self.raw(self.args.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                             + os.urandom(300)),
            lambda: self.raw(self.args.port, os.urandom(2000)),
            lambda: self.raw(self.args.http_port, b"GET / HTTP/1.1\r\nHost: x\r\n bad: fold\r\n\r\n"),
            lambda: self.raw(self.args.http_port, b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
                             b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
            lambda: self.raw(self.args.http_port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n"),
            lambda: self.raw(self.args.http_port, b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: 100\r\n\r\n{", linger=20),
            lambda: self.raw(self.args.port, header.encode(), linger=20),
            self.wrong_password,
            self.flood,
        ]
        while not self.stop:
            try:
                asyncio.ensure_future(random.choice(kinds)())
                self.counts["bad"] += 1
            except Exception as e:  # noqa: BLE001 -- counted, the run goes on
                self.error("bad", e)
            await asyncio.sleep(1)

    async def wrong_password(self):
        s = Session(self.args, f"{self.args.user_prefix}bad", "not-the-password")
        try:
            await s.open("127.0.0.9")
        except (Failed, OSError, asyncio.TimeoutError):
            pass
        if s.writer:
            s.writer.close()

    async def flood(self):
        user = f"{self.args.user_prefix}{self.args.rooms + self.args.speakers + 23}"
        try:
            s = await self.session(user)
            room = random.choice(self.rooms)
            await s.join(room, "flooder")
            await s.send("".join(f"<message to='{room}' type='groupchat'><body>flood {i}</body>"
                                 "</message>" for i in range(300)))
            await asyncio.sleep(2)
            # Dropped without a closing tag: the server finds out from the socket.
            s.writer.transport.abort()
            if s.task:
                s.task.cancel()
        except (Failed, OSError, asyncio.TimeoutError) as e:
            self.error("flood", e)

    def server_figures(self):
        pid = self.args.server_pid
        status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
        return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                "fds": len(os.listdir(f"/proc/{pid}/fd")),
                "threads": int(status["Threads"])}

    async def run(self):
        start = time.monotonic()
        figures = [(0, self.server_figures())]
        ready = [asyncio.get_running_loop().create_future() for _ in self.rooms]
        tasks = [asyncio.ensure_future(self.witness(r, f)) for r, f in zip(self.rooms, ready)]
        await asyncio.wait_for(asyncio.gather(*ready), 60)
        tasks += [asyncio.ensure_future(self.speaker(n)) for n in range(1, self.args.speakers + 1)]
        tasks += [asyncio.ensure_future(t()) for t in (self.churn, self.uploads, self.bad_inputs)]
        end = start + self.args.minutes * 60
        while time.monotonic() < end:
            await asyncio.sleep(min(30, max(0, end - time.monotonic())))
            f = self.server_figures()
            elapsed = time.monotonic() - start
            figures.append((round(elapsed), f))
            print(f"soak {elapsed / 60:5.1f} min: {self.counts['logins']} logins, "
                  f"{self.counts['posted']} posted, {len(self.acked)} acknowledged, "
                  f"{self.counts['uploads']} uploads, {self.counts['bad']} bad, "
                  f"{self.counts['errors']} errors; server {f['rss_mb']:.0f} MB, "
                  f"{f['fds']} fds, {f['threads']} threads", flush=True)
        self.stop = True
        await asyncio.sleep(25)  # the slow bad clients end, sessions close
        for t in tasks:
            t.cancel()
        await asyncio.sleep(5)
        idle = self.server_figures()
        return figures, idle

    def check(self):
        db = sqlite3.connect(f"file:{self.args.db}?mode=ro", uri=True)
        stored = {}
        for node, body in db.execute("SELECT r.node, m.body FROM messages m JOIN rooms r "
                                     "ON r.id = m.room_id"):
            stored[body] = node
        missing_archive = [b for b, room in self.acked.items()
                           if stored.get(b) != room.split("@")[0]]
        missing_witness = [b for b, room in self.acked.items() if b not in self.witnessed[room]]
        return missing_archive, missing_witness


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--db", required=True, help="the server's SQLite content database")
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--rooms", type=int, default=10)
    p.add_argument("--speakers", type=int, default=40)
    p.add_argument("--domain", default="localhost")
    p.add_argument("--muc", default="chat.localhost")
    p.add_argument("--user-prefix", default="soak")
    p.add_argument("--room-prefix", default="soakroom")
    p.add_argument("--password", default="soak")
    args = p.parse_args()
    soak = Soak(args)
    figures, idle = asyncio.run(soak.run())
    missing_archive, missing_witness = soak.check()
    settled = [f for t, f in figures if t >= 600] or [f for _, f in figures]
    result = {
        "minutes": args.minutes, **soak.counts, "acknowledged": len(soak.acked),
        "refused": soak.refused, "missing_from_archive": len(missing_archive),
        "missing_from_witnesses": len(missing_witness),
        "rss_mb_start": round(figures[0][1]["rss_mb"], 1),
        "rss_mb_at_10min": round(settled[0]["rss_mb"], 1),
        "rss_mb_end": round(figures[-1][1]["rss_mb"], 1),
        "rss_mb_max": round(max(f["rss_mb"] for _, f in figures), 1),
        "fds_start": figures[0][1]["fds"], "fds_idle_after": idle["fds"],
        "threads_start": figures[0][1]["threads"], "threads_idle_after": idle["threads"],
        "error_kinds": soak.error_kinds,
        "examples_missing": (missing_archive + missing_witness)[:5],
    }
    print(json.dumps(result), flush=True)
    ok = not missing_archive and not missing_witness and idle["fds"] <= figures[0][1]["fds"] + 2
    print("soak: " + ("passed" if ok else "FAILED"), flush=True)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
