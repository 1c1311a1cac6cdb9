"""The route-error sweep: every route of every app, generated from the route
tables of the built binaries (`hs-<app> --routes`, every hs-* in
$HS_BIN_DIR), gets the same error checks.

- tokens: every authenticated route answers 401 missing_token without a
  token (or with an empty Authorization), and 401 invalid_token or
  token_expired to each kind of forged or foreign token (BAD_TOKENS); the
  public routes (PUBLIC) answer without one;
- methods: every path answers the methods no route serves there with 405
  method_not_allowed and an Allow listing exactly what it serves;
- ids: a malformed id gets the answer of an unknown one (404 on reads);
- paths: one segment more, a trailing slash and the hand-picked oddities
  of UNKNOWN_PATHS answer 404 route_not_found;
- JSON bodies (BODY): malformed JSON, non-objects, each field with a wrong
  type, each required field absent or null, NUL inside strings, an empty
  object, and bodies over 64 KiB (413) are refused with their codes; the
  valid body minus its defect reaches the handler (its answer is listed).

A new route is swept the day it is added. What cannot be derived from the
table must be listed here, and test_every_route_is_classified fails until it
is: a public route's answer (PUBLIC), whether a POST/PUT/PATCH reads a JSON
body (BODY with its fields) or not (NO_JSON_BODY with what it reads), a
value for each {param} (PARAMS), the path prefixes of each app, and routes
that are not HTTP at all (NOT_HTTP).
"""
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import (API, BAD_TOKENS, BIN_DIR, JSON_HDR, PASSWORD, Route, access_claims,
                   app_binaries, app_routes, assert_error, fake_id, forge, jwt_encode, pattern_matches, uniq)

FILES, CHATS, MESSAGES, P2P = f"{API}/files", f"{API}/chats", f"{API}/messages", f"{API}/p2p"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
TUS = {"Tus-Resumable": "1.0.0"}


def all_routes():
    """Route(method, pattern, auth, app) of every hs-* binary."""
    apps = [p.name[3:] for p in app_binaries()]
    assert apps, f"no hs-* binaries in {BIN_DIR}: build first or set HS_BIN_DIR"
    return [Route(m, p, auth, app) for app in apps for m, p, auth in app_routes(app)]


ROUTES = all_routes()

# -- what the table cannot say ------------------------------------------------------
# Routes served by something other than the HTTP apps: not swept here.
NOT_HTTP = {
    ("GET", "/ws"): "the WebSocket upgrade: test_05_ws*.py (close codes, not HTTP errors)",
    ("GET", "/ws/{user_id}"): "the WebSocket upgrade: test_05_ws*.py, test_08_authz.py",
}

# Where each app's routes live (a route elsewhere would shadow another app's).
APP_PREFIXES = {
    "auth": ("/health", f"{API}/auth/"),
    "users": (f"{API}/users/",),
    "files": (f"{FILES}/", "/s/"),
    "chats": (f"{CHATS}", f"{API}/groups", f"{API}/channels", f"{MESSAGES}"),
    "p2p": (f"{P2P}/",),
    "updates": (f"{API}/updates",),
    "ws-bridge": ("/ws",),
}
# Paths the web server hands to an app only as they are (conf/lighttpd.conf):
# anything below them is the web server's own 404 page, not the app's.
EXACT_MOUNTS = {"/health", f"{API}/updates"}

# A concrete value for each {param}: well formed, naming nothing (users/{id}
# is the caller's own id, so that PUT reaches its body).
PARAMS = {
    "id": fake_id, "user_id": fake_id, "chat_id": fake_id, "upload_id": fake_id,
    "file_id": fake_id, "link_id": fake_id, "n": lambda: "0", "token": lambda: "x" * 32,
}

# The only routes that may be called without a token, and what they answer
# to a request without one (and with a garbage one): (status, code or None).
PUBLIC = {
    ("GET", "/health"): (200, None),
    ("POST", f"{API}/auth/register"): (400, "missing_field"),
    ("POST", f"{API}/auth/login"): (400, "missing_field"),
    ("POST", f"{API}/auth/refresh"): (400, "missing_field"),
    ("OPTIONS", f"{FILES}/tus"): (204, None),
    ("OPTIONS", f"{FILES}/tus/"): (204, None),
    ("OPTIONS", f"{FILES}/tus/{{upload_id}}"): (204, None),
    ("GET", "/s/{token}"): (404, "link_not_found"),
    ("HEAD", "/s/{token}"): (404, None),
}

# POST/PUT/PATCH routes that read no JSON object, and what they read instead.
NO_JSON_BODY = {
    ("POST", f"{API}/auth/logout"): "nothing",
    ("POST", f"{FILES}/upload/chunk"): "multipart/form-data (test_03_input.py)",
    ("PUT", f"{FILES}/upload/{{upload_id}}/chunks/{{n}}"): "raw bytes (test_03_chunks.py)",
    ("POST", f"{FILES}/tus"): "tus headers (test_03_tus.py)",
    ("POST", f"{FILES}/tus/"): "tus headers (test_03_tus.py)",
    ("PATCH", f"{FILES}/tus/{{upload_id}}"): "offset+octet-stream (test_03_tus.py)",
    ("POST", f"{CHATS}/{{id}}/leave"): "nothing",
    ("POST", f"{CHATS}/{{id}}/join"): "nothing",
    ("POST", f"{API}/users/{{id}}/follow"): "nothing",
    ("POST", f"{API}/users/{{id}}/disable"): "nothing",
    ("POST", f"{API}/users/{{id}}/enable"): "nothing",
    ("PUT", f"{P2P}/blocks/{{user_id}}"): "nothing",
    ("POST", f"{P2P}/{{id}}/accept"): "nothing",
    ("POST", f"{P2P}/{{id}}/reject"): "nothing",
    ("POST", f"{P2P}/{{id}}/cancel"): "nothing",
}

STR, INT, BOOL, OBJ, IDS = "string", "integer", "boolean", "object", "array"
BAD_VALUES = {STR: [1, 0.5, True, False, [], ["a"], {}, {"a": "b"}],
              INT: ["1", True, [], {}, [1]],
              BOOL: ["true", 1, 0, [], {}, "yes"],
              OBJ: ["s", "", 1, True, [], [{}]],
              IDS: ["abc", 1, True, {}, {"a": fake_id()}]}
CHAT_FIELDS = {"name": STR, "description": STR, "avatar_file_id": STR, "is_public": BOOL,
               "members": IDS}


def body(fields, required, valid, answer, **extra):
    """A JSON-body route: field types, required fields, a valid body and the
    handler's answer to it on the sweep's made-up ids: (status, code)."""
    return {"fields": fields, "required": required, "valid": valid, "answer": answer, **extra}


BODY = {
    ("POST", f"{API}/auth/register"): body(
        {"username": STR, "email": STR, "password": STR}, ["username", "email", "password"],
        lambda: {"username": uniq("b"), "email": f"{uniq('b')}@example.com",
                 "password": PASSWORD}, (201, None)),
    ("POST", f"{API}/auth/login"): body(
        {"username": STR, "email": STR, "password": STR}, ["password"],
        lambda: {"username": uniq("nobody"), "password": PASSWORD},
        (401, "invalid_credentials")),
    ("POST", f"{API}/auth/refresh"): body(
        {"refresh_token": STR}, ["refresh_token"],
        lambda: {"refresh_token": "not-a-real-refresh-token"}, (401, "invalid_refresh_token")),
    ("PUT", f"{API}/auth/change-password"): body(
        {"old_password": STR, "new_password": STR}, ["old_password", "new_password"],
        lambda: {"old_password": "wrong old password", "new_password": PASSWORD + "!"},
        (403, "wrong_password")),
    ("PUT", f"{API}/users/{{id}}"): body(
        {"display_name": STR, "bio": STR, "avatar_file_id": STR, "settings": OBJ}, [],
        lambda: {"bio": "b"}, (200, None)),
    ("POST", f"{FILES}/upload/init"): body(
        {"filename": STR, "file_size": INT, "content_type": STR, "chat_id": STR, "sha256": STR,
         "expires_in": INT}, ["filename", "file_size"],
        lambda: {"filename": "a.txt", "file_size": 10}, (201, None)),
    ("POST", f"{FILES}/upload/complete"): body(
        {"upload_id": STR}, ["upload_id"], lambda: {"upload_id": fake_id()},
        (404, "upload_not_found")),
    ("POST", f"{FILES}/{{file_id}}/links"): body(
        {"expires_in": INT, "max_downloads": INT, "password": STR}, [],
        lambda: {"expires_in": 60}, (404, "file_not_found")),
    ("POST", CHATS): body({"kind": STR, **CHAT_FIELDS}, ["kind"],
                          lambda: {"kind": "group", "name": "x"}, (201, None)),
    ("POST", f"{API}/groups"): body(CHAT_FIELDS, ["name"], lambda: {"name": "x"}, (201, None)),
    ("POST", f"{API}/channels"): body(CHAT_FIELDS, ["name"], lambda: {"name": "x"},
                                      (201, None)),
    ("PUT", f"{CHATS}/{{id}}"): body({k: v for k, v in CHAT_FIELDS.items() if k != "members"},
                                     [], lambda: {"name": "x"}, (404, "chat_not_found")),
    ("POST", f"{CHATS}/{{id}}/members"): body({"user_id": STR}, ["user_id"],
                                              lambda: {"user_id": fake_id()},
                                              (404, "chat_not_found")),
    ("PUT", f"{CHATS}/{{id}}/members/{{user_id}}"): body({"role": STR}, ["role"],
                                                         lambda: {"role": "admin"},
                                                         (404, "chat_not_found")),
    # a null boolean may read as the wrong type rather than as absent
    ("PUT", f"{CHATS}/{{id}}/mute"): body({"muted": BOOL}, ["muted"], lambda: {"muted": True},
                                          (404, "chat_not_found"),
                                          null_codes={"missing_field", "wrong_type"}),
    ("POST", f"{CHATS}/{{id}}/read"): body({"message_id": STR}, ["message_id"],
                                           lambda: {"message_id": fake_id()},
                                           (404, "chat_not_found")),
    ("POST", MESSAGES): body({"chat_id": STR, "content": STR, "reply_to": STR, "client_id": STR,
                              "file_ids": IDS}, ["chat_id", "content"],
                             lambda: {"chat_id": fake_id(), "content": "hi"},
                             (404, "chat_not_found")),
    ("PUT", f"{MESSAGES}/{{id}}"): body({"content": STR}, ["content"], lambda: {"content": "hi"},
                                        (404, "message_not_found")),
    ("POST", f"{MESSAGES}/{{id}}/react"): body({"emoji": STR}, ["emoji"],
                                               lambda: {"emoji": "\U0001F44D"},
                                               (404, "message_not_found")),
    ("POST", f"{P2P}/initiate"): body(
        {"recipient_id": STR, "filename": STR, "size": INT, "sha256": STR, "mode": STR},
        ["recipient_id", "filename", "size"],
        lambda: {"recipient_id": fake_id(), "filename": "a.bin", "size": 10},
        (404, "user_not_found")),
    ("POST", f"{P2P}/{{id}}/fail"): body({"reason": STR}, ["reason"],
                                         lambda: {"reason": "ice_failed"},
                                         (404, "transfer_not_found")),
    ("POST", f"{P2P}/{{id}}/complete"): body({"sha256": STR}, ["sha256"],
                                             lambda: {"sha256": "0" * 64},
                                             (404, "transfer_not_found")),
    ("POST", f"{P2P}/{{id}}/progress"): body({"bytes": INT}, ["bytes"], lambda: {"bytes": 1},
                                             (404, "transfer_not_found")),
    ("POST", f"{P2P}/{{id}}/relay"): body({"file_id": STR}, ["file_id"],
                                          lambda: {"file_id": "0" * 24},
                                          (404, "transfer_not_found")),
}

MALFORMED = ["", " ", "{", "}", '{"a":', '{"a" 1}', "{'a': 1}", '{"a":1,}', "nul", "tru",
             '{"a":1} x', '{"a":1}{"b":2}', '{"a":"\\x"}',
             b"\xff\xfe{", b'{"a":"\xc3"', "<xml/>"]
NOT_OBJECT = ["[]", "[{}]", '"str"', "42", "-1.5", "null", "true", "false", ' [ ] ']
# Past 64 KiB the app refuses the body unread (413 payload_too_large); past
# the web server's cap for buffered bodies (1 MiB, set per mount) lighttpd
# answers 413 itself: that one once per app (the first of its body routes).
OVERSIZED = [65537, 70000, 1000000]
OVER_SERVER_CAP = 3 * 1024 * 1024

# Paths no route serves, beyond the generated ones (a segment more, a slash
# more): odd spellings and encodings.
UNKNOWN_PATHS = [
    f"{API}/auth/nope", f"{API}/auth/", f"{API}/auth/LOGIN", f"{API}/auth//login",
    f"{API}/users/", f"{API}/users/%00", f"{API}/users/%00/follow", f"{API}/users/%zz/follow",
    f"{FILES}/", f"{FILES}/upload/", f"{FILES}/upload/{'a' * 24}/chunks",
    f"{FILES}/{'a' * 24}/infos", "/s/", f"{CHATS}/{'a' * 24}/members/",
]


# -- helpers --------------------------------------------------------------------------
def params_of(pattern):
    out, rest = [], pattern
    while "{" in rest:
        rest = rest[rest.index("{") + 1:]
        out.append(rest[:rest.index("}")])
    return out


def concrete(pattern, owner=None):
    path = pattern
    for name in params_of(pattern):
        value = PARAMS[name]()
        if name == "id" and pattern.startswith(f"{API}/users/") and owner is not None:
            value = owner.id
        path = path.replace("{" + name + "}", value, 1)
    return path


def http_routes():
    return [r for r in ROUTES if (r.method, r.pattern) not in NOT_HTTP]


def served_on(path):
    return {r.method for r in http_routes() if pattern_matches(r.pattern, path)}


def request_kw(method, pattern):
    """The body and headers every swept request carries: lighttpd answers 411
    to a POST without Content-Length, and tus routes want their header."""
    kw = {"data": b"{}", "headers": dict(JSON_HDR)} if method in ("POST", "PUT", "PATCH") \
        else {"headers": {}}
    if "/tus" in pattern:
        kw["headers"].update(TUS)
    return kw


def rkey(route):
    return (route.method, route.pattern)


def rid(route):
    return f"{route.method} {route.pattern}"


# The checks of one route are independent requests: a few at a time keep
# the web server's processes (HS_PROCS per app) busy while Python waits.
POOL = ThreadPoolExecutor(4)


class Failures:
    """Runs the checks of one route (a few at once) and reports every
    failure together, so that one run shows them all."""

    def __init__(self):
        self.pending = []

    def check(self, what, fn, *args):
        self.pending.append((what, POOL.submit(fn, *args)))

    def done(self):
        failures = []
        for what, fut in self.pending:
            try:
                fut.result()
            except AssertionError as e:
                failures.append(f"{what}: {e}")
        assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def assert_refused(r, status, code):
    """assert_error, or for HEAD (no body) the status and the Bearer challenge."""
    if r.request.method == "HEAD":
        assert r.status_code == status, f"HEAD {r.request.path_url}: {r.status_code}"
        if status == 401:
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    else:
        assert_error(r, status, code)


@pytest.fixture(scope="module")
def owner(stack):
    """The user whose token the authenticated requests here carry."""
    return stack.register(prefix="sweep")


# -- the table itself ------------------------------------------------------------------
def test_every_route_is_classified():
    keys = {rkey(r) for r in ROUTES}
    assert len(keys) == len(ROUTES), "a route is listed twice"
    problems = []
    for r in ROUTES:
        if rkey(r) in NOT_HTTP:
            continue
        prefixes = APP_PREFIXES.get(r.app)
        if prefixes is None:
            problems.append(f"{r.app}: a new app; list its path prefixes in APP_PREFIXES")
        elif not r.pattern.startswith(prefixes):
            problems.append(f"{rid(r)}: outside {r.app}'s prefixes {prefixes}")
        if not r.auth and rkey(r) not in PUBLIC:
            problems.append(f"{rid(r)}: public; list its answer in PUBLIC")
        if r.auth and rkey(r) in PUBLIC:
            problems.append(f"{rid(r)}: listed in PUBLIC but needs a token")
        if r.method in ("POST", "PUT", "PATCH") and rkey(r) not in BODY \
                and rkey(r) not in NO_JSON_BODY:
            problems.append(f"{rid(r)}: reads a body? list it in BODY (fields, answer) "
                            "or NO_JSON_BODY (what it reads)")
        for name in params_of(r.pattern):
            if name not in PARAMS:
                problems.append(f"{rid(r)}: no value for {{{name}}} in PARAMS")
    listed = set(PUBLIC) | set(BODY) | set(NO_JSON_BODY) | set(NOT_HTTP)
    problems += [f"{m} {p}: listed here but no app serves it" for m, p in sorted(listed - keys)]
    assert set(BODY).isdisjoint(NO_JSON_BODY)
    assert not problems, "\n".join(problems)
    assert len(ROUTES) >= 80 and len(BODY) >= 24, "the tables shrank: is every app built?"


# -- tokens -----------------------------------------------------------------------------
AUTH = [r for r in http_routes() if r.auth]
PUBLIC_ROUTES = [r for r in http_routes() if not r.auth]


@pytest.mark.parametrize("route", AUTH, ids=[rid(r) for r in AUTH])
def test_token_refused(stack, key, owner, route):
    """No token, an empty header, and every kind of bad token: 401."""
    path = concrete(route.pattern)
    kw = request_kw(route.method, route.pattern)
    cases = [("no token", None, "missing_token"), ("empty Authorization", "", "missing_token")]
    cases += [(kind, forge(kind, key, owner),
               "token_expired" if kind == "expired" else "invalid_token") for kind in BAD_TOKENS]

    def one(auth, code):
        h = dict(kw["headers"])
        if auth is not None:
            h["Authorization"] = auth
        assert_refused(stack.req(route.method, path, data=kw.get("data"), headers=h), 401, code)

    f = Failures()
    for what, auth, code in cases:
        f.check(what, one, auth, code)
    f.done()


def test_good_forged_token_is_accepted(stack, key, owner):
    """The control for the above: a well-made token gets past authentication."""
    tok = jwt_encode(access_claims(owner.id, owner.session_id), key)
    for path in (f"{API}/auth/me", f"{FILES}/list", CHATS, f"{P2P}/history"):
        r = stack.get(path, token=tok)
        assert r.status_code == 200, (path, r.text)


def test_logged_out_token(stack):
    u = stack.register(prefix="sweep")
    assert stack.post(f"{API}/auth/logout", token=u.access, json={}).status_code in (200, 204)
    assert_error(stack.get(CHATS, token=u.access), 401, "token_revoked")


@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=[rid(r) for r in PUBLIC_ROUTES])
@pytest.mark.parametrize("auth", [None, "Bearer garbage"])
def test_public_route(stack, route, auth):
    kw = request_kw(route.method, route.pattern)
    if auth:
        kw["headers"]["Authorization"] = auth
    r = stack.req(route.method, concrete(route.pattern), **kw)
    status, code = PUBLIC[rkey(route)]
    if code or (status >= 400 and route.method != "HEAD"):
        assert_error(r, status, code)
    else:
        assert r.status_code == status, r.text
    if "/tus" in route.pattern:
        assert r.headers["Tus-Resumable"] == "1.0.0"


# -- methods and paths ---------------------------------------------------------------------
PATTERNS = sorted({r.pattern for r in http_routes()})


@pytest.mark.parametrize("pattern", PATTERNS)
def test_wrong_methods(stack, owner, pattern):
    """405 with an Allow of exactly what the path serves, with or without a
    token (the method is wrong whoever asks)."""
    path = concrete(pattern, owner)
    served = served_on(path)
    wrong = [m for m in METHODS if m not in served]
    assert served
    f = Failures()
    for i, m in enumerate(wrong):
        for token in (owner.access, None) if i == 0 else (owner.access,):
            def one(m=m, token=token):
                r = stack.req(m, path, token=token, **request_kw(m, pattern))
                assert_error(r, 405, "method_not_allowed")
                allow = {x.strip() for x in r.headers.get("Allow", "").split(",")}
                assert allow == served, f"Allow: {r.headers.get('Allow')}, serves {served}"
            f.check(f"{m} {'with' if token else 'without'} token", one)
    f.done()


def unknown_below(pattern):
    """Generated unknown paths next to a route: a segment more, a slash more."""
    path = concrete(pattern)
    return [p for p in (path + "/x", path + "/") if not served_on(p)]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_unknown_paths_below(stack, owner, pattern):
    f = Failures()
    for path in unknown_below(pattern):
        for method in ("GET", "POST"):
            f.check(f"{method} {path}", unknown_path, stack, owner, path, method, pattern)
    f.done()


def unknown_path(stack, owner, path, method, pattern):
    r = stack.raw(method, path, token=owner.access, body=b"{}" if method != "GET" else None)
    if pattern in EXACT_MOUNTS:
        assert r.status_code == 404, f"{path}: {r.status_code}"
    else:
        assert_error(r, 404, "route_not_found")


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_path(stack, owner, path, method):
    assert "%" in path or not served_on(path), path
    r = stack.raw(method, path, token=owner.access, body=b"{}" if method != "GET" else None)
    if "%" in path and r.status_code == 400:
        return  # the web server may refuse an odd encoding itself
    assert_error(r, 404, "route_not_found")


# Ids that are not ids: too short, not hex, too long, upper case.
MALFORMED_IDS = ["zz", "g" * 24, "a" * 25, "A" * 24]
ID_ROUTES = [r for r in http_routes() if r.auth and set(params_of(r.pattern)) - {"n", "token"}]


@pytest.mark.parametrize("route", ID_ROUTES, ids=[rid(r) for r in ID_ROUTES])
def test_malformed_ids(stack, owner, route):
    """A malformed id is answered exactly as a well-formed id that names
    nothing (no second error path to tell them apart); for GET, HEAD and
    DELETE that is 404 <thing>_not_found. The valid body goes along, so that
    the id is what the handler stumbles on."""
    kw = request_kw(route.method, route.pattern)
    if rkey(route) in BODY:
        kw = {"json": BODY[rkey(route)]["valid"](), "headers": kw["headers"]}
        kw["headers"].pop("Content-Type", None)

    def answer(value):
        path = route.pattern
        for name in params_of(route.pattern):
            path = path.replace("{" + name + "}", PARAMS[name]() if name == "n" else value(), 1)
        r = stack.req(route.method, path, token=owner.access, **kw)
        if route.method == "HEAD":
            return (r.status_code, None)
        return (r.status_code, assert_error(r, r.status_code)["code"])

    unknown = answer(fake_id)
    assert 400 <= unknown[0] < 500, unknown
    if route.method in ("GET", "HEAD", "DELETE"):
        assert unknown[0] == 404 and (unknown[1] or "_not_found").endswith("_not_found"), unknown
    f = Failures()
    for bad in MALFORMED_IDS:
        def one(bad=bad):
            got = answer(lambda: bad)
            assert got == unknown, f"{got}, an unknown id gets {unknown}"
        f.check(bad, one)
    f.done()


def test_malformed_query(stack, owner):
    for q in ("q=%zz", "q=%", "q=%4", "q=a%00b", "%zz=1", "&".join(f"k{i}=1" for i in range(40))):
        r = stack.raw("GET", f"{API}/users/search?{q}", token=owner.access)
        if "%00" in q and r.status_code == 400 and "X-Request-Id" not in r.headers:
            continue  # the web server refused it first
        assert_error(r, 400, "invalid_query")


# -- JSON bodies ------------------------------------------------------------------------------
BODY_ROUTES = [r for r in ROUTES if rkey(r) in BODY]


def send(stack, owner, route, **kw):
    return stack.req(route.method, concrete(route.pattern, owner),
                     token=owner.access if route.auth else None, **kw)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[rid(r) for r in BODY_ROUTES])
def test_json_body(stack, owner, route):
    """Every defect of a JSON body refused with its code; the valid body
    reaches the handler (so the 400s are about the defect)."""
    spec = BODY[rkey(route)]
    f = Failures()

    def sent(raw, status, code):
        data = raw if isinstance(raw, bytes) else raw.encode()
        assert_error(send(stack, owner, route, data=data, headers=JSON_HDR), status, code)

    def posted(b, status, code):
        r = send(stack, owner, route, json=b)
        if code is None and status < 400:
            assert r.status_code == status, r.text
        else:
            assert_error(r, status, code)

    for raw in MALFORMED:
        f.check(f"malformed {raw!r}", sent, raw, 400, "invalid_json")
    for raw in NOT_OBJECT:
        f.check(f"not an object {raw!r}", sent, raw, 400, "not_an_object")
    for field, t in spec["fields"].items():
        for v in BAD_VALUES[t]:
            f.check(f"{field}={json.dumps(v)}", posted, {**spec["valid"](), field: v}, 400,
                    "wrong_type")
        if t == STR:
            # A NUL would cut the C string short ("secret\0anything" is "secret").
            f.check(f"{field} with NUL", posted, {**spec["valid"](), field: "abcdefgh\0ijklmnop"},
                    400, "invalid_value")
    for field in spec["required"]:
        b = spec["valid"]()
        del b[field]
        f.check(f"{field} absent", posted, b, 400, "missing_field")
        f.check(f"{field} null", posted, {**spec["valid"](), field: None}, 400,
                spec.get("null_codes", "missing_field"))
    if spec["required"]:
        f.check("{}", posted, {}, 400, "missing_field")
    else:
        f.check("{}", posted, {}, *spec["answer"])
    f.check("valid body", posted, spec["valid"](), *spec["answer"])
    f.done()


FIRST_BODY_ROUTE = {r.app: r for r in reversed(BODY_ROUTES)}


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[rid(r) for r in BODY_ROUTES])
def test_oversized_body(stack, owner, route):
    f = Failures()
    sizes = OVERSIZED + ([OVER_SERVER_CAP] if FIRST_BODY_ROUTE[route.app] == route else [])
    for size in sizes:
        head = json.dumps(BODY[rkey(route)]["valid"]())[:-1] + ', "pad": "'
        data = (head + "x" * (size - len(head) - 2) + '"}').encode()
        assert len(data) == size

        def one(data=data, size=size):
            r = send(stack, owner, route, data=data, headers=JSON_HDR)
            if size > 1024 * 1024:
                assert r.status_code == 413, r.status_code
            else:
                assert_error(r, 413, "payload_too_large")
        f.check(f"{size} bytes", one)
    f.done()


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


# -- a connection after an early error ----------------------------------------------------------
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
