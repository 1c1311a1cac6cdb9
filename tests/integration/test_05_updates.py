"""GET /api/v1/updates, the long-poll fallback of the WebSocket bridge
(docs/ws.md, "Long-poll"): the stored events of the caller's chats and of
the caller after ?since=, waiting up to ?timeout= seconds for the first;
resync_required when since cannot be resumed; 400 for malformed parameters,
401 for bad tokens, 405 for other methods. Membership is checked at every
poll: non-members never see a chat's events, removed members stop at once.
"""
import subprocess
import threading
import time

import pytest

from hsapi import API, BAD_TOKENS, assert_error, assert_ok, forge
from test_04_helpers import (add_member, direct, group, register_many, remove_member, send)

UPDATES = f"{API}/updates"
LIMIT = 500


def eid(s):
    """An event id as a comparable (ms, seq)."""
    ms, seq = s.split("-")
    return int(ms), int(seq)


def poll(stack, user, since=None, timeout=None, status=200):
    params = {}
    if since is not None:
        params["since"] = since
    if timeout is not None:
        params["timeout"] = timeout
    r = stack.get(UPDATES, token=user.access, params=params)
    if status != 200:
        return r
    b = assert_ok(r)
    assert set(b) == {"events", "next", "resync_required"}, b
    assert isinstance(b["events"], list) and isinstance(b["resync_required"], bool)
    eid(b["next"])
    for e in b["events"]:
        assert set(e) == {"id", "type", "data"}, e
        assert isinstance(e["data"], dict), e
        eid(e["id"])
    return b


def timed_poll(stack, user, **kw):
    t0 = time.monotonic()
    b = poll(stack, user, **kw)
    return b, time.monotonic() - t0


def start(stack, user):
    """next of a poll without since: where this user starts listening."""
    b, took = timed_poll(stack, user)
    assert b["events"] == [] and b["resync_required"] is False
    assert took < 2, f"a poll without since waited {took:.1f} s"
    return b["next"]


def collect(stack, user, since, want, rounds=10):
    """Polls from since until want() holds for the events seen; returns them
    and the last next."""
    seen = []
    for _ in range(rounds):
        b = poll(stack, user, since=since, timeout=1)
        assert not b["resync_required"], b
        seen += b["events"]
        since = b["next"]
        if want(seen):
            break
    return seen, since


def messages(evs, chat_id=None):
    return [e["data"]["message"] for e in evs if e["type"] == "message.created"
            and (chat_id is None or e["data"]["chat_id"] == chat_id)]


def chat_ids(evs):
    return {e["data"].get("chat_id") for e in evs} - {None}


class Poller(threading.Thread):
    """A poll running in the background, timed from its start."""

    def __init__(self, stack, user, since, timeout):
        super().__init__(daemon=True)
        self.args = (stack, user, since, timeout)
        self.result = self.error = self.done_at = None

    def run(self):
        stack, user, since, timeout = self.args
        try:
            self.result = poll(stack, user, since=since, timeout=timeout)
        except BaseException as e:  # reported by the test thread
            self.error = e
        self.done_at = time.monotonic()

    def join_result(self, limit=30):
        self.join(limit)
        assert not self.is_alive(), "the poll did not return"
        if self.error:
            raise self.error
        return self.result


def redis_cli(stack, *args):
    return subprocess.run(["redis-cli", "-p", str(stack.redis_port), *args], capture_output=True,
                          text=True, timeout=30, check=True).stdout.strip()


# Adds ARGV[1] events to the stream KEYS[1] with ids taken from the global
# counter KEYS[2] as lib/domain/events.c takes them (so ids stay one order).
SYNTHETIC = """
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[2])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if ms <= lms then ms = lms; seq = tonumber(lseq) + 1 end
end
local id
for i = 1, tonumber(ARGV[1]) do
  id = string.format('%.0f-%d', ms, seq)
  redis.call('XADD', KEYS[1], id, 'type', 'test.synthetic', 'data', '{"n":' .. i .. '}')
  seq = seq + 1
end
redis.call('SET', KEYS[2], id)
return id
"""


# -- the protocol -----------------------------------------------------------------------------
def test_without_since_answers_at_once(stack):
    u, v = register_many(stack, 2, prefix="up")
    direct(stack, v, u)
    # next is the newest id, whoever's event it is
    last = redis_cli(stack, "GET", "hs:ev:last")
    assert start(stack, u) == last
    # a timeout does not make a poll without since wait
    b, took = timed_poll(stack, u, timeout=5)
    assert b["events"] == [] and took < 2


def test_message_after_next_is_returned(stack):
    a, b = register_many(stack, 2, prefix="up")
    g = group(stack, a, [b])["id"]
    since = start(stack, b)
    m = send(stack, a, g, "after next", client_id="up-1")
    got, took = timed_poll(stack, b, since=since, timeout=10)
    assert took < 2, f"the event was there, yet the poll waited {took:.1f} s"
    assert not got["resync_required"]
    assert [e["type"] for e in got["events"]] == ["message.created"]
    ev = got["events"][0]
    assert ev["data"]["chat_id"] == g
    assert ev["data"]["message"]["id"] == m["id"]
    assert ev["data"]["message"]["content"] == "after next"
    assert ev["data"]["message"]["sender"]["id"] == a.id
    assert got["next"] == ev["id"] and eid(ev["id"]) > eid(since)
    # nothing is delivered twice
    again = poll(stack, b, since=got["next"], timeout=0)
    assert again["events"] == [] and eid(again["next"]) >= eid(got["next"])


def test_waiting_poll_wakes_on_a_message(stack):
    a, b = register_many(stack, 2, prefix="up")
    d = direct(stack, a, b)["id"]
    since = start(stack, b)
    p = Poller(stack, b, since, 20)
    p.start()
    time.sleep(0.7)  # the poll is now waiting in Redis
    assert p.is_alive(), f"the poll returned without an event: {p.result or p.error}"
    m = send(stack, a, d, "wake up")
    posted = time.monotonic()
    got = p.join_result()
    assert p.done_at - posted < 1.5, f"returned {p.done_at - posted:.1f} s after the POST"
    assert [x["id"] for x in messages(got["events"], d)] == [m["id"]]
    assert got["next"] == got["events"][-1]["id"]


def test_order_and_exactly_once_across_chats(stack):
    a, b = register_many(stack, 2, prefix="up")
    g1 = group(stack, a, [b], name="one")["id"]
    g2 = group(stack, a, [b], name="two")["id"]
    since = start(stack, b)
    sent = []
    for i in range(8):
        sent.append(send(stack, a, g1 if i % 2 == 0 else g2, f"n{i}")["id"])
    evs, _ = collect(stack, b, since, lambda s: len(messages(s)) >= len(sent))
    ids = [eid(e["id"]) for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "events out of order or repeated"
    assert [m["id"] for m in messages(evs)] == sent
    assert chat_ids(evs) == {g1, g2}
    # the same events again from the same since, read in pages of one poll each
    evs2, _ = collect(stack, b, since, lambda s: len(s) >= len(evs))
    assert [e["id"] for e in evs2] == [e["id"] for e in evs]


def test_at_most_500_per_reply_then_the_rest(stack):
    u = stack.register(prefix="up")
    since = start(stack, u)
    last = redis_cli(stack, "EVAL", SYNTHETIC, "2", f"hs:ev:user:{u.id}", "hs:ev:last",
                     str(LIMIT + 120))
    first = poll(stack, u, since=since, timeout=0)
    assert len(first["events"]) == LIMIT
    assert [e["data"]["n"] for e in first["events"]] == list(range(1, LIMIT + 1))
    assert first["next"] == first["events"][-1]["id"]
    rest = poll(stack, u, since=first["next"], timeout=0)
    assert [e["data"]["n"] for e in rest["events"]] == list(range(LIMIT + 1, LIMIT + 121))
    assert rest["next"] == last


def test_timeout_answers_empty(stack):
    u = stack.register(prefix="up")
    since = start(stack, u)
    b, took = timed_poll(stack, u, since=since, timeout=1)
    assert b["events"] == [] and b["resync_required"] is False
    assert 0.9 <= took < 3, f"timeout=1 answered after {took:.2f} s"
    assert eid(b["next"]) >= eid(since)
    b, took = timed_poll(stack, u, since=since, timeout=0)
    assert b["events"] == [] and took < 2


def test_joining_while_waiting(stack):
    """A poll that waits while the user is added to a new chat returns the
    chat's events, from chat.created on."""
    a, b = register_many(stack, 2, prefix="up")
    since = start(stack, b)
    p = Poller(stack, b, since, 20)
    p.start()
    time.sleep(0.7)
    g = group(stack, a, [b], name="joined")["id"]
    got = p.join_result()
    types = [e["type"] for e in got["events"] if e["data"].get("chat_id") == g]
    assert "chat.created" in types and "member.added" in types, got
    m = send(stack, a, g, "to the new member")
    evs, _ = collect(stack, b, got["next"], lambda s: messages(s))
    assert [x["id"] for x in messages(evs, g)] == [m["id"]]


# -- resync -----------------------------------------------------------------------------------
def test_since_older_than_retention(make_stack):
    s = make_stack(HS_EVENTS_RETENTION="10")
    a, b = register_many(s, 2, prefix="up")
    group(s, a, [b])  # the newest id is now
    now_ms = int(time.time() * 1000)
    for since in ("1000-0", "0-0", f"{now_ms - 60_000}-0"):
        got = poll(s, b, since=since, timeout=5)
        assert got["resync_required"] is True, (since, got)
        assert got["events"] == []
        assert got["next"] == redis_cli(s, "GET", "hs:ev:last")
    # inside the window it resumes
    got = poll(s, b, since=f"{now_ms - 2_000}-0", timeout=0)
    assert got["resync_required"] is False
    assert "member.added" in [e["type"] for e in got["events"]]
    # after a resync, next resumes
    nxt = poll(s, b, since="1000-0")["next"]
    assert poll(s, b, since=nxt, timeout=0)["resync_required"] is False


def test_since_in_the_future(stack):
    u = stack.register(prefix="up")
    start(stack, u)
    last = redis_cli(stack, "GET", "hs:ev:last")
    ms, seq = eid(last)
    for since in (f"{ms}-{seq + 1000}", f"{ms + 3_600_000}-0", "9999999999999999-0"):
        b, took = timed_poll(stack, u, since=since, timeout=5)
        assert b["resync_required"] is True and b["events"] == [], (since, b)
        assert eid(b["next"]) >= eid(last) and took < 2


# -- parameters -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def poller(stack):
    return stack.register(prefix="up")


@pytest.mark.parametrize("since", ["abc-1", "abc", "1-", "-1", "1-2-3", "", "1.5-0", " 1-0",
                                   "1-0x", "0x10-0", "12345678901234567890-0", "1_0"])
def test_malformed_since(stack, poller, since):
    r = poll(stack, poller, since=since, timeout=0, status=400)
    assert_error(r, 400, "invalid_value")


@pytest.mark.parametrize("timeout", ["abc", "-1", "61", "1000", "1.5", "", "+5", " 5", "5s",
                                     "0x10"])
def test_malformed_timeout(stack, poller, timeout):
    r = poll(stack, poller, since="1-0", timeout=timeout, status=400)
    assert_error(r, 400, "invalid_value")
    r = poll(stack, poller, timeout=timeout, status=400)
    assert_error(r, 400, "invalid_value")


@pytest.mark.parametrize("timeout", ["0", "60", "00"])
def test_timeout_bounds_accepted(stack, poller, timeout):
    # without since the answer is immediate whatever the timeout
    assert poll(stack, poller, timeout=timeout)["events"] == []


# -- authentication and methods ---------------------------------------------------------------
def test_missing_token(stack):
    assert_error(stack.get(UPDATES), 401, "missing_token")
    assert_error(stack.get(UPDATES, params={"since": "1-0", "timeout": "1"}), 401,
                 "missing_token")


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_token(stack, key, poller, kind):
    r = stack.get(UPDATES, headers={"Authorization": forge(kind, key, poller)},
                  params={"timeout": "1"})
    assert_error(r, 401, "token_expired" if kind == "expired" else "invalid_token")


def test_logged_out_token(stack):
    u = stack.register(prefix="up")
    assert stack.post(f"{API}/auth/logout", token=u.access, json={}).status_code in (200, 204)
    assert_error(stack.get(UPDATES, token=u.access), 401, "token_revoked")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods(stack, poller, method):
    r = stack.req(method, UPDATES, token=poller.access, data=b"{}",
                  headers={"Content-Type": "application/json"})
    assert_error(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} <= {"GET", "OPTIONS"}
    assert "GET" in r.headers["Allow"]


# -- who sees what ----------------------------------------------------------------------------
def test_non_member_sees_nothing_of_the_chat(stack):
    a, b, c = register_many(stack, 3, prefix="up")
    since_c = start(stack, c)
    since_b = start(stack, b)
    g = group(stack, a, [b])["id"]
    d = direct(stack, a, b)["id"]
    send(stack, a, g, "not for c")
    send(stack, b, d, "nor this")
    got = poll(stack, c, since=since_c, timeout=1)
    assert got["events"] == [], got
    # the control: b, a member of both, sees both
    evs, _ = collect(stack, b, since_b, lambda s: len(messages(s)) >= 2)
    assert {g, d} <= chat_ids(evs)
    # and c's waiting poll is not woken by them
    p = Poller(stack, c, got["next"], 2)
    p.start()
    send(stack, a, g, "still not for c")
    got = p.join_result()
    assert got["events"] == []


def test_removed_member_stops_seeing_the_chat(stack):
    a, b = register_many(stack, 2, prefix="up")
    g = group(stack, a, [b])["id"]
    since = start(stack, b)
    before = send(stack, a, g, "before removal")
    evs, since = collect(stack, b, since, lambda s: messages(s))
    assert [m["id"] for m in messages(evs)] == [before["id"]]
    assert remove_member(stack, a, g, b).status_code in (200, 204)
    send(stack, a, g, "after removal")
    evs, since = collect(stack, b, since, lambda s: any(e["type"] == "member.removed" for e in s))
    assert any(e["type"] == "member.removed" and e["data"]["user_id"] == b.id
               and e["data"]["chat_id"] == g for e in evs), evs
    assert messages(evs) == [], evs
    # nor later, whether the poll was waiting already or not
    p = Poller(stack, b, since, 2)
    p.start()
    send(stack, a, g, "later still")
    got = p.join_result()
    assert messages(got["events"]) == [], got
    got = poll(stack, b, since=since, timeout=0)
    assert messages(got["events"]) == [], got


def test_removed_then_added_back_skips_the_gap(stack):
    """One poll covering a removal and a re-join: what the chat said while
    the user was out is not delivered."""
    a, b = register_many(stack, 2, prefix="up")
    g = group(stack, a, [b])["id"]
    since = start(stack, b)
    m1 = send(stack, a, g, "in")
    assert remove_member(stack, a, g, b).status_code in (200, 204)
    send(stack, a, g, "while out")
    assert add_member(stack, a, g, b).status_code in (200, 201)
    m3 = send(stack, a, g, "back in")
    evs, _ = collect(stack, b, since, lambda s: len(messages(s)) >= 2)
    assert [m["id"] for m in messages(evs)] == [m1["id"], m3["id"]]
    # the user's own removal and return come through, on the chat's stream
    # and on the user's own
    for t in ("member.removed", "member.added"):
        mine = [e for e in evs if e["type"] == t and e["data"]["user_id"] == b.id]
        assert len(mine) == 2 and {e["data"]["chat_id"] for e in mine} == {g}, (t, evs)
    ids = [eid(e["id"]) for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
