#!/usr/bin/python3
"""Delivery latency on the WebSocket bridge while members flood client
events (issue 11: the bridge's loop never waits on the store or Redis for a
client event). Run from the repository root after `make`:

    bench/ws_flood.py [--members 1000] [--readers 50] [--flooders 5] [--seconds 5]

It starts its own stack (the integration tests' harness, conf/stack.sh, one
bridge) on free loopback ports, makes a group through the API, seeds
--members members into SQLite with their tokens (bench/ws_seed.py), and
connects --readers of them. Then, for each scenario, a publisher PUBLISHes
--rate timestamped events a second on the group's channel for --seconds,
and every reader measures publish-to-receipt latency:

  quiet     nobody else does anything (the floor)
  presence  --flooders members send presence queries of the group (its
            --members members each) as fast as their sockets take them
  mixed     the same members send presence, typing start/stop, read and
            ping as fast as they can, reconnecting whenever they are closed

Flooders run in a child process, so the measuring loop is not slowed by
them. One line per scenario: "bench ws_flood <scenario> p50_ms= p99_ms=
max_ms= delivered= expected= readers_closed= flood_frames=". The
integration test tests/integration/test_05_ws_abuse.py runs the same
measure() with a bound; the numbers before and after the change are in
docs/ws.md ("Limits").

Needs python3-websockets (Debian's), as the tests do.
"""
import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def seed(rundir, chat_id, members, tokens_path):
    """members members of chat_id, straight into the stack's SQLite; their
    tokens go to tokens_path, one a line."""
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "ws_seed.py"),
                    "--db", os.path.join(rundir, "data", "hypersend.db"),
                    "--key-file", os.path.join(rundir, "secret.key"), "--chat", chat_id,
                    "--users", str(members), "--members", str(members),
                    "--tokens", tokens_path], check=True, capture_output=True, timeout=120)
    with open(tokens_path) as f:
        return [t.strip() for t in f if t.strip()]


async def _reader(url, token, chat_id, lat, state):
    async with websockets.connect(f"{url}?token={token}", max_size=None, ping_interval=None,
                                  compression=None, open_timeout=30, max_queue=None,
                                  close_timeout=0.5) as ws:
        state["ready"] += 1
        try:
            async for frame in ws:
                now = time.monotonic_ns()
                for line in frame.split("\n"):
                    o = json.loads(line)
                    d = o.get("data")
                    if (o.get("type") == "bench.tick" and isinstance(d, dict)
                            and d.get("chat_id") == chat_id and not d.get("warmup")):
                        lat.append((now - d["t"]) / 1e6)
        except websockets.ConnectionClosed as e:
            if not state["stopping"]:
                state["closed"].append(e.rcvd.code if e.rcvd else None)


async def _publisher(redis_port, chat_id, rate, seconds):
    r, w = await asyncio.open_connection("127.0.0.1", redis_port)
    n = int(rate * seconds)
    warm = int(rate / 2)  # half a second not counted: the flood gets going
    start = time.monotonic()
    seq = 0
    for i in range(warm + n):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        seq += 1
        data = json.dumps({"chat_id": chat_id, "t": time.monotonic_ns(), "seq": seq,
                           "warmup": i < warm})
        eid = f"{int(time.time() * 1000)}-{seq}"
        w.write(resp("PUBLISH", f"hs:ev:chat:{chat_id}", f"{eid} bench.tick {data}"))
        await w.drain()
        await r.readuntil(b"\r\n")
    w.close()
    return n


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _measure(url, redis_port, chat_id, readers, rate, seconds, flood_cmd):
    lat, state = [], {"ready": 0, "closed": [], "stopping": False}
    tasks = [asyncio.create_task(_reader(url, t, chat_id, lat, state)) for t in readers]
    deadline = time.monotonic() + 60
    while state["ready"] < len(readers):
        assert time.monotonic() < deadline, f"{state['ready']} of {len(readers)} readers ready"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # every hello in, every channel subscribed
    print(f"bench ws_flood: {len(readers)} readers ready", file=sys.stderr, flush=True)
    flood = None
    if flood_cmd:
        flood = await asyncio.create_subprocess_exec(*flood_cmd, stdout=subprocess.PIPE)
        await flood.stdout.readline()  # "ready": the flooders are connected
    expected = await _publisher(redis_port, chat_id, rate, seconds) * len(readers)
    deadline = time.monotonic() + 5
    while len(lat) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    frames = 0
    if flood:
        flood.terminate()
        out = (await flood.communicate())[0].decode()
        frames = int(out.split("frames=")[-1].split()[0]) if "frames=" in out else 0
    state["stopping"] = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "max_ms": max(lat or [0]),
            "delivered": len(lat), "expected": expected, "readers_closed": len(state["closed"]),
            "flood_frames": frames}


def measure(url, redis_port, chat_id, readers, flooders=(), mode="quiet", rate=50, seconds=4,
            message_id=None):
    """Delivery latency (ms) of rate events/s over seconds to every reader
    token's connection, while the flooder tokens flood client events of the
    given mode ("presence" or "mixed") on chat_id from a child process."""
    cmd = None
    if mode != "quiet":
        cmd = [sys.executable, os.path.abspath(__file__), "--flood", mode, "--url", url,
               "--chat", chat_id, "--message", message_id or "", *flooders]
    return asyncio.run(_measure(url, redis_port, chat_id, readers, rate, seconds, cmd))


# -- the flooding child ---------------------------------------------------------------------
async def _flooder(url, token, chat_id, mode, message_id, count):
    frames = [{"type": "presence", "chat_id": chat_id}]
    if mode == "mixed":
        frames += [{"type": "typing", "chat_id": chat_id, "state": "start"},
                   {"type": "typing", "chat_id": chat_id, "state": "stop"},
                   {"type": "ping"}]
        if message_id:
            frames.append({"type": "read", "chat_id": chat_id, "message_id": message_id})
    texts = [json.dumps(f) for f in frames]
    while True:
        try:
            async with websockets.connect(f"{url}?token={token}", max_size=None,
                                          ping_interval=None, compression=None,
                                          max_queue=None, close_timeout=0.5) as ws:
                async def drain():
                    try:
                        async for _ in ws:
                            pass
                    except websockets.ConnectionClosed:
                        pass
                d = asyncio.create_task(drain())
                i = 0
                while True:
                    await ws.send(texts[i % len(texts)])
                    i += 1
                    count[0] += 1
                    if i % 64 == 0:
                        await asyncio.sleep(0)  # let the drain run
        except (websockets.ConnectionClosed, OSError):
            await asyncio.sleep(0.01)


async def _flood(url, chat_id, mode, message_id, tokens):
    count = [0]
    tasks = [asyncio.create_task(_flooder(url, t, chat_id, mode, message_id, count))
             for t in tokens]
    await asyncio.sleep(0.5)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    import signal
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    await stop
    for t in tasks:
        t.cancel()
    print(f"frames={count[0]}", flush=True)


# -- the stand-alone benchmark -----------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--readers", type=int, default=50)
    ap.add_argument("--flooders", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--scenarios", default="quiet,presence,mixed")
    # the child's options
    ap.add_argument("--flood")
    ap.add_argument("--url")
    ap.add_argument("--chat")
    ap.add_argument("--message")
    ap.add_argument("tokens", nargs="*")
    o = ap.parse_args()
    if o.flood:
        asyncio.run(_flood(o.url, o.chat, o.flood, o.message or None, o.tokens))
        return
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    from conftest import Stack  # the tests' harness: free ports, stack.sh, clean stop
    if o.readers + o.flooders > o.members:
        sys.exit("ws_flood: --readers + --flooders exceeds --members")
    s = Stack("bench-flood", {"HS_WS_BRIDGES": "1", "HS_REGISTER_IP_BURST": "1000"})
    try:
        s.start()
        owner = s.register(prefix="flood")
        r = s.post("/api/v1/chats", token=owner.access,
                   json={"kind": "group", "name": "flood", "members": []})
        chat = r.json()["id"]
        m = s.post("/api/v1/messages", token=owner.access,
                   json={"chat_id": chat, "content": "read me"}).json()["id"]
        with tempfile.TemporaryDirectory() as tmp:
            tokens = seed(s.rundir, chat, o.members, os.path.join(tmp, "tokens"))
        print("bench ws_flood: seeded", file=sys.stderr, flush=True)
        readers, flooders = tokens[:o.readers], tokens[o.readers:o.readers + o.flooders]
        print(f"bench ws_flood: {o.members} members, {o.readers} readers, {o.flooders} flooders, "
              f"{o.rate:g} events/s for {o.seconds:g} s per scenario", file=sys.stderr)
        for mode in o.scenarios.split(","):
            res = measure(s.ws_url(0), s.redis_port, chat, readers, flooders, mode, o.rate,
                          o.seconds, m)
            print(f"bench ws_flood {mode} " + " ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items()),
                flush=True)
    finally:
        s.stop()


if __name__ == "__main__":
    main()
