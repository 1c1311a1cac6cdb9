"""Shared helpers for the Hypersend integration tests: an HTTP client bound to
one stack, user registration with unique names, error assertions, the route
tables of the built apps, and JWT forging with the Python standard library.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("HS_BIN_DIR") or str(ROOT / "build" / "bin"))
API = "/api/v1"
PASSWORD = "correct horse battery staple"
HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TIMEOUT = 30
# The store every stack runs on: sqlite, or mongo (HS_TEST_STORE, `make
# integration-mongo`). A test that reads or writes the SQLite file itself
# (to forge a state no route can make, or to count rows) is sqlite_only.
STORE = os.environ.get("HS_TEST_STORE", "sqlite")
sqlite_only = pytest.mark.skipif(STORE != "sqlite",
                                 reason="reads or writes the SQLite file itself")


def uniq(prefix="u"):
    """A username nobody else uses: prefix_ and 12 hex digits (3-32 chars)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def fake_id():
    """A well-formed id (24 lowercase hex) that names nothing."""
    return uuid.uuid4().hex[:24]


@dataclass
class User:
    id: str
    username: str
    email: str
    password: str
    access: str
    refresh: str
    session_id: str
    role: str
    raw: dict = field(repr=False, default_factory=dict)


class Client:
    """requests wrapped around one base URL; token= adds a Bearer header."""

    def __init__(self, base):
        self.base = base
        self.http = requests.Session()

    def req(self, method, path, token=None, headers=None, **kw):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        # One connection per request: a keep-alive connection can be dropped
        # after an app answers before reading the request body (see
        # test_02_route_errors.py::test_keepalive_after_early_reply); that test
        # covers it, the others should not fail at random because of it.
        h.setdefault("Connection", "close")
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.http.request(method, self.base + path, headers=h, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def put(self, path, **kw):
        return self.req("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    # -- accounts ---------------------------------------------------------
    def register(self, username=None, email=None, password=PASSWORD, prefix="u", headers=None):
        """Registers a fresh user (201 asserted) and returns it as a User."""
        username = username or uniq(prefix)
        email = email or f"{username.lower()}@example.com"
        r = self.post(f"{API}/auth/register", headers=headers,
                      json={"username": username, "email": email, "password": password})
        assert r.status_code == 201, f"register {username}: {r.status_code} {r.text}"
        b = r.json()
        return User(b["id"], b["username"], b["email"], password, b["access_token"],
                    b["refresh_token"], b["session_id"], b["role"], b)

    def login(self, user, password=None, by="username", headers=None):
        """Logs user in again (200 asserted): returns a User for the new session."""
        password = password or user.password
        ident = user.username if by == "username" else user.email
        r = self.post(f"{API}/auth/login", headers=headers,
                      json={by: ident, "password": password})
        assert r.status_code == 200, f"login {ident}: {r.status_code} {r.text}"
        b = r.json()
        return User(b["id"], b["username"], b["email"], password, b["access_token"],
                    b["refresh_token"], b["session_id"], b["role"], b)

    def raw(self, method, path, token=None, headers=None, body=None):
        """Sends the request line exactly as given (requests re-quotes odd
        percent escapes); returns a Response-like RawResponse."""
        import http.client
        from urllib.parse import urlsplit
        u = urlsplit(self.base)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            if body is not None:
                h.setdefault("Content-Length", str(len(body)))
            for k, v in h.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            resp = conn.getresponse()
            return RawResponse(method, path, resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def me(self, token):
        return self.get(f"{API}/auth/me", token=token)


class RawResponse:
    """Just enough of requests.Response for the assertions here."""

    def __init__(self, method, path, status, headers, content):
        self.status_code = status
        self.headers = requests.structures.CaseInsensitiveDict(headers)
        self.content = content
        self.text = content.decode("utf-8", "replace")
        self.request = type("Req", (), {"method": method, "path_url": path})()

    def json(self):
        return json.loads(self.content)


def assert_error(r, status, code=None):
    """Asserts the status and the error shape; code may be one code or a set.
    Returns the error object."""
    where = f"{r.request.method} {r.request.path_url}"
    assert r.status_code == status, (
        f"{where}: expected {status}, got {r.status_code}: {r.text[:500]}")
    assert r.headers.get("X-Request-Id"), f"{where}: no X-Request-Id"
    assert r.headers.get("Content-Type", "").startswith("application/json"), (
        f"{where}: Content-Type {r.headers.get('Content-Type')}")
    body = r.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"{where}: {body}"
    e = body["error"]
    assert set(e) == {"status", "code", "message", "hint"}, f"{where}: {e}"
    assert e["status"] == status, f"{where}: {e}"
    assert isinstance(e["code"], str) and e["code"], f"{where}: {e}"
    assert isinstance(e["message"], str) and e["message"], f"{where}: {e}"
    assert isinstance(e["hint"], str), f"{where}: {e}"
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        assert e["code"] in codes, f"{where}: expected code {sorted(codes)}, got {e}"
    if status == 401:
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), (
            f"{where}: 401 without WWW-Authenticate: Bearer")
    return e


def assert_ok(r, status=200):
    assert r.status_code == status, (
        f"{r.request.method} {r.request.path_url}: expected {status}, got "
        f"{r.status_code}: {r.text[:500]}")
    return r.json() if r.content else None


# -- route tables -----------------------------------------------------------
@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    auth: bool
    app: str

    def __str__(self):
        return f"{self.method} {self.pattern}"


# hs-* programs that are not apps: they serve no HTTP route (--routes).
NOT_APPS = {"hs-admin"}


def app_binaries():
    """The built apps (and the bridge): every hs-* program but NOT_APPS."""
    return sorted(p for p in BIN_DIR.glob("hs-*")
                  if p.is_file() and os.access(p, os.X_OK) and p.name not in NOT_APPS)


def app_routes(app):
    """(method, pattern, auth) of every route of hs-<app>, from its --routes."""
    out = subprocess.run([str(BIN_DIR / f"hs-{app}"), "--routes"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return [(m, p, kind == "auth") for m, p, kind in (line.split() for line in out.splitlines()
                                                       if line.strip())]


def route_table():
    """Every route of the auth and users apps, from `hs-<app> --routes`."""
    return [Route(m, p, auth, app) for app in ("auth", "users") for m, p, auth in app_routes(app)]


def pattern_matches(pattern, path):
    """The server's rule: a {param} matches one non-empty path segment."""
    rx = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(pattern)) + "$"
    return re.match(rx, path) is not None


# -- JWT ----------------------------------------------------------------------
def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def signing_key(rundir):
    """The server's HMAC key: secret.key's bytes as they are (the ASCII hex
    string, not decoded), trailing whitespace stripped."""
    with open(os.path.join(rundir, "secret.key"), "rb") as f:
        return f.read().rstrip(b"\r\n ")


_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def jwt_encode(claims, key, alg="HS256", header=None):
    hdr = {"alg": alg, "typ": "JWT"}
    hdr.update(header or {})
    signing_input = (b64url(json.dumps(hdr, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if alg.lower() == "none":
        sig = b""
    else:
        sig = hmac.new(key, signing_input.encode(), _DIGESTS[alg]).digest()
    return signing_input + "." + b64url(sig)


def jwt_claims(token):
    """The payload of a token, unverified."""
    return json.loads(b64url_decode(token.split(".")[1]))


def access_claims(sub, sid, ttl=900, **over):
    """Claims as the server issues them; over= replaces some (None drops one)."""
    now = int(time.time())
    c = {"iss": "hypersend", "sub": sub, "sid": sid, "jti": uuid.uuid4().hex[:22],
         "typ": "access", "iat": now, "exp": now + ttl}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def wait_for(pred, timeout=5.0, interval=0.05):
    """Polls pred() until it returns something truthy; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# Kinds of bad Authorization header every authenticated route must refuse with 401.
BAD_TOKENS = ["wrong_key", "alg_none", "expired", "garbage", "basic", "other_issuer", "refresh_typ"]


def forge(kind, key, u):
    """An Authorization header of the given BAD_TOKENS kind for user u (key: the stack's key)."""
    c = access_claims(u.id, u.session_id)
    if kind == "wrong_key":
        return "Bearer " + jwt_encode(c, b"k" * 64)
    if kind == "alg_none":
        return "Bearer " + jwt_encode(c, None, alg="none")
    if kind == "expired":
        now = int(time.time())
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, iat=now - 999,
                                                    exp=now - 5), key)
    if kind == "garbage":
        return "Bearer not.a.jwt"
    if kind == "basic":
        return "Basic dXNlcjpwYXNz"
    if kind == "other_issuer":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, iss="evil"), key)
    if kind == "refresh_typ":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, typ="refresh"), key)
    raise AssertionError(kind)


JSON_HDR = {"Content-Type": "application/json"}
