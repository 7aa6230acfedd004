#!/usr/bin/python3
"""The web pages in a real browser (Debian's Chromium, driven by playwright-core from
tests/browser/web_pages.mjs) with a slixmpp client on the other side: sign in at /rooms, create
a room and add a member; open /chat, join the room and post; the slixmpp client receives it and
its reply appears on the page; a member of two rooms signs in to /chat and finds both open.
Screenshots go to test-artifacts/browser/.
Usage: test_browser.py PATH/TO/perch [test ...]"""

import asyncio
import sys
import types

from harness import MUC, REPO, Server, connect, run

SCRIPT = REPO / "tests" / "browser" / "web_pages.mjs"
ARTIFACTS = REPO / "test-artifacts" / "browser"


def setup():
    s = Server(sys.argv[1], extra_config="[compliance]\nenabled = true")
    for u in ("alice", "bob"):
        s.add_user(u, f"{u}-pw")
    s.cli("category", "add", "Projects", "--creator", "user:alice")
    s.cli("room", "add", "orchard", "--category", "Projects", "--name", "Orchard",
          "--privacy", "closed")
    s.cli("room", "grant", "orchard", "member", "user:bob")
    s.cli("admin-account", "add", "root", "--password", "root-password-1")
    s.start()
    return types.SimpleNamespace(server=s)


def teardown(f):
    f.server.cleanup()


async def expect(node, step, timeout=60):
    """Reads the browser script's lines until it says STEP `step`."""
    while True:
        line = await asyncio.wait_for(node.stdout.readline(), timeout)
        if not line:
            raise AssertionError(f"the browser script ended before {step} (exit {await node.wait()})")
        text = line.decode().strip()
        print("  browser:", text, flush=True)
        if text == f"STEP {step}":
            return


async def test_rooms_page_then_web_chat_with_a_slixmpp_client(f):
    node = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), f.server.url, str(ARTIFACTS), cwd=str(REPO),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)

    def tell(line):
        node.stdin.write((line + "\n").encode())

    try:
        await expect(node, "room-ready")
        bob = await connect(f.server, "bob", "bob-pw")  # made a member of the closed room above
        await bob["xep_0045"].join_muc_wait(f"garden@{MUC}", "bob", maxstanzas=0, timeout=10)
        tell("bob-joined")
        await expect(node, "posted")
        got = await bob.next_groupchat(timeout=20)
        assert got["body"] == "hello from the browser" and got["from"].resource == "alice", got
        bob.send_message(mto=f"garden@{MUC}", mbody="hello from slixmpp", mtype="groupchat")
        tell("replied")
        await expect(node, "done")
        assert await asyncio.wait_for(node.wait(), 30) == 0
        await bob.close()
        for name in ("rooms-sign-in", "rooms-list", "rooms-room", "rooms-room-phone", "chat-sign-in",
                     "chat-room", "chat-member-rooms"):
            assert (ARTIFACTS / f"{name}.png").stat().st_size > 1000, name
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()



async def test_the_admin_console(f):
    """The console at /admin/ on the admin port: sign in (a wrong password first), create a
    category and a room in it, add a member, remove a message a slixmpp client posted (the
    room's occupants see it replaced), read the dashboard; desktop and phone."""
    node = await asyncio.create_subprocess_exec(
        "node", str(REPO / "tests" / "browser" / "admin_console.mjs"),
        f"https://localhost:{f.server.admin_port}", str(ARTIFACTS), cwd=str(REPO),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)

    try:
        await expect(node, "room-ready")
        alice = await connect(f.server, "alice", "alice-pw")
        await alice["xep_0045"].join_muc_wait(f"lab@{MUC}", "alice", maxstanzas=0, timeout=10)
        alice.send_message(mto=f"lab@{MUC}", mbody="an off-topic remark", mtype="groupchat")
        posted = await alice.next_groupchat()
        stanza_id = posted.xml.find("{urn:xmpp:sid:0}stanza-id").get("id")
        node.stdin.write(f"message {stanza_id}\n".encode())
        await expect(node, "message-removed")
        # The occupant sees the message replaced (XEP-0425 retraction by a moderator).
        replaced = await alice.next_message_with("{urn:xmpp:fasten:0}apply-to", timeout=10)
        assert replaced.xml.find("{urn:xmpp:fasten:0}apply-to").get("id") == stanza_id
        # Settings and the add-in, saved in the console, are in force for the room's clients.
        await expect(node, "addin-set", timeout=60)
        info = await alice["xep_0030"].get_info(jid=f"lab@{MUC}")
        fields = {fl.get("var"): fl.findtext("{jabber:x:data}value")
                  for fl in info.xml.find(".//{jabber:x:data}x").findall("{jabber:x:data}field")}
        assert fields["{urn:perch:limits:0}message-max-chars"] == "4000", fields
        assert fields["{urn:perch:room:0}addin-url"] == "https://notes.example.org/lab", fields
        await expect(node, "done", timeout=90)
        assert await asyncio.wait_for(node.wait(), 30) == 0
        await alice.close()
        for name in ("admin-sign-in", "admin-categories", "admin-room", "admin-settings", "admin-compliance",
                     "admin-groups", "admin-dashboard",
                     "admin-dashboard-phone", "admin-room-phone"):
            assert (ARTIFACTS / f"{name}.png").stat().st_size > 1000, name
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()


if __name__ == "__main__":
    run(globals(), setup, teardown)
