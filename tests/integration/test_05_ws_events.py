"""The WebSocket bridge (docs/ws.md) carrying events: messages posted over
REST reach every device of every member and no one else, typing and
presence reach co-members only, and the client events chat_message, read,
typing and presence act as the REST API does. Membership changes take
effect on open connections at once."""
import asyncio
import json
import time

from hsapi import assert_ok, fake_id
from test_04_helpers import (add_member, direct, get_chat, group, page, register_many,
                             remove_member, send)
from wsclient import Clients, match, rest, stored


def test_message_reaches_every_device_of_members_only(stack):
    a, b, c = register_many(stack, 3, prefix="wd")
    d = direct(stack, a, b)["id"]
    direct(stack, a, c)  # c shares a chat with a, not this one

    async def run():
        async with Clients() as cs:
            phone = await cs.open(stack.ws_url(0), b.access, name="b phone")
            laptop = await cs.open(stack.ws_proxy_url, b.access, how="header", name="b laptop")
            tablet = await cs.open(stack.ws_url(1), b.access, how="protocol", name="b tablet")
            other = await cs.open(stack.ws_url(0), c.access, name="c")
            m = await rest(send, stack, a, d, "hello over the bridge")
            for ws in (phone, laptop, tablet):
                ev = await ws.take(match("message.created", chat_id=d))
                assert set(ev) == {"id", "type", "data"}, ev
                msg = ev["data"]["message"]
                assert (msg["id"], msg["content"], msg["sender"]["id"], msg["chat_id"]) == (
                    m["id"], "hello over the bridge", a.id, d), ev
            await other.quiet(stored)
    asyncio.run(run())


def test_reconnect_at_once_keeps_receiving(stack):
    """A page reload: the only connection of a user closes and a new one opens
    straight away, over and over; every time, the next message arrives (the
    bridge keeps the chat subscribed across the gap)."""
    a, b = register_many(stack, 2, prefix="wr")
    d = direct(stack, a, b)["id"]

    async def run():
        async with Clients() as cs:
            for i in range(5):
                ws = await cs.open(stack.ws_url(0), b.access, name=f"b #{i}")
                m = await rest(send, stack, a, d, f"after reload {i}")
                ev = await ws.take(match("message.created", chat_id=d))
                assert ev["data"]["message"]["id"] == m["id"], ev
                await ws.close()
    asyncio.run(run())


def test_typing_reaches_co_members_only(stack):
    a, b, c = register_many(stack, 3, prefix="wt")
    g = group(stack, a, [b])["id"]
    direct(stack, a, c)

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a")
            wb = await cs.open(stack.ws_url(0), b.access, name="b")
            wc = await cs.open(stack.ws_url(0), c.access, name="c")
            await wa.send({"type": "typing", "chat_id": g, "state": "start"})
            ev = await wb.take(match("typing"))
            assert "id" not in ev, "typing is not stored"
            assert {k: ev["data"][k] for k in ("chat_id", "user_id", "state")} == {
                "chat_id": g, "user_id": a.id, "state": "start"}, ev
            assert isinstance(ev["data"]["expires_in"], int) and ev["data"]["expires_in"] > 0, ev
            # a second start within typing_throttle_ms is dropped; the stop is not
            await wa.send({"type": "typing", "chat_id": g, "state": "start"})
            await wa.send({"type": "typing", "chat_id": g, "state": "stop"})
            ev = await wb.take(match("typing"))
            assert (ev["data"]["state"], ev["data"]["user_id"]) == ("stop", a.id), ev
            await wb.quiet(match("typing"))
            await wc.quiet(match("typing"))
            # not a member: refused, nothing relayed
            r = await wc.request({"type": "typing", "chat_id": g, "state": "start"})
            assert r["type"] == "error" and r["error"]["code"] == "chat_not_found", r
            await wb.quiet(match("typing"), window=0.3)
    asyncio.run(run())


def test_presence(stack):
    a, b, c, d = register_many(stack, 4, prefix="wp")
    g = group(stack, a, [b, d])["id"]
    direct(stack, a, c)  # c shares a chat with a only

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a")
            wc = await cs.open(stack.ws_url(0), c.access, name="c")
            t0 = time.time() * 1000
            b1 = await cs.open(stack.ws_url(0), b.access, name="b phone")
            ev = await wa.take(match("presence", user_id=b.id))
            assert ev["data"]["status"] == "online" and "id" not in ev, ev

            st = await wa.request({"type": "presence", "chat_id": g})
            assert st["type"] == "presence.state" and st["data"]["chat_id"] == g, st
            users = {u["user_id"]: u for u in st["data"]["users"]}
            assert set(users) == {a.id, b.id, d.id}, st
            assert users[a.id]["status"] == users[b.id]["status"] == "online", st
            assert users[d.id]["status"] == "offline", st

            # a second device, then the first goes: b is still online
            b2 = await cs.open(stack.ws_proxy_url, b.access, name="b laptop")
            await b1.close()
            await wa.quiet(match("presence", user_id=b.id, status="offline"))
            await b2.close()
            ev = await wa.take(match("presence", user_id=b.id, status="offline"))
            seen = ev["data"]["last_seen"]
            assert isinstance(seen, int) and t0 - 2000 <= seen <= time.time() * 1000 + 2000, ev

            st = await wa.request({"type": "presence", "chat_id": g})
            users = {u["user_id"]: u for u in st["data"]["users"]}
            assert users[b.id]["status"] == "offline", st
            assert abs(users[b.id]["last_seen"] - seen) <= 1000, st

            # c shares no chat with b: heard nothing about b, and may not ask
            await wc.quiet(match("presence", user_id=b.id), window=0.1)
            r = await wc.request({"type": "presence", "chat_id": g})
            assert r["type"] == "error" and r["error"]["code"] == "chat_not_found", r
    asyncio.run(run())


def test_chat_message_over_the_socket(stack):
    a, b, c = register_many(stack, 3, prefix="wm")
    d = direct(stack, a, b)["id"]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a")
            wb = await cs.open(stack.ws_url(1), b.access, name="b")
            wc = await cs.open(stack.ws_proxy_url, c.access, name="c")
            body = {"type": "chat_message", "chat_id": d, "content": "sent over ws",
                    "client_id": "ws-1"}
            ack = await wa.request(body)
            assert ack["type"] == "ack", ack
            mid = ack["data"]["message_id"]
            assert ack["data"]["existed"] is False, ack
            m = ack["data"]["message"]
            assert (m["id"], m["content"], m["sender"]["id"], m["client_id"]) == (
                mid, "sent over ws", a.id, "ws-1"), ack
            ev = await wb.take(match("message.created", chat_id=d))
            assert ev["data"]["message"]["id"] == mid
            hist = (await rest(page, stack, b, d))["items"]
            assert [(i["id"], i["content"]) for i in hist] == [(mid, "sent over ws")]

            # a retry with the same client_id: the same message, no new event
            again = await wa.request(body)
            assert again["type"] == "ack" and again["data"]["existed"] is True, again
            assert again["data"]["message_id"] == mid, again
            await wb.quiet(match("message.created"))

            # REST's checks and codes
            for bad, code in ((dict(content=""), "invalid_value"),
                              (dict(content="bell\x07"), "invalid_content"),
                              (dict(content=None), "missing_field"),
                              (dict(content="re", reply_to=fake_id()), "invalid_reply"),
                              (dict(content="x" * 16385), "message_too_long")):
                body = {"type": "chat_message", "chat_id": d, **bad}
                if body["content"] is None:
                    del body["content"]
                r = await wa.request(body)
                assert r["type"] == "error" and r["error"]["code"] == code, (bad, r)

            # not a member: nothing is stored, nothing revealed
            for chat in (d, fake_id()):
                r = await wc.request({"type": "chat_message", "chat_id": chat, "content": "nope"})
                assert r["type"] == "error" and r["error"]["code"] == "chat_not_found", r
            hist = (await rest(page, stack, a, d))["items"]
            assert [i["id"] for i in hist] == [mid]
            await wb.quiet(match("message.created"), window=0.2)
    asyncio.run(run())


def test_one_message_rule_for_both_transports(stack):
    """POST /messages and chat_message go through one rule: the same input is
    accepted or refused with the same code over both. The limit counts
    characters (16384 three-byte characters fit; one more does not), not
    bytes. Bodies and frames are sent as raw UTF-8."""
    a, b = register_many(stack, 2, prefix="wu")
    d = direct(stack, a, b)["id"]
    many = [fake_id() for _ in range(11)]
    cases = [
        (dict(content="€" * 16384), None),
        (dict(content="€" * 16385), "message_too_long"),
        (dict(content="a" * 16385), "message_too_long"),
        (dict(content="é" * 16384), None),
        (dict(content="bell\x07"), "invalid_content"),
        (dict(content="c1 \u0085"), "invalid_content"),
        (dict(content=""), "invalid_value"),
        (dict(content=7), "wrong_type"),
        (dict(content=None), "missing_field"),
        (dict(content="x", chat_id=None), "missing_field"),
        (dict(content="x", chat_id=5), "wrong_type"),
        (dict(content="x", chat_id=fake_id()), "chat_not_found"),
        (dict(content="x", client_id="c" * 65), "invalid_value"),
        (dict(content="x", reply_to=fake_id()), "invalid_reply"),
        (dict(content="x", file_ids="nope"), "wrong_type"),
        (dict(content="x", file_ids=["not-an-id"]), "invalid_value"),
        (dict(content="x", file_ids=many), "invalid_value"),
        (dict(content="x", file_ids=[fake_id()]), "file_not_found"),
    ]

    def body(fields):
        o = {"chat_id": d, **fields}
        return {k: v for k, v in o.items() if v is not None}

    def post(fields):
        return stack.post("/api/v1/messages", token=a.access,
                          data=json.dumps(body(fields), ensure_ascii=False).encode(),
                          headers={"Content-Type": "application/json"})

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a")
            for i, (fields, code) in enumerate(cases):
                r = await rest(post, fields)
                ref = f"u{i}"
                await wa.send(json.dumps({"type": "chat_message", "ref": ref, **body(fields)},
                                         ensure_ascii=False))
                w = await wa.take(lambda o, ref=ref: o.get("ref") == ref, what=f"reply {ref}")
                if code is None:
                    assert r.status_code == 201, (fields.keys(), r.text[:300])
                    assert w["type"] == "ack", (fields.keys(), str(w)[:300])
                    assert w["data"]["message"]["content"] == fields["content"]
                    assert r.json()["content"] == fields["content"]
                else:
                    assert r.status_code >= 400 and r.json()["error"]["code"] == code, (
                        i, r.text[:300])
                    assert w["type"] == "error" and w["error"]["code"] == code, (i, str(w)[:300])
            await wa.ping()
            sent = [f["content"] for f, code in cases if code is None]
            hist = (await rest(page, stack, b, d, limit=100))["items"]
            assert sorted(i["content"] for i in hist) == sorted(sent * 2)
    asyncio.run(run())


def test_chat_message_rate_limited(stack):
    """The REST rate limit (message_burst 30 on the main stack) applies."""
    a, b = register_many(stack, 2, prefix="wr")
    d = direct(stack, a, b)["id"]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access)
            for i in range(45):
                await wa.send({"type": "chat_message", "chat_id": d, "content": f"m{i}",
                               "ref": f"m{i}"})
            replies = [await wa.take(lambda o, r=f"m{i}": o.get("ref") == r, what=f"reply m{i}")
                       for i in range(45)]
            kinds = [r["type"] if r["type"] == "ack" else r["error"]["code"] for r in replies]
            assert kinds[:30] == ["ack"] * 30 and "rate_limited" in kinds[30:], kinds
            n_ok = kinds.count("ack")
            assert len((await rest(page, stack, b, d, limit=100))["items"]) == n_ok
            await wa.ping()
    asyncio.run(run())


def test_read_over_the_socket(stack):
    a, b, c = register_many(stack, 3, prefix="wx")
    d = direct(stack, a, b)["id"]
    m1, m2 = send(stack, a, d, "one"), send(stack, a, d, "two")

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a")
            wb = await cs.open(stack.ws_url(1), b.access, name="b")
            wc = await cs.open(stack.ws_url(0), c.access, name="c")
            r = await wb.request({"type": "read", "chat_id": d, "message_id": m2["id"]})
            assert r["type"] == "ack", r
            ev = await wa.take(match("read.updated", chat_id=d))
            assert ev["data"] == {"chat_id": d, "user_id": b.id, "message_id": m2["id"]}, ev
            chat = assert_ok(await rest(get_chat, stack, b, d))
            assert chat["last_read_id"] == m2["id"] and chat["unread_count"] == 0, chat
            # not a member
            r = await wc.request({"type": "read", "chat_id": d, "message_id": m1["id"]})
            assert r["type"] == "error" and r["error"]["code"] == "chat_not_found", r
            await wa.quiet(match("read.updated"), window=0.2)
    asyncio.run(run())


def test_membership_changes_apply_at_once(stack):
    a, b, c, n = register_many(stack, 4, prefix="wg")
    g = group(stack, a, [b, c])["id"]

    async def run():
        async with Clients() as cs:
            wb = await cs.open(stack.ws_url(0), b.access, name="removed b")
            wc = await cs.open(stack.ws_url(1), c.access, name="staying c")
            wn = await cs.open(stack.ws_url(0), n.access, name="added n")

            assert (await rest(remove_member, stack, a, g, b)).status_code == 204
            m = await rest(send, stack, a, g, "right after the removal")
            ev = await wc.take(match("message.created", chat_id=g))
            assert ev["data"]["message"]["id"] == m["id"]
            await wb.take(match("member.removed", chat_id=g, user_id=b.id))
            await wb.quiet(match("message.created"))
            r = await wb.request({"type": "typing", "chat_id": g, "state": "start"})
            assert r["type"] == "error" and r["error"]["code"] == "chat_not_found", r

            assert (await rest(add_member, stack, a, g, n)).status_code == 201
            m = await rest(send, stack, a, g, "right after the add")
            await wn.take(match("member.added", chat_id=g, user_id=n.id))
            ev = await wn.take(match("message.created", chat_id=g))
            assert ev["data"]["message"]["id"] == m["id"]
            await wb.quiet(match("message.created"), window=0.1)
    asyncio.run(run())
