"""/api/v1/messages: sending (client_id retries, content rules, replies,
attachments and who may then download them), editing, deleting with a
tombstone, reactions and the emoji rule, history pages in both directions,
read markers with the delivery state and unread counts, receipts, and
full-text search over the viewer's chats only."""
import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import HEX24, ISO_TIME, assert_error, assert_ok, fake_id
from test_03_helpers import download, upload_file
from test_04_helpers import (CHATS, FILES, MESSAGES, add_member, direct, get_chat, group,
                             history, listed, mark_read, message_in, page, post_message, react,
                             register_many, remove_member, search, send, set_role)

MESSAGE_KEYS = {"id", "chat_id", "sender", "deleted", "content", "created_at", "edited_at",
                "client_id", "reply_to", "attachments", "reactions", "state"}


def word():
    """A search term no other test uses."""
    return "w" + uuid.uuid4().hex[:10]


@pytest.fixture
def pair(stack):
    """Two fresh users and their direct chat."""
    a, b = register_many(stack, 2, prefix="m")
    return a, b, direct(stack, a, b)["id"]


@pytest.fixture
def trio(stack):
    """A group: owner, member, member; and a stranger."""
    o, m1, m2, x = register_many(stack, 4, prefix="m")
    return o, m1, m2, x, group(stack, o, [m1, m2])["id"]


# -- sending ------------------------------------------------------------------------------
def test_send(stack, pair):
    a, b, chat = pair
    m = send(stack, a, chat, "Hello, Bob! 👋\nSecond line\twith a tab")
    assert set(m) == MESSAGE_KEYS, sorted(m)
    assert HEX24.match(m["id"]) and m["chat_id"] == chat
    assert m["sender"] == {"id": a.id, "username": a.username, "display_name": a.username}
    assert m["content"] == "Hello, Bob! 👋\nSecond line\twith a tab"
    assert m["deleted"] is False and ISO_TIME.match(m["created_at"]) and m["edited_at"] is None
    assert m["client_id"] is None and m["reply_to"] is None
    assert m["attachments"] == [] and m["reactions"] == []
    assert m["state"] == "sent"
    seen = message_in(stack, b, chat, m["id"])
    assert seen["content"] == m["content"] and seen["sender"]["id"] == a.id
    assert seen["state"] is None, "the state is the sender's alone"


def test_client_id_retry(stack, pair):
    a, b, chat = pair
    first = assert_ok(post_message(stack, a, chat, "once", client_id="c-1"), 201)
    assert first["client_id"] == "c-1"
    again = assert_ok(post_message(stack, a, chat, "once", client_id="c-1"), 200)
    assert again["id"] == first["id"] and again["content"] == "once"
    items = page(stack, b, chat)["items"]
    assert [i["id"] for i in items] == [first["id"]]
    # another sender's client_id is their own
    other = assert_ok(post_message(stack, b, chat, "mine", client_id="c-1"), 201)
    assert other["id"] != first["id"]
    assert len(page(stack, a, chat)["items"]) == 2


def test_client_id_reused_in_another_chat(stack, pair):
    a, b, chat = pair
    c = register_many(stack, 1)[0]
    other = direct(stack, a, c)["id"]
    first = assert_ok(post_message(stack, a, chat, "here", client_id="c-2"), 201)
    assert_error(post_message(stack, a, other, "here", client_id="c-2"), 409, "client_id_reused")
    assert page(stack, c, other)["items"] == []
    assert [i["id"] for i in page(stack, b, chat)["items"]] == [first["id"]]


def test_client_id_concurrent_retries(stack, pair):
    a, b, chat = pair
    with ThreadPoolExecutor(6) as ex:
        rs = list(ex.map(lambda _: post_message(stack, a, chat, "racy", client_id="race-1"),
                         range(6)))
    assert sorted(r.status_code for r in rs) == [200] * 5 + [201], [r.text[:200] for r in rs]
    assert len({r.json()["id"] for r in rs}) == 1
    assert len(page(stack, b, chat)["items"]) == 1


@pytest.mark.parametrize("content,status,code", [
    ("", 400, "invalid_value"),
    (None, 400, "missing_field"),
    ("\x01", 400, "invalid_content"),
    ("bell\x07", 400, "invalid_content"),
    ("\x1b[31mred", 400, "invalid_content"),
    ("del\x7f", 400, "invalid_content"),
    ("\x02marked\x03", 400, "invalid_content"),
    ("nul\x00", 400, "invalid_value"),
    ("c1 \u0085 next line", 400, "invalid_content"),
    ("csi \u009b31m", 400, "invalid_content"),
])
def test_bad_content(stack, pair, content, status, code):
    a, b, chat = pair
    body = {"chat_id": chat}
    if content is not None:
        body["content"] = content
    assert_error(stack.post(MESSAGES, token=a.access, json=body), status, code)
    assert page(stack, b, chat)["items"] == []


@pytest.mark.parametrize("content", ["a", " ", "tab\tand\nnewline\r\n", "é" * 3000,
                                     "a" * 16384, "😀" * 4096])
def test_content_accepted(stack, pair, content):
    a, b, chat = pair
    m = send(stack, a, chat, content)
    assert message_in(stack, b, chat, m["id"])["content"] == content


def utf8_body(o):
    """o as a JSON body of raw UTF-8 (16384 escaped characters would not fit in 64 KiB)."""
    return dict(data=json.dumps(o, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("content", ["a" * 16385, "€" * 16385, "é" * 16385])
def test_content_too_long(stack, pair, content):
    """The limit is 16384 characters (code points), not bytes: for sending and editing."""
    a, b, chat = pair
    r = stack.post(MESSAGES, token=a.access, **utf8_body({"chat_id": chat, "content": content}))
    assert_error(r, 413, "message_too_long")
    m = send(stack, a, chat, "short")
    assert_error(stack.put(f"{MESSAGES}/{m['id']}", token=a.access,
                           **utf8_body({"content": content})), 413, "message_too_long")
    assert [i["content"] for i in page(stack, b, chat)["items"]] == ["short"]


def test_content_limit_counts_characters(stack, pair):
    """16384 three-byte characters (49152 bytes) are one full message, sent or edited in."""
    a, b, chat = pair
    full = "€" * 16384
    r = stack.post(MESSAGES, token=a.access, **utf8_body({"chat_id": chat, "content": full}))
    m = assert_ok(r, 201)
    assert message_in(stack, b, chat, m["id"])["content"] == full
    e = assert_ok(stack.put(f"{MESSAGES}/{m['id']}", token=a.access,
                            **utf8_body({"content": "é" * 16384})))
    assert e["content"] == "é" * 16384


def test_reply(stack, pair):
    a, b, chat = pair
    orig = send(stack, a, chat, "q" * 150)
    r = send(stack, b, chat, "answer", reply_to=orig["id"])
    assert r["reply_to"] == {"id": orig["id"], "sender_id": a.id, "preview": "q" * 100}
    assert message_in(stack, a, chat, r["id"])["reply_to"]["id"] == orig["id"]


def test_reply_invalid(stack, pair):
    a, b, chat = pair
    c = register_many(stack, 1)[0]
    elsewhere = send(stack, a, direct(stack, a, c)["id"], "other chat")
    for bad in (elsewhere["id"], fake_id(), "nope"):
        assert_error(post_message(stack, a, chat, "re", reply_to=bad), 400, "invalid_reply")
    assert page(stack, b, chat)["items"] == []


def test_send_to_unknown_chat(stack, user_a):
    for bad in (fake_id(), "nope", "G" * 24):
        assert_error(post_message(stack, user_a, bad, "hi"), 404, "chat_not_found")


# -- attachments ------------------------------------------------------------------------------
def test_attachment_shares_the_file(stack, trio):
    owner, m1, m2, stranger, chat = trio
    data = b"attached bytes " * 100
    f = upload_file(stack, owner, data, filename="notes.txt", content_type="text/plain")
    # not visible to the others before it is attached
    assert_error(download(stack, m1, f["id"]), 404, "file_not_found")
    m = send(stack, owner, chat, "see attached", file_ids=[f["id"]])
    assert [x["id"] for x in m["attachments"]] == [f["id"]]
    att = message_in(stack, m1, chat, m["id"])["attachments"][0]
    assert att["id"] == f["id"] and att["filename"] == "notes.txt" and att["size"] == len(data)
    for u in (m1, m2):
        r = download(stack, u, f["id"])
        assert r.status_code == 200 and r.content == data
        assert assert_ok(stack.get(f"{FILES}/{f['id']}/info", token=u.access))["id"] == f["id"]
    # a non-member still cannot; a member who leaves loses it
    assert_error(download(stack, stranger, f["id"]), 404, "file_not_found")
    assert_ok(remove_member(stack, owner, chat, m2), 204)
    assert_error(download(stack, m2, f["id"]), 404, "file_not_found")
    # it stays the owner's file: the others cannot delete it
    assert_error(stack.delete(f"{FILES}/{f['id']}", token=m1.access), 403, "not_your_file")


def test_attach_someone_elses_file(stack, pair):
    a, b, chat = pair
    theirs = upload_file(stack, b, b"b's file", filename="b.bin")
    mine = upload_file(stack, a, b"a's file", filename="a.bin")
    for ids in ([theirs["id"]], [mine["id"], theirs["id"]], [fake_id()]):
        assert_error(post_message(stack, a, chat, "x", file_ids=ids), 404, "file_not_found")
    assert page(stack, b, chat)["items"] == []
    c = register_many(stack, 1)[0]
    assert_error(download(stack, c, theirs["id"]), 404, "file_not_found")


@pytest.mark.parametrize("file_ids,code", [
    ("abc", "wrong_type"), ({}, "wrong_type"), (1, "wrong_type"),
    (["nothex"], "invalid_value"), ([1], "invalid_value"),
    ([fake_id() for _ in range(11)], "invalid_value"),
])
def test_attach_bad_ids(stack, pair, file_ids, code):
    a, b, chat = pair
    assert_error(post_message(stack, a, chat, "x", file_ids=file_ids), 400, code)


# -- edit and delete -------------------------------------------------------------------------------
def test_edit(stack, pair):
    a, b, chat = pair
    m = send(stack, a, chat, "typo")
    e = assert_ok(stack.put(f"{MESSAGES}/{m['id']}", token=a.access, json={"content": "fixed"}))
    assert e["id"] == m["id"] and e["content"] == "fixed" and ISO_TIME.match(e["edited_at"])
    assert e["created_at"] == m["created_at"]
    seen = message_in(stack, b, chat, m["id"])
    assert seen["content"] == "fixed" and seen["edited_at"] == e["edited_at"]
    assert_error(stack.put(f"{MESSAGES}/{m['id']}", token=b.access, json={"content": "mine"}),
                 403, "not_your_message")
    for body, code in (({"content": ""}, "invalid_value"), ({"content": "\x1b"}, "invalid_content"),
                       ({}, "missing_field"), ({"content": 5}, "wrong_type")):
        assert_error(stack.put(f"{MESSAGES}/{m['id']}", token=a.access, json=body), 400, code)
    assert message_in(stack, b, chat, m["id"])["content"] == "fixed"


def test_delete_tombstone(stack, pair):
    a, b, chat = pair
    f = upload_file(stack, a, b"doomed", filename="d.bin")
    keep = send(stack, a, chat, "keep")
    m = send(stack, a, chat, "regret", file_ids=[f["id"]])
    assert_ok(react(stack, b, m["id"], "👍"))
    reply = send(stack, b, chat, "what?", reply_to=m["id"])
    assert_error(stack.delete(f"{MESSAGES}/{m['id']}", token=b.access), 403, "not_your_message")
    assert_ok(stack.delete(f"{MESSAGES}/{m['id']}", token=a.access), 204)
    items = page(stack, b, chat)["items"]
    assert [i["id"] for i in items] == [reply["id"], m["id"], keep["id"]], "the tombstone stays"
    t = items[1]
    assert t["deleted"] is True and t["content"] is None
    assert t["reactions"] == [] and t["attachments"] == []
    assert t["sender"]["id"] == a.id and t["created_at"] == m["created_at"]
    assert "regret" not in (items[0]["reply_to"]["preview"] or ""), "the reply quotes no text"
    # a tombstone cannot be edited, reacted to or deleted again
    assert_error(stack.put(f"{MESSAGES}/{m['id']}", token=a.access, json={"content": "x"}), 410,
                 "message_deleted")
    assert_error(react(stack, b, m["id"], "👍"), 410, "message_deleted")
    assert_error(stack.delete(f"{MESSAGES}/{m['id']}", token=a.access), 410, "message_deleted")


def test_delete_rules_in_groups(stack, trio):
    owner, m1, m2, stranger, chat = trio
    assert_ok(set_role(stack, owner, chat, m1, "admin"), 204)
    by_m2 = send(stack, m2, chat, "from m2")
    by_m2b = send(stack, m2, chat, "from m2 again")
    by_admin = send(stack, m1, chat, "from the admin")
    by_owner = send(stack, owner, chat, "from the owner")
    # a member deletes only their own
    for mid in (by_admin["id"], by_owner["id"]):
        assert_error(stack.delete(f"{MESSAGES}/{mid}", token=m2.access), 403, "not_your_message")
    # admins and the owner delete others' messages; nobody edits them
    assert_ok(stack.delete(f"{MESSAGES}/{by_m2['id']}", token=m1.access), 204)
    assert_ok(stack.delete(f"{MESSAGES}/{by_admin['id']}", token=owner.access), 204)
    assert_ok(stack.delete(f"{MESSAGES}/{by_m2b['id']}", token=owner.access), 204)
    assert_error(stack.put(f"{MESSAGES}/{by_owner['id']}", token=m1.access,
                           json={"content": "x"}), 403, "not_your_message")
    state = {i["id"]: i["deleted"] for i in page(stack, m2, chat)["items"]}
    assert state == {by_m2["id"]: True, by_m2b["id"]: True, by_admin["id"]: True,
                     by_owner["id"]: False}


def test_no_admin_deletes_in_direct_chats(stack, pair):
    a, b, chat = pair
    m = send(stack, a, chat, "mine")
    assert_error(stack.delete(f"{MESSAGES}/{m['id']}", token=b.access), 403, "not_your_message")
    assert message_in(stack, a, chat, m["id"])["deleted"] is False


# -- reactions --------------------------------------------------------------------------------
def test_reactions_toggle_and_count(stack, trio):
    owner, m1, m2, stranger, chat = trio
    m = send(stack, owner, chat, "react to me")
    r = assert_ok(react(stack, m1, m["id"], "👍"))
    assert r["id"] == m["id"] and r["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    r = assert_ok(react(stack, m2, m["id"], "👍"))
    assert r["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]
    r = assert_ok(react(stack, m2, m["id"], "❤️"))
    assert r["reactions"] == [{"emoji": "👍", "count": 2, "me": True},
                              {"emoji": "❤️", "count": 1, "me": True}]
    # each viewer sees their own `me`
    seen = {u.id: message_in(stack, u, chat, m["id"])["reactions"] for u in (owner, m1, m2)}
    assert seen[owner.id] == [{"emoji": "👍", "count": 2, "me": False},
                              {"emoji": "❤️", "count": 1, "me": False}]
    assert seen[m1.id] == [{"emoji": "👍", "count": 2, "me": True},
                           {"emoji": "❤️", "count": 1, "me": False}]
    # toggling off
    r = assert_ok(react(stack, m1, m["id"], "👍"))
    assert r["reactions"] == [{"emoji": "👍", "count": 1, "me": False},
                              {"emoji": "❤️", "count": 1, "me": False}]
    r = assert_ok(react(stack, m2, m["id"], "❤️"))
    assert r["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    r = assert_ok(react(stack, m2, m["id"], "👍"))
    assert r["reactions"] == []
    assert message_in(stack, owner, chat, m["id"])["reactions"] == []


@pytest.fixture(scope="module")
def react_target(stack):
    a, b = register_many(stack, 2, prefix="m")
    chat = direct(stack, a, b)["id"]
    return a, b, chat, send(stack, a, chat, "emoji target")["id"]


VALID_EMOJI = ["👍", "❤️", "❤", "👍🏽", "👨‍👩‍👧", "👩🏽‍💻", "🇫🇷", "1️⃣", "#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "😀",
               "🫠"]
INVALID_EMOJI = ["ab", "a", "👍👍", "😀😀", "", "1", "#", "12", "👍a", "a👍", " 👍", "👍 ",
                 "\u200d👍", "👍\u200d", "🇫🇷🇫", ":)", "あ", "€"]


@pytest.mark.parametrize("emoji", VALID_EMOJI)
def test_valid_emoji(stack, react_target, emoji):
    a, b, chat, mid = react_target
    r = assert_ok(react(stack, b, mid, emoji))
    assert {"emoji": emoji, "count": 1, "me": True} in r["reactions"]
    r = assert_ok(react(stack, b, mid, emoji))
    assert emoji not in [x["emoji"] for x in r["reactions"]]


@pytest.mark.parametrize("emoji", INVALID_EMOJI, ids=[repr(e) for e in INVALID_EMOJI])
def test_invalid_emoji(stack, react_target, emoji):
    a, b, chat, mid = react_target
    r = react(stack, b, mid, emoji)
    if r.status_code == 200:
        react(stack, b, mid, emoji)  # take it back, so the other cases start clean
    assert_error(r, 400, "invalid_emoji")
    assert message_in(stack, a, chat, mid)["reactions"] == []


def test_react_bad_body(stack, react_target):
    a, b, chat, mid = react_target
    assert_error(stack.post(f"{MESSAGES}/{mid}/react", token=b.access, json={}), 400,
                 "missing_field")
    assert_error(stack.post(f"{MESSAGES}/{mid}/react", token=b.access, json={"emoji": 1}), 400,
                 "wrong_type")
    assert_error(react(stack, b, fake_id(), "👍"), 404, "message_not_found")


# -- history pages ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_chat(stack):
    """A group of four with 120 messages, sent one after another."""
    users = register_many(stack, 4, prefix="m")
    chat = group(stack, users[0], users[1:])["id"]
    sent = []
    for i in range(120):
        sent.append(send(stack, users[i % 4], chat, f"message {i}")["id"])
    return users, chat, sent


def walk(stack, user, chat, limit, direction):
    """Every page in one direction: the ids in the order the pages give them."""
    seen, pages = [], 0
    params = {"limit": limit}
    if direction == "after":
        params["after"] = "0" * 24
    while True:
        b = page(stack, user, chat, **params)
        pages += 1
        ids = [m["id"] for m in b["items"]]
        assert len(ids) <= limit
        assert ids == sorted(ids, reverse=True), "every page is newest first"
        seen.append(ids)
        if b["next_cursor"] is None:
            return seen, pages
        assert ids, "a next_cursor after an empty page"
        assert b["next_cursor"] == (ids[-1] if direction == "before" else ids[0])
        params = {"limit": limit, direction: b["next_cursor"]}
        assert pages < 200


@pytest.mark.parametrize("limit", [1, 7, 50, 100])
@pytest.mark.parametrize("direction", ["before", "after"])
def test_history_pages(stack, long_chat, limit, direction):
    users, chat, sent = long_chat
    pages_ids, pages = walk(stack, users[1], chat, limit, direction)
    if direction == "before":
        flat = [i for p in pages_ids for i in p]
    else:
        flat = [i for p in reversed(pages_ids) for i in p]
    assert len(flat) == len(set(flat)) == 120, "no duplicates"
    assert set(flat) == set(sent), "no gaps"
    assert flat == sorted(sent, reverse=True)
    assert pages == -(-120 // limit)


def test_history_default_page_and_window(stack, long_chat):
    users, chat, sent = long_chat
    b = page(stack, users[2], chat)
    assert len(b["items"]) == 50 and b["next_cursor"] == b["items"][-1]["id"]
    assert [m["content"] for m in b["items"][:2]] == ["message 119", "message 118"]
    ordered = sorted(sent)
    mid = ordered[60]
    older = page(stack, users[2], chat, before=mid, limit=3)["items"]
    assert [m["id"] for m in older] == ordered[57:60][::-1]
    newer = page(stack, users[2], chat, after=mid, limit=3)["items"]
    assert [m["id"] for m in newer] == ordered[61:64][::-1]
    assert page(stack, users[2], chat, after=ordered[-1])["items"] == []
    assert page(stack, users[2], chat, before=ordered[0])["items"] == []


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "101"}, {"limit": "-1"}, {"limit": "x"}, {"limit": ""},
    {"before": "nope"}, {"after": "nope"}, {"before": "G" * 24}, {"after": "0" * 23},
    {"before": "0" * 25}, {"before": ""}, {"before": "0" * 24, "after": "0" * 24},
])
def test_history_bad_params(stack, long_chat, params):
    users, chat, sent = long_chat
    assert_error(history(stack, users[0], chat, **params), 400)


def test_history_follows_send_order(stack):
    """Four people write at once: each one's messages appear in the order
    they were sent (each waited for the previous 201), and created_at never
    goes backwards down the history."""
    users = register_many(stack, 4, prefix="m")
    chat = group(stack, users[0], users[1:])["id"]

    def write(u):
        return [send(stack, u, chat, f"{u.username} {i}")["id"] for i in range(25)]

    with ThreadPoolExecutor(4) as ex:
        sent = list(ex.map(write, users))
    items = page(stack, users[0], chat, limit=100)["items"]
    assert len(items) == 100
    order = [m["id"] for m in reversed(items)]
    for mine in sent:
        got = [i for i in order if i in set(mine)]
        assert got == mine, "one sender's messages out of order in the history"
    times = [m["created_at"] for m in items]
    assert times == sorted(times, reverse=True), "created_at goes backwards in the history"


def test_polling_after_misses_nothing(stack):
    """A client that polls ?after=<newest seen> while others write must end
    up with every message."""
    users = register_many(stack, 4, prefix="m")
    reader, writers = users[0], users[1:]
    chat = group(stack, reader, writers)["id"]
    first = send(stack, reader, chat, "start")["id"]
    sent = []

    def write(u):
        ids = [send(stack, u, chat, f"poll {i}")["id"] for i in range(15)]
        sent.extend(ids)

    seen, cursor = set(), first

    def poll():
        nonlocal cursor
        b = page(stack, reader, chat, after=cursor, limit=100)
        for m in b["items"]:
            seen.add(m["id"])
        if b["items"]:
            cursor = b["items"][0]["id"]

    ts = [threading.Thread(target=write, args=(u,)) for u in writers]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        poll()
    for t in ts:
        t.join()
    poll()
    missed = set(sent) - seen
    assert len(sent) == 45
    assert not missed, f"{len(missed)} messages never seen by the polling client"


def test_empty_history(stack, pair):
    a, b, chat = pair
    assert page(stack, a, chat) == {"items": [], "next_cursor": None}


# -- read markers, delivery state, unread counts ---------------------------------------------
def states(stack, user, chat):
    return [m["state"] for m in reversed(page(stack, user, chat)["items"])]


def test_read_markers_and_state(stack, pair):
    a, b, chat = pair
    ms = [send(stack, a, chat, f"m{i}")["id"] for i in range(3)]
    assert states(stack, a, chat) == ["sent"] * 3
    assert listed(stack, b, chat)["unread_count"] == 3
    assert listed(stack, a, chat)["unread_count"] == 0
    # b fetches an older page: delivered up to what b was shown
    assert [m["id"] for m in page(stack, b, chat, before=ms[2], limit=1)["items"]] == [ms[1]]
    assert states(stack, a, chat) == ["delivered", "delivered", "sent"]
    # b fetches the newest page: everything delivered, nothing read yet
    page(stack, b, chat)
    assert states(stack, a, chat) == ["delivered"] * 3
    assert listed(stack, b, chat)["unread_count"] == 3
    # b reads up to m1
    r = assert_ok(mark_read(stack, b, chat, ms[1]))
    assert r["id"] == chat and r["last_read_id"] == ms[1] and r["unread_count"] == 1
    assert states(stack, a, chat) == ["read", "read", "delivered"]
    assert listed(stack, b, chat)["unread_count"] == 1
    # a marker never moves back
    r = assert_ok(mark_read(stack, b, chat, ms[0]))
    assert r["last_read_id"] == ms[1] and r["unread_count"] == 1
    assert_ok(mark_read(stack, b, chat, ms[2]))
    assert states(stack, a, chat) == ["read"] * 3
    c = listed(stack, b, chat)
    assert c["unread_count"] == 0 and c["last_read_id"] == ms[2]
    assert assert_ok(get_chat(stack, b, chat))["unread_count"] == 0
    # a's own reading does not make a's messages read
    assert_ok(mark_read(stack, a, chat, ms[2]))
    m3 = send(stack, a, chat, "m3")["id"]
    assert states(stack, a, chat)[-1] == "sent"
    # writing is reading: b's reply reads m3
    send(stack, b, chat, "ok")
    mine = [m for m in reversed(page(stack, a, chat)["items"]) if m["id"] == m3]
    assert mine[0]["state"] == "read"
    assert listed(stack, b, chat)["unread_count"] == 0


def test_read_bad_message(stack, pair):
    a, b, chat = pair
    m = send(stack, a, chat, "here")["id"]
    c = register_many(stack, 1)[0]
    other = send(stack, a, direct(stack, a, c)["id"], "elsewhere")["id"]
    for bad in (other, fake_id(), "nope"):
        assert_error(mark_read(stack, b, chat, bad), 404, "message_not_found")
    assert_error(stack.post(f"{CHATS}/{chat}/read", token=b.access, json={}), 400,
                 "missing_field")
    assert listed(stack, b, chat)["unread_count"] == 1
    assert message_in(stack, b, chat, m) is not None


def test_unread_in_groups(stack, trio):
    owner, m1, m2, stranger, chat = trio
    for i in range(4):
        send(stack, owner, chat, f"n{i}")
    send(stack, m1, chat, "m1 says")
    assert listed(stack, m2, chat)["unread_count"] == 5
    assert listed(stack, m1, chat)["unread_count"] == 0, "m1 wrote after the owner's messages"
    assert listed(stack, owner, chat)["unread_count"] == 1
    newest = page(stack, m2, chat)["items"][0]["id"]
    assert_ok(mark_read(stack, m2, chat, newest))
    assert listed(stack, m2, chat)["unread_count"] == 0
    assert listed(stack, owner, chat)["unread_count"] == 1, "markers are per member"


# -- receipts ---------------------------------------------------------------------------------
def readers(stack, user, mid):
    b = assert_ok(stack.get(f"{MESSAGES}/{mid}/receipts", token=user.access))
    assert set(b) == {"read_by"}
    for r in b["read_by"]:
        assert set(r) == {"user_id", "username", "display_name"}
    return sorted(r["user_id"] for r in b["read_by"])


def test_receipts(stack, trio):
    owner, m1, m2, stranger, chat = trio
    x = send(stack, owner, chat, "first")["id"]
    y = send(stack, owner, chat, "second")["id"]
    assert readers(stack, owner, x) == [] and readers(stack, m1, y) == []
    assert_ok(mark_read(stack, m1, chat, x))
    assert readers(stack, owner, x) == [m1.id]
    assert readers(stack, owner, y) == []
    assert_ok(mark_read(stack, m2, chat, y))
    assert readers(stack, m2, x) == sorted([m1.id, m2.id])
    assert readers(stack, owner, y) == [m2.id]
    # the sender is never listed, even after reading their own message
    assert_ok(mark_read(stack, owner, chat, y))
    assert owner.id not in readers(stack, m1, y)
    # direct chats have receipts too
    a, b = register_many(stack, 2, prefix="m")
    d = direct(stack, a, b)["id"]
    z = send(stack, a, d, "dm")["id"]
    assert readers(stack, a, z) == []
    assert_ok(mark_read(stack, b, d, z))
    assert readers(stack, a, z) == [b.id]
    by = assert_ok(stack.get(f"{MESSAGES}/{z}/receipts", token=a.access))["read_by"][0]
    assert by["username"] == b.username


# -- search ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(stack):
    a, b, c, d = register_many(stack, 4, prefix="s")
    ab = group(stack, a, [b], name="ab")["id"]
    ab2 = direct(stack, a, b)["id"]
    cd = group(stack, c, [d], name="cd")["id"]
    w = {k: word() for k in ("rank", "page", "snip", "both", "edit", "gone", "new")}
    # newest first, however many times a message holds the word
    r1 = send(stack, a, ab, f"{w['rank']} {w['rank']} {w['rank']}")["id"]
    r2 = send(stack, b, ab, f"{w['rank']} {w['rank']} and a few words more")["id"]
    r3 = send(stack, a, ab, f"only one {w['rank']} among a great many other words in this "
                           "rather long message about nothing in particular at all")["id"]
    pages = [send(stack, (a, b)[i % 2], (ab, ab2)[i % 2], f"{w['page']} number {i}")["id"]
             for i in range(12)]
    snip = send(stack, a, ab, f"Here is the café where {w['snip'].upper()} was mentioned, "
                             "then a long tail of words follows so the snippet has to cut it "
                             "somewhere before the end of this message")["id"]
    mine = send(stack, b, ab2, f"{w['both']} in a chat of ours")["id"]
    edited = send(stack, a, ab, f"{w['edit']} before editing")["id"]
    assert_ok(stack.put(f"{MESSAGES}/{edited}", token=a.access,
                        json={"content": f"{w['new']} after editing"}))
    gone = send(stack, a, ab, f"{w['gone']} to be deleted")["id"]
    assert_ok(stack.delete(f"{MESSAGES}/{gone}", token=a.access), 204)
    # c and d's private chat holds every word too
    theirs = send(stack, c, cd, " ".join(w.values()) + " café")["id"]
    return {"a": a, "b": b, "c": c, "d": d, "ab": ab, "ab2": ab2, "cd": cd, "w": w,
            "rank": [r1, r2, r3], "pages": pages, "snip": snip, "mine": mine,
            "edited": edited, "theirs": theirs}


def hits(stack, user, **params):
    b = assert_ok(search(stack, user, **params))
    return [m["id"] for m in b["items"]], b


def test_search_newest_first(stack, corpus):
    ids, b = hits(stack, corpus["a"], q=corpus["w"]["rank"])
    assert ids == corpus["rank"][::-1]
    for m in b["items"]:
        assert MESSAGE_KEYS | {"snippet"} == set(m)
        assert m["chat_id"] == corpus["ab"]
    assert b["next_cursor"] is None


def test_search_only_my_chats(stack, corpus):
    w = corpus["w"]
    for key in ("rank", "page", "snip", "both", "new"):
        for u in (corpus["a"], corpus["b"]):
            ids, _ = hits(stack, u, q=w[key], limit=100)
            assert ids and corpus["theirs"] not in ids, key
        ids, _ = hits(stack, corpus["c"], q=w[key], limit=100)
        assert ids == [corpus["theirs"]], key
    # a stranger to both chats finds nothing
    x = register_many(stack, 1)[0]
    for key in w:
        assert hits(stack, x, q=w[key])[0] == []


def test_search_in_one_chat(stack, corpus):
    a, w = corpus["a"], corpus["w"]
    all_ids, _ = hits(stack, a, q=w["page"], limit=100)
    in_ab, _ = hits(stack, a, q=w["page"], chat_id=corpus["ab"], limit=100)
    in_ab2, _ = hits(stack, a, q=w["page"], chat_id=corpus["ab2"], limit=100)
    assert len(in_ab) == len(in_ab2) == 6
    assert set(in_ab) | set(in_ab2) == set(all_ids) == set(corpus["pages"])
    for chat in (corpus["cd"], fake_id(), "nope"):
        assert_error(search(stack, a, q=w["page"], chat_id=chat), 404, "chat_not_found")


@pytest.mark.parametrize("limit", [1, 5, 12, 100])
def test_search_pages(stack, corpus, limit):
    a, w = corpus["a"], corpus["w"]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"q": w["page"], "limit": limit}
        if cursor:
            params["cursor"] = cursor
        ids, b = hits(stack, a, **params)
        pages += 1
        assert len(ids) <= limit
        seen += ids
        cursor = b["next_cursor"]
        if cursor is None:
            break
        assert ids and pages < 30
    assert len(seen) == len(set(seen)) == 12
    assert set(seen) == set(corpus["pages"])
    assert pages == -(-12 // limit)


def test_search_snippet(stack, corpus):
    w = corpus["w"]["snip"]
    ids, b = hits(stack, corpus["b"], q=w)
    assert ids == [corpus["snip"]]
    snip = b["items"][0]["snippet"]
    assert f"\u0002{w.upper()}\u0003" in snip, repr(snip)
    assert snip.count("\u0002") == snip.count("\u0003") == 1
    assert len(snip) < len(b["items"][0]["content"]), "the snippet is an excerpt"
    # case, a prefix of the word, and diacritics do not matter
    for q in (w.upper(), w[:-3], "cafe " + w):
        assert hits(stack, corpus["b"], q=q)[0] == [corpus["snip"]], q


def test_search_edits_and_deletes(stack, corpus):
    w, a = corpus["w"], corpus["a"]
    assert hits(stack, a, q=w["new"])[0] == [corpus["edited"]]
    assert hits(stack, a, q=w["edit"])[0] == [], "the old text is gone from the index"
    assert hits(stack, a, q=w["gone"])[0] == [], "a deleted message is not found"


@pytest.mark.parametrize("q", ['"', "'", "*", "(", ")", "^", ":", "-", "+", "NEAR", "AND", "OR",
                               "NOT", '"unterminated', "a:b", "col:word", "NEAR(a b, 3)",
                               "{a b}", "a OR", "a AND NOT", "*prefix", "x^y", "\\", "%", "_",
                               "' OR 1=1 --", "é", "🙂", "a" * 200])
def test_search_syntax_is_harmless(stack, corpus, q):
    r = search(stack, corpus["c"], q=q)
    if r.status_code == 400:  # a word of one character ("a:b", "é")
        assert_error(r, 400, "search_term_too_short")
    else:
        assert isinstance(assert_ok(r)["items"], list)


@pytest.mark.parametrize("wrap", ['"{}"', "{}*", "({})", "-{}", "^{}", "{}:", '"{}', "{{{}}}",
                                  "+{}", "{}!", "#{}"])
def test_search_punctuation_around_a_word(stack, corpus, wrap):
    q = wrap.format(corpus["w"]["both"])
    assert hits(stack, corpus["b"], q=q)[0] == [corpus["mine"]], q


@pytest.mark.parametrize("params,code", [
    ({}, "invalid_value"), ({"q": ""}, "invalid_value"), ({"q": "a" * 201}, "invalid_value"),
    ({"q": "é" * 201}, "invalid_value"), ({"q": "a", "limit": "0"}, "invalid_value"),
    ({"q": "a", "limit": "101"}, "invalid_value"), ({"q": "a", "limit": "x"}, "invalid_value"),
    ({"q": "word", "cursor": "garbage"}, "invalid_cursor"),
    ({"q": "word", "cursor": "1.5 nothex"}, "invalid_cursor"),
    ({"q": "word", "cursor": "1.5"}, "invalid_cursor"),
    ({"q": "word", "cursor": "c" * 65}, "invalid_cursor"),
    ({"q": "word", "cursor": "12 0.5 " + "0" * 24}, "invalid_cursor"),
])
def test_search_bad_params(stack, corpus, params, code):
    assert_error(search(stack, corpus["d"], **params), 400, code)


@pytest.mark.parametrize("q", ["a", "4", "é", "🙂", "pin 4", "a b", "word x", "x-ray", "1 23"])
def test_search_words_of_two_characters_at_least(stack, corpus, q):
    """A one-character prefix matches most of the index (and spelled out a
    secret one digit at a time): every word needs 2 characters."""
    assert_error(search(stack, corpus["d"], q=q), 400, "search_term_too_short")


def test_search_cursor_is_a_message_of_mine(stack, corpus):
    a, w = corpus["a"], corpus["w"]
    first, b = hits(stack, a, q=w["page"], limit=1)
    assert b["next_cursor"] == first[0]
    # Another chat's message, or none, is not a place to continue from.
    for cursor in (corpus["theirs"], fake_id()):
        assert_error(search(stack, a, q=w["page"], cursor=cursor), 400, "invalid_cursor")


def test_search_nothing_found(stack, corpus):
    ids, b = hits(stack, corpus["a"], q=word())
    assert ids == [] and b["next_cursor"] is None


def test_search_member_removed(stack):
    a, b = register_many(stack, 2, prefix="s")
    g = group(stack, a, [b])["id"]
    w = word()
    m = send(stack, a, g, f"{w} for members")["id"]
    assert hits(stack, b, q=w)[0] == [m]
    assert_ok(remove_member(stack, a, g, b), 204)
    assert hits(stack, b, q=w)[0] == []
    assert_ok(add_member(stack, a, g, b), 201)
    assert hits(stack, b, q=w)[0] == [m]


# -- search tells nothing about other people's chats ----------------------------------------------
SEARCHES = ["pin", "pi", "48", "482", "4821", "pin 48", "note", "no", "common", "co", "secret",
            "words", "zz"]


def _search_world(s, secret):
    """Alice's chats, the same on every stack; with secret, Carol and Dave
    also talk in a direct chat of theirs, in between Alice's messages, with
    every word Alice searches for (and a PIN). Returns alice and a map
    {id: label} of everything Alice may see."""
    alice, bob, carol, dave = (s.register(username=f"srch{n}") for n in "abcd")
    labels = {alice.id: "user:alice", bob.id: "user:bob"}
    ab = group(s, alice, [bob], name="ab")["id"]
    ab2 = direct(s, alice, bob)["id"]
    labels.update({ab: "chat:ab", ab2: "chat:ab2"})
    cd = direct(s, carol, dave)["id"] if secret else None
    for i in range(8):
        for who, chat, text in ((alice, ab, f"pin 48{i}0 note common words {i}"),
                                (bob, ab2, f"common note {i} and some more words for length"),
                                (bob, ab, f"pin pin 4{i}21 common")):
            m = send(s, who, chat, text)["id"]
            labels[m] = f"msg:{text}"
            if secret:
                send(s, carol, cd, f"the pin is 4821 common secret note {i} pin pin pin")
                send(s, dave, cd, "common common common words words note secret 4821 " * (i + 1))
    return alice, labels


def _without_times(v):
    if isinstance(v, dict):
        return {k: _without_times(x) for k, x in v.items() if not k.endswith("_at")}
    if isinstance(v, list):
        return [_without_times(x) for x in v]
    return v


def _transcript(s, alice, labels):
    """Every answer Alice gets to SEARCHES (one shot, then limit=1 paged
    through every cursor, then one chat only), ids replaced by labels and
    times left out: what differs from stack to stack by construction."""
    out = []

    def ask(**params):
        r = search(s, alice, **params)
        text = json.dumps(_without_times(r.json()), sort_keys=True, ensure_ascii=False)
        text = f"{params} -> {r.status_code} {text}"
        for i, label in labels.items():
            text = text.replace(i, label)
        out.append(text)
        return r.json()

    chat_ab = next(i for i, label in labels.items() if label == "chat:ab")
    for q in SEARCHES:
        ask(q=q, limit=100)
        ask(q=q, chat_id=chat_ab)
        cursor, n = None, 0
        while n < 40:
            b = ask(q=q, limit=1, **({"cursor": cursor} if cursor else {}))
            cursor, n = b.get("next_cursor"), n + 1
            if not cursor:
                break
    return out


def test_search_answers_do_not_depend_on_chats_i_am_not_in(make_stack):
    """Two databases that differ only in a chat Alice is not in give her
    byte-identical answers: no score, order, cursor or count tells what that
    chat holds (bm25 scores in cursors once spelled out a PIN written in
    someone else's direct chat)."""
    many = {"HS_SEARCH_BURST": 100000}
    plain, secret = make_stack(**many), make_stack(**many)
    t1 = _transcript(plain, *_search_world(plain, secret=False))
    t2 = _transcript(secret, *_search_world(secret, secret=True))
    assert len(t1) > 100
    assert not any(re.search("[0-9a-f]{24}", line) for line in t1 + t2), "an id left unlabelled"
    for a, b in zip(t1, t2):
        assert a == b
    assert t1 == t2


def test_search_rate_limited_per_user(make_stack):
    s = make_stack(HS_SEARCH_BURST=3, HS_SEARCH_PERIOD=60)
    a, b = register_many(s, 2, prefix="rl")
    for _ in range(3):
        assert_ok(search(s, a, q="anything"))
    r = search(s, a, q="anything")
    assert_error(r, 429, "rate_limited")
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 60, retry
    # per user: another user still searches; refused queries cost nothing
    assert_ok(search(s, b, q="anything"))
    assert_error(search(s, b, q="a"), 400, "search_term_too_short")
    assert_ok(search(s, b, q="anything"))
