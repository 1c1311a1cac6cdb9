"""/api/v1/chats, /groups and /channels: every kind of chat between two or
three users, settings, roles (owner, admins, members), channels and
joining, leaving with the ownership passed on, deletion, muting, the chat
list (activity order, previews, unread counts, pages) and the 404 a
non-member gets everywhere."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import HEX24, ISO_TIME, assert_error, assert_ok, fake_id
from test_04_helpers import (CHANNELS, CHATS, GROUPS, MESSAGES, add_member, channel, chat_list,
                             create, direct, get_chat, group, history, join, leave, listed,
                             mark_read, members_of, post_message, register_many, remove_member,
                             send, set_role)

CHAT_KEYS = {"id", "kind", "name", "description", "avatar_file_id", "is_public", "owner_id",
             "member_count", "created_at", "updated_at", "last_activity_at", "last_message"}
MINE = {"my_role", "muted", "last_read_id", "unread_count"}
BAD_IDS = ["nope", "0" * 23, "0" * 25, "G" * 24, "ABCDEF0123456789ABCDEF01"]


def check_chat(c, kind, role):
    assert set(c) == CHAT_KEYS | MINE, sorted(c)
    assert HEX24.match(c["id"]) and c["kind"] == kind and c["my_role"] == role
    for k in ("created_at", "updated_at", "last_activity_at"):
        assert ISO_TIME.match(c[k]), (k, c[k])
    assert c["muted"] is False


# -- direct chats ------------------------------------------------------------------------
def test_direct_chat(stack):
    a, b = register_many(stack, 2)
    c = create(stack, a, "direct", [b], name="ignored", description="d")
    check_chat(c, "direct", "member")
    assert c["name"] == "" and c["owner_id"] is None and c["member_count"] == 2
    assert c["is_public"] is False and c["last_message"] is None and c["unread_count"] == 0
    # created again, by either party: the same chat, 200
    again = create(stack, a, "direct", [b], status=200)
    assert again["id"] == c["id"]
    other = create(stack, b, "direct", [a], status=200)
    assert other["id"] == c["id"] and other["my_role"] == "member"
    assert members_of(stack, a, c["id"]) == {a.id: "member", b.id: "member"}
    assert assert_ok(get_chat(stack, b, c["id"]))["id"] == c["id"]
    # exactly one direct chat of the two in both lists
    for u in (a, b):
        ids = [x["id"] for x in chat_list(stack, u)["items"]]
        assert ids == [c["id"]]


def test_direct_chat_race(stack):
    """Both people open the chat at the same moment: one chat."""
    a, b = register_many(stack, 2)
    def open_chat(i):
        me, other = (a, b) if i % 2 else (b, a)
        return stack.post(CHATS, token=me.access, json={"kind": "direct", "members": [other.id]})

    with ThreadPoolExecutor(6) as ex:
        rs = list(ex.map(open_chat, range(6)))
    assert sorted(r.status_code for r in rs) == [200] * 5 + [201], [r.text for r in rs]
    assert len({r.json()["id"] for r in rs}) == 1
    assert len(chat_list(stack, a)["items"]) == 1


def test_direct_chat_invalid_members(stack):
    a, b, c = register_many(stack, 3)
    for members in ([], [a], [b, c], [b, b]):
        r = create(stack, a, "direct", members, status=400)
        assert_error(r, 400, "invalid_members")
    assert_error(create(stack, a, "direct", [fake_id()], status=404), 404, "user_not_found")
    assert_error(create(stack, a, "direct", ["nothex"], status=400), 400, "invalid_value")
    assert chat_list(stack, a)["items"] == []


def test_direct_chat_with_disabled_user(stack):
    a, b = register_many(stack, 2)
    assert_ok(stack.post(f"/api/v1/users/{b.id}/disable", token=stack.admin.access))
    assert_error(create(stack, a, "direct", [b], status=404), 404, "user_not_found")
    assert_error(create(stack, a, "group", [b], status=404), 404, "user_not_found")


def test_direct_chat_has_no_settings(stack):
    a, b, c = register_many(stack, 3)
    d = direct(stack, a, b)["id"]
    assert_error(leave(stack, a, d), 403, "direct_chat")
    assert_error(add_member(stack, a, d, c), 403, "direct_chat")
    assert_error(remove_member(stack, a, d, b), 403, "direct_chat")
    assert_error(set_role(stack, a, d, b, "admin"), 403, "direct_chat")
    assert_error(stack.put(f"{CHATS}/{d}", token=a.access, json={"name": "x"}), 403, "direct_chat")
    assert_error(stack.delete(f"{CHATS}/{d}", token=b.access), 403, "direct_chat")
    assert_error(join(stack, c, d), 404, "chat_not_found")
    assert members_of(stack, b, d) == {a.id: "member", b.id: "member"}
    assert assert_ok(get_chat(stack, a, d))["name"] == ""


# -- groups and channels -----------------------------------------------------------------------
@pytest.mark.parametrize("how", ["chats", "groups"])
def test_group_of_three(stack, how):
    a, b, c = register_many(stack, 3)
    kw = {"path": GROUPS} if how == "groups" else {}
    g = create(stack, a, "group", [b, c], name="Friends ✨", description="the three of us",
               is_public=True, **kw)
    check_chat(g, "group", "owner")
    assert g["name"] == "Friends ✨" and g["description"] == "the three of us"
    assert g["owner_id"] == a.id and g["member_count"] == 3
    assert g["is_public"] is False, "only channels are public"
    assert members_of(stack, c, g["id"]) == {a.id: "owner", b.id: "member", c.id: "member"}
    for u in (b, c):
        seen = assert_ok(get_chat(stack, u, g["id"]))
        check_chat(seen, "group", "member")
        assert seen["name"] == "Friends ✨" and seen["owner_id"] == a.id
    # every member can talk
    for u in (a, b, c):
        send(stack, u, g["id"], f"hi from {u.username}")
    assert len(assert_ok(history(stack, c, g["id"]))["items"]) == 3


@pytest.mark.parametrize("how", ["chats", "channels"])
def test_channel(stack, how):
    a, b, c = register_many(stack, 3)
    kw = {"path": CHANNELS} if how == "channels" else {}
    ch = create(stack, a, "channel", [b], name="News", is_public=True, **kw)
    check_chat(ch, "channel", "owner")
    assert ch["is_public"] is True and ch["member_count"] == 2
    private = create(stack, a, "channel", [b], name="Secret", **kw)
    assert private["is_public"] is False
    # the owner posts; a member may not
    send(stack, a, ch["id"], "first post")
    assert_error(post_message(stack, b, ch["id"], "me too"), 403, "channel_read_only")
    # anyone may join the public one, nobody the private one
    j = assert_ok(join(stack, c, ch["id"]))
    assert j["id"] == ch["id"] and j["my_role"] == "member" and j["member_count"] == 3
    assert_error(join(stack, c, ch["id"]), 409, "already_member")
    assert_error(join(stack, c, private["id"]), 404, "chat_not_found")
    assert_error(get_chat(stack, c, private["id"]), 404, "chat_not_found")
    # a joined member reads the history and reacts, but cannot post
    items = assert_ok(history(stack, c, ch["id"]))["items"]
    assert [m["content"] for m in items] == ["first post"]
    assert assert_ok(stack.post(f"{MESSAGES}/{items[0]['id']}/react", token=c.access,
                                json={"emoji": "👍"}))["reactions"][0]["count"] == 1
    assert_error(post_message(stack, c, ch["id"], "hello?"), 403, "channel_read_only")
    # an admin posts
    assert_ok(set_role(stack, a, ch["id"], b, "admin"), 204)
    send(stack, b, ch["id"], "admin post")
    # made private: the next stranger cannot join
    d = register_many(stack, 1)[0]
    assert assert_ok(stack.put(f"{CHATS}/{ch['id']}", token=a.access,
                               json={"is_public": False}))["is_public"] is False
    assert_error(join(stack, d, ch["id"]), 404, "chat_not_found")


def test_join_only_public_channels(stack):
    a, b, c = register_many(stack, 3)
    targets = [group(stack, a, [b])["id"], direct(stack, a, b)["id"],
               channel(stack, a, [b], public=False)["id"], fake_id(), "nope"]
    for t in targets:
        assert_error(join(stack, c, t), 404, "chat_not_found")
    assert chat_list(stack, c)["items"] == []


@pytest.mark.parametrize("body,code", [
    ({"kind": "bogus", "name": "x"}, "invalid_value"),
    ({"kind": "", "name": "x"}, "invalid_value"),
    ({"kind": "group"}, "missing_field"),
    ({"kind": "group", "name": None}, "missing_field"),
    ({"kind": "channel", "name": ""}, {"invalid_value", "missing_field"}),
    ({"kind": "group", "name": "x" * 129}, "invalid_value"),
    ({"kind": "group", "name": "x", "description": "d" * 1001}, "invalid_value"),
    ({"kind": "group", "name": "x", "avatar_file_id": "xyz"}, "invalid_value"),
    ({"kind": "group", "name": "x", "avatar_file_id": "Z" * 24}, "invalid_value"),
    ({"kind": "group", "name": "x", "members": ["nothex"]}, "invalid_value"),
    ({"kind": "group", "name": "x", "members": [1]}, "invalid_value"),
    ({"kind": "group", "name": "x", "members": [fake_id() for _ in range(101)]}, "invalid_value"),
])
def test_create_invalid(stack, user_a, body, code):
    assert_error(stack.post(CHATS, token=user_a.access, json=body), 400, code)


def test_create_limits_accepted(stack):
    a = register_many(stack, 1)[0]
    g = create(stack, a, "group", name="é" * 128, description="ł" * 1000)
    assert g["name"] == "é" * 128 and g["description"] == "ł" * 1000
    assert g["member_count"] == 1


def test_create_with_unknown_member(stack):
    a, b = register_many(stack, 2)
    r = create(stack, a, "group", [b, fake_id()], status=404)
    assert_error(r, 404, "user_not_found")
    assert chat_list(stack, b)["items"] == [] and chat_list(stack, a)["items"] == []


def test_create_members_deduplicated(stack):
    a, b = register_many(stack, 2)
    g = create(stack, a, "group", [b, b, a])
    assert g["member_count"] == 2
    assert members_of(stack, a, g["id"]) == {a.id: "owner", b.id: "member"}


# -- settings ---------------------------------------------------------------------------------
def test_update_chat(stack):
    a, b, c = register_many(stack, 3)
    g = group(stack, a, [b, c], name="Old", description="old")
    before = g["updated_at"]
    time.sleep(0.005)
    avatar = fake_id()
    u = assert_ok(stack.put(f"{CHATS}/{g['id']}", token=a.access,
                            json={"name": "New", "avatar_file_id": avatar}))
    assert u["name"] == "New" and u["description"] == "old" and u["avatar_file_id"] == avatar
    assert u["my_role"] == "owner" and u["updated_at"] > before
    seen = assert_ok(get_chat(stack, c, g["id"]))
    assert seen["name"] == "New" and seen["avatar_file_id"] == avatar
    assert seen["my_role"] == "member"
    # a member may not; an admin may
    assert_error(stack.put(f"{CHATS}/{g['id']}", token=b.access, json={"name": "Mine"}), 403,
                 "admin_required")
    assert_ok(set_role(stack, a, g["id"], b, "admin"), 204)
    u = assert_ok(stack.put(f"{CHATS}/{g['id']}", token=b.access,
                            json={"description": "", "avatar_file_id": None, "is_public": True}))
    assert u["description"] == "" and u["avatar_file_id"] is None and u["name"] == "New"
    assert u["is_public"] is False and u["my_role"] == "admin"
    # invalid values change nothing
    for body in ({"name": ""}, {"name": "n" * 129}, {"avatar_file_id": "abc"}):
        assert_error(stack.put(f"{CHATS}/{g['id']}", token=a.access, json=body), 400)
    assert assert_ok(get_chat(stack, c, g["id"]))["name"] == "New"


def test_delete_chat(stack):
    a, b, c, d = register_many(stack, 4)
    g = group(stack, a, [b, c])["id"]
    m = send(stack, b, g, "soon gone zebrafish")
    assert_ok(set_role(stack, a, g, b, "admin"), 204)
    assert_error(stack.delete(f"{CHATS}/{g}", token=c.access), 403, "admin_required")
    assert_error(stack.delete(f"{CHATS}/{g}", token=b.access), 403, "owner_required")
    assert_error(stack.delete(f"{CHATS}/{g}", token=d.access), 404, "chat_not_found")
    assert_ok(get_chat(stack, c, g))
    assert_ok(stack.delete(f"{CHATS}/{g}", token=a.access), 204)
    for u in (a, b, c):
        assert_error(get_chat(stack, u, g), 404, "chat_not_found")
        assert_error(history(stack, u, g), 404, "chat_not_found")
        assert_error(stack.get(f"{CHATS}/{g}/members", token=u.access), 404, "chat_not_found")
        assert_error(post_message(stack, u, g, "anyone?"), 404, "chat_not_found")
        assert listed(stack, u, g) is None
        hits = assert_ok(stack.get(f"{MESSAGES}/search", token=u.access,
                                   params={"q": "zebrafish"}))["items"]
        assert m["id"] not in [h["id"] for h in hits]
    assert_error(stack.put(f"{MESSAGES}/{m['id']}", token=b.access, json={"content": "x"}), 404,
                 "message_not_found")
    assert_error(stack.delete(f"{CHATS}/{g}", token=a.access), 404, "chat_not_found")


# -- roles ------------------------------------------------------------------------------------
def test_roles(stack):
    owner, adm, adm2, m1, m2, new = register_many(stack, 6)
    g = group(stack, owner, [adm, adm2, m1])["id"]
    # only the owner promotes
    assert_error(set_role(stack, m1, g, m1, "admin"), 403, "admin_required")
    assert_ok(set_role(stack, owner, g, adm, "admin"), 204)
    assert_error(set_role(stack, adm, g, adm2, "admin"), 403, "owner_required")
    assert_ok(set_role(stack, owner, g, adm2, "admin"), 204)
    assert members_of(stack, m1, g) == {owner.id: "owner", adm.id: "admin", adm2.id: "admin",
                                        m1.id: "member"}
    assert assert_ok(get_chat(stack, adm, g))["my_role"] == "admin"
    # admins add plain members; members add nobody; twice is a conflict
    assert_error(add_member(stack, m1, g, m2), 403, "admin_required")
    c = assert_ok(add_member(stack, adm, g, m2), 201)
    assert c["id"] == g and c["member_count"] == 5 and c["my_role"] == "admin"
    assert_error(add_member(stack, adm, g, m2), 409, "already_member")
    assert_error(add_member(stack, owner, g, owner), 409, "already_member")
    assert_error(add_member(stack, owner, g, fake_id()), 404, "user_not_found")
    assert_error(add_member(stack, owner, g, "nope"), 404, "user_not_found")
    # admins remove plain members, not other admins, never the owner
    assert_error(remove_member(stack, m1, g, m2), 403, "admin_required")
    assert_ok(remove_member(stack, adm, g, m2), 204)
    assert_error(get_chat(stack, m2, g), 404, "chat_not_found")
    assert_error(remove_member(stack, adm, g, m2), 404, "member_not_found")
    assert_error(remove_member(stack, adm, g, adm2), 403, "owner_required")
    assert_error(remove_member(stack, adm, g, owner), 403, "cannot_remove_owner")
    assert_error(remove_member(stack, owner, g, owner), 403, "cannot_remove_owner")
    # the owner's role is fixed; roles are admin or member
    assert_error(set_role(stack, owner, g, owner, "member"), 403, "cannot_change_owner")
    assert_error(set_role(stack, owner, g, adm, "owner"), 400, "invalid_value")
    assert_error(set_role(stack, owner, g, adm, "superuser"), 400, "invalid_value")
    assert_error(set_role(stack, owner, g, m2, "admin"), 404, "member_not_found")
    assert_error(set_role(stack, owner, g, fake_id(), "admin"), 404, "member_not_found")
    # the owner demotes and removes admins
    assert_ok(set_role(stack, owner, g, adm2, "member"), 204)
    assert_error(set_role(stack, adm2, g, m1, "admin"), 403, "admin_required")
    assert_ok(set_role(stack, owner, g, adm2, "admin"), 204)
    assert_ok(remove_member(stack, owner, g, adm2), 204)
    assert members_of(stack, owner, g) == {owner.id: "owner", adm.id: "admin", m1.id: "member"}
    c = assert_ok(get_chat(stack, owner, g))
    assert c["member_count"] == 3 and c["owner_id"] == owner.id
    # a removed member can be added again
    assert_ok(add_member(stack, owner, g, adm2), 201)
    assert members_of(stack, adm2, g)[adm2.id] == "member"
    assert_error(get_chat(stack, new, g), 404, "chat_not_found")


def test_roles_in_channels(stack):
    owner, adm, m1, m2 = register_many(stack, 4)
    ch = channel(stack, owner, [adm, m1])["id"]
    assert_ok(set_role(stack, owner, ch, adm, "admin"), 204)
    assert_ok(add_member(stack, adm, ch, m2), 201)
    assert_ok(remove_member(stack, adm, ch, m1), 204)
    assert_error(remove_member(stack, adm, ch, owner), 403, "cannot_remove_owner")
    msg = send(stack, owner, ch, "owner's post")
    # an admin deletes anyone's post in a channel
    assert_ok(stack.delete(f"{MESSAGES}/{msg['id']}", token=adm.access), 204)
    # a demoted admin can no longer post
    assert_ok(set_role(stack, owner, ch, adm, "member"), 204)
    assert_error(post_message(stack, adm, ch, "still here"), 403, "channel_read_only")


# -- leaving -----------------------------------------------------------------------------------
def by_id(users):
    return sorted(users, key=lambda u: u.id)


def test_owner_leaves_admin_inherits(stack):
    """The longest-standing admin inherits, before any member (even one who
    joined earlier), whatever the ids."""
    owner, early, a1, a2 = register_many(stack, 4)
    g = group(stack, owner, [early])["id"]
    # a2 (joined first of the admins) has the larger id, so neither id order
    # nor insertion order of the creation request decides
    lo, hi = by_id([a1, a2])
    for u in (hi, lo):
        time.sleep(0.01)
        assert_ok(add_member(stack, owner, g, u), 201)
    for u in (lo, hi):
        assert_ok(set_role(stack, owner, g, u, "admin"), 204)
    assert_ok(leave(stack, owner, g), 204)
    assert_error(get_chat(stack, owner, g), 404, "chat_not_found")
    c = assert_ok(get_chat(stack, early, g))
    assert c["owner_id"] == hi.id and c["member_count"] == 3
    assert members_of(stack, early, g) == {early.id: "member", hi.id: "owner", lo.id: "admin"}
    # the new owner has the owner's powers
    assert_ok(stack.put(f"{CHATS}/{g}", token=hi.access, json={"name": "mine now"}))
    assert_ok(set_role(stack, hi, g, lo, "member"), 204)
    assert_ok(set_role(stack, hi, g, lo, "admin"), 204)
    # the next owner: the remaining admin, though `early` joined before
    assert_ok(leave(stack, hi, g), 204)
    c = assert_ok(get_chat(stack, early, g))
    assert c["owner_id"] == lo.id
    assert members_of(stack, lo, g) == {early.id: "member", lo.id: "owner"}


def test_owner_leaves_member_inherits(stack):
    """No admins: the longest-standing member."""
    owner, x, y = register_many(stack, 3)
    g = group(stack, owner)["id"]
    lo, hi = by_id([x, y])
    for u in (hi, lo):
        time.sleep(0.01)
        assert_ok(add_member(stack, owner, g, u), 201)
    assert_ok(leave(stack, owner, g), 204)
    c = assert_ok(get_chat(stack, lo, g))
    assert c["owner_id"] == hi.id and c["member_count"] == 2
    assert members_of(stack, lo, g) == {lo.id: "member", hi.id: "owner"}


def test_members_leave(stack):
    owner, m1, m2 = register_many(stack, 3)
    g = group(stack, owner, [m1, m2])["id"]
    send(stack, m1, g, "bye")
    assert_ok(leave(stack, m1, g), 204)
    assert_error(get_chat(stack, m1, g), 404, "chat_not_found")
    assert_error(history(stack, m1, g), 404, "chat_not_found")
    assert_error(leave(stack, m1, g), 404, "chat_not_found")
    assert listed(stack, m1, g) is None
    c = assert_ok(get_chat(stack, owner, g))
    assert c["member_count"] == 2 and c["owner_id"] == owner.id
    # the message stays for the others
    assert [m["content"] for m in assert_ok(history(stack, m2, g))["items"]] == ["bye"]


def test_last_member_leaving_deletes_the_chat(stack):
    owner, m1 = register_many(stack, 2)
    g = group(stack, owner, [m1])["id"]
    send(stack, owner, g, "anyone?")
    assert_ok(leave(stack, owner, g), 204)
    assert assert_ok(get_chat(stack, m1, g))["owner_id"] == m1.id
    assert_ok(leave(stack, m1, g), 204)
    for u in (owner, m1):
        assert_error(get_chat(stack, u, g), 404, "chat_not_found")
        assert listed(stack, u, g) is None
    # gone, not just empty: nobody can come back through the owner's door
    assert_error(add_member(stack, m1, g, owner), 404, "chat_not_found")
    ch = channel(stack, owner, public=True)["id"]
    assert_ok(leave(stack, owner, ch), 204)
    assert_error(join(stack, m1, ch), 404, "chat_not_found")


# -- mute -------------------------------------------------------------------------------------
def test_mute(stack):
    a, b, c = register_many(stack, 3)
    g = group(stack, a, [b])["id"]
    r = assert_ok(stack.put(f"{CHATS}/{g}/mute", token=b.access, json={"muted": True}))
    assert r["muted"] is True and r["id"] == g and r["my_role"] == "member"
    assert assert_ok(get_chat(stack, b, g))["muted"] is True
    assert listed(stack, b, g)["muted"] is True
    assert assert_ok(get_chat(stack, a, g))["muted"] is False, "muting is per member"
    # muted chats still count unread messages
    send(stack, a, g, "psst")
    assert assert_ok(get_chat(stack, b, g))["unread_count"] == 1
    r = assert_ok(stack.put(f"{CHATS}/{g}/mute", token=b.access, json={"muted": False}))
    assert r["muted"] is False
    d = direct(stack, a, b)["id"]
    assert assert_ok(stack.put(f"{CHATS}/{d}/mute", token=a.access,
                               json={"muted": True}))["muted"] is True
    assert_error(stack.put(f"{CHATS}/{g}/mute", token=c.access, json={"muted": True}), 404,
                 "chat_not_found")
    assert_error(stack.put(f"{CHATS}/{g}/mute", token=b.access, json={}), 400, "missing_field")
    for v in ("true", 1, None, [], {}):
        assert_error(stack.put(f"{CHATS}/{g}/mute", token=b.access, json={"muted": v}), 400,
                     {"wrong_type", "missing_field"} if v is None else "wrong_type")


# -- the chat list ------------------------------------------------------------------------------
def test_list_order_preview_unread(stack):
    me, x, y, z = register_many(stack, 4)
    c1 = direct(stack, me, x)["id"]
    time.sleep(0.005)
    c2 = group(stack, y, [me], name="g2")["id"]
    time.sleep(0.005)
    c3 = channel(stack, z, [me], name="c3")["id"]
    ids = [c["id"] for c in chat_list(stack, me)["items"]]
    assert ids == [c3, c2, c1], "newest activity first (creation counts)"
    # a message moves its chat to the top
    time.sleep(0.005)
    m = send(stack, x, c1, "x" * 150)
    items = chat_list(stack, me)["items"]
    assert [c["id"] for c in items] == [c1, c3, c2]
    top = items[0]
    assert top["unread_count"] == 1 and top["last_read_id"] is None
    lm = top["last_message"]
    assert lm["id"] == m["id"] and lm["sender_id"] == x.id and lm["deleted"] is False
    assert lm["preview"] == "x" * 100, "previews are cut at 100 characters"
    assert ISO_TIME.match(lm["created_at"]) and top["last_activity_at"] == lm["created_at"]
    assert items[1]["last_message"] is None and items[1]["unread_count"] == 0
    # the sender's list counts nothing unread
    assert listed(stack, x, c1)["unread_count"] == 0
    time.sleep(0.005)
    for i in range(3):
        send(stack, y, c2, f"g{i}")
    items = chat_list(stack, me)["items"]
    assert [c["id"] for c in items] == [c2, c1, c3]
    assert items[0]["unread_count"] == 3 and items[0]["last_message"]["preview"] == "g2"
    # reading drops the count
    hist = assert_ok(history(stack, me, c2))["items"]
    assert_ok(mark_read(stack, me, c2, hist[1]["id"]))
    assert listed(stack, me, c2)["unread_count"] == 1
    r = assert_ok(mark_read(stack, me, c2, hist[0]["id"]))
    assert r["unread_count"] == 0 and r["last_read_id"] == hist[0]["id"]
    assert listed(stack, me, c2)["unread_count"] == 0
    # a deleted last message shows as deleted, without its text
    assert_ok(stack.delete(f"{MESSAGES}/{m['id']}", token=x.access), 204)
    lm = listed(stack, me, c1)["last_message"]
    assert lm["deleted"] is True and "x" not in (lm["preview"] or "")
    assert listed(stack, me, c1)["unread_count"] == 0, "deleted messages are not unread"


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_list_pages(stack, limit, list_crowd):
    me, chats = list_crowd
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        b = chat_list(stack, me, **params)
        pages += 1
        assert len(b["items"]) <= limit
        seen += [c["id"] for c in b["items"]]
        cursor = b["next_cursor"]
        if cursor is None:
            break
        assert b["items"], "a next_cursor after an empty page"
        assert pages < 20
    assert seen == list(reversed(chats)), "every chat once, newest first"
    assert pages == -(-len(chats) // limit)


@pytest.fixture(scope="module")
def list_crowd(stack):
    me, other = register_many(stack, 2)
    chats = []
    for i in range(7):
        chats.append(group(stack, other, [me], name=f"g{i}")["id"])
        time.sleep(0.003)
    return me, chats


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "101"}, {"limit": "-1"}, {"limit": "x"}, {"limit": ""},
    {"cursor": "nope"}, {"cursor": "0" * 20 + "_" + "G" * 24}, {"cursor": "0" * 45},
    {"cursor": "0" * 20 + "_" + "0" * 23}, {"cursor": "x" * 20 + "_" + "0" * 24},
])
def test_list_bad_params(stack, user_a, params):
    assert_error(stack.get(CHATS, token=user_a.access, params=params), 400)


def test_members_pages(stack):
    owner, *rest = register_many(stack, 6)
    g = group(stack, owner, rest)["id"]
    want = {u.id for u in [owner, *rest]}
    for limit in (1, 2, 5, 6, 100):
        seen, cursor = [], None
        for _ in range(20):
            params = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            b = assert_ok(stack.get(f"{CHATS}/{g}/members", token=rest[0].access, params=params))
            assert len(b["items"]) <= limit
            for m in b["items"]:
                assert set(m) == {"user_id", "username", "display_name", "role", "joined_at"}
                assert ISO_TIME.match(m["joined_at"])
            seen += [m["user_id"] for m in b["items"]]
            cursor = b["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) and set(seen) == want, limit
    for params in ({"limit": "0"}, {"limit": "101"}, {"cursor": "nope"}, {"cursor": "G" * 24}):
        assert_error(stack.get(f"{CHATS}/{g}/members", token=owner.access, params=params), 400)


# -- strangers -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private_chat(stack):
    """A group of two with one message, and a stranger."""
    a, b, stranger = register_many(stack, 3)
    g = group(stack, a, [b], name="private")["id"]
    m = send(stack, a, g, "secret platypus")
    return a, b, stranger, g, m["id"]


STRANGER_CALLS = {
    "get": lambda s, u, g, m, b: s.get(f"{CHATS}/{g}", token=u.access),
    "update": lambda s, u, g, m, b: s.put(f"{CHATS}/{g}", token=u.access, json={"name": "x"}),
    "delete": lambda s, u, g, m, b: s.delete(f"{CHATS}/{g}", token=u.access),
    "leave": lambda s, u, g, m, b: leave(s, u, g),
    "join": lambda s, u, g, m, b: join(s, u, g),
    "members": lambda s, u, g, m, b: s.get(f"{CHATS}/{g}/members", token=u.access),
    "add_member": lambda s, u, g, m, b: add_member(s, u, g, u),
    "remove_member": lambda s, u, g, m, b: remove_member(s, u, g, b),
    "set_role": lambda s, u, g, m, b: set_role(s, u, g, b, "admin"),
    "mute": lambda s, u, g, m, b: s.put(f"{CHATS}/{g}/mute", token=u.access, json={"muted": True}),
    "read": lambda s, u, g, m, b: mark_read(s, u, g, m),
    "history": lambda s, u, g, m, b: history(s, u, g),
    "send": lambda s, u, g, m, b: post_message(s, u, g, "let me in"),
    "search_in_chat": lambda s, u, g, m, b: s.get(f"{MESSAGES}/search", token=u.access,
                                                   params={"q": "platypus", "chat_id": g}),
}
MESSAGE_CALLS = {
    "edit": lambda s, u, g, m, b: s.put(f"{MESSAGES}/{m}", token=u.access, json={"content": "x"}),
    "delete_message": lambda s, u, g, m, b: s.delete(f"{MESSAGES}/{m}", token=u.access),
    "react": lambda s, u, g, m, b: s.post(f"{MESSAGES}/{m}/react", token=u.access,
                                         json={"emoji": "👍"}),
    "receipts": lambda s, u, g, m, b: s.get(f"{MESSAGES}/{m}/receipts", token=u.access),
}


@pytest.mark.parametrize("call", list(STRANGER_CALLS))
def test_stranger_gets_404_chat(stack, private_chat, call):
    a, b, stranger, g, m = private_chat
    assert_error(STRANGER_CALLS[call](stack, stranger, g, m, b), 404, "chat_not_found")


@pytest.mark.parametrize("call", list(MESSAGE_CALLS))
def test_stranger_gets_404_message(stack, private_chat, call):
    a, b, stranger, g, m = private_chat
    assert_error(MESSAGE_CALLS[call](stack, stranger, g, m, b), 404, "message_not_found")


def test_stranger_changed_nothing(stack, private_chat):
    a, b, stranger, g, m = private_chat
    c = assert_ok(get_chat(stack, a, g))
    assert c["name"] == "private" and c["member_count"] == 2 and c["owner_id"] == a.id
    assert members_of(stack, a, g) == {a.id: "owner", b.id: "member"}
    items = assert_ok(history(stack, b, g))["items"]
    assert [(i["content"], i["reactions"], i["edited_at"]) for i in items] == [
        ("secret platypus", [], None)]
    hits = assert_ok(stack.get(f"{MESSAGES}/search", token=stranger.access,
                               params={"q": "platypus"}))["items"]
    assert m not in [h["id"] for h in hits]
    assert listed(stack, stranger, g) is None


@pytest.mark.parametrize("bad", BAD_IDS + ["unknown"])
def test_unknown_chat_ids(stack, user_a, bad):
    bad = fake_id() if bad == "unknown" else bad
    assert_error(get_chat(stack, user_a, bad), 404, "chat_not_found")
    assert_error(history(stack, user_a, bad), 404, "chat_not_found")
    assert_error(post_message(stack, user_a, bad, "hi"), 404, "chat_not_found")
    assert_error(stack.get(f"{CHATS}/{bad}/members", token=user_a.access), 404, "chat_not_found")
    assert_error(stack.put(f"{MESSAGES}/{bad}", token=user_a.access, json={"content": "x"}), 404,
                 "message_not_found")
    assert_error(stack.get(f"{MESSAGES}/{bad}/receipts", token=user_a.access), 404,
                 "message_not_found")
