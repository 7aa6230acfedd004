#!/usr/bin/python3
"""A real terminal client: profanity in tmux logs in over STARTTLS, gets room history on join
(profanity has no MUC MAM, it relies on <history/>), and chats with a slixmpp client.
Usage: test_profanity.py PATH/TO/perch [test_name ...]"""

import asyncio
import os
import pathlib
import subprocess
import sys
import time
import types

from harness import MUC, Server, connect, run

SESSION = f"perch-prof-{os.getpid()}"


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10)


def screen():
    return tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", SESSION).stdout


async def wait_screen(text, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in screen():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on profanity's screen:\n{screen()}")


def typed(line):
    tmux("send-keys", "-t", SESSION, "-l", line)
    tmux("send-keys", "-t", SESSION, "Enter")


def setup():
    server = Server(sys.argv[1])
    server.add_user("alice", "alice-pw")
    server.add_user("bob", "bob-pw")
    server.cli("category", "add", "General")
    server.cli("room", "add", "lobby", "--category", "General")
    server.start()
    home = server.dir / "home"
    home.mkdir()
    tmux("kill-session", "-t", SESSION)
    r = tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50",
             f"env HOME={home} TERM=xterm-256color profanity")
    assert r.returncode == 0, r.stderr
    return types.SimpleNamespace(server=server)


def teardown(f):
    tmux("kill-session", "-t", SESSION)
    f.server.cleanup()


async def test_profanity_logs_in_gets_history_and_chats(f):
    room = f"lobby@{MUC}"
    bob = await connect(f.server, "bob", "bob-pw")
    await bob["xep_0045"].join_muc_wait(room, "bob", maxstanzas=0, timeout=10)
    bob.send_message(mto=room, mbody="said before profanity came", mtype="groupchat")
    await bob.next_groupchat()
    bob.send_message(mto="alice@localhost", mbody="while you were away", mtype="chat")

    await wait_screen("Profanity")
    typed(f"/connect alice@localhost server 127.0.0.1 port {f.server.port} tls trust")
    await wait_screen("password")
    typed("alice-pw")
    await wait_screen("[TLS]")
    await wait_screen("online")

    typed(f"/join {room}")
    await wait_screen("said before profanity came")  # classic history on join
    typed("hello from profanity")
    got = await bob.next_groupchat()
    assert got["body"] == "hello from profanity" and got["from"].resource == "alice"
    bob.send_message(mto=room, mbody="hello terminal", mtype="groupchat")
    await wait_screen("bob: hello terminal")
    # Its own message is recognised by its origin-id and shown once.
    assert screen().count("alice: hello from profanity") == 1, screen()

    # One to one: what bob sent while alice was offline waited for her (XEP-0160), and the
    # conversation goes on both ways.
    typed("/win 1")  # in a room's window /msg names an occupant: from the console, a user
    typed("/msg bob@localhost hi bob")
    got = await asyncio.wait_for(bob.private.get(), 10)
    assert got["body"] == "hi bob" and got["from"].bare == "alice@localhost", got
    await wait_screen("while you were away")
    bob.send_message(mto=got["from"], mbody="hi alice", mtype="chat")
    await wait_screen("hi alice")
    await bob.close()


if __name__ == "__main__":
    run(globals(), setup, teardown)
