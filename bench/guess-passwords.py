#!/usr/bin/python3
"""Password guessing against a running server, as an attacker would do it, to measure how many
guesses the server actually checks. Loopback only.

  bench/guess-passwords.py --port 5222 --http-port 8080 --user alice --http-user bob

Runs, one after the other, for --seconds each: SCRAM-SHA-256 over XMPP from one address, and
POST /api/v1/session from one address, with --parallel connections at a time; each from its own
127.0.0.x address. Prints, per channel, attempts made, passwords checked (answered
not-authorized / 401) and attempts refused unchecked (temporary-auth-failure / 429)."""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import re
import socket
import time


def xmpp_attempt(port, source, user, password):
    """One SCRAM-SHA-256 attempt with a wrong proof; the server's answer condition."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    try:
        s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
        read_until(s, rb"</stream:features>")
        nonce = base64.b64encode(os.urandom(12)).decode()
        first = f"n,,n={user},r={nonce}"
        s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>"
                   + base64.b64encode(first.encode()).decode() + "</auth>").encode())
        answer = read_until(s, rb"</challenge>|</failure>")
        m = re.search(r"<challenge[^>]*>([^<]*)</challenge>", answer)
        if not m:
            return condition(answer)
        server_first = base64.b64decode(m.group(1)).decode()
        r = dict(p.split("=", 1) for p in server_first.split(","))["r"]
        final = f"c=biws,r={r},p=" + base64.b64encode(os.urandom(32)).decode()
        s.sendall(("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                   + base64.b64encode(final.encode()).decode() + "</response>").encode())
        return condition(read_until(s, rb"</failure>|<success"))
    finally:
        s.close()


def read_until(s, pattern):
    data = b""
    while not re.search(pattern, data):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def condition(answer):
    m = re.search(r"<failure[^>]*><([a-z-]+)", answer)
    return m.group(1) if m else ("success" if "<success" in answer else "other")


def http_attempt(port, source, user, password):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        c.request("POST", "/api/v1/session", body=json.dumps({"username": user,
                                                              "password": password}),
                  headers={"Content-Type": "application/json"})
        return str(c.getresponse().status)
    finally:
        c.close()


def run(name, attempt, port, source, user, args):
    counts = {}
    deadline = time.time() + args.seconds
    n = 0
    with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
        while time.time() < deadline:
            batch = [pool.submit(attempt, port, source, user, f"guess{n + i}")
                     for i in range(args.parallel)]
            n += args.parallel
            for b in batch:
                try:
                    result = b.result()
                except OSError as e:
                    result = type(e).__name__
                counts[result] = counts.get(result, 0) + 1
    total = sum(counts.values())
    print(f"{name}: {total} attempts on '{user}' in {args.seconds} s from {source}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--http-port", type=int, default=8080)
    p.add_argument("--user", default="alice", help="the account guessed over XMPP")
    p.add_argument("--http-user", default="bob", help="the account guessed over HTTP")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--parallel", type=int, default=8)
    args = p.parse_args()
    run("xmpp", xmpp_attempt, args.port, "127.0.0.31", args.user, args)
    run("http", http_attempt, args.http_port, "127.0.0.32", args.http_user, args)


if __name__ == "__main__":
    main()
