#!/usr/bin/python3
"""How many presences the capacity model makes a pool deliver, when everybody joins at the start
and when one server dies and its users come back through the others: the work that sets how
long they take (docs/BENCHMARKS.md, "where a failover's minute goes").

  bench/failover-deliveries.py --factor 0.7 [--servers 4] [--limit 75]

The model is perch-bench's lync-model: rooms of 30, 150 and 16,000 in the proportions
32,000 : 1,067 : 10 for 80,000 users, memberships dealt to users in turn, user u on server
u % SERVERS + 1; the second server dies. Only rooms of at most --limit occupants
(muc.participant_update_limit) announce joins and leaves. A join there is sent to every occupant
present, and the joiner gets each of their presences and its own; a leave is sent to every
occupant left. At the start users join in order; after the kill the dead server's users leave
one after the other and rejoin with the living occupants present."""

import argparse


def model(factor):
    users = round(80000 * factor)
    sizes = []
    for count, size in ((32000, 30), (1067, 150), (10, 16000)):
        sizes += [min(size, users)] * int(count * factor)
    members, next_user = [], 0
    for size in sizes:
        members.append([(next_user + k) % users for k in range(size)])
        next_user += size
    return users, members


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factor", type=float, required=True, help="the model's scale (0.7, 0.97)")
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--limit", type=int, default=75, help="muc.participant_update_limit")
    a = ap.parse_args()
    if not 0 < a.factor <= 1.25 or a.servers < 2 or a.limit < 0:
        ap.error("--factor in (0, 1.25], --servers at least 2, --limit at least 0")
    users, members = model(a.factor)

    def lost(u):
        return u % a.servers == 1

    start = leaves = rejoins = 0
    for m in members:
        n = len(m)
        if n > a.limit:
            continue
        k = sum(1 for u in m if lost(u))
        start += sum(2 * i + 1 for i in range(n))
        leaves += sum(n - 1 - i for i in range(k))
        rejoins += sum(2 * (n - k + j) + 1 for j in range(k))
    gone = sum(1 for u in range(users) if lost(u))
    print(f"factor {a.factor}: {users} users on {a.servers} servers, {len(members)} rooms")
    print(f"everybody joining: {start / 1e6:.2f} million presences")
    print(f"server 2 dying: its {gone} users' leaves {leaves / 1e6:.2f} million, their rejoins "
          f"{rejoins / 1e6:.2f} million, together {(leaves + rejoins) / 1e6:.2f} million")


if __name__ == "__main__":
    main()
