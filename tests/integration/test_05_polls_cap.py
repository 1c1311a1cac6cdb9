"""The host's cap on waiting long polls (updates_max_waiting, issue 14): on
a host with a process limit (the shared-hosting bundle) only so many polls
may wait at once, counted across every process in the store's slots (key
hs:polls). A poll over the cap does not wait: it answers at once with the
events there are and retry_ms (updates_short_poll_ms), and its client
polls again after that (a short poll) until a wait is granted again."""
import os
import sqlite3
import subprocess
import threading
import time

import pytest

from hsapi import API, assert_error, assert_ok, wait_for
from test_04_helpers import direct, register_many, send

UPDATES = f"{API}/updates"
SHORT_MS = 1500


@pytest.fixture(scope="module")
def capped(make_module_stack):
    return make_module_stack(HS_EVENTS="store", HS_UPDATES_MAX_WAITING="2",
                             HS_UPDATES_SHORT_POLL_MS=str(SHORT_MS), HS_UPDATES_PROCS="4",
                             HS_REGISTER_IP_BURST="1000")


def db(stack):
    return os.path.join(stack.rundir, "data", "hypersend.db")


def slots(stack):
    """The stack's slots collection (MongoDB backend)."""
    import pymongo
    uri = stack.env["HS_MONGO_URI"]
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)[uri.rsplit("/", 1)[1]].slots


def held(stack, key="hs:polls"):
    if stack.store == "mongo":
        return slots(stack).count_documents({"key": key})
    with sqlite3.connect(db(stack), timeout=5) as c:
        return c.execute("SELECT count(*) FROM slots WHERE key = ?", (key,)).fetchone()[0]


def add_dead_holds(stack, holders, until):
    """Holds of 'hs:polls' by processes that died while waiting: rows (or
    documents, in slots 0, 1, ...) nobody will drop, ending at until."""
    if stack.store == "mongo":
        slots(stack).insert_many([{"_id": f"hs:polls:{i}", "key": "hs:polls", "holder": h,
                                   "until": until} for i, h in enumerate(holders)])
        return
    with sqlite3.connect(db(stack), timeout=5) as c:
        c.executemany("INSERT INTO slots (key, holder, until) VALUES ('hs:polls', ?, ?)",
                      [(h, until) for h in holders])


class Poll:
    """One long poll of user's in a thread: .r is its answer, .at when it came."""

    def __init__(self, stack, user, since, timeout=20):
        self.r = self.at = None
        self.t = threading.Thread(target=self.run, args=(stack, user, since, timeout))
        self.t.start()

    def run(self, stack, user, since, timeout):
        self.r = stack.get(UPDATES, token=user.access,
                           params={"since": since, "timeout": timeout}, timeout=timeout + 30)
        self.at = time.monotonic()

    def join(self):
        self.t.join(60)
        assert not self.t.is_alive(), "the poll did not end"
        return assert_ok(self.r)


def next_of(stack, user):
    return assert_ok(stack.get(UPDATES, token=user.access))["next"]


def messages(body):
    return [e["data"]["message"]["content"] for e in body["events"]
            if e["type"] == "message.created"]


def test_a_poll_over_the_cap_answers_at_once_and_waits_again_once_a_slot_is_free(capped):
    s, a, b, c = register_many(capped, 4, prefix="pc")
    chats = {u.id: direct(capped, s, u)["id"] for u in (a, b, c)}
    since = {u.id: next_of(capped, u) for u in (a, b, c)}
    # a and b take the two slots of the host
    pa, pb = Poll(capped, a, since[a.id]), Poll(capped, b, since[b.id])
    assert wait_for(lambda: held(capped) == 2, timeout=10), "the two polls are not waiting"
    # c's message is there before c polls: c's poll over the cap answers at
    # once with it and the hint, holding no slot
    send(capped, s, chats[c.id], "before the poll")
    t0 = time.monotonic()
    got = assert_ok(capped.get(UPDATES, token=c.access,
                               params={"since": since[c.id], "timeout": 20}))
    assert time.monotonic() - t0 < 10, "the poll over the cap waited"
    assert got["retry_ms"] == SHORT_MS and got["resync_required"] is False, got
    assert messages(got) == ["before the poll"], got
    assert held(capped) == 2 and held(capped, f"hs:polls:{c.id}") == 0
    since[c.id] = got["next"]
    # nothing new: at once, empty, with the hint; next stays a resumable id
    got = assert_ok(capped.get(UPDATES, token=c.access,
                               params={"since": since[c.id], "timeout": 20}))
    assert got["events"] == [] and got["retry_ms"] == SHORT_MS, got
    since[c.id] = got["next"]
    # a timeout=0 poll never asked to wait: no hint
    got = assert_ok(capped.get(UPDATES, token=c.access, params={"since": since[c.id],
                                                                "timeout": 0}))
    assert "retry_ms" not in got, got
    # a's wait ends on its message, and gives its slot back
    send(capped, s, chats[a.id], "to a")
    body = pa.join()
    assert messages(body) == ["to a"] and "retry_ms" not in body, body
    assert wait_for(lambda: held(capped) == 1, timeout=10), "a's slot was not given back"
    # c's next poll is granted a wait: it holds a slot and ends on c's message
    pc = Poll(capped, c, since[c.id])
    assert wait_for(lambda: held(capped, f"hs:polls:{c.id}") == 1, timeout=10), "c is not waiting"
    assert held(capped) == 2
    send(capped, s, chats[c.id], "to c, waiting")
    body = pc.join()
    assert messages(body) == ["to c, waiting"] and "retry_ms" not in body, body
    send(capped, s, chats[b.id], "to b")
    assert messages(pb.join()) == ["to b"]
    assert wait_for(lambda: held(capped) == 0, timeout=10)


def test_a_short_polling_client_still_gets_every_message(capped):
    """The cap stays full (two other users wait): a client that polls again
    after each retry_ms, as the web client does, gets each message once, in
    order, a retry_ms and a poll after it was sent at most."""
    s, a, b, c = register_many(capped, 4, prefix="ps")
    chat, to_a, to_b = (direct(capped, s, u)["id"] for u in (c, a, b))
    waits = [Poll(capped, u, next_of(capped, u), timeout=60) for u in (a, b)]
    assert wait_for(lambda: held(capped) == 2, timeout=10), "the two polls are not waiting"
    since = next_of(capped, c)
    got, sent, hints = [], {}, []

    def client():
        nonlocal since
        while len(got) < 3:
            r = assert_ok(capped.get(UPDATES, token=c.access,
                                     params={"since": since, "timeout": 25}))
            hints.append(r.get("retry_ms"))
            if not r.get("retry_ms"):
                return  # let wait, which it must not have been
            got.extend((m, time.monotonic()) for m in messages(r))
            since = r["next"]
            time.sleep(r["retry_ms"] / 1000)

    t = threading.Thread(target=client)
    t.start()
    for i in range(3):
        send(capped, s, chat, f"short {i}")
        sent[f"short {i}"] = time.monotonic()
        assert wait_for(lambda n=i: len(got) > n, timeout=15), f"short {i} never came"
    t.join(30)
    assert not t.is_alive()
    assert hints and set(hints) == {SHORT_MS}, hints  # never granted a wait
    assert [m for m, _ in got] == ["short 0", "short 1", "short 2"], got
    for m, at in got:
        assert at - sent[m] < SHORT_MS / 1000 + 2, (m, at - sent[m])
    # the waiting users' polls were never disturbed
    send(capped, s, to_a, "to a")
    send(capped, s, to_b, "to b")
    assert [messages(p.join()) for p in waits] == [["to a"], ["to b"]]


def test_a_slot_of_a_killed_process_ends_by_itself(capped):
    """Two holds of processes that died while waiting (rows nobody will
    drop, ending 5 s from now): the cap counts them until they end, then a
    poll waits again."""
    (u,) = register_many(capped, 1, prefix="pk")
    since = next_of(capped, u)
    until = int(time.time() * 1000) + 5000
    add_dead_holds(capped, ["999991-1", "999992-1"], until)
    got = assert_ok(capped.get(UPDATES, token=u.access, params={"since": since, "timeout": 1}))
    assert got["retry_ms"] == SHORT_MS, got

    def granted():
        r = assert_ok(capped.get(UPDATES, token=u.access, params={"since": since, "timeout": 1}))
        return "retry_ms" not in r

    assert wait_for(granted, timeout=20, interval=0.5), "the dead holds never ended"
    assert int(time.time() * 1000) >= until - 50
    assert held(capped) == 0


def test_the_cap_does_not_replace_the_per_user_limit(capped):
    """updates_per_user still answers 429 too_many_polls before the host's
    cap is looked at."""
    (u,) = register_many(capped, 1, prefix="pu")
    since = next_of(capped, u)
    polls = [Poll(capped, u, since, timeout=3) for _ in range(2)]
    assert wait_for(lambda: held(capped, f"hs:polls:{u.id}") == 2, timeout=10)
    assert_error(capped.get(UPDATES, token=u.access, params={"since": since, "timeout": 3}),
                 429, "too_many_polls")
    for p in polls:
        assert p.join()["events"] == []


def test_the_web_client_honours_the_hint_and_long_polls_again(capped):
    """js/poll.js's Poller (tests/node/poll_retry.mjs): while the cap is full
    (two dead holds, ending 5 s from now) each answer has retry_ms and the
    next poll comes no sooner than that; once they end a poll is let wait
    again, and a message ends it."""
    from browser import run_script
    s, u = register_many(capped, 2, prefix="pw")
    chat = direct(capped, s, u)["id"]
    since = next_of(capped, u)
    free_at = int(time.time() * 1000) + 5000
    add_dead_holds(capped, ["999993-1", "999994-1"], free_at)
    out = run_script("poll_retry.mjs", "--base", capped.base, "--token", u.access, "--since",
                     since, "--free-at", free_at, "--chat", chat, "--other-token", s.access)
    done = [p for p in out["polls"] if "end" in p]
    short = [p for p in done if p["retry_ms"] is not None]
    assert short and all(p["retry_ms"] == SHORT_MS and p["timeout"] > 0 for p in short), done
    for p, q in zip(out["polls"], out["polls"][1:]):
        if p.get("retry_ms"):
            assert q["start"] - p["end"] >= SHORT_MS - 20, (p, q)
    # 5 s of a full cap: a handful of polls, not one after another
    assert len(short) <= 5000 // SHORT_MS + 2, done
    granted = done[-1]
    assert granted["retry_ms"] is None and granted["timeout"] > 0, done
    assert granted["events"] >= 1 and granted["end"] - granted["start"] > 1000, done
    assert out["sent"] == 201 and out["content"] == "after the short polls", out
    assert out["delivery_ms"] < 5000, out


def test_the_cap_counts_in_redis_with_events_in_redis(make_stack):
    """events = redis: the host's slots are a Redis sorted set (hs:polls),
    with the same answers."""
    st = make_stack(HS_UPDATES_MAX_WAITING="1", HS_UPDATES_SHORT_POLL_MS=str(SHORT_MS),
                    HS_UPDATES_PROCS="4")
    assert assert_ok(st.get("/health"))["events"] == "redis"

    def redis_held():
        return subprocess.run(["redis-cli", "-p", str(st.redis_port), "ZCARD", "hs:polls"],
                              capture_output=True, text=True, timeout=10).stdout.strip()

    s, a, b = register_many(st, 3, prefix="pr")
    to_a = direct(st, s, a)["id"]
    pa = Poll(st, a, next_of(st, a))
    assert wait_for(lambda: redis_held() == "1", timeout=10), "a's poll is not waiting"
    since = next_of(st, b)
    got = assert_ok(st.get(UPDATES, token=b.access, params={"since": since, "timeout": 20}))
    assert got["retry_ms"] == SHORT_MS and got["events"] == [], got
    send(st, s, to_a, "to a")
    body = pa.join()
    assert messages(body) == ["to a"] and "retry_ms" not in body, body
    assert wait_for(lambda: redis_held() == "0", timeout=10), "a's slot was not given back"
    # the slot is free again: b's poll waits (its second) instead of answering at once
    got = assert_ok(st.get(UPDATES, token=b.access, params={"since": since, "timeout": 1}))
    assert "retry_ms" not in got, got
