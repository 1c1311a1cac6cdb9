"""Every route of the files app (from `hs-files --routes`): tokens missing,
forged or expired get 401 everywhere but on the public routes (tus
discovery and /s/{token}); wrong methods get 405 with Allow; unknown paths
404; and the routes with JSON bodies refuse malformed JSON, non-objects,
wrong types, missing fields and oversized bodies."""
import json

import pytest

from hsapi import (BAD_TOKENS, JSON_HDR, access_claims, assert_error, assert_wrong_method, body_kw,
                   fake_id, forge, jwt_encode, wrong_methods)
from test_03_helpers import FILES, files_routes

ROUTES = files_routes()
AUTH = [r for r in ROUTES if r[2]]
PUBLIC = {("OPTIONS", f"{FILES}/tus"), ("OPTIONS", f"{FILES}/tus/"), ("OPTIONS", f"{FILES}/tus/{{upload_id}}"),
          ("GET", "/s/{token}"), ("HEAD", "/s/{token}")}


def rid(r):
    return f"{r[0]} {r[1]}"


def concrete(pattern):
    return (pattern.replace("{upload_id}", fake_id()).replace("{file_id}", fake_id())
            .replace("{link_id}", fake_id()).replace("{n}", "0").replace("{token}", "x" * 32))


@pytest.fixture(scope="module")
def owner(stack):
    return stack.register(prefix="rt")


def test_route_table():
    keys = {(m, p) for m, p, _ in ROUTES}
    assert len(keys) == len(ROUTES)
    public = {(m, p) for m, p, auth in ROUTES if not auth}
    assert public == PUBLIC
    for m, p, _ in ROUTES:
        assert p.startswith(f"{FILES}/") or p.startswith("/s/"), p
    assert len(ROUTES) >= 21


def assert_401(r, code):
    if r.request.method == "HEAD":
        assert r.status_code == 401
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    else:
        assert_error(r, 401, code)


@pytest.mark.parametrize("route", AUTH, ids=[rid(r) for r in AUTH])
def test_missing_token(stack, route):
    method, pattern, _ = route
    path = concrete(pattern)
    kw = body_kw(method)
    assert_401(stack.req(method, path, **kw), "missing_token")
    h = {**kw.get("headers", {}), "Authorization": ""}
    assert_401(stack.req(method, path, data=kw.get("data"), headers=h), "missing_token")


BAD = BAD_TOKENS


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("route", AUTH, ids=[rid(r) for r in AUTH])
def test_bad_token(stack, key, owner, route, kind):
    method, pattern, _ = route
    kw = body_kw(method)
    h = {**kw.get("headers", {}), "Authorization": forge(kind, key, owner),
         "Tus-Resumable": "1.0.0"}
    r = stack.req(method, concrete(pattern), data=kw.get("data"), headers=h)
    assert_401(r, "token_expired" if kind == "expired" else "invalid_token")


def test_good_forged_token_is_accepted(stack, key, owner):
    """The control for the above: a well-made token gets past authentication."""
    tok = jwt_encode(access_claims(owner.id, owner.session_id), key)
    r = stack.get(f"{FILES}/list", token=tok)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("auth", [None, "Bearer garbage"])
def test_public_routes(stack, auth):
    h = {"Authorization": auth} if auth else {}
    for path in (f"{FILES}/tus", f"{FILES}/tus/{fake_id()}"):
        r = stack.req("OPTIONS", path, headers=h)
        assert r.status_code == 204, r.text
        assert r.headers["Tus-Resumable"] == "1.0.0"
    assert_error(stack.get("/s/" + "x" * 32, headers=h), 404, "link_not_found")


# -- methods and paths ------------------------------------------------------------------------
WRONG = wrong_methods(ROUTES, concrete)


@pytest.mark.parametrize("pattern,method", WRONG, ids=[f"{m} {p}" for p, m in WRONG])
def test_wrong_method(stack, owner, pattern, method):
    assert_wrong_method(stack, owner.access, ROUTES, concrete(pattern), method)


@pytest.mark.parametrize("path", [
    f"{FILES}/", f"{FILES}/upload/", f"{FILES}/upload/{'a' * 24}/chunks",
    f"{FILES}/upload/{'a' * 24}/chunks/1/x", f"{FILES}/{'a' * 24}/links/{'b' * 24}/x",
    f"{FILES}/tus/{'a' * 24}/x", f"{FILES}/{'a' * 24}/infos", "/s/", "/s/a/b",
])
def test_unknown_path(stack, owner, path):
    r = stack.raw("GET", path, token=owner.access)
    assert_error(r, 404, "route_not_found")


# -- JSON bodies ---------------------------------------------------------------------------------
STR, INT = "string", "integer"
BODY_ROUTES = {
    f"{FILES}/upload/init": {
        "fields": {"filename": STR, "file_size": INT, "content_type": STR, "chat_id": STR,
                   "sha256": STR, "expires_in": INT},
        "required": ["filename", "file_size"],
        "valid": lambda: {"filename": "a.txt", "file_size": 10},
    },
    f"{FILES}/upload/complete": {
        "fields": {"upload_id": STR},
        "required": ["upload_id"],
        "valid": lambda: {"upload_id": fake_id()},
    },
    f"{FILES}/{{file_id}}/links": {
        "fields": {"expires_in": INT, "max_downloads": INT, "password": STR},
        "required": [],
        "valid": lambda: {"expires_in": 60},
    },
}
BAD_VALUES = {STR: [1, 0.5, True, [], ["a"], {}, {"a": "b"}],
              INT: ["1", True, [], {}, [1]]}
MALFORMED = ["", " ", "{", "}", '{"a":', "{'a': 1}", '{"a":1,}', "nul", '{"a":1} x',
             '{"a":1}{"b":2}', b"\xff\xfe{", b'{"a":"\xc3"', "<xml/>"]
NOT_OBJECT = ["[]", '"str"', "42", "null", "true"]


def body_path(pattern):
    return pattern.replace("{file_id}", fake_id())


@pytest.mark.parametrize("raw", MALFORMED, ids=[repr(m)[:20] for m in MALFORMED])
@pytest.mark.parametrize("pattern", list(BODY_ROUTES))
def test_malformed_json(stack, owner, pattern, raw):
    data = raw if isinstance(raw, bytes) else raw.encode()
    r = stack.post(body_path(pattern), token=owner.access, data=data, headers=JSON_HDR)
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("raw", NOT_OBJECT)
@pytest.mark.parametrize("pattern", list(BODY_ROUTES))
def test_not_an_object(stack, owner, pattern, raw):
    r = stack.post(body_path(pattern), token=owner.access, data=raw.encode(), headers=JSON_HDR)
    assert_error(r, 400, "not_an_object")


WRONG_TYPES = [(p, f, v) for p, c in BODY_ROUTES.items() for f, t in c["fields"].items()
               for v in BAD_VALUES[t]]


@pytest.mark.parametrize("pattern,field,value", WRONG_TYPES,
                         ids=[f"{p} {f}={json.dumps(v)}" for p, f, v in WRONG_TYPES])
def test_wrong_type(stack, owner, pattern, field, value):
    body = BODY_ROUTES[pattern]["valid"]()
    body[field] = value
    r = stack.post(body_path(pattern), token=owner.access, json=body)
    assert_error(r, 400, "wrong_type")


MISSING = [(p, f) for p, c in BODY_ROUTES.items() for f in c["required"]]


@pytest.mark.parametrize("pattern,field", MISSING, ids=[f"{p} {f}" for p, f in MISSING])
@pytest.mark.parametrize("how", ["absent", "null"])
def test_missing_field(stack, owner, pattern, field, how):
    body = BODY_ROUTES[pattern]["valid"]()
    if how == "absent":
        del body[field]
    else:
        body[field] = None
    r = stack.post(body_path(pattern), token=owner.access, json=body)
    assert_error(r, 400, "missing_field")


@pytest.mark.parametrize("size", [65537, 1000000, 3 * 1024 * 1024])
@pytest.mark.parametrize("pattern", list(BODY_ROUTES))
def test_oversized_body(stack, owner, pattern, size):
    head = json.dumps(BODY_ROUTES[pattern]["valid"]())[:-1] + ', "pad": "'
    data = (head + "x" * (size - len(head) - 2) + '"}').encode()
    assert len(data) == size
    r = stack.post(body_path(pattern), token=owner.access, data=data, headers=JSON_HDR)
    if size > 1024 * 1024:
        # Past the front's cap for buffered bodies (1 MiB, as on every JSON
        # route: test_02_errors.py::test_body_over_server_cap) lighttpd
        # answers 413 itself, before the body reaches the app.
        assert r.status_code == 413
    else:
        assert_error(r, 413, "payload_too_large")


def test_valid_bodies_reach_the_handler(stack, owner):
    """The control: the bodies above minus their defect are accepted, so the
    400s are about the defect."""
    r = stack.post(f"{FILES}/upload/init", token=owner.access,
                   json=BODY_ROUTES[f"{FILES}/upload/init"]["valid"]())
    assert r.status_code == 201, r.text
    r = stack.post(f"{FILES}/upload/complete", token=owner.access, json={"upload_id": fake_id()})
    assert_error(r, 404, "upload_not_found")
    r = stack.post(f"{FILES}/{fake_id()}/links", token=owner.access, json={"expires_in": 60})
    assert_error(r, 404, "file_not_found")
    r = stack.post(f"{FILES}/{fake_id()}/links", token=owner.access, json={})
    assert_error(r, 404, "file_not_found")
