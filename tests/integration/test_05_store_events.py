"""events = store (issue 14): a stack with no redis-server and no bridge at
all. Events live in the SQLite store with the ids, order and retention of
the Redis streams and are served by GET /api/v1/updates; rate limits and
revocation live in the store too."""
import os
import sqlite3
import threading
import time

import pytest

from hsapi import API, PASSWORD, assert_error, assert_ok, sqlite_only
from test_04_helpers import direct, group, register_many, send

AUTH = f"{API}/auth"
UPDATES = f"{API}/updates"
RETENTION = 10


def eid(s):
    ms, seq = s.split("-")
    return int(ms), int(seq)


@pytest.fixture(scope="module")
def nostack(make_module_stack):
    return make_module_stack(HS_EVENTS="store", HS_EVENTS_RETENTION=str(RETENTION),
                             HS_LOGIN_ACCOUNT_BURST="3", HS_LOGIN_ACCOUNT_PERIOD="60",
                             HS_REGISTER_IP_BURST="1000")


def stack_processes(s):
    return " ".join(cmd for _, cmd in s.leftovers())


def test_no_redis_and_no_bridge_run(nostack):
    procs = stack_processes(nostack)
    assert "hs-updates" in procs and "lighttpd" in procs, procs
    assert "redis-server" not in procs and "hs-ws-bridge" not in procs, procs
    h = assert_ok(nostack.get("/health"))
    assert h["status"] == "ok" and h["redis"] == "off", h
    assert h["events"] == "store" and h["websocket"] is False, h
    # the web client's /ws finds nothing behind it
    assert nostack.get("/ws").status_code >= 500


def test_register_login_refresh_logout(nostack):
    u = nostack.register(prefix="se")
    assert assert_ok(nostack.me(u.access))["id"] == u.id
    s2 = nostack.login(u)
    b = assert_ok(nostack.post(f"{AUTH}/refresh", json={"refresh_token": s2.refresh}))
    assert nostack.me(b["access_token"]).status_code == 200
    assert nostack.post(f"{AUTH}/logout", token=b["access_token"]).status_code == 204
    # revoked from its commit on: no cache in front of the store
    assert_error(nostack.me(b["access_token"]), 401, "token_revoked")
    assert_error(nostack.post(f"{AUTH}/refresh", json={"refresh_token": b["refresh_token"]}), 401)
    assert nostack.me(u.access).status_code == 200


def test_a_revoked_session_is_refused_at_once(nostack):
    u = nostack.register(prefix="sr")
    other = nostack.login(u)
    assert nostack.me(other.access).status_code == 200
    assert nostack.delete(f"{AUTH}/sessions/{other.session_id}",
                          token=u.access).status_code == 204
    assert_error(nostack.me(other.access), 401, "token_revoked")
    assert_error(nostack.get(UPDATES, token=other.access), 401, "token_revoked")
    # a password change ends every other session just as exactly
    third = nostack.login(u)
    r = nostack.put(f"{AUTH}/change-password", token=u.access,
                    json={"old_password": PASSWORD, "new_password": PASSWORD + " 2"})
    assert assert_ok(r)["revoked_sessions"] == 1
    assert_error(nostack.me(third.access), 401, "token_revoked")
    assert nostack.me(u.access).status_code == 200


def test_rate_limits_answer_429(nostack):
    u = nostack.register(prefix="sl")
    for _ in range(3):
        assert_error(nostack.post(f"{AUTH}/login",
                                  json={"username": u.username, "password": "wrong pass 123"}),
                     401, "invalid_credentials")
    r = nostack.post(f"{AUTH}/login", json={"username": u.username, "password": PASSWORD})
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60


def poll(s, user, since, timeout=0):
    b = assert_ok(s.get(UPDATES, token=user.access, params={"since": since, "timeout": timeout}))
    assert not b["resync_required"], b
    return b


def test_a_message_reaches_the_other_user_by_long_poll(nostack):
    a, b = register_many(nostack, 2, prefix="sm")
    chat = direct(nostack, a, b)["id"]
    since = assert_ok(nostack.get(UPDATES, token=b.access))["next"]
    got = {}

    def wait():
        t0 = time.monotonic()
        got["body"] = poll(nostack, b, since, timeout=20)
        got["took"] = time.monotonic() - t0

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)  # the poll is waiting (nothing after since yet)
    sent = [send(nostack, a, chat, f"m{i}")["id"] for i in range(3)]
    t.join(25)
    assert not t.is_alive()
    # the wait ended on the first event, within a few poll intervals
    assert got["took"] < 5, got
    evs = got["body"]["events"]
    seen, since2 = [e for e in evs if e["type"] == "message.created"], got["body"]["next"]
    while len(seen) < 3:
        more = poll(nostack, b, since2, timeout=5)
        seen += [e for e in more["events"] if e["type"] == "message.created"]
        since2 = more["next"]
    assert [e["data"]["message"]["id"] for e in seen] == sent
    ids = [eid(e["id"]) for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert eid(seen[0]["id"]) > eid(since)
    # resuming from the last id gives nothing again
    assert poll(nostack, b, seen[-1]["id"])["events"] == []
    # a member's view only: a third user sees none of it
    (c,) = register_many(nostack, 1, prefix="sx")
    c_since = f"{eid(since)[0]}-{eid(since)[1]}"
    assert [e for e in poll(nostack, c, c_since)["events"]
            if e["type"] == "message.created"] == []


@sqlite_only
def test_retention_trims_old_events(nostack):
    a, b = register_many(nostack, 2, prefix="st")
    g = group(nostack, a, [b])["id"]
    since = assert_ok(nostack.get(UPDATES, token=b.access))["next"]
    send(nostack, a, g, "old")
    key = f"hs:ev:chat:{g}"
    db = os.path.join(nostack.rundir, "data", "hypersend.db")

    def count():
        with sqlite3.connect(db, timeout=5) as c:
            return c.execute("SELECT count(*) FROM events WHERE key = ?", (key,)).fetchone()[0]

    assert count() >= 1
    time.sleep(RETENTION + 1)
    send(nostack, a, g, "new")  # an append trims what is older than the window
    assert count() == 1
    # resuming from before the retention: resync, as with Redis
    got = assert_ok(nostack.get(UPDATES, token=b.access, params={"since": since, "timeout": 0}))
    assert got["resync_required"] is True and got["events"] == []


@sqlite_only
def test_waiting_polls_per_user_are_capped_in_the_store(nostack):
    """updates_per_user (2 by default) waiting polls of one user at once;
    the next is refused at once with 429 too_many_polls, and a slot is
    given back when its poll ends."""
    from hsapi import wait_for
    (u,) = register_many(nostack, 1, prefix="sp")
    since = assert_ok(nostack.get(UPDATES, token=u.access))["next"]
    db = os.path.join(nostack.rundir, "data", "hypersend.db")

    def held():
        with sqlite3.connect(db, timeout=5) as c:
            return c.execute("SELECT count(*) FROM slots WHERE key = ?",
                             (f"hs:polls:{u.id}",)).fetchone()[0]

    done = []

    def wait():
        done.append(nostack.get(UPDATES, token=u.access, params={"since": since, "timeout": 3}))

    threads = [threading.Thread(target=wait) for _ in range(2)]
    for t in threads:
        t.start()
    assert wait_for(lambda: held() == 2, timeout=5), "the polls are not waiting"
    t0 = time.monotonic()
    r = nostack.get(UPDATES, token=u.access, params={"since": since, "timeout": 3})
    assert_error(r, 429, "too_many_polls")
    assert time.monotonic() - t0 < 1
    # one that does not wait takes no slot
    assert_ok(nostack.get(UPDATES, token=u.access, params={"since": since, "timeout": 0}))
    for t in threads:
        t.join(10)
    assert [x.status_code for x in done] == [200, 200]
    assert held() == 0


def test_the_web_client_long_polls_at_once(nostack):
    """/health says no WebSocket: the shell long-polls from the start, with
    no WebSocket attempt (no three failures first) and no 'unavailable'
    toast, and a message of another user arrives."""
    from browser import run_script
    a, b = register_many(nostack, 2, prefix="sw")
    chat = direct(nostack, a, b)["id"]
    out = run_script("web_nows.mjs", "--base", nostack.base, "--name", a.username,
                     "--password", a.password, "--chat", chat, "--other-token", b.access)
    assert out["sockets"] == 0, out
    assert out["transport"] == "poll" and out["toasts"] == [], out
    assert out["sent"] == 201 and out["delivery_ms"] < 5000, out
    assert out["errors"] == [], out
