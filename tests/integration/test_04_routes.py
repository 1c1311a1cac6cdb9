"""Every route of the chats app (from `hs-chats --routes`): tokens missing or
forged get 401; wrong methods get 405 with Allow; unknown paths 404; and
the routes with JSON bodies refuse malformed JSON, non-objects, oversized
bodies, wrong types and missing fields."""
import json

import pytest

from hsapi import (BAD_TOKENS, JSON_HDR, access_claims, assert_error, assert_wrong_method, body_kw,
                   fake_id, forge, jwt_encode, wrong_methods)
from test_04_helpers import CHATS, MESSAGES, chats_routes

ROUTES = chats_routes()


def rid(r):
    return f"{r[0]} {r[1]}"


def concrete(pattern):
    return (pattern.replace("{id}", fake_id()).replace("{user_id}", fake_id())
            .replace("{chat_id}", fake_id()))


@pytest.fixture(scope="module")
def owner(stack):
    return stack.register(prefix="cr")


def test_route_table():
    keys = {(m, p) for m, p, _ in ROUTES}
    assert len(keys) == len(ROUTES)
    assert all(auth for _, _, auth in ROUTES), "every chats route needs a token"
    for m, p, _ in ROUTES:
        assert p.split("/")[3] in ("chats", "groups", "channels", "messages"), p
    expected = {
        ("POST", CHATS), ("GET", CHATS), ("POST", "/api/v1/groups"), ("POST", "/api/v1/channels"),
        ("GET", f"{CHATS}/{{id}}"), ("PUT", f"{CHATS}/{{id}}"), ("DELETE", f"{CHATS}/{{id}}"),
        ("POST", f"{CHATS}/{{id}}/leave"), ("POST", f"{CHATS}/{{id}}/join"),
        ("GET", f"{CHATS}/{{id}}/members"), ("POST", f"{CHATS}/{{id}}/members"),
        ("DELETE", f"{CHATS}/{{id}}/members/{{user_id}}"),
        ("PUT", f"{CHATS}/{{id}}/members/{{user_id}}"), ("PUT", f"{CHATS}/{{id}}/mute"),
        ("POST", f"{CHATS}/{{id}}/read"), ("POST", MESSAGES), ("GET", f"{MESSAGES}/search"),
        ("GET", f"{MESSAGES}/{{chat_id}}"), ("PUT", f"{MESSAGES}/{{id}}"),
        ("DELETE", f"{MESSAGES}/{{id}}"), ("POST", f"{MESSAGES}/{{id}}/react"),
        ("GET", f"{MESSAGES}/{{id}}/receipts"),
    }
    assert expected <= keys, sorted(expected - keys)


# -- tokens ----------------------------------------------------------------------------------
BAD = BAD_TOKENS


@pytest.mark.parametrize("route", ROUTES, ids=[rid(r) for r in ROUTES])
def test_missing_token(stack, route):
    method, pattern, _ = route
    path = concrete(pattern)
    kw = body_kw(method)
    assert_error(stack.req(method, path, **kw), 401, "missing_token")
    h = {**kw.get("headers", {}), "Authorization": ""}
    assert_error(stack.req(method, path, data=kw.get("data"), headers=h), 401, "missing_token")


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("route", ROUTES, ids=[rid(r) for r in ROUTES])
def test_bad_token(stack, key, owner, route, kind):
    method, pattern, _ = route
    kw = body_kw(method)
    h = {**kw.get("headers", {}), "Authorization": forge(kind, key, owner)}
    r = stack.req(method, concrete(pattern), data=kw.get("data"), headers=h)
    assert_error(r, 401, "token_expired" if kind == "expired" else "invalid_token")


def test_good_forged_token_is_accepted(stack, key, owner):
    """The control for the above: a well-made token gets past authentication."""
    tok = jwt_encode(access_claims(owner.id, owner.session_id), key)
    r = stack.get(CHATS, token=tok)
    assert r.status_code == 200, r.text


def test_logged_out_token(stack):
    u = stack.register(prefix="cr")
    assert stack.post("/api/v1/auth/logout", token=u.access, json={}).status_code in (200, 204)
    assert_error(stack.get(CHATS, token=u.access), 401, "token_revoked")


# -- methods and paths ------------------------------------------------------------------------
WRONG = wrong_methods(ROUTES, concrete)


@pytest.mark.parametrize("pattern,method", WRONG, ids=[f"{m} {p}" for p, m in WRONG])
def test_wrong_method(stack, owner, pattern, method):
    assert_wrong_method(stack, owner.access, ROUTES, concrete(pattern), method)


def test_wrong_method_without_token(stack):
    """405 comes before authentication: the method is wrong whoever asks."""
    r = stack.req("PATCH", CHATS, data=b"{}", headers=JSON_HDR)
    assert_error(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}


@pytest.mark.parametrize("path", [
    f"{CHATS}/", f"{CHATS}/{'a' * 24}/x", f"{CHATS}/{'a' * 24}/members/{'b' * 24}/x",
    f"{CHATS}/{'a' * 24}/members/", f"{MESSAGES}/{'a' * 24}/x", f"{MESSAGES}/{'a' * 24}/react/x",
    "/api/v1/groups/x", "/api/v1/channels/x", f"{MESSAGES}/search/x",
])
def test_unknown_path(stack, owner, path):
    r = stack.raw("GET", path, token=owner.access)
    assert_error(r, 404, "route_not_found")


# -- JSON bodies -------------------------------------------------------------------------------
STR, BOOL, IDS = "string", "boolean", "array"
CHAT_FIELDS = {"name": STR, "description": STR, "avatar_file_id": STR, "is_public": BOOL,
               "members": IDS}
BODY_ROUTES = {
    ("POST", CHATS): {"fields": {"kind": STR, **CHAT_FIELDS}, "required": ["kind"],
                      "valid": lambda: {"kind": "group", "name": "x"}},
    ("POST", "/api/v1/groups"): {"fields": CHAT_FIELDS, "required": ["name"],
                                 "valid": lambda: {"name": "x"}},
    ("POST", "/api/v1/channels"): {"fields": CHAT_FIELDS, "required": ["name"],
                                   "valid": lambda: {"name": "x"}},
    ("PUT", f"{CHATS}/{{id}}"): {"fields": {k: v for k, v in CHAT_FIELDS.items()
                                            if k != "members"},
                                 "required": [], "valid": lambda: {"name": "x"}},
    ("POST", f"{CHATS}/{{id}}/members"): {"fields": {"user_id": STR}, "required": ["user_id"],
                                          "valid": lambda: {"user_id": fake_id()}},
    ("PUT", f"{CHATS}/{{id}}/members/{{user_id}}"): {"fields": {"role": STR},
                                                     "required": ["role"],
                                                     "valid": lambda: {"role": "admin"}},
    ("PUT", f"{CHATS}/{{id}}/mute"): {"fields": {"muted": BOOL}, "required": ["muted"],
                                      "valid": lambda: {"muted": True}},
    ("POST", f"{CHATS}/{{id}}/read"): {"fields": {"message_id": STR}, "required": ["message_id"],
                                       "valid": lambda: {"message_id": fake_id()}},
    ("POST", MESSAGES): {"fields": {"chat_id": STR, "content": STR, "reply_to": STR,
                                    "client_id": STR, "file_ids": IDS},
                         "required": ["chat_id", "content"],
                         "valid": lambda: {"chat_id": fake_id(), "content": "hi"}},
    ("PUT", f"{MESSAGES}/{{id}}"): {"fields": {"content": STR}, "required": ["content"],
                                    "valid": lambda: {"content": "hi"}},
    ("POST", f"{MESSAGES}/{{id}}/react"): {"fields": {"emoji": STR}, "required": ["emoji"],
                                           "valid": lambda: {"emoji": "👍"}},
}
BAD_VALUES = {STR: [1, 0.5, True, [], ["a"], {}, {"a": "b"}],
              BOOL: ["true", 1, 0, [], {}, "yes"],
              IDS: ["abc", 1, True, {}, {"a": fake_id()}]}
MALFORMED = ["", " ", "{", "}", '{"a":', "{'a': 1}", '{"a":1,}', "nul", '{"a":1} x',
             '{"a":1}{"b":2}', b"\xff\xfe{", b'{"a":"\xc3"', "<xml/>"]
NOT_OBJECT = ["[]", '"str"', "42", "null", "true"]
BODY_IDS = [f"{m} {p}" for m, p in BODY_ROUTES]


def send_body(stack, owner, route, **kw):
    method, pattern = route
    return stack.req(method, concrete(pattern), token=owner.access, **kw)


def test_body_routes_are_routes():
    keys = {(m, p) for m, p, _ in ROUTES}
    assert set(BODY_ROUTES) <= keys


@pytest.mark.parametrize("raw", MALFORMED, ids=[repr(m)[:20] for m in MALFORMED])
@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=BODY_IDS)
def test_malformed_json(stack, owner, route, raw):
    data = raw if isinstance(raw, bytes) else raw.encode()
    assert_error(send_body(stack, owner, route, data=data, headers=JSON_HDR), 400, "invalid_json")


@pytest.mark.parametrize("raw", NOT_OBJECT)
@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=BODY_IDS)
def test_not_an_object(stack, owner, route, raw):
    r = send_body(stack, owner, route, data=raw.encode(), headers=JSON_HDR)
    assert_error(r, 400, "not_an_object")


@pytest.mark.parametrize("size", [65537, 1000000])
@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=BODY_IDS)
def test_oversized_body(stack, owner, route, size):
    head = json.dumps(BODY_ROUTES[route]["valid"]())[:-1] + ', "pad": "'
    data = (head + "x" * (size - len(head) - 2) + '"}').encode()
    assert len(data) == size
    r = send_body(stack, owner, route, data=data, headers=JSON_HDR)
    assert_error(r, 413, "payload_too_large")


WRONG_TYPES = [(r, f, v) for r, c in BODY_ROUTES.items() for f, t in c["fields"].items()
               for v in BAD_VALUES[t]]


@pytest.mark.parametrize("route,field,value", WRONG_TYPES,
                         ids=[f"{r[0]} {r[1]} {f}={json.dumps(v)}" for r, f, v in WRONG_TYPES])
def test_wrong_type(stack, owner, route, field, value):
    body = BODY_ROUTES[route]["valid"]()
    body[field] = value
    assert_error(send_body(stack, owner, route, json=body), 400, "wrong_type")


MISSING = [(r, f) for r, c in BODY_ROUTES.items() for f in c["required"]]


@pytest.mark.parametrize("route,field", MISSING, ids=[f"{r[0]} {r[1]} {f}" for r, f in MISSING])
@pytest.mark.parametrize("how", ["absent", "null"])
def test_missing_field(stack, owner, route, field, how):
    body = BODY_ROUTES[route]["valid"]()
    if how == "absent":
        del body[field]
    else:
        body[field] = None
    r = send_body(stack, owner, route, json=body)
    if (route[1].endswith("/mute")) and how == "null":
        assert_error(r, 400, {"missing_field", "wrong_type"})
    else:
        assert_error(r, 400, "missing_field")


def test_nul_in_strings(stack, owner):
    r = stack.post(CHATS, token=owner.access, data=b'{"kind":"group","name":"a\\u0000b"}',
                   headers=JSON_HDR)
    assert_error(r, 400, "invalid_value")


def test_valid_bodies_reach_the_handler(stack, owner):
    """The control: the bodies above minus their defect get past validation,
    so the 400s are about the defect."""
    for route, spec in BODY_ROUTES.items():
        r = send_body(stack, owner, route, json=spec["valid"]())
        method, pattern = route
        if pattern in (CHATS, "/api/v1/groups", "/api/v1/channels"):
            assert r.status_code == 201, (route, r.text)
        else:
            assert r.status_code == 404, (route, r.text)
            assert r.json()["error"]["code"] in ("chat_not_found", "message_not_found"), r.text
