"""High availability (issue 15): two active servers and a standby, on a PostgreSQL primary with
a synchronous streaming replica, each server on its own loopback address. Clients post
throughout and reconnect by themselves (to the next server of their list) when theirs goes.
An active server is SIGKILLed: the standby takes its slot by itself; then the database's
primary is SIGKILLed and its replica promoted: the servers carry on; then a whole site (both
active servers and the primary) is lost: the other site's replica is promoted and its standby
takes over by itself. Every acknowledged post is stored once and in order. The suite makes
and removes its own PostgreSQL clusters (db1 primary, db2 its replica, db3 made later)."""

import asyncio
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from harness import MUC, connect, free_port, run
from test_pool import (Pool, admin_call, assert_stored_once_in_order, see_other_host, server_of,
                       write_topology)

REPO = pathlib.Path(__file__).resolve().parents[2]
HOSTS = [f"127.0.0.{21 + i}" for i in range(3)]  # p1, p2 active; p3 standby
STANDBY_AFTER_S = 5


def pg_cluster(*args, port=None):
    env = dict(os.environ, PG_PORT=str(port)) if port else None
    out = subprocess.run([str(REPO / "scripts" / "pg-cluster.sh"), *args], check=True,
                         capture_output=True, text=True, timeout=120, env=env)
    return out.stdout


def port_of(conninfo):
    return next(w.split("=")[1] for w in conninfo.split() if w.startswith("port="))


class Mirrored:
    """The pool on a primary and its synchronous replica, reached by a multi-host string."""

    def __init__(self, binary):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="perch-ha-"))
        self.db = [self.dir / f"db{i + 1}" for i in range(3)]
        self.pool = None
        try:
            pg_cluster("start", str(self.db[0]))
            pg_cluster("replica", str(self.db[1]), str(self.db[0]))
            ports = [port_of((d / "conninfo").read_text()) for d in self.db[:2]]
            self.db3_port = free_port()  # where the third cluster will listen
            ports.append(str(self.db3_port))
            # What a server is given: every host; the one that takes writes wins.
            self.conninfo = ("host=127.0.0.1,127.0.0.1,127.0.0.1 port=" + ",".join(ports) +
                             " user=perch target_session_attrs=read-write connect_timeout=3")
            (self.dir / "conninfo").write_text(self.conninfo + "\n")
            os.environ["PERCH_TEST_PG_FILE"] = str(self.dir / "conninfo")
            self.pool = Pool(binary, hosts=HOSTS)
            self.replica_address = f"127.0.0.1:{ports[1]}"
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self):
        if self.pool:
            self.pool.cleanup()
        for d in self.db:
            subprocess.run([str(REPO / "scripts" / "pg-cluster.sh"), "stop", str(d)],
                           capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


class Poster:
    """A user posting `name 0`, `name 1` … to `room`, each until it is acknowledged (its echo),
    resending it with the same id (XEP-0359's origin id to the server: a retry is not stored
    twice); when its session goes it connects to the next server of `servers` that takes it
    and joins again, as a client given several addresses would."""

    def __init__(self, user, servers, room):
        self.user, self.servers, self.room = user, servers, room
        self.acked, self.reconnects, self.client = [], 0, None
        self.acked_at = []  # when each was acknowledged
        self.left_seen = []  # unavailable presences of others in the room

    async def session(self):
        for _ in range(40):
            for server in self.servers:
                c = None
                try:
                    if see_other_host(server) is not None:
                        continue  # a standby: it sends clients away
                    c = await connect(server, self.user, f"{self.user}-pw")
                    c.add_event_handler("presence_unavailable", self.note_leave)
                    await c["xep_0045"].join_muc_wait(self.room, self.user, maxstanzas=0,
                                                      timeout=10)
                    return c
                except Exception:
                    if c:
                        c.abort()
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.user} found no server to take it")

    def note_leave(self, p):
        if p["from"].bare == self.room and p["from"].resource != self.user:
            self.left_seen.append((time.time(), p["from"].resource))

    async def post(self, body, msg_id, timeout=1.5):
        c = self.client
        msg = c.make_message(mto=self.room, mbody=body, mtype="groupchat")
        msg["id"] = msg_id
        msg.send()
        deadline = time.time() + timeout
        while time.time() < deadline and c.transport is not None:
            try:
                got = await asyncio.wait_for(c.every_message.get(), 0.5)
            except asyncio.TimeoutError:
                continue
            if got["type"] == "error" and got["id"] == msg_id:
                await asyncio.sleep(0.3)
                return False
            if got["type"] == "groupchat" and got["body"] == body:
                return True
        return False

    async def run(self, stop_at):
        i = 0
        while time.time() < stop_at:
            if self.client is None or self.client.transport is None:
                if self.client is not None:
                    self.client.abort()
                    self.reconnects += 1
                self.client = await self.session()
            body = f"{self.user} {i}"
            if await self.post(body, f"{self.user}-{i}"):
                self.acked.append(body)
                self.acked_at.append(time.time())
                i += 1
            await asyncio.sleep(0.05)

    async def close(self):
        if self.client is not None:
            await self.client.close()


def setup():
    return Mirrored(sys.argv[1])


def teardown(mirrored):
    mirrored.cleanup()


def active(server):
    return admin_call(server, "GET", "/health")[1]["pool"]["active"]


async def wait(what, check, timeout=20):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, what
        await asyncio.sleep(0.2)


async def test_the_standby_takes_the_slot_of_a_killed_active_server(m):
    pool = m.pool
    p1, p2, p3 = pool.servers
    p1.cli("topology", "publish", str(write_topology(pool, standby=("p3",),
                                                     standby_after_s=STANDBY_AFTER_S,
                                                     replica=m.replica_address)))
    await wait("p3 became a standby", lambda: not active(p3))
    room = next(n for n in ("town", "plaza", "square")
                if server_of(n, ("p1", "p2")) == 0) + "@" + MUC
    alice = Poster("alice", [p1, p2, p3], room)
    bob = Poster("bob", [p2, p1, p3], room)
    posting = asyncio.gather(alice.run(time.time() + 18), bob.run(time.time() + 18))
    try:
        await asyncio.sleep(3)
        killed_at = time.time()
        p1.stop(kill=True)
        await wait("p3 took p1's slot",
                   lambda: "slot p1  held by p3" in p2.cli("pool", "status").stdout, 30)
        took = time.time() - killed_at
        await posting
        print(f"  p3 took p1's slot {took:.1f} s after the kill; alice reconnected "
              f"{alice.reconnects} time(s)", flush=True)
        assert took >= STANDBY_AFTER_S, took
        assert took < STANDBY_AFTER_S + 3 + 5, took  # lease, then a second or two to notice
        assert alice.reconnects >= 1
        late = [t for t in alice.acked_at + bob.acked_at if t > killed_at + took]
        assert late, "nothing was acknowledged after the takeover"
        assert_stored_once_in_order(pool, room.split("@")[0],
                                    {"alice": alice.acked, "bob": bob.acked})
        # p1 comes back: it finds its slot held and stays a standby.
        p1.start()
        await wait("p1 is up", lambda: "standby p1 (up)" in p2.cli("pool", "status").stdout)
        await asyncio.sleep(2)
        assert not active(p1) and active(p3)
        assert see_other_host(p1) is not None
        # Back to the layout of the topology for what follows.
        assert "p1 holds its slot again" in p2.cli("pool", "failback").stdout
        await wait("p1 active again", lambda: active(p1) and not active(p3))
    finally:
        await alice.close()
        await bob.close()


async def test_the_database_fails_over_to_its_replica_and_the_servers_carry_on(m):
    pool = m.pool
    p1, p2, p3 = pool.servers
    room = f"link@{MUC}"  # a room of its own: the posts' bodies are those of the first test
    alice = Poster("alice", [p1, p2], room)
    bob = Poster("bob", [p2, p1], room)
    posting = asyncio.gather(alice.run(time.time() + 18), bob.run(time.time() + 18))
    try:
        await asyncio.sleep(3)
        pg_cluster("kill", str(m.db[0]))
        killed_at = time.time()
        # The time a watchdog (or an operator) takes to notice; longer than a lease (3 s), so
        # that every server's lease lapses meanwhile.
        await asyncio.sleep(4)
        pg_cluster("promote", str(m.db[1]))
        promoted_at = time.time()
        await posting
        after = sorted(t for t in alice.acked_at + bob.acked_at if t > promoted_at)
        assert after, "nothing was acknowledged after the promotion"
        print(f"  first post acknowledged {after[0] - promoted_at:.1f} s after the promotion "
              f"({after[0] - killed_at:.1f} s after the primary died)", flush=True)
        assert after[0] - promoted_at < 10
        # The room's server held posts through the outage, and every lease felt it.
        assert any("database unreachable" in s.log_text() for s in (p1, p2))
        assert all("the database answers again" in s.log_text() for s in pool.servers)
        assert alice.reconnects == 0 and bob.reconnects == 0, "a session was lost"
        # Nobody saw anybody leave: no lease was taken for lapsed, no room moved.
        assert not alice.left_seen and not bob.left_seen, (alice.left_seen, bob.left_seen)
        assert_stored_once_in_order(pool, "link", {"alice": alice.acked, "bob": bob.acked})
        assert "pool state: normal" in p2.cli("pool", "status").stdout
        assert active(p1) and active(p2) and not active(p3)
        # The compliance record too rode it out: drained, and its chain intact.
        deadline = time.time() + 30
        while p2.content_query("SELECT count(*) FROM compliance_outbox")[0][0] != 0:
            assert time.time() < deadline, "the outbox did not drain"
            await asyncio.sleep(0.3)
        verified = p2.cli("compliance", "verify")
        assert "intact" in verified.stdout, verified.stdout
    finally:
        await alice.close()
        await bob.close()


async def test_losing_a_whole_site_the_other_site_carries_on(m):
    """Site north: p1 and p2 (active) and the primary (db2 since the last test); site south:
    p3 (standby) and a new synchronous replica, db3. North is lost at once: both servers and
    the primary SIGKILLed. The one step taken by hand (or by a watchdog) is promoting db3; p3
    then serves by itself, its clients reconnect to it, and nothing acknowledged is lost."""
    pool = m.pool
    p1, p2, p3 = pool.servers
    pg_cluster("replica", str(m.db[2]), str(m.db[1]), port=m.db3_port)
    p1.cli("topology", "publish", str(write_topology(
        pool, standby=("p3",), standby_after_s=STANDBY_AFTER_S,
        replica=f"127.0.0.1:{m.db3_port}", sites={"p1": "north", "p2": "north", "p3": "south"})))
    room = f"busy@{MUC}"  # its own room again
    alice = Poster("alice", [p1, p2, p3], room)
    bob = Poster("bob", [p2, p1, p3], room)
    posting = asyncio.gather(alice.run(time.time() + 26), bob.run(time.time() + 26))
    try:
        await asyncio.sleep(3)
        p1.stop(kill=True)
        p2.stop(kill=True)
        pg_cluster("kill", str(m.db[1]))
        lost_at = time.time()
        await asyncio.sleep(2)
        pg_cluster("promote", str(m.db[2]))
        await wait("p3 took a slot", lambda: "held by p3" in p3.cli("pool", "status").stdout, 30)
        took = time.time() - lost_at
        await posting
        served = sorted(t for t in alice.acked_at + bob.acked_at if t > lost_at)
        assert served, "nothing was acknowledged after the site was lost"
        print(f"  p3 held a slot {took:.1f} s after the site was lost; posts acknowledged "
              f"again {served[0] - lost_at:.1f} s after it", flush=True)
        assert took < STANDBY_AFTER_S + 3 + 2 + 5, took
        assert alice.reconnects >= 1 and bob.reconnects >= 1
        assert_stored_once_in_order(pool, "busy", {"alice": alice.acked, "bob": bob.acked})
        assert active(p3)
    finally:
        await alice.close()
        await bob.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
