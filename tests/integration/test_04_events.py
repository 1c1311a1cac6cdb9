"""The events the chats app publishes (docs/events.md): every change puts an
entry (type, data) on the Redis stream hs:ev:chat:<chat_id>, whose data
carries chat_id and the payload; membership changes also go to the
member's hs:ev:user:<user_id>. Read back with redis-cli XRANGE."""
import pytest

from hsapi import assert_ok
from test_04_helpers import (CHATS, MESSAGES, add_member, chat_events, create, direct, get_chat,
                             join, leave, mark_read, react, register_many, remove_member, send,
                             set_role, user_events)

VIEWER_ONLY = {"my_role", "muted", "last_read_id", "unread_count"}


def types(evs):
    return [t for t, _ in evs]


def check_chat_ids(evs, chat_id):
    for t, d in evs:
        assert d.get("chat_id") == chat_id, f"{t}: data without the right chat_id: {d}"


def new_events(stack, chat_id, before):
    evs = chat_events(stack, chat_id)
    assert evs[:len(before)] == before, "the stream's history changed"
    return evs[len(before):]


def test_chat_created(stack):
    a, b, c = register_many(stack, 3, prefix="e")
    g = create(stack, a, "group", [b, c], name="evented", description="d")
    evs = chat_events(stack, g["id"])
    assert types(evs) == ["chat.created", "member.added", "member.added", "member.added"]
    check_chat_ids(evs, g["id"])
    data = evs[0][1]
    assert not VIEWER_ONLY & set(data), f"viewer fields in chat.created: {sorted(data)}"
    assert data["id"] == g["id"] and data["kind"] == "group" and data["name"] == "evented"
    assert data["member_count"] == 3 and data["owner_id"] == a.id
    added = {d["user_id"]: d["role"] for _, d in evs[1:]}
    assert added == {a.id: "owner", b.id: "member", c.id: "member"}
    for u, role in ((a, "owner"), (b, "member"), (c, "member")):
        assert ("member.added", {"chat_id": g["id"], "user_id": u.id, "role": role}) in \
            user_events(stack, u.id)


def test_direct_chat_events(stack):
    a, b = register_many(stack, 2, prefix="e")
    d = direct(stack, a, b)["id"]
    evs = chat_events(stack, d)
    assert types(evs) == ["chat.created", "member.added", "member.added"]
    check_chat_ids(evs, d)
    assert not VIEWER_ONLY & set(evs[0][1])
    assert {x["user_id"]: x["role"] for _, x in evs[1:]} == {a.id: "member", b.id: "member"}
    # opening it again publishes nothing
    create(stack, b, "direct", [a], status=200)
    assert chat_events(stack, d) == evs


def test_message_events(stack):
    a, b = register_many(stack, 2, prefix="e")
    d = direct(stack, a, b)["id"]
    base = chat_events(stack, d)
    m = send(stack, a, d, "hello events", client_id="ev-1")
    evs = new_events(stack, d, base)
    assert types(evs) == ["message.created"]
    data = evs[0][1]
    assert data["chat_id"] == d and data["message"]["id"] == m["id"]
    assert data["message"]["content"] == "hello events"
    assert data["message"]["sender"]["id"] == a.id and data["message"]["client_id"] == "ev-1"
    # a client_id retry publishes nothing
    assert_ok(stack.post(MESSAGES, token=a.access,
                         json={"chat_id": d, "content": "hello events", "client_id": "ev-1"}))
    assert types(new_events(stack, d, base)) == ["message.created"]
    base = chat_events(stack, d)

    assert_ok(stack.put(f"{MESSAGES}/{m['id']}", token=a.access, json={"content": "edited"}))
    assert_ok(react(stack, b, m["id"], "👍"))
    assert_ok(react(stack, a, m["id"], "👍"))
    assert_ok(react(stack, b, m["id"], "👍"))
    assert_ok(mark_read(stack, b, d, m["id"]))
    assert_ok(mark_read(stack, b, d, m["id"]))  # not moved: no event
    assert_ok(stack.delete(f"{MESSAGES}/{m['id']}", token=a.access), 204)
    evs = new_events(stack, d, base)
    assert types(evs) == ["message.updated", "reaction.updated", "reaction.updated",
                          "reaction.updated", "read.updated", "message.deleted"]
    check_chat_ids(evs, d)
    upd = evs[0][1]["message"]
    assert upd["id"] == m["id"] and upd["content"] == "edited" and upd["edited_at"]
    r1, r2, r3 = (x[1] for x in evs[1:4])
    assert r1 == {"chat_id": d, "message_id": m["id"], "user_id": b.id, "emoji": "👍",
                  "added": True, "reactions": [{"emoji": "👍", "count": 1}]}
    assert r2["user_id"] == a.id and r2["added"] is True
    assert r2["reactions"] == [{"emoji": "👍", "count": 2}]
    assert r3["user_id"] == b.id and r3["added"] is False
    assert r3["reactions"] == [{"emoji": "👍", "count": 1}]
    assert evs[4][1] == {"chat_id": d, "user_id": b.id, "message_id": m["id"]}
    assert evs[5][1] == {"chat_id": d, "message_id": m["id"], "deleted_by": a.id}


def test_membership_events(stack):
    owner, adm, m1, m2, joiner = register_many(stack, 5, prefix="e")
    ch = create(stack, owner, "channel", [adm, m1], is_public=True)["id"]
    base = chat_events(stack, ch)
    assert_ok(add_member(stack, owner, ch, m2), 201)
    assert_ok(set_role(stack, owner, ch, adm, "admin"), 204)
    assert_ok(join(stack, joiner, ch))
    assert_ok(remove_member(stack, adm, ch, m1), 204)
    assert_ok(leave(stack, m2, ch), 204)
    assert_ok(set_role(stack, owner, ch, adm, "member"), 204)
    evs = new_events(stack, ch, base)
    assert evs == [
        ("member.added", {"chat_id": ch, "user_id": m2.id, "role": "member"}),
        ("member.role_changed", {"chat_id": ch, "user_id": adm.id, "role": "admin"}),
        ("member.added", {"chat_id": ch, "user_id": joiner.id, "role": "member"}),
        ("member.removed", {"chat_id": ch, "user_id": m1.id}),
        ("member.removed", {"chat_id": ch, "user_id": m2.id}),
        ("member.role_changed", {"chat_id": ch, "user_id": adm.id, "role": "member"}),
    ]
    # each member's own stream heard about it
    assert ("member.added", {"chat_id": ch, "user_id": joiner.id, "role": "member"}) in \
        user_events(stack, joiner.id)
    assert types([e for e in user_events(stack, m1.id) if e[1]["chat_id"] == ch]) == [
        "member.added", "member.removed"]
    assert types([e for e in user_events(stack, m2.id) if e[1]["chat_id"] == ch]) == [
        "member.added", "member.removed"]
    assert types([e for e in user_events(stack, adm.id) if e[1]["chat_id"] == ch]) == [
        "member.added", "member.role_changed", "member.role_changed"]


def test_settings_and_delete_events(stack):
    a, b = register_many(stack, 2, prefix="e")
    g = create(stack, a, "group", [b], name="before")["id"]
    base = chat_events(stack, g)
    assert_ok(stack.put(f"{CHATS}/{g}", token=a.access, json={"name": "after"}))
    assert_ok(stack.put(f"{CHATS}/{g}/mute", token=b.access, json={"muted": True}))
    assert_ok(stack.delete(f"{CHATS}/{g}", token=a.access), 204)
    evs = new_events(stack, g, base)
    assert types(evs) == ["chat.updated", "chat.deleted"], "muting is private: no event"
    check_chat_ids(evs, g)
    upd = evs[0][1]
    assert upd["name"] == "after" and upd["id"] == g and not VIEWER_ONLY & set(upd)
    assert evs[1][1] == {"chat_id": g}


def test_ownership_and_last_leave_events(stack):
    a, b = register_many(stack, 2, prefix="e")
    g = create(stack, a, "group", [b])["id"]
    base = chat_events(stack, g)
    assert_ok(leave(stack, a, g), 204)
    assert assert_ok(get_chat(stack, b, g))["owner_id"] == b.id
    assert_ok(leave(stack, b, g), 204)
    evs = new_events(stack, g, base)
    assert evs == [
        ("member.removed", {"chat_id": g, "user_id": a.id}),
        ("member.role_changed", {"chat_id": g, "user_id": b.id, "role": "owner"}),
        ("member.removed", {"chat_id": g, "user_id": b.id}),
        ("chat.deleted", {"chat_id": g}),
    ]
    assert ("member.role_changed", {"chat_id": g, "user_id": b.id, "role": "owner"}) in \
        user_events(stack, b.id)


@pytest.mark.parametrize("action", ["send_denied", "bad_emoji", "stranger_edit"])
def test_refused_changes_publish_nothing(stack, action):
    owner, member, stranger = register_many(stack, 3, prefix="e")
    ch = create(stack, owner, "channel", [member])["id"]
    m = send(stack, owner, ch, "post")
    base = chat_events(stack, ch)
    if action == "send_denied":
        r = stack.post(MESSAGES, token=member.access, json={"chat_id": ch, "content": "no"})
    elif action == "bad_emoji":
        r = react(stack, member, m["id"], "ab")
    else:
        r = stack.put(f"{MESSAGES}/{m['id']}", token=stranger.access, json={"content": "x"})
    assert r.status_code >= 400
    assert chat_events(stack, ch) == base
