"""The WebSocket bridge (docs/ws.md) across interruptions: resuming with
?since= replays exactly what was missed, in order and once, then live
events; a since the bridge cannot serve gives resync_required; two bridges
on one Redis carry events both ways; a Redis crash and restart keeps the
sockets open and loses nothing posted after it."""
import asyncio
import json
import os
import signal
import subprocess
import time

import pytest

from hsapi import assert_ok
from test_04_helpers import chat_events, direct, group, register_many, remove_member, send
from wsclient import Clients, id_key, match, rest, stored


def stream_after(stack, keys, after):
    """[(id, type, data)] of the streams' entries after the id, in id order:
    what a replay must carry."""
    out = []
    for key in keys:
        raw = subprocess.run(["redis-cli", "-p", str(stack.redis_port), "--json", "XRANGE", key,
                              f"({after}", "+"], capture_output=True, text=True, timeout=30,
                             check=True).stdout
        for eid, fields in json.loads(raw or "[]"):
            if not isinstance(fields, dict):
                fields = dict(zip(fields[::2], fields[1::2]))
            out.append((eid, fields["type"], json.loads(fields["data"])))
    return sorted(out, key=lambda e: id_key(e[0]))


def created(chat_id, message_id):
    """A predicate: the message.created of that message."""
    def pred(o):
        return (o["type"] == "message.created" and o["data"]["chat_id"] == chat_id
                and o["data"]["message"]["id"] == message_id)
    pred.__name__ = f"message.created of {message_id}"
    return pred


def test_resume_replays_what_was_missed_then_live(stack):
    a, b = register_many(stack, 2, prefix="wres")
    d = direct(stack, a, b)["id"]

    async def run():
        async with Clients() as cs:
            wb = await cs.open(stack.ws_url(0), b.access, name="b")
            await rest(send, stack, a, d, "seen")
            last = (await wb.take(match("message.created", chat_id=d)))["id"]
            await wb.close()

            missed = [send(stack, a, d, f"missed {i}") for i in range(5)]
            wb = await cs.open(stack.ws_url(1), b.access, since=last, name="b again")
            assert wb.hello_obj["resumed"] is True, wb.hello_obj
            replay = await wb.take_n(stored, 5)
            assert [e["type"] for e in replay] == ["message.created"] * 5, replay
            assert [e["data"]["message"]["id"] for e in replay] == [m["id"] for m in missed]
            await wb.quiet(stored)  # nothing more, nothing twice
            live = await rest(send, stack, a, d, "live")
            ev = await wb.take(stored)
            assert ev["type"] == "message.created" and ev["data"]["message"]["id"] == live["id"]
    asyncio.run(run())


def test_resume_covers_every_chat_and_the_user(stack):
    """One since resumes all chats at once, new ones included, and the
    user's own stream: the replay is the streams' entries after it, merged
    in id order."""
    a, b, c = register_many(stack, 3, prefix="wrs")
    d = direct(stack, a, b)["id"]

    async def run():
        async with Clients() as cs:
            wb = await cs.open(stack.ws_proxy_url, b.access, name="b")
            since = wb.hello_obj["last_id"]
            await wb.close()
            g = group(stack, c, [a, b], name="made while b was away")["id"]
            for i in range(3):
                send(stack, a, d, f"d{i}")
                send(stack, c, g, f"g{i}")
            want = stream_after(stack, [f"hs:ev:chat:{d}", f"hs:ev:chat:{g}",
                                        f"hs:ev:user:{b.id}"], since)
            assert len(want) >= 10, want
            wb = await cs.open(stack.ws_url(0), b.access, since=since, name="b again")
            got = await wb.take_n(stored, len(want))
            assert [(e["id"], e["type"], e["data"]) for e in got] == want
            await wb.quiet(stored)
    asyncio.run(run())


def test_since_unknown_to_this_redis(stack, user_a):
    """A since after the newest event (another Redis, or a restarted one)
    gives resync_required, then live events."""
    a, b = register_many(stack, 2, prefix="wfu")
    d = direct(stack, a, b)["id"]
    future = f"{int(time.time() * 1000) + 10_000_000}-0"

    async def run():
        async with Clients() as cs:
            wb = await cs.open(stack.ws_url(0), b.access, since=future)
            r = await wb.take(match("resync_required"))
            assert isinstance(r.get("reason"), str) and "id" not in r, r
            assert wb.hello_obj["resumed"] is False, wb.hello_obj
            m = await rest(send, stack, a, d, "after the resync")
            ev = await wb.take(stored)
            assert ev["data"]["message"]["id"] == m["id"], ev
    asyncio.run(run())


def test_two_bridges(stack):
    a, b = register_many(stack, 2, prefix="w2b")
    d = direct(stack, a, b)["id"]
    assert stack.bridge_pid(0) != stack.bridge_pid(1)

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a on bridge 0")
            wb = await cs.open(stack.ws_url(1), b.access, name="b on bridge 1")
            ev = await wa.take(match("presence", user_id=b.id))
            assert ev["data"]["status"] == "online", ev
            st = await wa.request({"type": "presence", "chat_id": d})
            users = {u["user_id"]: u["status"] for u in st["data"]["users"]}
            assert users == {a.id: "online", b.id: "online"}, st

            for src, dst, who in ((wa, wb, a), (wb, wa, b)):
                ack = await src.request({"type": "chat_message", "chat_id": d,
                                         "content": f"from {who.username}"})
                assert ack["type"] == "ack", ack
                await dst.take(created(d, ack["data"]["message_id"]))
                await src.send({"type": "typing", "chat_id": d, "state": "start"})
                ev = await dst.take(match("typing", chat_id=d))
                assert ev["data"]["user_id"] == who.id and ev["data"]["state"] == "start", ev

            m = await rest(send, stack, a, d, "over REST")
            for ws in (wa, wb):
                await ws.take(created(d, m["id"]))
            await wb.close()
            ev = await wa.take(match("presence", user_id=b.id, status="offline"))
    asyncio.run(run())


def test_redis_crash_and_restart(make_stack):
    """docs/ws.md, Robustness: the sockets stay open through a Redis crash;
    Redis restarted empty, so every connection gets resync_required; a
    message posted right after the restart (before the bridge could
    subscribe again) still arrives, and so do the next ones. Twice: the
    second time a message is also posted during the outage (stored, its
    event lost with Redis). One app process, so the post after the restart
    goes to the one that saw the outage."""
    s = make_stack(HS_PROCS=1)
    a, b = register_many(s, 2, prefix="wrd")
    d = direct(s, a, b)["id"]

    def stack_alive(wait=0):
        try:
            s.proc.wait(wait)  # a stack that is going down: let it finish
        except subprocess.TimeoutExpired:
            pass
        assert s.proc.poll() is None, (
            "conf/stack.sh stopped the whole stack when its redis-server died "
            f"(exit {s.proc.returncode}); see {s.out_path}")

    async def arrives(ws, m, what):
        try:
            await ws.take(created(d, m["id"]), timeout=10)
        except AssertionError as e:
            stack_alive(wait=3)
            published = any(t == "message.created" and x["message"]["id"] == m["id"]
                            for t, x in chat_events(s, d))
            raise AssertionError(
                f"{what}: not delivered; its event {'is' if published else 'is NOT'} in the "
                f"new Redis's stream hs:ev:chat:{d}"
                + ("" if published else " (the chats app did not publish it)") + f"\n{e}")

    async def run():
        async with Clients() as cs:
            conns = [await cs.open(s.ws_url(0), b.access, name="b direct"),
                     await cs.open(s.ws_proxy_url, b.access, name="b proxied")]
            m = await rest(send, s, a, d, "before the crash")
            for ws in conns:
                await ws.take(created(d, m["id"]))

            for outage_post in (False, True):
                s.kill_redis()
                for ws in conns:  # the connections stay open and answer
                    await ws.ping()
                if not outage_post:
                    # a real outage: the bridge's first reconnects fail (and
                    # stack.sh, which looks once a second, must not give up)
                    stack_alive(wait=1.5)
                else:
                    # The apps wait until the next whole second after a failed
                    # connect (lib/core/redis.c): fail one early in a second, so
                    # the post right after the restart falls in that wait.
                    await asyncio.sleep(1.02 - time.time() % 1)
                    r = await rest(s.post, "/api/v1/messages", token=a.access,
                                   json={"chat_id": d, "content": "during the outage"})
                    assert_ok(r, 201)
                s.start_redis()
                after = await rest(send, s, a, d, "right after the restart")
                stack_alive()
                for ws in conns:
                    r = await ws.take(match("resync_required"), timeout=10)
                    assert "id" not in r, r
                    await arrives(ws, after, f"{ws.f.name}: the message posted right after the "
                                  f"restart (outage post: {outage_post})")
                    await ws.ping()
                live = await rest(send, s, a, d, "live again")
                for ws in conns:
                    await arrives(ws, live, f"{ws.f.name}: a message after the restart")
            w2 = await cs.open(s.ws_url(0), a.access, name="a, new connection")
            await w2.ping()
    asyncio.run(run())


@pytest.mark.parametrize("gap", ["subscription", "redis_restart"])
def test_removed_during_a_gap_gets_nothing_more(make_stack, gap):
    """Defect 5: a member removed while the bridge's Redis subscription was
    down must not receive the chat once the bridge catches up. The bridge is
    stopped (SIGSTOP) and its subscriber connection killed, so the gap is
    certain: with "subscription" the streams keep the removal (the replay
    path must apply it), with "redis_restart" Redis restarts empty after the
    removal (its event is gone: the store decides). Either way the removed member
    gets no message of the chat posted after the removal, then or live,
    while the member who stays gets them all."""
    s = make_stack()
    a, b, c = register_many(s, 3, prefix="wgap")
    g = group(s, a, [b, c])["id"]
    pid = s.bridge_pid(0)

    async def run():
        async with Clients() as cs:
            wb = await cs.open(s.ws_url(0), b.access, name="b (removed in the gap)")
            wc = await cs.open(s.ws_url(0), c.access, name="c (stays)")
            m0 = await rest(send, s, a, g, "before the gap")
            for ws in (wb, wc):
                await ws.take(created(g, m0["id"]))
            os.kill(pid, signal.SIGSTOP)
            try:
                subprocess.run(["redis-cli", "-p", str(s.redis_port), "CLIENT", "KILL",
                                "TYPE", "pubsub"], check=True, capture_output=True, timeout=10)
                assert (await rest(remove_member, s, a, g, b)).status_code == 204
                if gap == "redis_restart":
                    s.kill_redis()
                    s.start_redis()
                m1 = await rest(send, s, a, g, "in the gap, after the removal")
            finally:
                os.kill(pid, signal.SIGCONT)
            if gap == "subscription":
                await wb.take(match("member.removed", chat_id=g, user_id=b.id), timeout=10)
            else:
                await wb.take(match("resync_required"), timeout=10)
            await wc.take(created(g, m1["id"]), timeout=10)
            m2 = await rest(send, s, a, g, "live, after the gap")
            await wc.take(created(g, m2["id"]))
            await wb.quiet(match("message.created", chat_id=g))
            r = await wb.request({"type": "typing", "chat_id": g, "state": "start"})
            assert r["type"] == "error" and r["error"]["code"] == "chat_not_found", r
    asyncio.run(run())
