#!/usr/bin/python3
"""A user in many chats (issue 11: the unread, presence and replay paths stay
bounded): how long a WebSocket connection takes to its hello, a resume with
a replay, a long-poll, a message delivered, and GET /chats, for a user who
is a member of --chats chats. Run from the repository root after `make`:

    bench/ws_manychats.py [--chats 10000] [--rounds 5]

It starts its own stack (the integration tests' harness, one bridge),
registers the user and one partner, and inserts the chats (small groups of
the two, so presence applies to each) straight into SQLite. Prints one line
per measurement: "bench manychats <name> chats= median_ms= max_ms=".
Needs python3-websockets (Debian's), as the tests do.
"""
import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seed_chats(rundir, users, n):
    """n groups whose members are users, the first the owner."""
    db = sqlite3.connect(os.path.join(rundir, "data", "hypersend.db"), timeout=30,
                         isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    now = int(time.time() * 1000)
    base = int(time.time())
    ids = ["%08x%016x" % (base, (7 << 56) + i) for i in range(n)]
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO chats (id, kind, name, owner_id, member_count, last_activity_at, created_at,"
        " updated_at) VALUES (?, 'group', ?, ?, ?, ?, ?, ?)",
        ((c, f"many {i}", users[0], len(users), now, now, now) for i, c in enumerate(ids)))
    db.executemany(
        "INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
        ((c, u, "owner" if j == 0 else "member", now) for c in ids for j, u in enumerate(users)))
    db.execute("COMMIT")
    db.close()
    return ids


async def hello_time(url, token, since=None):
    t0 = time.monotonic()
    q = f"?token={token}" + (f"&since={since}" if since else "")
    async with websockets.connect(url + q, max_size=None, ping_interval=None, compression=None,
                                  open_timeout=120, close_timeout=0.5) as ws:
        while True:
            for line in (await asyncio.wait_for(ws.recv(), 120)).split("\n"):
                o = json.loads(line)
                if o["type"] == "hello":
                    return (time.monotonic() - t0) * 1000, o["last_id"]


async def delivery_time(stack, url, reader, sender, chat):
    async with websockets.connect(f"{url}?token={reader.access}", max_size=None,
                                  ping_interval=None, compression=None, open_timeout=120,
                                  close_timeout=0.5) as ws:
        while "hello" not in await asyncio.wait_for(ws.recv(), 120):
            pass
        t0 = time.monotonic()
        await asyncio.to_thread(stack.post, "/api/v1/messages", token=sender.access,
                                json={"chat_id": chat, "content": "timed"})
        while True:
            frame = await asyncio.wait_for(ws.recv(), 30)
            if "message.created" in frame:
                return (time.monotonic() - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chats", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5)
    o = ap.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    from conftest import Stack  # the tests' harness: free ports, stack.sh, clean stop
    s = Stack("bench-many", {"HS_WS_BRIDGES": "1"})
    try:
        s.start()
        u, v = s.register(prefix="many"), s.register(prefix="many")
        t0 = time.monotonic()
        chats = seed_chats(s.rundir, [u.id, v.id], o.chats)
        print(f"bench manychats: {o.chats} chats seeded in {time.monotonic() - t0:.1f} s",
              file=sys.stderr)
        url = s.ws_url(0)
        r = s.post("/api/v1/messages", token=v.access, json={"chat_id": chats[0], "content": "0"})
        assert r.status_code == 201, r.text  # an event id to resume from
        res = {}

        def note(name, ms):
            res.setdefault(name, []).append(ms)

        for _ in range(o.rounds):
            ms, last = asyncio.run(hello_time(url, u.access))
            note("ws_connect_hello", ms)
            r = s.post("/api/v1/messages", token=v.access, json={"chat_id": chats[-1],
                                                                  "content": "missed"})
            assert r.status_code == 201, r.text
            ms, _ = asyncio.run(hello_time(url, u.access, since=last))
            note("ws_resume_hello", ms)
            t1 = time.monotonic()
            r = s.get("/api/v1/updates", token=u.access, params={"since": last, "timeout": 0})
            assert r.status_code == 200 and r.json()["events"], r.text[:300]
            note("longpoll_with_events", (time.monotonic() - t1) * 1000)
            nxt = r.json()["next"]
            t1 = time.monotonic()
            r = s.get("/api/v1/updates", token=u.access, params={"since": nxt, "timeout": 0})
            assert r.status_code == 200, r.text[:300]
            note("longpoll_empty", (time.monotonic() - t1) * 1000)
            t1 = time.monotonic()
            r = s.get("/api/v1/chats", token=u.access, params={"limit": 100})
            assert r.status_code == 200, r.text[:300]
            note("get_chats_page", (time.monotonic() - t1) * 1000)
            note("ws_delivery", asyncio.run(delivery_time(s, url, u, v, chats[0])))
        for name, xs in res.items():
            print(f"bench manychats {name} chats={o.chats} median_ms={statistics.median(xs):.1f} "
                  f"max_ms={max(xs):.1f}", flush=True)
    finally:
        s.stop()


if __name__ == "__main__":
    main()
