"""Error handling over the whole route table (from `hs-<app> --routes`):
authentication required, 405 with Allow, unknown paths, and for every route
that reads a JSON body: malformed JSON, non-objects, wrong types, missing
fields and oversized bodies."""
import json
import socket
import time

import pytest

from hsapi import (API, PASSWORD, assert_error, fake_id, pattern_matches, route_table, uniq)

ROUTES = route_table()
AUTH_ROUTES = [r for r in ROUTES if r.auth]
PATTERNS = sorted({r.pattern for r in ROUTES})
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")

# The only routes that may be called without a token.
PUBLIC = {("GET", "/health"), ("POST", f"{API}/auth/register"), ("POST", f"{API}/auth/login"),
          ("POST", f"{API}/auth/refresh")}

STR, OBJ = "string", "object"
# Routes that read a JSON body: field types, required fields, a valid body.
BODY_ROUTES = {
    ("POST", f"{API}/auth/register"): {
        "fields": {"username": STR, "email": STR, "password": STR},
        "required": ["username", "email", "password"],
        "valid": lambda: {"username": uniq("b"), "email": f"{uniq('b')}@example.com",
                          "password": PASSWORD},
    },
    ("POST", f"{API}/auth/login"): {
        "fields": {"username": STR, "email": STR, "password": STR},
        "required": ["password"],
        "valid": lambda: {"username": uniq("nobody"), "password": PASSWORD},
    },
    ("POST", f"{API}/auth/refresh"): {
        "fields": {"refresh_token": STR},
        "required": ["refresh_token"],
        "valid": lambda: {"refresh_token": "not-a-real-refresh-token"},
    },
    ("PUT", f"{API}/auth/change-password"): {
        "fields": {"old_password": STR, "new_password": STR},
        "required": ["old_password", "new_password"],
        "valid": lambda: {"old_password": "wrong old password", "new_password": PASSWORD + "!"},
    },
    ("PUT", f"{API}/users/{{id}}"): {
        "fields": {"display_name": STR, "bio": STR, "avatar_file_id": STR, "settings": OBJ},
        "required": [],
        "valid": lambda: {"bio": "b"},
    },
}
BAD_VALUES = {STR: [1, 0.5, True, False, [], ["a"], {}, {"a": "b"}],
              OBJ: ["s", "", 1, True, [], [{}]]}
MALFORMED = ["", " ", "{", "}", '{"a":', '{"a" 1}', "{'a': 1}", '{"a":1,}', "nul", "tru",
             '{"a":1} x', '{"a":1}{"b":2}', '{"a":"\\x"}',
             b"\xff\xfe{", b'{"a":"\xc3"', "<xml/>"]
NOT_OBJECT = ["[]", "[{}]", '"str"', "42", "-1.5", "null", "true", "false", ' [ ] ']


@pytest.fixture(scope="module")
def owner(stack):
    """The user whose token the authenticated requests here carry."""
    return stack.register(prefix="err")


def concrete(pattern, owner):
    """A real path for a pattern: users/{id} is the owner's own id (so PUT
    reaches its body), sessions/{id} an unknown session."""
    return pattern.replace("{id}", owner.id if "/users/" in pattern else fake_id())


def ids(routes):
    return [str(r) for r in routes]


def maybe_body(method):
    """An empty JSON body where a body may go (the web server refuses GET
    with a body before any app sees it)."""
    return {"json": {}} if method in ("POST", "PUT", "PATCH", "DELETE") else {}


def send(stack, method, path, owner, auth, **kw):
    return stack.req(method, path, token=owner.access if auth else None, **kw)


# -- the table itself ------------------------------------------------------------
def test_route_table():
    keys = {(r.method, r.pattern) for r in ROUTES}
    assert len(keys) == len(ROUTES), "a route is listed twice"
    assert set(BODY_ROUTES) <= keys, "a route this file tests is gone"
    public = {(r.method, r.pattern) for r in ROUTES if not r.auth}
    assert public == PUBLIC, f"unexpected public routes: {public - PUBLIC}"
    for r in ROUTES:
        assert r.pattern == "/health" or r.pattern.startswith(f"{API}/{r.app}/"), r


# -- authentication ------------------------------------------------------------------
@pytest.mark.parametrize("route", AUTH_ROUTES, ids=ids(AUTH_ROUTES))
def test_missing_token(stack, owner, route):
    path = concrete(route.pattern, owner)
    r = stack.req(route.method, path, **maybe_body(route.method))
    assert_error(r, 401, "missing_token")
    r = stack.req(route.method, path, headers={"Authorization": ""})
    assert_error(r, 401, "missing_token")


# -- methods and paths ----------------------------------------------------------------
def served_on(path):
    return {r.method for r in ROUTES if pattern_matches(r.pattern, path)}


# (pattern, a method none of the routes matching it serves)
WRONG_METHODS = [(p, m) for p in PATTERNS for m in METHODS
                 if m not in served_on(p.replace("{id}", "0" * 24))]


@pytest.mark.parametrize("pattern,method", WRONG_METHODS,
                         ids=[f"{m} {p}" for p, m in WRONG_METHODS])
def test_wrong_method(stack, owner, pattern, method):
    path = concrete(pattern, owner)
    served = served_on(path)
    assert served and method not in served
    r = stack.req(method, path, token=owner.access, **maybe_body(method))
    assert_error(r, 405, "method_not_allowed")
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert allow == served, f"Allow: {r.headers.get('Allow')}"


UNKNOWN_PATHS = [
    f"{API}/auth/nope", f"{API}/auth/", f"{API}/auth/me/", f"{API}/auth/me/extra",
    f"{API}/auth/sessions/", f"{API}/auth/sessions/{'a' * 24}/x", f"{API}/auth/LOGIN",
    f"{API}/auth/login/", f"{API}/auth//login", f"{API}/users/", f"{API}/users/{'a' * 24}/x",
    f"{API}/users/{'a' * 24}/follow/", f"{API}/users/{'a' * 24}/followers/x",
    f"{API}/users/%00", f"{API}/users/%00/follow", f"{API}/users/%zz/follow",
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_path(stack, owner, path, method):
    r = stack.raw(method, path, token=owner.access,
                  body=b"{}" if method != "GET" else None)
    if "%" in path and r.status_code == 400:
        return  # the web server may refuse an odd encoding itself
    assert_error(r, 404, "route_not_found")


def test_malformed_query(stack, owner):
    for q in ("q=%zz", "q=%", "q=%4", "q=a%00b", "%zz=1", "&".join(f"k{i}=1" for i in range(40))):
        r = stack.raw("GET", f"{API}/users/search?{q}", token=owner.access)
        if "%00" in q and r.status_code == 400 and "X-Request-Id" not in r.headers:
            continue  # the web server refused it first
        assert_error(r, 400, "invalid_query")


# -- JSON bodies ------------------------------------------------------------------------
BODY = [r for r in ROUTES if (r.method, r.pattern) in BODY_ROUTES]
JSON_HDR = {"Content-Type": "application/json"}


def body_case(route):
    return BODY_ROUTES[(route.method, route.pattern)]


@pytest.mark.parametrize("raw", MALFORMED, ids=[repr(m)[:24] for m in MALFORMED])
@pytest.mark.parametrize("route", BODY, ids=ids(BODY))
def test_malformed_json(stack, owner, route, raw):
    data = raw if isinstance(raw, bytes) else raw.encode()
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth, data=data,
             headers=JSON_HDR)
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("raw", NOT_OBJECT)
@pytest.mark.parametrize("route", BODY, ids=ids(BODY))
def test_not_an_object(stack, owner, route, raw):
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth,
             data=raw.encode(), headers=JSON_HDR)
    assert_error(r, 400, "not_an_object")


WRONG_TYPE_CASES = [((m, p), f, v) for (m, p), c in BODY_ROUTES.items()
                    for f, t in c["fields"].items() for v in BAD_VALUES[t]]


@pytest.mark.parametrize("key,field,value", WRONG_TYPE_CASES,
                         ids=[f"{m} {p} {f}={json.dumps(v)}" for (m, p), f, v in WRONG_TYPE_CASES])
def test_wrong_type(stack, owner, key, field, value):
    route = next(r for r in BODY if (r.method, r.pattern) == key)
    body = body_case(route)["valid"]()
    body[field] = value
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth, json=body)
    assert_error(r, 400, "wrong_type")


MISSING_CASES = [((m, p), f) for (m, p), c in BODY_ROUTES.items() for f in c["required"]]


@pytest.mark.parametrize("key,field", MISSING_CASES,
                         ids=[f"{m} {p} {f}" for (m, p), f in MISSING_CASES])
@pytest.mark.parametrize("how", ["absent", "null"])
def test_missing_field(stack, owner, key, field, how):
    route = next(r for r in BODY if (r.method, r.pattern) == key)
    body = body_case(route)["valid"]()
    if how == "absent":
        body.pop(field, None)
    else:
        body[field] = None
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth, json=body)
    assert_error(r, 400, "missing_field")


NUL_CASES = [((m, p), f) for (m, p), c in BODY_ROUTES.items()
             for f, t in c["fields"].items() if t == STR]


@pytest.mark.parametrize("key,field", NUL_CASES, ids=[f"{m} {p} {f}" for (m, p), f in NUL_CASES])
def test_nul_in_strings(stack, owner, key, field):
    """A NUL inside a JSON string would cut the C string short (a password
    "secret\\u0000anything" would be "secret"): refused."""
    route = next(r for r in BODY if (r.method, r.pattern) == key)
    body = body_case(route)["valid"]()
    body[field] = "abcdefgh\u0000ijklmnop"
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth, json=body)
    assert_error(r, 400, "invalid_value")


@pytest.mark.parametrize("route", BODY, ids=ids(BODY))
def test_empty_object(stack, owner, route):
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth, json={})
    if body_case(route)["required"]:
        assert_error(r, 400, "missing_field")
    else:
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("size", [65537, 70000, 1000000])
@pytest.mark.parametrize("route", BODY, ids=ids(BODY))
def test_oversized_body(stack, owner, route, size):
    body = body_case(route)["valid"]()
    head = json.dumps(body)[:-1] + ', "pad": "'
    data = (head + "x" * (size - len(head) - 2) + '"}').encode()
    assert len(data) == size
    r = send(stack, route.method, concrete(route.pattern, owner), owner, route.auth, data=data,
             headers=JSON_HDR)
    assert_error(r, 413, "payload_too_large")


def test_body_limit_boundary(stack):
    """64 KiB exactly is read; one byte more is refused unread."""
    head = b'{"refresh_token":"not-a-real-refresh-token"}'
    at_limit = head + b" " * (65536 - len(head))
    r = stack.post(f"{API}/auth/refresh", data=at_limit, headers=JSON_HDR)
    assert_error(r, 401, "invalid_refresh_token")
    r = stack.post(f"{API}/auth/refresh", data=at_limit + b" ", headers=JSON_HDR)
    assert_error(r, 413, "payload_too_large")


def test_body_over_server_cap(stack):
    """Past the web server's own cap (1 MiB) the answer is still 413."""
    r = stack.post(f"{API}/auth/login", data=b"{" + b" " * (2 << 20) + b"}", headers=JSON_HDR)
    assert r.status_code == 413


def _read_response(sock):
    """One HTTP/1.1 response with a Content-Length (or none) from sock; None
    if the server closed the connection first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    n = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines


@pytest.mark.parametrize("delay", [0.0, 0.1])
def test_keepalive_after_early_reply(stack, delay):
    """A client sends a POST's headers, then (a moment later, as clients do)
    its body; the app refuses it (401) before reading the body. The
    connection must stay usable: either the server says Connection: close,
    or the next request on it gets an answer."""
    head = (b"POST /api/v1/auth/logout HTTP/1.1\r\nHost: t\r\n"
            b"Authorization: Bearer not-a-token\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n")
    host, port = stack.base.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(3):
            sock.sendall(head)
            time.sleep(delay)
            sock.sendall(b"{}")
            lines = _read_response(sock)
            assert lines is not None, f"request {i + 1}: connection closed without a response"
            assert lines[0].startswith(b"HTTP/1.1 401"), lines[0]
            if any(ln.lower().replace(b" ", b"") == b"connection:close" for ln in lines):
                return
