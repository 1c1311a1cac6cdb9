"""The WebSocket bridge (docs/ws.md, "Limits") against a member who floods
client events (defect 13 of issue 11): typing is relayed only when it says
something new, however many chats it rotates through; every client event
takes from a per-user budget, the excess answered with rate_limited;
ephemeral events (typing, presence) are dropped for a slow reader instead of
closing it; and a flood of client events on a large chat leaves the other
members' delivery time alone (the store and Redis work runs off the loop)."""
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from hsapi import ROOT, sqlite_only
from test_04_helpers import group, register_many, send
from wsclient import Clients, match, rest

SMALL = dict(HS_WS_QUEUE_MAX=16, HS_MESSAGE_BURST=100000, HS_MESSAGE_RATE=1000,
             HS_MAX_MESSAGE_LENGTH=262144, HS_MAX_JSON_BODY=1048576)


def typing_of(user_id, state=None):
    def pred(o):
        return (o.get("type") == "typing" and o["data"]["user_id"] == user_id
                and (state is None or o["data"]["state"] == state))
    pred.__name__ = f"typing of {user_id} ({state or 'any'})"
    return pred


def metric(stack, name, i=0):
    """The value of one counter or gauge of bridge i's /metrics."""
    text = requests.get(stack.metrics_url(i), timeout=5).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, f"no {name} in /metrics"
    return float(m[1])


def test_typing_stop_flood_reaches_no_one(stack):
    """The reported attack: a member sends typing "stop" as fast as the
    socket takes it. Nothing is relayed (there was no start), the excess is
    refused with rate_limited (the flooder is slowed down, not cut off), and
    the other member hears nothing and stays."""
    a, b = register_many(stack, 2, prefix="wfl")
    g = group(stack, a, [b])["id"]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="flooder", max_queue=None)
            wb = await cs.open(stack.ws_url(0), b.access, name="member")
            frame = json.dumps({"type": "typing", "chat_id": g, "state": "stop"})
            for _ in range(5000):
                await wa.send(frame)
            e = await wa.take(match("error"))
            assert e["error"]["code"] == "rate_limited", e
            await wa.quiet(lambda o: o["type"] == "error" and o["error"]["code"] != "rate_limited",
                           window=0.3)
            refused = [o for o in wa.seen if o["type"] == "error"]
            assert len(refused) >= 4000, len(refused)  # 100 at once, then 50 a second
            await asyncio.sleep(0.1)
            await wa.ping()  # told to slow down, not cut off
            await wb.quiet(typing_of(a.id), window=0.5)
            m = await rest(send, stack, a, g, "after the flood")
            ev = await wb.take(match("message.created", chat_id=g))
            assert ev["data"]["message"]["id"] == m["id"]
            await wb.ping()
    asyncio.run(run())


def test_typing_throttle_holds_across_many_chats(stack):
    """Rotating through more chats than the throttle used to remember (it
    kept 4) relays one start per chat per typing_throttle_ms, then one stop
    per chat; a stop without a start is not relayed."""
    a, b = register_many(stack, 2, prefix="wrot")
    chats = [group(stack, a, [b], name=f"rot {i}")["id"] for i in range(6)]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="typist")
            wb = await cs.open(stack.ws_url(0), b.access, name="reader")
            for _ in range(3):
                for g in chats:
                    await wa.send({"type": "typing", "chat_id": g, "state": "start"})
            got = await wb.take_n(typing_of(a.id, "start"), len(chats))
            assert sorted(e["data"]["chat_id"] for e in got) == sorted(chats)
            await wb.quiet(typing_of(a.id), window=0.5)
            for _ in range(2):
                for g in chats:
                    await wa.send({"type": "typing", "chat_id": g, "state": "stop"})
            got = await wb.take_n(typing_of(a.id, "stop"), len(chats))
            assert sorted(e["data"]["chat_id"] for e in got) == sorted(chats)
            await wb.quiet(typing_of(a.id), window=0.5)
            await wa.ping()
            await wa.quiet(match("error"), window=0.1)
    asyncio.run(run())


def test_presence_queries_are_rate_limited_per_user(stack):
    """Each client event takes from the user's budget (100 at once, then 50
    a second); presence queries of one chat from its budget too. The excess
    is answered with rate_limited, and the connection keeps working."""
    a, b = register_many(stack, 2, prefix="wpq")
    g = group(stack, a, [b])["id"]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="asker", max_queue=None)
            for i in range(15):
                await wa.send({"type": "presence", "chat_id": g, "ref": f"p{i}"})
            replies = [await wa.take(lambda o, r=f"p{i}": o.get("ref") == r, what=f"reply p{i}")
                       for i in range(15)]
            kinds = [r["type"] if r["type"] != "error" else r["error"]["code"] for r in replies]
            assert kinds[:10] == ["presence.state"] * 10, kinds
            assert set(kinds[10:]) == {"rate_limited"}, kinds
            await wa.ping()
    asyncio.run(run())


def test_reconnecting_does_not_refill_the_budget(stack):
    """The per-user budget outlives the user's last connection: a client
    that spent it, closes and reconnects at once is still limited (it would
    otherwise get 100 more events per reconnect)."""
    u = stack.register(prefix="wrc")

    async def run():
        async with Clients() as cs:
            w1 = await cs.open(stack.ws_url(0), u.access, name="first", max_queue=None)
            for _ in range(150):
                await w1.send({"type": "ping"})
            await w1.take(match("error"))  # the budget is spent
            await w1.close()
            w2 = await cs.open(stack.ws_url(0), u.access, name="again", max_queue=None)
            for i in range(60):  # fewer than the burst: all would pass with a fresh budget
                await w2.send({"type": "ping", "ref": f"a{i}"})
            replies = [await w2.take(lambda o, r=f"a{i}": o.get("ref") == r or (
                o["type"] == "error" and "ref" not in o), what=f"reply a{i}") for i in range(60)]
            limited = [r for r in replies if r["type"] == "error"]
            assert limited and {r["error"]["code"] for r in limited} == {"rate_limited"}, replies
    asyncio.run(run())


@pytest.fixture(scope="module")
def small(make_module_stack):
    return make_module_stack(**SMALL)


def test_ephemeral_events_never_close_a_slow_reader(small):
    """A reader that stops reading while co-members type gets their typing
    dropped, not a 4429 close (ws_queue_max is 16 here): only stored events
    count towards it. Large messages first fill the socket buffers, so what
    follows has to wait in the bridge's queue."""
    a, b, *typists = register_many(small, 6, prefix="weph")
    g_big = group(small, a, [b], name="large messages")["id"]
    g_typing = group(small, a, [b, *typists], name="typing")["id"]
    big = "x" * 250_000

    async def run():
        async with Clients() as cs:
            slow = await cs.raw(small.ws_url(0), b.access, rcvbuf=4096, name="slow reader")
            ws_t = [await cs.open(small.ws_url(0), t.access, name=f"typist {i}", max_queue=None)
                    for i, t in enumerate(typists)]
            slow.pause()
            posted = []
            for _ in range(12):  # until the bridge holds some of it (at most 12 < 16)
                before = metric(small, "hs_ws_events_in_total")
                posted.append((await rest(send, small, a, g_big, big))["id"])
                deadline = time.monotonic() + 5
                while metric(small, "hs_ws_events_in_total") <= before:
                    assert time.monotonic() < deadline, "the bridge got no event"
                    await asyncio.sleep(0.01)
                if metric(small, "hs_ws_queued_events") >= 1:
                    break
            assert metric(small, "hs_ws_queued_events") >= 1, "the socket buffers never filled"
            for _ in range(5):  # each typist: 5 starts and 5 stops, all news
                for w in ws_t:
                    await w.send({"type": "typing", "chat_id": g_typing, "state": "start"})
                    await w.send({"type": "typing", "chat_id": g_typing, "state": "stop"})
            # every relay went through the bridge once the first typist has
            # heard the last one's tenth
            last = typists[-1].id
            await ws_t[0].take_n(typing_of(last), 10)
            slow.resume()
            got = await slow.take_n(match("message.created", chat_id=g_big), len(posted),
                                    timeout=30)
            assert [e["data"]["message"]["id"] for e in got] == posted
            slow.send_frame(1, json.dumps({"type": "ping", "ref": "alive"}))
            pong = await slow.take(lambda o: o.get("ref") == "alive", timeout=10)
            assert pong["type"] == "pong", pong
            typing = [o for o in slow.f.seen if o["type"] == "typing"]
            assert len(typing) < 10 * len(typists), "nothing was dropped"
            assert metric(small, "hs_ws_ephemeral_drops_total") > 0
    asyncio.run(run())


@sqlite_only  # seeds the SQLite file (bench/ws_seed.py)
def test_flood_of_client_events_leaves_delivery_fast(make_stack, tmp_path):
    """Members flooding presence queries of a 300-member group (and then a
    mix of presence, typing, read and ping) from another process: the other
    members' delivery latency stays within a generous bound (the store and
    Redis work of client events runs off the bridge's loop; before, one such
    flood held deliveries back by seconds). bench/ws_flood.py measures the
    same with more members and readers."""
    sys.path.insert(0, str(ROOT / "bench"))
    from ws_flood import measure, seed
    s = make_stack()
    owner = s.register(prefix="wlat")
    g = group(s, owner, [], name="large")["id"]
    mid = send(s, owner, g, "read me")["id"]
    tokens = seed(s.rundir, g, 300, str(tmp_path / "tokens"))
    readers, flooders = tokens[:5], tokens[5:8]
    for mode in ("presence", "mixed"):
        r = measure(s.ws_url(0), s.redis_port, g, readers, flooders, mode, rate=50, seconds=3,
                    message_id=mid)
        assert r["readers_closed"] == 0, r
        assert r["delivered"] == r["expected"], r
        assert r["flood_frames"] > 1000, r  # it was a flood
        assert r["p99_ms"] < 250, (mode, r)
