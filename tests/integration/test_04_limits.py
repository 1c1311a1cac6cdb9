"""The chats app's limits, on a stack of their own: chat_member_limit = 3,
receipts_max_members = 2, max_message_length = 100 and a message burst of
5 with 1 message a second after it."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import assert_error, assert_ok
from test_03_helpers import start_stack, stop_stack
from test_04_helpers import (CHATS, MESSAGES, add_member, channel, create, direct, get_chat, group,
                             join, leave, mark_read, post_message, register_many, send)

LIMITS = {"HS_CHAT_MEMBER_LIMIT": 3, "HS_RECEIPTS_MAX_MEMBERS": 2, "HS_MAX_MESSAGE_LENGTH": 100,
          "HS_MESSAGE_BURST": 5, "HS_MESSAGE_RATE": 1}


@pytest.fixture(scope="module")
def lim():
    s = start_stack("chatlim", **LIMITS)
    yield s
    stop_stack(s)


def test_member_limit(lim):
    a, b, c, d = register_many(lim, 4)
    assert_error(create(lim, a, "group", [b, c, d], status=409), 409, "member_limit")
    assert_error(create(lim, a, "channel", [b, c, d], status=409), 409, "member_limit")
    g = group(lim, a, [b, c])
    assert g["member_count"] == 3
    assert_error(add_member(lim, a, g["id"], d), 409, "member_limit")
    assert_error(get_chat(lim, d, g["id"]), 404, "chat_not_found")
    assert assert_ok(get_chat(lim, a, g["id"]))["member_count"] == 3
    # room again after someone leaves
    assert_ok(leave(lim, c, g["id"]), 204)
    assert assert_ok(add_member(lim, a, g["id"], d), 201)["member_count"] == 3
    assert_error(add_member(lim, a, g["id"], c), 409, "member_limit")


def test_member_limit_on_join(lim):
    a, b, c, d = register_many(lim, 4)
    ch = channel(lim, a, [b], public=True)["id"]
    assert_ok(join(lim, c, ch))
    assert_error(join(lim, d, ch), 409, "member_limit")
    assert_error(get_chat(lim, d, ch), 404, "chat_not_found")
    assert assert_ok(get_chat(lim, a, ch))["member_count"] == 3


def test_member_limit_under_concurrent_joins(lim):
    owner, *others = register_many(lim, 5)
    ch = channel(lim, owner, public=True)["id"]
    with ThreadPoolExecutor(4) as ex:
        rs = list(ex.map(lambda u: join(lim, u, ch), others))
    codes = sorted(r.status_code for r in rs)
    assert codes == [200, 200, 409, 409], [r.text[:200] for r in rs]
    for r in rs:
        if r.status_code == 409:
            assert_error(r, 409, "member_limit")
    assert assert_ok(get_chat(lim, owner, ch))["member_count"] == 3


def test_receipts_chat_too_large(lim):
    a, b, c = register_many(lim, 3)
    d = direct(lim, a, b)["id"]
    m = send(lim, a, d, "two of us")["id"]
    assert_ok(mark_read(lim, b, d, m))
    assert [r["user_id"] for r in assert_ok(
        lim.get(f"{MESSAGES}/{m}/receipts", token=a.access))["read_by"]] == [b.id]
    g = group(lim, a, [b, c])["id"]
    m = send(lim, a, g, "three of us")["id"]
    for u in (a, b, c):
        assert_error(lim.get(f"{MESSAGES}/{m}/receipts", token=u.access), 403, "chat_too_large")


def test_max_message_length(lim):
    a, b = register_many(lim, 2)
    d = direct(lim, a, b)["id"]
    ok = send(lim, a, d, "x" * 100)
    assert_error(post_message(lim, a, d, "x" * 101), 413, "message_too_long")
    # characters, not bytes: 100 two-byte characters fit, 101 do not
    assert_error(post_message(lim, a, d, "é" * 101), 413, "message_too_long")
    send(lim, a, d, "é" * 100)
    assert_error(lim.put(f"{MESSAGES}/{ok['id']}", token=a.access, json={"content": "y" * 101}),
                 413, "message_too_long")
    assert assert_ok(lim.put(f"{MESSAGES}/{ok['id']}", token=a.access,
                             json={"content": "y" * 100}))["content"] == "y" * 100


def test_message_rate_limit(lim):
    a, b, c = register_many(lim, 3)
    d = direct(lim, a, b)["id"]
    for i in range(5):
        send(lim, a, d, f"burst {i}")
    r = post_message(lim, a, d, "one too many")
    assert_error(r, 429, "rate_limited")
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 5, retry
    # nothing was stored
    items = assert_ok(lim.get(f"{MESSAGES}/{d}", token=b.access))["items"]
    assert [i["content"] for i in items][0] == "burst 4" and len(items) == 5
    # per sender: b and c are not limited
    send(lim, b, d, "my turn")
    send(lim, c, direct(lim, c, a)["id"], "hi")
    # after waiting as told, a may send again (one a second)
    time.sleep(int(retry))
    send(lim, a, d, "patient")
    assert_error(post_message(lim, a, d, "impatient"), 429, "rate_limited")


def test_rate_limit_spares_other_routes(lim):
    """Only sending is limited: a limited user still reads, reacts and edits."""
    a, b = register_many(lim, 2)
    d = direct(lim, a, b)["id"]
    ms = [send(lim, a, d, f"m{i}")["id"] for i in range(5)]
    assert_error(post_message(lim, a, d, "more"), 429, "rate_limited")
    assert len(assert_ok(lim.get(f"{MESSAGES}/{d}", token=a.access))["items"]) == 5
    assert_ok(lim.put(f"{MESSAGES}/{ms[0]}", token=a.access, json={"content": "edited"}))
    assert_ok(lim.post(f"{MESSAGES}/{ms[1]}/react", token=a.access, json={"emoji": "👍"}))
    assert_ok(lim.get(CHATS, token=a.access))
