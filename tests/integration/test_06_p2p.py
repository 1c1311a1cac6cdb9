"""P2P transfers over REST (docs/p2p.md) against the real stack: the state
machine (every allowed step, every refused one answering 409 with the state
in the hint and the transfer unchanged), whose step it is, transfers that do
not exist for a third user, offer validation and blocks, history pages,
progress, the hash check of complete, the encrypted relay copy (bound,
downloaded by the recipient only, deleted when the transfer ends), ICE
servers with coturn REST credentials, and expiry by reading and by
`hs-p2p cleanup`.

The expiry tests share one stack with p2p_offer_ttl = 10 s and upload_ttl =
5 s: its offers are made by the first test that uses it, so the 10 s wait
runs while the other tests do."""
import base64
import hashlib
import hmac
import os
import re
import time
from datetime import datetime, timezone

import pytest

from hsapi import (API, BAD_TOKENS, HEX24, ISO_TIME, app_routes, assert_error, assert_ok, fake_id,
                   forge)
from p2p_helpers import (P2P, STATES, STEP_BODY, TRANSFER_KEYS, download, event_types, get,
                         history, history_all, in_state, initiate_req, listed_file_ids, load,
                         offer, register_many, relay_size, run_cleanup, step, transfer_events,
                         upload_relay, user_events)
from test_03_helpers import blob_path, sha256
from test_04_helpers import direct, send

MAX_FILE_SIZE = 42949672960  # max_file_size's default (the main stack keeps it)
OFFER_TTL = 10
UPLOAD_TTL = 5
STUN = ["stun:stun1.example.org:3478", "stun:stun2.example.org:3478"]
TURN = ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"]
TURN_SECRET = "north wind and the sun"
TURN_TTL = 3600


def ms(iso):
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp() * 1000)


def check_transfer(t, sender=None, recipient=None, state=None):
    """The shape of a transfer (docs/p2p.md), and who and where it is."""
    assert set(t) == TRANSFER_KEYS, t
    for k in ("id", "sender_id", "recipient_id"):
        assert HEX24.match(t[k]), t
    for k in ("created_at", "updated_at"):
        assert ISO_TIME.match(t[k]), t
    assert t["state"] in STATES and t["mode"] in ("auto", "direct", "relay"), t
    assert t["expires_at"] is None or ISO_TIME.match(t["expires_at"]), t
    assert (t["expires_at"] is not None) == (t["state"] == "pending"), t
    assert ms(t["updated_at"]) >= ms(t["created_at"]), t
    assert 0 <= t["bytes_transferred"] <= t["size"], t
    if sender:
        assert t["sender_id"] == sender.id, t
    if recipient:
        assert t["recipient_id"] == recipient.id, t
    if state:
        assert t["state"] == state, t
    return t


@pytest.fixture(scope="module")
def users(stack):
    """Three users of this file: a sends, b receives, c is a stranger to
    their transfers."""
    return register_many(stack, 3, prefix="p2p")


# -- the expiry stack: offers made first, checked last -------------------------------------
class TtlSetup:
    pass


@pytest.fixture(scope="module")
def ttl(make_module_stack):
    s = make_module_stack(HS_P2P_OFFER_TTL=OFFER_TTL, HS_UPLOAD_TTL=UPLOAD_TTL,
                          HS_P2P_STUN_URLS=", ".join(STUN), HS_P2P_TURN_URLS=",".join(TURN),
                          HS_P2P_TURN_SECRET=TURN_SECRET, HS_P2P_TURN_TTL=TURN_TTL)
    x = TtlSetup()
    x.stack = s
    x.a, x.b = register_many(s, 2, prefix="ttl")
    x.t0 = time.time()
    x.read = offer(s, x.a, x.b)        # looked at after the ttl: expires on reading
    x.swept = offer(s, x.a, x.b)       # left alone: hs-p2p cleanup expires it
    x.stalled = in_state(s, x.a, x.b, "accepted", mode="relay", size=100)
    f, _ = upload_relay(s, x.a, 100)
    x.stalled = assert_ok(step(s, x.a, x.stalled["id"], "relay", {"file_id": f["id"]}))
    x.relay_file = f["id"]
    return x


def test_ice_servers_with_coturn_credentials(ttl):
    s, a = ttl.stack, ttl.a
    now = int(time.time())
    b = assert_ok(s.get(f"{P2P}/ice-servers", token=a.access))
    assert set(b) == {"ice_servers", "ttl"} and b["ttl"] == TURN_TTL, b
    stun, turn = b["ice_servers"]
    assert stun == {"urls": STUN}, b
    assert set(turn) == {"urls", "username", "credential"} and turn["urls"] == TURN, b
    expiry, uid = turn["username"].split(":")
    assert uid == a.id, b
    assert now + TURN_TTL - 5 <= int(expiry) <= int(time.time()) + TURN_TTL + 5, (now, b)
    want = base64.b64encode(hmac.new(TURN_SECRET.encode(), turn["username"].encode(),
                                     hashlib.sha1).digest()).decode()
    assert turn["credential"] == want, b
    # each user gets their own credential
    other = assert_ok(s.get(f"{P2P}/ice-servers", token=ttl.b.access))["ice_servers"][1]
    assert other["username"].endswith(":" + ttl.b.id), other


def test_ice_servers_without_config(stack, users):
    b = assert_ok(stack.get(f"{P2P}/ice-servers", token=users[0].access))
    assert b == {"ice_servers": [], "ttl": 86400}, b


# -- auth and routing --------------------------------------------------------------------------
def concrete_routes(tid, uid):
    return [(m, p.replace("{id}", tid).replace("{user_id}", uid))
            for m, p, auth in app_routes("p2p")]


def test_every_route_needs_a_token(stack, users):
    a, b, _ = users
    t = offer(stack, a, b)
    routes = concrete_routes(t["id"], b.id)
    assert routes and all(auth for _, _, auth in app_routes("p2p"))
    for method, path in routes:
        r = stack.req(method, path, json={} if method in ("POST", "PUT") else None)
        if method == "HEAD":
            assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), (
                path, r.status_code)
        else:
            assert_error(r, 401, "missing_token")
    assert load(stack, a, t["id"]) == t


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_are_refused(stack, users, key, kind):
    a, b, _ = users
    t = offer(stack, a, b)
    for method, path in concrete_routes(t["id"], b.id):
        r = stack.req(method, path, headers={"Authorization": forge(kind, key, a)},
                      json={} if method in ("POST", "PUT") else None)
        if method == "HEAD":
            assert r.status_code == 401, (kind, path, r.status_code)
        else:
            assert_error(r, 401)
    assert load(stack, a, t["id"]) == t
    r = stack.post(f"{P2P}/initiate", headers={"Authorization": forge(kind, key, a)},
                   json={"recipient_id": b.id, "filename": "x", "size": 1})
    assert_error(r, 401)


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/{id}", "GET"),
    ("PUT", "/{id}/accept", "POST"),
    ("GET", "/{id}/complete", "POST"),
    ("POST", "/{id}/download", "GET, HEAD"),
    ("POST", "/history", "GET"),
    ("POST", "/blocks/{user_id}", "PUT, DELETE"),
])
def test_wrong_method(stack, users, method, path, allow):
    a, b, _ = users
    t = offer(stack, a, b)
    r = stack.req(method, P2P + path.replace("{id}", t["id"]).replace("{user_id}", b.id),
                  token=a.access)
    assert_error(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= set(allow.split(", ")), r.headers
    assert load(stack, a, t["id"]) == t


# -- offers ------------------------------------------------------------------------------------
def test_offer(stack, users):
    a, b, c = users
    before = time.time() * 1000
    t = offer(stack, a, b, size=52428800, filename="holiday.mp4")
    check_transfer(t, a, b, "pending")
    assert (t["filename"], t["size"], t["sha256"], t["mode"], t["reason"],
            t["bytes_transferred"], t["relay_file_id"]) == (
        "holiday.mp4", 52428800, None, "auto", None, 0, None), t
    assert before - 1000 <= ms(t["created_at"]) <= time.time() * 1000 + 1000, t
    assert ms(t["expires_at"]) - ms(t["created_at"]) == 600 * 1000, t
    assert load(stack, a, t["id"]) == t == load(stack, b, t["id"])
    # the offer goes to the recipient only, with who it is from
    (typ, data), = transfer_events(stack, b, t["id"])
    assert typ == "transfer.offer", typ
    sender = data.pop("sender")
    assert data == t
    assert {k: sender[k] for k in ("id", "username", "display_name")} == {
        "id": a.id, "username": a.username, "display_name": sender["display_name"]}, sender
    assert isinstance(sender["display_name"], str), sender
    assert transfer_events(stack, a, t["id"]) == [], "the sender got its own offer"
    assert transfer_events(stack, c, t["id"]) == []


@pytest.mark.parametrize("fields", [
    dict(size=0), dict(size=MAX_FILE_SIZE), dict(filename="é" * 255), dict(mode="direct"),
    dict(mode="relay"), dict(mode="auto"), dict(sha256="ab" * 32), dict(sha256=None, mode=None),
], ids=["size_0", "size_max", "filename_255", "direct", "relay", "auto", "sha256", "nulls"])
def test_offer_accepts(stack, users, fields):
    a, b, _ = users
    t = check_transfer(offer(stack, a, b, **fields), a, b, "pending")
    for k, v in fields.items():
        assert t[k] == (v if v is not None else {"mode": "auto"}.get(k)), (k, t)


DROP = object()
INVALID_OFFERS = [
    # (id, body: bytes, or overrides of a valid offer, status, code)
    ("not_json", b"{", 400, "invalid_json"),
    ("trailing_garbage", b'{"size": 1} x', 400, "invalid_json"),
    ("empty", b"", 400, "invalid_json"),
    ("array", b"[]", 400, "not_an_object"),
    ("string", b'"offer"', 400, "not_an_object"),
    ("no_recipient", dict(recipient_id=DROP), 400, "missing_field"),
    ("no_filename", dict(filename=DROP), 400, "missing_field"),
    ("no_size", dict(size=DROP), 400, "missing_field"),
    ("null_size", dict(size=None), 400, "missing_field"),
    ("recipient_number", dict(recipient_id=5), 400, "wrong_type"),
    ("filename_list", dict(filename=["a"]), 400, "wrong_type"),
    ("size_string", dict(size="10"), 400, "wrong_type"),
    ("size_fraction", dict(size=1.5), 400, "invalid_value"),
    ("size_bool", dict(size=True), 400, "wrong_type"),
    ("sha256_number", dict(sha256=1), 400, "wrong_type"),
    ("mode_number", dict(mode=1), 400, "wrong_type"),
    ("mode_object", dict(mode={}), 400, "wrong_type"),
    ("size_negative", dict(size=-1), 400, "invalid_value"),
    ("size_too_large", dict(size=MAX_FILE_SIZE + 1), 400, "invalid_value"),
    ("size_huge", dict(size=10 ** 30), 400, {"invalid_value", "wrong_type"}),
    ("sha256_short", dict(sha256="ab"), 400, "invalid_value"),
    ("sha256_long", dict(sha256="a" * 65), 400, "invalid_value"),
    ("sha256_upper", dict(sha256="A" * 64), 400, "invalid_value"),
    ("sha256_not_hex", dict(sha256="g" * 64), 400, "invalid_value"),
    ("mode_unknown", dict(mode="fast"), 400, "invalid_value"),
    ("mode_upper", dict(mode="AUTO"), 400, "invalid_value"),
    ("mode_empty", dict(mode=""), 400, "invalid_value"),
    ("filename_empty", dict(filename=""), 400, "invalid_value"),
    ("filename_256", dict(filename="x" * 256), 400, "invalid_value"),
    ("filename_nul", dict(filename="a\u0000b"), 400, "invalid_value"),
    ("recipient_unknown", dict(recipient_id=fake_id()), 404, "user_not_found"),
    ("recipient_malformed", dict(recipient_id="not-an-id"), 404, "user_not_found"),
    ("oversized_body", dict(pad="x" * 70000), 413, "payload_too_large"),
]


@pytest.mark.parametrize("body,status,code", [c[1:] for c in INVALID_OFFERS],
                         ids=[c[0] for c in INVALID_OFFERS])
def test_offer_refused(stack, users, body, status, code):
    a, b, _ = users
    before = len(history_all(stack, b))
    if isinstance(body, bytes):
        r = stack.post(f"{P2P}/initiate", token=a.access, data=body,
                       headers={"Content-Type": "application/json"})
    else:
        full = {"recipient_id": b.id, "filename": "f.bin", "size": 10}
        full.update(body)
        full = {k: v for k, v in full.items() if v is not DROP}
        r = stack.post(f"{P2P}/initiate", token=a.access, json=full)
    assert_error(r, status, code)
    assert len(history_all(stack, b)) == before, "a refused offer was stored"


def test_offer_to_yourself_or_a_disabled_user(stack, users):
    a, _, _ = users
    assert_error(initiate_req(stack, a, a), 400, "invalid_value")
    (gone,) = register_many(stack, 1, prefix="p2pd")
    assert_ok(stack.post(f"{API}/users/{gone.id}/disable", token=stack.admin.access, json={}))
    assert_error(initiate_req(stack, a, gone), 404, "user_not_found")
    assert all(t["recipient_id"] != gone.id for t in history_all(stack, a))


def test_blocks(stack):
    a, b, c = register_many(stack, 3, prefix="p2pb")
    assert assert_ok(stack.get(f"{P2P}/blocks", token=b.access)) == {"user_ids": []}
    for _ in range(2):  # twice: no change, no error
        r = stack.put(f"{P2P}/blocks/{a.id}", token=b.access)
        assert r.status_code == 204 and not r.content, r.text
    assert assert_ok(stack.get(f"{P2P}/blocks", token=b.access)) == {"user_ids": [a.id]}
    assert assert_ok(stack.get(f"{P2P}/blocks", token=a.access)) == {"user_ids": []}

    assert_error(initiate_req(stack, a, b), 403, "recipient_not_accepting")
    assert history_all(stack, b) == []
    assert [typ for typ, _ in user_events(stack, b) if typ.startswith("transfer.")] == []
    offer(stack, c, b)  # others still may
    offer(stack, b, a)  # and b may still send to a: a block is one way

    r = stack.delete(f"{P2P}/blocks/{a.id}", token=b.access)
    assert r.status_code == 204, r.text
    assert assert_ok(stack.get(f"{P2P}/blocks", token=b.access)) == {"user_ids": []}
    t = offer(stack, a, b)
    assert load(stack, b, t["id"])["state"] == "pending"
    r = stack.delete(f"{P2P}/blocks/{a.id}", token=b.access)  # not blocked: no change
    assert r.status_code == 204, r.text

    assert_error(stack.put(f"{P2P}/blocks/{b.id}", token=b.access), 400, "invalid_value")
    for bad in (fake_id(), "not-an-id"):
        assert_error(stack.put(f"{P2P}/blocks/{bad}", token=b.access), 404, "user_not_found")
        assert_error(stack.delete(f"{P2P}/blocks/{bad}", token=b.access), 404, "user_not_found")
    assert assert_ok(stack.get(f"{P2P}/blocks", token=b.access)) == {"user_ids": []}


def test_block_keeps_existing_transfers(stack):
    a, b = register_many(stack, 2, prefix="p2pb")
    t = offer(stack, a, b)
    assert stack.put(f"{P2P}/blocks/{a.id}", token=b.access).status_code == 204
    # the offer made before the block can still be answered
    assert assert_ok(step(stack, b, t["id"], "accept"))["state"] == "accepted"


# -- the state machine --------------------------------------------------------------------------
ALLOWED = [
    # (start, who, action, body, end, event)
    ("pending", "r", "accept", None, "accepted", "accepted"),
    ("pending", "r", "reject", None, "rejected", "rejected"),
    ("pending", "s", "cancel", None, "cancelled", "cancelled"),
    ("pending", "r", "cancel", None, "cancelled", "cancelled"),
    ("accepted", "s", "cancel", None, "cancelled", "cancelled"),
    ("accepted", "r", "cancel", None, "cancelled", "cancelled"),
    ("transferring", "s", "cancel", None, "cancelled", "cancelled"),
    ("transferring", "r", "cancel", None, "cancelled", "cancelled"),
    ("accepted", "s", "fail", {"reason": "ice_failed"}, "failed", "failed"),
    ("accepted", "r", "fail", {"reason": "no route"}, "failed", "failed"),
    ("transferring", "s", "fail", {"reason": "peer gone"}, "failed", "failed"),
    ("transferring", "r", "fail", {"reason": "decrypt_failed"}, "failed", "failed"),
    ("accepted", "s", "progress", {"bytes": 10}, "transferring", "progress"),
    ("transferring", "s", "progress", {"bytes": 1000}, "transferring", "progress"),
    ("transferring", "r", "complete", {"sha256": "c" * 64}, "completed", "completed"),
]


@pytest.mark.parametrize("start,who,action,body,end,event", ALLOWED,
                         ids=[f"{s}-{a}-by-{w}" for s, w, a, *_ in ALLOWED])
def test_allowed_step(stack, users, start, who, action, body, end, event):
    a, b, c = users
    t = in_state(stack, a, b, start)
    if action == "progress" and start == "transferring":
        time.sleep(0.3)  # past the progress throttle: this step's progress event is sent
    actor = {"s": a, "r": b}[who]
    n_a, n_b = len(transfer_events(stack, a, t["id"])), len(transfer_events(stack, b, t["id"]))
    r = check_transfer(assert_ok(step(stack, actor, t["id"], action, body)), a, b, end)
    assert r["id"] == t["id"] and ms(r["updated_at"]) >= ms(t["updated_at"]), (t, r)
    assert {k: r[k] for k in ("filename", "size", "sha256", "mode", "created_at")} == {
        k: t[k] for k in ("filename", "size", "sha256", "mode", "created_at")}
    assert r["reason"] == (body["reason"] if action == "fail" else None), r
    if action == "progress":
        assert r["bytes_transferred"] == body["bytes"], r
    if action == "complete":
        assert r["bytes_transferred"] == r["size"], r
    assert load(stack, a, t["id"]) == r == load(stack, b, t["id"])
    # one event to each party, carrying the transfer (progress: the counts)
    for u, n in ((a, n_a), (b, n_b)):
        new = transfer_events(stack, u, t["id"])[n:]
        assert [typ for typ, _ in new] == [f"transfer.{event}"], new
        want = ({"transfer_id": t["id"], "bytes": r["bytes_transferred"], "size": r["size"]}
                if event == "progress" else r)
        assert new[0][1] == want, new
    assert transfer_events(stack, c, t["id"]) == []


def test_whole_direct_transfer(stack, users):
    """pending -> accepted -> transferring -> completed, as the two browsers
    of docs/p2p.md drive it, with the events each party's devices see."""
    a, b, _ = users
    data = os.urandom(300000)
    t = offer(stack, a, b, size=len(data), filename="clip.mov", sha256=sha256(data), mode="direct")
    assert assert_ok(step(stack, b, t["id"], "accept"))["state"] == "accepted"
    for sent in (65536, 131072, 300000):
        r = assert_ok(step(stack, a, t["id"], "progress", {"bytes": sent}))
        assert (r["state"], r["bytes_transferred"]) == ("transferring", sent), r
    r = assert_ok(step(stack, b, t["id"], "complete", {"sha256": sha256(data)}))
    assert (r["state"], r["reason"], r["bytes_transferred"]) == ("completed", None, len(data)), r
    types = event_types(stack, b, t["id"])
    assert types[:2] == ["transfer.offer", "transfer.accepted"], types
    assert types[-1] == "transfer.completed" and "transfer.progress" in types, types
    assert event_types(stack, a, t["id"]) == types[1:], "the parties saw different events"


REFUSED = [
    # (state, who, action): 409 invalid_transition, hint = state
    ("pending", "r", "complete"), ("pending", "s", "fail"), ("pending", "r", "fail"),
    ("pending", "s", "progress"), ("pending", "s", "relay"),
    ("accepted", "r", "accept"), ("accepted", "r", "reject"), ("accepted", "r", "complete"),
    ("transferring", "r", "accept"), ("transferring", "r", "reject"),
    ("completed", "r", "accept"), ("completed", "r", "reject"), ("completed", "s", "cancel"),
    ("completed", "r", "cancel"), ("completed", "s", "fail"), ("completed", "r", "fail"),
    ("completed", "r", "complete"), ("completed", "s", "progress"), ("completed", "s", "relay"),
    ("rejected", "r", "accept"), ("rejected", "r", "reject"), ("rejected", "s", "cancel"),
    ("rejected", "r", "fail"), ("rejected", "s", "progress"),
    ("cancelled", "r", "accept"), ("cancelled", "r", "cancel"), ("cancelled", "s", "fail"),
    ("cancelled", "r", "complete"), ("cancelled", "s", "progress"), ("cancelled", "s", "relay"),
    ("failed", "r", "accept"), ("failed", "s", "cancel"), ("failed", "r", "fail"),
    ("failed", "r", "complete"), ("failed", "s", "progress"), ("failed", "s", "relay"),
]


@pytest.mark.parametrize("state,who,action", REFUSED,
                         ids=[f"{a}-from-{s}-by-{w}" for s, w, a in REFUSED])
def test_refused_step(stack, users, state, who, action):
    a, b, _ = users
    t = in_state(stack, a, b, state, mode="auto")
    events = len(transfer_events(stack, b, t["id"]))
    e = assert_error(step(stack, {"s": a, "r": b}[who], t["id"], action, STEP_BODY[action]), 409,
                     "invalid_transition")
    assert e["hint"] == state, e
    assert load(stack, a, t["id"]) == t, "a refused step changed the transfer"
    assert len(transfer_events(stack, b, t["id"])) == events, "a refused step published"


WRONG_PARTY = [
    ("pending", "s", "accept"), ("pending", "s", "reject"), ("transferring", "s", "complete"),
    ("accepted", "r", "progress"), ("transferring", "r", "progress"), ("accepted", "r", "relay"),
]


@pytest.mark.parametrize("state,who,action", WRONG_PARTY,
                         ids=[f"{a}-by-{'sender' if w == 's' else 'recipient'}-when-{s}"
                              for s, w, a in WRONG_PARTY])
def test_other_partys_step(stack, users, state, who, action):
    a, b, _ = users
    t = in_state(stack, a, b, state)
    assert_error(step(stack, {"s": a, "r": b}[who], t["id"], action, STEP_BODY[action]), 403,
                 "not_your_step")
    assert load(stack, b, t["id"]) == t


def test_a_third_user_sees_nothing(stack, users):
    """To anyone but its two parties a transfer does not exist: 404 on every
    route, with the same answer as for an id that names nothing."""
    a, b, c = users
    t = in_state(stack, a, b, "accepted", size=10, mode="relay")
    f, _ = upload_relay(stack, a, 10)
    t = assert_ok(step(stack, a, t["id"], "relay", {"file_id": f["id"]}))
    assert download(stack, b, t["id"]).status_code == 200
    nobody = fake_id()
    for tid in (t["id"], nobody, "not-an-id"):
        who = c if tid == t["id"] else a
        e = assert_error(get(stack, who, tid), 404, "transfer_not_found")
        for action, body in STEP_BODY.items():
            if action == "relay":
                body = {"file_id": f["id"] if who is a else upload_relay(stack, c, 10)[0]["id"]}
            r = step(stack, who, tid, action, body)
            assert assert_error(r, 404, "transfer_not_found") == e, (action, r.text)
            assert t["id"] not in r.text and t["filename"] not in r.text
        assert assert_error(download(stack, who, tid), 404, "transfer_not_found") == e
        r = download(stack, who, tid, method="HEAD")
        assert r.status_code == 404 and not r.content, (r.status_code, r.content[:100])
    assert all(x["id"] != t["id"] for x in history_all(stack, c))
    assert transfer_events(stack, c, t["id"]) == []
    assert load(stack, a, t["id"]) == t  # nothing c did changed it


# -- history -------------------------------------------------------------------------------------
def test_history(stack):
    a, b, c = register_many(stack, 3, prefix="p2ph")
    made = [offer(stack, a, b, filename="one"), offer(stack, b, a, filename="two"),
            offer(stack, a, b, filename="three"), offer(stack, a, c, filename="four"),
            offer(stack, b, a, filename="five")]
    offer(stack, b, c, filename="not a's")
    assert_ok(step(stack, b, made[0]["id"], "accept"))
    assert_ok(step(stack, a, made[1]["id"], "reject"))
    newest_first = [t["id"] for t in reversed(made)]

    items = history_all(stack, a)
    assert [t["id"] for t in items] == newest_first, [t["filename"] for t in items]
    for t in items:
        check_transfer(t)
        assert a.id in (t["sender_id"], t["recipient_id"]), t
    created = [ms(t["created_at"]) for t in items]
    assert created == sorted(created, reverse=True), created
    assert {t["id"]: t["state"] for t in items}[made[0]["id"]] == "accepted"

    # pages of 2 walk the same list, each transfer once
    seen, cursor, pages = [], None, 0
    while True:
        q = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = assert_ok(history(stack, a, **q))
        assert len(page["items"]) <= 2, page
        seen += [t["id"] for t in page["items"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not cursor:
            break
        assert HEX24.match(cursor), page
    assert seen == newest_first and pages == 3, (seen, pages)
    assert [t["id"] for t in assert_ok(history(stack, a))["items"]] == newest_first  # default 20

    # by state, from either side
    assert [t["id"] for t in history_all(stack, a, state="accepted")] == [made[0]["id"]]
    assert [t["id"] for t in history_all(stack, b, state="rejected")] == [made[1]["id"]]
    assert [t["id"] for t in history_all(stack, a, state="pending")] == [
        made[4]["id"], made[3]["id"], made[2]["id"]]
    assert history_all(stack, a, state="completed") == []
    assert {t["filename"] for t in history_all(stack, c)} == {"four", "not a's"}


@pytest.mark.parametrize("params,code", [
    ({"state": "done"}, "invalid_value"), ({"state": ""}, "invalid_value"),
    ({"state": "PENDING"}, "invalid_value"), ({"limit": 0}, "invalid_value"),
    ({"limit": 101}, "invalid_value"), ({"limit": "ten"}, "invalid_value"),
    ({"cursor": "zz"}, "invalid_cursor"), ({"cursor": "A" * 24}, "invalid_cursor"),
], ids=["state_unknown", "state_empty", "state_upper", "limit_0", "limit_101", "limit_word",
        "cursor_short", "cursor_upper"])
def test_history_refuses(stack, users, params, code):
    assert_error(history(stack, users[0], **params), 400, code)


# -- progress, complete, fail ----------------------------------------------------------------
def test_progress(stack, users):
    a, b, _ = users
    t = in_state(stack, a, b, "accepted", size=1000)
    for sent, kept in ((0, 0), (500, 500), (200, 500), (500, 500), (999, 999), (1000, 1000),
                       (10, 1000)):
        r = assert_ok(step(stack, a, t["id"], "progress", {"bytes": sent}))
        assert (r["state"], r["bytes_transferred"]) == ("transferring", kept), (sent, r)
    for body, code in (({"bytes": 1001}, "invalid_value"), ({"bytes": -1}, "invalid_value"),
                       ({"bytes": "5"}, "wrong_type"), ({"bytes": 2.5}, "invalid_value"),
                       ({}, "missing_field"), ({"bytes": None}, "missing_field")):
        assert_error(step(stack, a, t["id"], "progress", body), 400, code)
    r = stack.post(f"{P2P}/{t['id']}/progress", token=a.access, data=b"{bytes:1}",
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    assert_error(step(stack, b, t["id"], "progress", {"bytes": 1000}), 403, "not_your_step")
    assert load(stack, b, t["id"])["bytes_transferred"] == 1000
    progress = [d for typ, d in transfer_events(stack, b, t["id"]) if typ == "transfer.progress"]
    assert progress and progress[-1] == {"transfer_id": t["id"], "bytes": 1000, "size": 1000}
    assert [d["bytes"] for d in progress] == sorted(d["bytes"] for d in progress), progress


def progress_bytes(stack, user, tid):
    return [d["bytes"] for typ, d in transfer_events(stack, user, tid)
            if typ == "transfer.progress"]


def test_progress_events_are_throttled(stack, users):
    """Many reports within a second: at most 4 events a second, and the one
    reaching the full size always."""
    a, b, _ = users
    t = in_state(stack, a, b, "accepted", size=4000)
    start = time.monotonic()
    for i in range(1, 41):
        assert_ok(step(stack, a, t["id"], "progress", {"bytes": i * 100}))
    took = time.monotonic() - start
    got = progress_bytes(stack, b, t["id"])
    assert got[-1] == 4000, got
    assert 1 <= len(got) <= 4 * took + 2, (took, got)
    assert got == sorted(got), got
    assert progress_bytes(stack, a, t["id"]) == got


def test_complete_checks_the_declared_hash(stack, users):
    a, b, _ = users
    data = b"the file the sender offered"
    t = in_state(stack, a, b, "transferring", size=len(data), sha256=sha256(data))
    for body, code in (({}, "missing_field"), ({"sha256": 5}, "wrong_type"),
                       ({"sha256": "abc"}, "invalid_value"),
                       ({"sha256": "A" * 64}, "invalid_value"),
                       ({"sha256": "z" * 64}, "invalid_value")):
        assert_error(step(stack, b, t["id"], "complete", body), 400, code)
    assert load(stack, a, t["id"]) == t
    assert_error(step(stack, b, t["id"], "complete", {"sha256": sha256(b"something else")}), 409,
                 "sha256_mismatch")
    r = check_transfer(load(stack, a, t["id"]), state="failed")
    assert r["reason"] == "sha256_mismatch", r
    for u in (a, b):
        assert event_types(stack, u, t["id"])[-1] == "transfer.failed"
        assert transfer_events(stack, u, t["id"])[-1][1] == r
    # it is over: the right hash now is refused
    e = assert_error(step(stack, b, t["id"], "complete", {"sha256": sha256(data)}), 409,
                     "invalid_transition")
    assert e["hint"] == "failed"

    t = in_state(stack, a, b, "transferring", size=len(data), sha256=sha256(data))
    r = assert_ok(step(stack, b, t["id"], "complete", {"sha256": sha256(data)}))
    assert (r["state"], r["reason"], r["bytes_transferred"]) == ("completed", None, len(data)), r


def test_fail_needs_a_reason(stack, users):
    a, b, _ = users
    t = in_state(stack, a, b, "accepted")
    for body, code in (({}, "missing_field"), ({"reason": ""}, "invalid_value"),
                       ({"reason": "x" * 201}, "invalid_value"), ({"reason": 1}, "wrong_type"),
                       ({"reason": ["x"]}, "wrong_type")):
        assert_error(step(stack, a, t["id"], "fail", body), 400, code)
    assert load(stack, a, t["id"]) == t
    r = assert_ok(step(stack, b, t["id"], "fail", {"reason": "x" * 200}))
    assert (r["state"], r["reason"]) == ("failed", "x" * 200), r


def test_fail_reason_counts_characters(stack, users):
    """200 characters, as the 400 for 201 says, whatever their UTF-8 length."""
    a, b, _ = users
    t = in_state(stack, a, b, "accepted")
    e = assert_error(step(stack, a, t["id"], "fail", {"reason": "é" * 201}), 400, "invalid_value")
    assert "characters" in e["message"], e
    r = assert_ok(step(stack, b, t["id"], "fail", {"reason": "é" * 200}))
    assert (r["state"], r["reason"]) == ("failed", "é" * 200), r


# -- the relay ---------------------------------------------------------------------------------
def test_relay_transfer(stack, users):
    """The sender uploads the ciphertext and binds it; only the recipient
    downloads it, byte for byte; complete deletes it."""
    a, b, c = users
    size = 150000  # three chunks of the relay format
    t = in_state(stack, a, b, "accepted", size=size, mode="relay")
    assert_error(download(stack, b, t["id"]), 404, "relay_not_ready")
    f, data = upload_relay(stack, a, size)
    assert f["size"] == len(data) == 16 + size + 48
    assert f["id"] in listed_file_ids(stack, a)

    r = check_transfer(assert_ok(step(stack, a, t["id"], "relay", {"file_id": f["id"]})),
                       a, b, "transferring")
    assert r["relay_file_id"] == f["id"], r
    assert load(stack, b, t["id"]) == r
    for u in (a, b):
        assert transfer_events(stack, u, t["id"])[-1] == ("transfer.relay_ready", r)
    assert f["id"] not in listed_file_ids(stack, a), "the relay copy is in the sender's files"
    # bound once only
    f2, _ = upload_relay(stack, a, size)
    e = assert_error(step(stack, a, t["id"], "relay", {"file_id": f2["id"]}), 409,
                     "invalid_transition")
    assert e["hint"] == "transferring"
    assert load(stack, a, t["id"])["relay_file_id"] == f["id"]

    got = download(stack, b, t["id"])
    assert got.status_code == 200 and got.content == data, (got.status_code, len(got.content))
    assert int(got.headers["Content-Length"]) == len(data)
    part = download(stack, b, t["id"], headers={"Range": "bytes=65000-70999"})
    assert part.status_code == 206 and part.content == data[65000:71000], part.status_code
    assert part.headers["Content-Range"] == f"bytes 65000-70999/{len(data)}"
    tail = download(stack, b, t["id"], headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == data[-16:]
    head = download(stack, b, t["id"], method="HEAD")
    assert head.status_code == 200 and not head.content
    assert int(head.headers["Content-Length"]) == len(data)
    assert_error(download(stack, a, t["id"]), 403, "not_your_step")
    assert_error(download(stack, c, t["id"]), 404, "transfer_not_found")

    blob = blob_path(stack, f["id"])
    assert os.path.exists(blob)
    r = assert_ok(step(stack, b, t["id"], "complete", {"sha256": "d" * 64}))
    assert r["state"] == "completed", r
    assert_error(download(stack, b, t["id"]), 404, "relay_not_ready")
    for u in (a, b):
        assert_error(stack.get(f"{API}/files/{f['id']}", token=u.access), 404, "file_not_found")
    assert not os.path.exists(blob), "the relay copy's bytes outlived the transfer"
    assert f["id"] not in listed_file_ids(stack, a)


@pytest.mark.parametrize("end,who,body", [
    ("cancel", "s", None), ("cancel", "r", None), ("fail", "r", {"reason": "decrypt_failed"}),
    ("fail", "s", {"reason": "gave up"}),
    ("complete", "r", {"sha256": "e" * 64}),  # the declared hash differs: failed, 409
])
def test_relay_copy_goes_with_the_transfer(stack, users, end, who, body):
    a, b, _ = users
    t = in_state(stack, a, b, "accepted", size=0, mode="auto", sha256="f" * 64)
    f, data = upload_relay(stack, a, 0)
    assert len(data) == 32  # an empty file is one empty chunk
    assert_ok(step(stack, a, t["id"], "relay", {"file_id": f["id"]}))
    assert download(stack, b, t["id"]).content == data
    r = step(stack, {"s": a, "r": b}[who], t["id"], end, body)
    if end == "complete":
        assert_error(r, 409, "sha256_mismatch")
    else:
        assert_ok(r)
    ended = load(stack, a, t["id"])
    assert ended["state"] in ("cancelled", "failed") and ended["relay_file_id"] is None, ended
    assert_error(download(stack, b, t["id"]), 404, "relay_not_ready")
    assert_error(stack.get(f"{API}/files/{f['id']}", token=a.access), 404, "file_not_found")
    assert not os.path.exists(blob_path(stack, f["id"]))


def test_relay_refused(stack, users):
    a, b, c = users
    size = 70000  # two chunks
    t = in_state(stack, a, b, "accepted", size=size, mode="relay")

    for n in (size, relay_size(size) - 1, relay_size(size) + 1, 16 + size + 16):
        f, _ = upload_relay(stack, a, data=os.urandom(n))
        e = assert_error(step(stack, a, t["id"], "relay", {"file_id": f["id"]}), 400,
                         "invalid_relay_file")
        assert str(relay_size(size)) in e["message"], e
        assert f["id"] in listed_file_ids(stack, a), "a refused file left the sender's list"
    assert load(stack, a, t["id"]) == t

    theirs, _ = upload_relay(stack, c, size)  # the right size, but c's
    assert_error(step(stack, a, t["id"], "relay", {"file_id": theirs["id"]}), 404,
                 "file_not_found")
    assert theirs["id"] in listed_file_ids(stack, c)
    # c's file attached in a chat with a: a may download it, not hand it over as its own
    send(stack, c, direct(stack, c, a)["id"], "attached", file_ids=[theirs["id"]])
    assert stack.get(f"{API}/files/{theirs['id']}", token=a.access).status_code == 200
    assert_error(step(stack, a, t["id"], "relay", {"file_id": theirs["id"]}), 403,
                 "not_your_file")
    for bad in (fake_id(), "not-an-id"):
        assert_error(step(stack, a, t["id"], "relay", {"file_id": bad}), 404, "file_not_found")
    for body, code in (({}, "missing_field"), ({"file_id": 5}, "wrong_type")):
        assert_error(step(stack, a, t["id"], "relay", body), 400, code)

    mine, _ = upload_relay(stack, a, size)
    assert_error(step(stack, b, t["id"], "relay", {"file_id": mine["id"]}), 403, "not_your_step")
    assert load(stack, a, t["id"]) == t

    direct_only = in_state(stack, a, b, "accepted", size=size, mode="direct")
    assert_error(step(stack, a, direct_only["id"], "relay", {"file_id": mine["id"]}), 409,
                 "direct_only")
    assert load(stack, a, direct_only["id"]) == direct_only
    pending = offer(stack, a, b, size=size, mode="relay")
    e = assert_error(step(stack, a, pending["id"], "relay", {"file_id": mine["id"]}), 409,
                     "invalid_transition")
    assert e["hint"] == "pending"
    # a file already bound to another transfer
    other = in_state(stack, a, b, "accepted", size=size, mode="relay")
    assert_ok(step(stack, a, other["id"], "relay", {"file_id": mine["id"]}))
    assert_error(step(stack, a, t["id"], "relay", {"file_id": mine["id"]}), 404, "file_not_found")
    assert load(stack, a, t["id"]) == t
    assert load(stack, a, other["id"])["relay_file_id"] == mine["id"]
    # after all that, an unbound file is still an ordinary file of a's
    mine, _ = upload_relay(stack, a, size)
    assert_error(step(stack, a, pending["id"], "relay", {"file_id": mine["id"]}), 409,
                 "invalid_transition")
    assert mine["id"] in listed_file_ids(stack, a)
    assert stack.get(f"{API}/files/{mine['id']}", token=a.access).status_code == 200


# -- expiry (the ttl stack, set up by the first test of this file) -----------------------------
def test_offers_expire(ttl):
    s, a, b = ttl.stack, ttl.a, ttl.b
    assert ms(ttl.read["expires_at"]) - ms(ttl.read["created_at"]) == OFFER_TTL * 1000
    left = ttl.t0 + OFFER_TTL + 0.5 - time.time()
    if left > 0:
        time.sleep(left)

    # read after its time: expired, and no step works
    r = check_transfer(load(s, b, ttl.read["id"]), a, b, "expired")
    assert load(s, a, ttl.read["id"]) == r
    for who, action in ((b, "accept"), (b, "reject"), (a, "cancel"), (b, "cancel")):
        e = assert_error(step(s, who, ttl.read["id"], action), 409, "invalid_transition")
        assert e["hint"] == "expired", e
    assert load(s, a, ttl.read["id"]) == r
    for u in (a, b):
        assert event_types(s, u, ttl.read["id"])[-1] == "transfer.expired"

    # the offer nobody looked at, and the stalled relay transfer: hs-p2p cleanup
    assert event_types(s, a, ttl.swept["id"]) == []
    fresh = offer(s, a, b)  # not due yet: cleanup leaves it
    out = run_cleanup(s)
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert re.search(r"\bended 2 ", out.stdout), out.stdout
    for u in (a, b):
        (typ, data), = [e for e in transfer_events(s, u, ttl.swept["id"])
                        if e[0] != "transfer.offer"]
        assert typ == "transfer.expired" and data["state"] == "expired", (typ, data)
        assert data["id"] == ttl.swept["id"]
    assert load(s, b, ttl.swept["id"])["state"] == "expired"
    e = assert_error(step(s, b, ttl.swept["id"], "accept"), 409, "invalid_transition")
    assert e["hint"] == "expired"

    stalled = load(s, a, ttl.stalled["id"])
    assert (stalled["state"], stalled["reason"]) == ("failed", "timed_out"), stalled
    for u in (a, b):
        assert transfer_events(s, u, ttl.stalled["id"])[-1] == ("transfer.failed", stalled)
    assert_error(download(s, b, ttl.stalled["id"]), 404, "relay_not_ready")
    assert_error(s.get(f"{API}/files/{ttl.relay_file}", token=a.access), 404, "file_not_found")
    assert not os.path.exists(blob_path(s, ttl.relay_file)), "cleanup left the relay copy"

    # the offer made later is still pending, and can be taken
    assert load(s, b, fresh["id"])["state"] == "pending"
    assert assert_ok(step(s, b, fresh["id"], "accept"))["state"] == "accepted"
    assert [t["id"] for t in history_all(s, b, state="expired")] == [
        ttl.swept["id"], ttl.read["id"]]

    out = run_cleanup(s)  # nothing left to do
    assert out.returncode == 0 and re.search(r"\bended 0 ", out.stdout), (out.stdout, out.stderr)
