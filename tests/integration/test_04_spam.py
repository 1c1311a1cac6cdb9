"""Limits against spam (issue 11, defect 18), on a stack of their own with
small limits: P2P offers and additions to groups/channels per sender, new
chats per hour, long-polls held at once per user, and the user setting
settings.allow_group_adds ("everyone", "followed", "nobody") that refuses
additions by strangers."""
import subprocess
import threading
import time

import pytest

from hsapi import API, assert_error, assert_ok, wait_for
from p2p_helpers import initiate_req, offer
from test_04_helpers import add_member, chat_list, create, direct, group, register_many

SMALL = {
    "HS_P2P_OFFER_BURST": "3", "HS_P2P_OFFER_PERIOD": "3600",
    "HS_INVITE_BURST": "4", "HS_INVITE_PERIOD": "3600",
    "HS_CHAT_CREATE_PER_HOUR": "5",
    "HS_UPDATES_PER_USER": "1", "HS_UPDATES_PROCS": "4",
    "HS_REGISTER_IP_BURST": "1000",
}


@pytest.fixture(scope="module")
def s(make_module_stack):
    return make_module_stack(**SMALL)


def assert_limited(r, code="rate_limited"):
    assert_error(r, 429, code)
    assert r.headers.get("Retry-After", "").isdigit(), r.headers


def set_adds(s, user, value, status=200):
    r = s.put(f"{API}/users/{user.id}", token=user.access,
              json={"settings": {"allow_group_adds": value}})
    return assert_ok(r) if status == 200 else assert_error(r, status, "invalid_value")


def test_p2p_offers_per_sender(s):
    spammer, victim, other = register_many(s, 3, prefix="off")
    for _ in range(3):
        offer(s, spammer, victim)
    assert_limited(initiate_req(s, spammer, victim))
    assert_limited(initiate_req(s, spammer, other))
    # per sender: someone else still offers to the same victim
    offer(s, other, victim)


def test_new_chats_per_hour(s):
    u, *others = register_many(s, 7, prefix="mk")
    d = direct(s, u, others[0])
    for i in range(4):
        group(s, u, name=f"g{i}")
    r = create(s, u, kind="group", name="one too many", status=None)
    assert_limited(r)
    assert_limited(create(s, u, kind="direct", members=[others[1]], status=None))
    # opening the direct chat that exists costs nothing
    assert create(s, u, "direct", [others[0]], status=200)["id"] == d["id"]
    assert len(chat_list(s, u)["items"]) == 5


def test_additions_per_sender(s):
    owner, *people = register_many(s, 6, prefix="inv")
    g = group(s, owner, people[:2], name="club")["id"]
    for p in people[2:4]:
        assert add_member(s, owner, g, p).status_code in (200, 201, 204)
    assert_limited(add_member(s, owner, g, people[4]))
    assert_limited(create(s, owner, kind="group", name="more", members=[people[4].id],
                          status=None))


@pytest.mark.parametrize("how", ["create", "add"])
def test_nobody_may_add_me(s, how):
    owner, me = register_many(s, 2, prefix="no")
    set_adds(s, me, "nobody")
    if how == "create":
        r = create(s, owner, kind="group", name="unwanted", members=[me.id], status=None)
        e = assert_error(r, 403, "add_not_allowed")
        assert e["hint"]
        assert chat_list(s, owner)["items"] == []
    else:
        g = group(s, owner, name="mine")["id"]
        assert_error(add_member(s, owner, g, me), 403, "add_not_allowed")
    assert chat_list(s, me)["items"] == []


def test_only_people_i_follow_may_add_me(s):
    friend, stranger, me = register_many(s, 3, prefix="fol")
    set_adds(s, me, "followed")
    assert s.post(f"{API}/users/{friend.id}/follow", token=me.access).status_code in (200, 201, 204)
    r = create(s, stranger, kind="group", name="spam", members=[me.id], status=None)
    assert_error(r, 403, "add_not_allowed")
    # following me is not enough: I must follow them
    assert s.post(f"{API}/users/{me.id}/follow", token=stranger.access).status_code in (
        200, 201, 204)
    assert_error(create(s, stranger, kind="channel", name="spam2", members=[me.id], status=None),
                 403, "add_not_allowed")
    g = group(s, friend, [me], name="friends")["id"]
    assert [c["id"] for c in chat_list(s, me)["items"]] == [g]
    # direct chats are not additions
    direct(s, stranger, me)


@pytest.mark.parametrize("value", ["anyone", "", 1, None, ["nobody"]])
def test_allow_group_adds_values(s, value):
    u = register_many(s, 1, prefix="val")[0]
    set_adds(s, u, value, status=400)
    for ok in ("everyone", "followed", "nobody"):
        assert set_adds(s, u, ok)["settings"]["allow_group_adds"] == ok


def test_long_polls_per_user(s):
    hog, other = register_many(s, 2, prefix="poll")
    url = f"{API}/updates"
    since = assert_ok(s.get(url, token=hog.access))["next"]
    held = {}

    def wait():
        held["r"] = s.get(url, token=hog.access, params={"since": since, "timeout": 4})
    t = threading.Thread(target=wait)
    t.start()
    key = f"hs:polls:{hog.id}"
    zcard = ["redis-cli", "-p", str(s.redis_port), "ZCARD", key]
    assert wait_for(lambda: subprocess.run(zcard, capture_output=True, text=True)
                    .stdout.strip() == "1", timeout=5), "the first poll is not waiting"
    # a second waiting poll of the same user is refused at once
    t0 = time.monotonic()
    assert_limited(s.get(url, token=hog.access, params={"since": since, "timeout": 4}),
                   "too_many_polls")
    assert time.monotonic() - t0 < 1
    # one that does not wait is fine, and so is another user's
    assert assert_ok(s.get(url, token=hog.access, params={"since": since, "timeout": 0}))
    other_since = assert_ok(s.get(url, token=other.access))["next"]
    r = s.get(url, token=other.access, params={"since": other_since, "timeout": 1})
    assert r.status_code == 200
    t.join(10)
    assert held["r"].status_code == 200
    # the slot is given back when the poll ends
    assert subprocess.run(zcard, capture_output=True, text=True).stdout.strip() == "0"
    assert s.get(url, token=hog.access, params={"since": since, "timeout": 1}).status_code == 200
