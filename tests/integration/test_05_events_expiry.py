"""Event streams expire when a chat goes quiet (docs/events.md): every XADD
sets the stream's TTL to events_retention plus a small margin, so the
stream of a chat nobody writes to any more disappears from Redis instead
of growing the memory with the number of chats, and a resume from beyond
the retention still answers resync_required."""
import subprocess

from hsapi import API, assert_ok, wait_for
from test_04_helpers import group, register_many, send

RETENTION = 10
MARGIN = 5  # HS_EV_TTL_MARGIN in lib/include/hs/events_lua.h


def redis_cli(stack, *args):
    return subprocess.run(["redis-cli", "-p", str(stack.redis_port), *args], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_a_quiet_chats_stream_expires(make_stack):
    s = make_stack(HS_EVENTS_RETENTION=str(RETENTION))
    a, b = register_many(s, 2, prefix="ttl")
    g = group(s, a, [b])["id"]
    updates = f"{API}/updates"
    since = assert_ok(s.get(updates, token=b.access))["next"]
    send(s, a, g, "one event, then silence")
    got = assert_ok(s.get(updates, token=b.access, params={"since": since, "timeout": 0}))
    assert "message.created" in [e["type"] for e in got["events"]], got
    key = f"hs:ev:chat:{g}"
    assert redis_cli(s, "EXISTS", key) == "1"
    ttl = int(redis_cli(s, "TTL", key))
    assert 0 < ttl <= RETENTION + MARGIN, f"TTL of {key}: {ttl}"
    # nobody writes to the chat again: the stream goes away on its own
    assert wait_for(lambda: redis_cli(s, "EXISTS", key) == "0",
                    timeout=RETENTION + MARGIN + 5, interval=0.5), f"{key} still there"
    # resuming from before the event, now beyond the retention: resync
    got = assert_ok(s.get(updates, token=b.access, params={"since": since, "timeout": 0}))
    assert got["resync_required"] is True
    assert got["events"] == []
