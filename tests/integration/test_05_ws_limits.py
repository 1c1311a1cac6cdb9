"""The WebSocket bridge (docs/ws.md) under misuse and limits: refused
client events and the connection surviving them, protocol abuse, binary and
oversized frames, slow readers, idle clients, tokens expiring while
connected, the retention window, SIGTERM, and /metrics."""
import asyncio
import json
import os
import re
import signal
import time

import pytest
import requests

from hsapi import API, access_claims, assert_ok, jwt_claims, jwt_encode
from test_04_helpers import direct, group, register_many, send
from wsclient import OP_CONT, OP_TEXT, Clients, match, rest, stored

# One stack for the small limits (and a generous message rate, so the slow
# reader test can post fast).
SMALL = dict(HS_WS_QUEUE_MAX=16, HS_WS_MAX_MESSAGE=1024, HS_EVENTS_RETENTION=10,
             HS_MESSAGE_BURST=100000, HS_MESSAGE_RATE=1000, HS_MAX_MESSAGE_LENGTH=262144,
             HS_MAX_JSON_BODY=1048576)


@pytest.fixture(scope="module")
def small(make_module_stack):
    return make_module_stack(**SMALL)


def error_code(o):
    assert o["type"] == "error", o
    e = o["error"]
    assert isinstance(e.get("code"), str) and isinstance(e.get("message"), str) and e["message"], o
    return e["code"]


# -- refused client events ----------------------------------------------------------------
BAD_EVENTS = [
    ("{not json", None, "invalid_json"),
    ('{"type": "ping", "ref": "j1"', None, "invalid_json"),
    ("[1, 2]", None, "invalid_event"),
    ('"just a string"', None, "invalid_event"),
    ('{"ref": "n1"}', "n1", "invalid_event"),
    ('{"type": 7, "ref": "n2"}', "n2", "invalid_event"),
    ('{"type": "dance", "ref": "u1"}', "u1", "unknown_type"),
    ('{"type": "typing", "chat_id": 5, "state": "start", "ref": "t1"}', "t1", "invalid_event"),
    ('{"type": "presence", "chat_id": ["x"], "ref": "p1"}', "p1", "invalid_event"),
    ('{"type": "read", "chat_id": {}, "message_id": "x", "ref": "r1"}', "r1", "invalid_event"),
    # chat_message answers as POST /messages does (docs/ws.md)
    ('{"type": "chat_message", "chat_id": true, "content": "x", "ref": "c1"}', "c1",
     "wrong_type"),
    ('{"type": "auth", "token": 5, "ref": "a1"}', "a1", "invalid_event"),
]


def test_bad_client_events_are_refused_and_survived(stack, user_a):
    async def run():
        async with Clients() as cs:
            ws = await cs.open(stack.ws_url(0), user_a.access)
            for text, ref, code in BAD_EVENTS:
                await ws.send(text)
                e = await ws.take(match("error"), what=f"the error for {text}")
                assert error_code(e) == code, (text, e)
                assert e.get("ref") == ref, (text, e)
            await ws.ping()
            await ws.quiet()
    asyncio.run(run())


def test_refusals_in_a_row_close_4400(stack, user_a):
    async def run():
        async with Clients() as cs:
            ws = await cs.open(stack.ws_url(0), user_a.access)
            for _ in range(2):  # 19 refusals, then a good event resets the count
                for _ in range(19):
                    await ws.send("{bad")
                await ws.take_n(match("error"), 19)
                await ws.ping()
            try:
                for _ in range(20):
                    await ws.send("{bad")
            except Exception:  # noqa: BLE001 - closed while we were still sending
                pass
            return await ws.closed()
    assert asyncio.run(run()) == 4400


def test_binary_frame_closes_1003(stack, user_a):
    async def run():
        async with Clients() as cs:
            codes = []
            for url in (stack.ws_url(0), stack.ws_proxy_url):
                ws = await cs.open(url, user_a.access)
                await ws.send(b"\x00\x01binary")
                codes.append(await ws.closed())
            return codes
    assert asyncio.run(run()) == [1003, 1003]


def test_oversized_frame_closes_1009(small):
    a, b = register_many(small, 2, prefix="wbig")
    d = direct(small, a, b)["id"]

    async def run():
        async with Clients() as cs:
            ws = await cs.open(small.ws_url(0), a.access)
            assert ws.hello_obj["max_message"] == 1024, ws.hello_obj
            # just under the limit is fine
            body = {"type": "chat_message", "chat_id": d, "content": "", "ref": "fits"}
            body["content"] = "y" * (1000 - len(json.dumps(body)))
            frame = json.dumps(body)
            assert len(frame) == 1000
            await ws.send(frame)
            assert (await ws.take(match("ack", ref="fits")))["type"] == "ack"
            codes = []
            for url in (small.ws_url(0), small.ws_proxy_url):
                w = await cs.open(url, a.access)
                await w.send('{"type":"ping","ref":"' + "z" * 2000 + '"}')
                codes.append(await w.closed())
            return codes
    assert asyncio.run(run()) == [1009, 1009]


def test_fragmented_message_is_one_event_and_counts_whole(small):
    """A text message sent in several frames is reassembled into one
    event, and the size limit applies to the whole message, not to each
    frame."""
    a, = register_many(small, 1, prefix="wfrag")

    async def run():
        async with Clients() as cs:
            ws = await cs.raw(small.ws_url(0), a.access)
            text = json.dumps({"type": "ping", "ref": "in-three"})
            ws.send_frame(OP_TEXT, text[:5], fin=False)
            ws.send_frame(OP_CONT, text[5:12], fin=False)
            ws.send_frame(OP_CONT, text[12:], fin=True)
            await ws.writer.drain()
            pong = await ws.take(match("pong", ref="in-three"))
            # 3 frames of 400 bytes: each fits, the message (1200) does not
            ws.send_frame(OP_TEXT, '{"type":"ping","ref":"' + "z" * 378, fin=False)
            ws.send_frame(OP_CONT, "z" * 400, fin=False)
            ws.send_frame(OP_CONT, "z" * 398 + '"}', fin=True)
            await ws.writer.drain()
            return pong["type"], await ws.closed()
    assert asyncio.run(run()) == ("pong", 1009)


# -- slow readers -------------------------------------------------------------------------
def test_slow_reader_closed_4429_others_unaffected(small):
    """A client that stops reading while events pile up is closed with 4429
    (ws_queue_max 16 here); a reader of the same chat gets every message.
    The messages are large so that the kernel's socket buffers (megabytes on
    loopback) fill up quickly and the bridge's own queue has to grow."""
    a, b, c = register_many(small, 3, prefix="wslow")
    g = group(small, a, [b, c])["id"]
    n, big = 60, "x" * 200_000

    def post_all():
        return [send(small, a, g, f"{i} {big}")["id"] for i in range(n)]

    async def run():
        async with Clients() as cs:
            fast = await cs.open(small.ws_url(0), c.access, name="fast reader", max_queue=None)
            slow = await cs.raw(small.ws_url(0), b.access, rcvbuf=4096, name="slow reader")
            slow.pause()
            got, ids = await asyncio.gather(
                fast.take_n(match("message.created", chat_id=g), n, timeout=60), rest(post_all))
            assert [e["data"]["message"]["id"] for e in got] == ids
            slow.resume()
            code = await slow.closed(timeout=15)
            had = len([o for o in slow.f.seen if o["type"] == "message.created"])
            assert code == 4429, f"slow reader: close code {code} after {had} of {n} messages"
            assert had < n
            await fast.ping()
    asyncio.run(run())


# -- the retention window -----------------------------------------------------------------
def test_since_beyond_retention_needs_resync(small):
    a, b = register_many(small, 2, prefix="wret")
    d = direct(small, a, b)["id"]
    assert_ok(small.post(f"{API}/messages", token=a.access, json={"chat_id": d, "content": "x"}),
              201)

    async def run():
        async with Clients() as cs:
            probe = await cs.open(small.ws_url(0), b.access, name="probe")
            assert probe.hello_obj["retention"] == 10, probe.hello_obj
            recent = probe.hello_obj["last_id"]
            await probe.close()
            old = f"{int(time.time() * 1000) - 15_000}-0"
            for since in ("1000-0", old):
                ws = await cs.open(small.ws_url(0), b.access, since=since, name=f"since {since}")
                r = await ws.take(match("resync_required"))
                assert "id" not in r and ws.hello_obj["resumed"] is False, (r, ws.hello_obj)
                await ws.quiet(stored, window=0.2)
                m = await rest(send, small, a, d, f"live after {since}")
                ev = await ws.take(stored)
                assert ev["data"]["message"]["id"] == m["id"], ev
            # within the window: a replay, no resync
            ws = await cs.open(small.ws_url(0), b.access, since=recent, name="recent")
            assert ws.hello_obj["resumed"] is True, ws.hello_obj
            got = await ws.take_n(stored, 2)
            assert [e["data"]["message"]["content"] for e in got] == [
                "live after 1000-0", f"live after {old}"]
            await ws.quiet(match("resync_required"), window=0.2)
    asyncio.run(run())


# -- heartbeats: idle clients, sessions revoked while connected --------------------------
@pytest.fixture(scope="module")
def beat(make_module_stack):
    """A stack whose bridge pings every second and drops a client silent
    for two."""
    return make_module_stack(HS_WS_IDLE_TIMEOUT=2, HS_WS_HEARTBEAT=1)


def test_idle_client_closed_4408(beat):
    u = beat.register(prefix="widle")

    async def run():
        async with Clients() as cs:
            deaf = await cs.raw(beat.ws_url(0), u.access, name="answers no pings")
            alive = await cs.open(beat.ws_url(0), u.access, name="answers pings")
            assert deaf.hello_obj["heartbeat"] == 1, deaf.hello_obj
            t0 = time.monotonic()
            code = await deaf.closed(timeout=8)
            took = time.monotonic() - t0
            assert code == 4408, f"close code {code} after {took:.1f} s"
            assert deaf.pings >= 1, "the bridge never pinged"
            assert 1.0 <= took <= 5.0, f"closed after {took:.1f} s (ws_idle_timeout 2)"
            # websockets answers pings by itself: that client stays
            await alive.quiet(window=max(0.0, 3.5 - (time.monotonic() - t0)))
            await alive.ping()
    asyncio.run(run())


def test_revoked_while_connected_closes_4401(beat):
    """A logout, a password change or a disabled account closes the
    sessions' open connections at the next heartbeat."""
    u, v = beat.register(prefix="wrv"), beat.register(prefix="wrv")
    u2, u3 = beat.login(u), beat.login(u)

    async def run():
        async with Clients() as cs:
            c1 = await cs.open(beat.ws_url(0), u.access, name="u session 1")
            c2 = await cs.open(beat.ws_proxy_url, u2.access, name="u session 2")
            c3 = await cs.open(beat.ws_url(0), u3.access, name="u session 3")
            cv = await cs.open(beat.ws_url(0), v.access, name="v")
            r = await rest(beat.post, f"{API}/auth/logout", token=u2.access)
            assert r.status_code == 204, r.text
            assert await c2.closed(timeout=4) == 4401
            assert c2.f.close_reason == "token_revoked", c2.f.close_reason
            r = await rest(beat.put, f"{API}/auth/change-password", token=u.access,
                           json={"old_password": u.password,
                                 "new_password": "another fine passphrase 7"})
            assert assert_ok(r)["revoked_sessions"] == 1
            assert await c3.closed(timeout=4) == 4401
            await c1.ping()  # the session that changed the password stays
            r = await rest(beat.post, f"{API}/users/{v.id}/disable", token=beat.admin.access)
            assert assert_ok(r)["disabled"] is True
            assert await cv.closed(timeout=4) == 4401
            await c1.ping()
    asyncio.run(run())


# -- tokens expiring while connected --------------------------------------------------------
def test_token_expiring_then_renewed_or_closed(stack, key):
    """Tokens shorter than ws_token_warning (60 s) get token.expiring at
    once; one renewed with auth outlives its first token, the other is
    closed with 4401 when it expires."""
    u = stack.register(prefix="wexp")
    keep = jwt_encode(access_claims(u.id, u.session_id, ttl=4), key)
    lapse = jwt_encode(access_claims(u.id, u.session_id, ttl=3), key)
    exp_keep, exp_lapse = jwt_claims(keep)["exp"], jwt_claims(lapse)["exp"]

    async def run():
        async with Clients() as cs:
            wk = await cs.open(stack.ws_url(0), keep, name="renewed")
            wl = await cs.open(stack.ws_proxy_url, lapse, name="not renewed")
            for ws, exp in ((wk, exp_keep), (wl, exp_lapse)):
                w = await ws.take(match("token.expiring"), timeout=3)
                assert w["data"]["exp"] == exp and 0 <= w["data"]["in"] <= 4, w
            r = await rest(stack.post, f"{API}/auth/refresh", json={"refresh_token": u.refresh})
            fresh = assert_ok(r)["access_token"]
            ack = await wk.request({"type": "auth", "token": fresh})
            assert ack["type"] == "ack" and ack["data"]["exp"] == jwt_claims(fresh)["exp"], ack
            code = await wl.closed(timeout=exp_lapse - time.time() + 3)
            assert code == 4401, code
            assert time.time() >= exp_lapse - 1, "closed well before the token expired"
            await asyncio.sleep(max(0.0, exp_keep + 1.2 - time.time()))
            await wk.ping()
            await wk.quiet(match("error"), window=0.1)
    asyncio.run(run())


# -- SIGTERM --------------------------------------------------------------------------------
def test_sigterm_closes_1001(make_stack):
    s = make_stack()
    u = s.register(prefix="wterm")

    async def run():
        async with Clients() as cs:
            conns = [await cs.open(s.ws_url(0), u.access), await cs.open(s.ws_proxy_url, u.access)]
            pid = s.bridge_pid(0)
            assert pid, "no bridge listening"
            os.kill(pid, signal.SIGTERM)
            codes = await asyncio.gather(*(c.closed() for c in conns))
            return pid, codes
    pid, codes = asyncio.run(run())
    assert codes == [1001, 1001]
    deadline = time.monotonic() + 10
    while pid in s.bridge_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in s.bridge_pids(), "the bridge did not exit after SIGTERM"


# -- /metrics -------------------------------------------------------------------------------
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+-?\d+)?$")


def scrape(url):
    """{metric name: the sum of its samples} from Prometheus text."""
    r = requests.get(url, timeout=5)
    assert r.status_code == 200, r.text[:300]
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    totals = {}
    assert "# TYPE " in r.text, r.text[:500]
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        totals[m[1]] = totals.get(m[1], 0.0) + float(m[3])
    return totals


def test_metrics_move(stack):
    a, b = register_many(stack, 2, prefix="wmet")
    d = direct(stack, a, b)["id"]
    before = scrape(stack.metrics_url(0))

    async def run():
        async with Clients() as cs:
            wb = await cs.open(stack.ws_url(0), b.access)
            await rest(send, stack, a, d, "counted")
            await wb.take(match("message.created", chat_id=d))
            return scrape(stack.metrics_url(0))
    during = asyncio.run(run())

    def moved(word):
        return sorted(n for n in during if word in n and during[n] > before.get(n, 0.0))
    assert [n for n in during if "conn" in n], f"no connection metric: {sorted(during)}"
    assert [n for n in during if "event" in n], f"no event metric: {sorted(during)}"
    assert moved("conn"), f"no connection metric moved: {before} -> {during}"
    assert moved("event"), f"no event metric moved: {before} -> {during}"
