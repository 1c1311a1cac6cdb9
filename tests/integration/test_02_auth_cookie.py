"""The refresh-token cookie of browser clients (docs/security.md): a login,
registration or refresh with "cookie": true puts the refresh token in an
HttpOnly, SameSite=Strict cookie scoped to /api/v1/auth/refresh (Secure
when the request came over TLS) and never in the body; POST /auth/refresh
with no token in the body takes it from the cookie, only from a JSON
request; logout clears it. JSON clients that do not opt in keep the
body-based flow, unchanged.

Requests here go through plain `requests` calls (no session), so no cookie
jar carries a cookie into other tests; the cookie is sent by hand.
"""
import glob
import os
import socket
import struct
from http.cookies import SimpleCookie

import requests

from hsapi import API, PASSWORD, assert_error, assert_ok, uniq

AUTH = f"{API}/auth"
REFRESH_PATH = f"{AUTH}/refresh"
COOKIE = "hs_refresh"
REFRESH_TTL = 1728000  # the default refresh_token_ttl


def post(stack, path, json=None, cookie=None, headers=None, data=None):
    h = {"Connection": "close", **(headers or {})}
    if cookie is not None:
        h["Cookie"] = f"{COOKIE}={cookie}"
    return requests.post(stack.base + path, json=json, data=data, headers=h, timeout=30,
                         allow_redirects=False)


def set_cookie(r):
    """(value, {attribute: value}) of the response's one Set-Cookie, or None."""
    raw = r.raw.headers.getlist("Set-Cookie") if hasattr(r.raw, "headers") else []
    assert len(raw) <= 1, raw
    if not raw:
        return None
    parts = [p.strip() for p in raw[0].split(";")]
    name, _, value = parts[0].partition("=")
    assert name == COOKIE, raw
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v
    return value, attrs


def login_cookie(stack, user):
    r = post(stack, f"{AUTH}/login", json={"username": user.username, "password": PASSWORD,
                                           "cookie": True})
    b = assert_ok(r)
    c = set_cookie(r)
    assert c, r.headers
    return b, c[0], c[1]


def assert_cookie_flags(attrs, ttl=REFRESH_TTL, secure=False):
    assert attrs.get("path") == REFRESH_PATH, attrs
    assert attrs.get("max-age") == str(ttl), attrs
    assert "httponly" in attrs and attrs.get("samesite") == "Strict", attrs
    assert ("secure" in attrs) == secure, attrs
    assert "domain" not in attrs, attrs  # host-only


def test_login_with_cookie_keeps_the_refresh_token_out_of_the_body(stack):
    u = stack.register(prefix="ck")
    b, value, attrs = login_cookie(stack, u)
    assert "refresh_token" not in b and value not in str(b)
    assert b["access_token"] and b["session_id"] and b["id"] == u.id
    assert len(value) >= 40
    assert_cookie_flags(attrs)
    assert_ok(stack.me(b["access_token"]))


def test_register_with_cookie(stack):
    name = uniq("ckr")
    r = post(stack, f"{AUTH}/register", json={"username": name, "email": f"{name}@example.com",
                                              "password": PASSWORD, "cookie": True})
    b = assert_ok(r, 201)
    value, attrs = set_cookie(r)
    assert "refresh_token" not in b and value
    assert_cookie_flags(attrs)


def test_refresh_by_cookie_rotates_it(stack):
    u = stack.register(prefix="ck")
    _, first, _ = login_cookie(stack, u)
    r = post(stack, REFRESH_PATH, json={}, cookie=first)
    b = assert_ok(r)
    second, attrs = set_cookie(r)
    assert second != first and "refresh_token" not in b
    assert_cookie_flags(attrs)
    assert_ok(stack.me(b["access_token"]))
    # the next one, by the new cookie
    r = post(stack, REFRESH_PATH, json={}, cookie=second)
    third, _ = set_cookie(r)
    access = assert_ok(r)["access_token"]
    # the spent cookie again: reuse detected, the session revoked, the cookie cleared
    r = post(stack, REFRESH_PATH, json={}, cookie=first)
    assert_error(r, 401, "refresh_token_reused")
    value, attrs = set_cookie(r)
    assert value == "" and attrs.get("max-age") == "0" and attrs.get("path") == REFRESH_PATH
    assert_error(post(stack, REFRESH_PATH, json={}, cookie=third), 401)
    assert_error(stack.me(access), 401, "token_revoked")


def test_cookie_refresh_needs_a_json_request(stack):
    """A cross-site form can post text/plain or form data, never JSON: such a
    request does not spend the cookie."""
    u = stack.register(prefix="ck")
    _, value, _ = login_cookie(stack, u)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                  "application/jsonx"):
        r = post(stack, REFRESH_PATH, data=b"{}", cookie=value, headers={"Content-Type": ctype})
        assert_error(r, 415, "json_required")
        assert set_cookie(r) is None
    r = post(stack, REFRESH_PATH, data=b"{}", cookie=value)  # no Content-Type at all
    assert_error(r, 415, "json_required")
    # still unspent
    r = post(stack, REFRESH_PATH, data=b"{}", cookie=value,
             headers={"Content-Type": "application/json; charset=utf-8"})
    assert_ok(r)


def test_opt_in_without_cookie_is_401_and_bad_values(stack):
    r = post(stack, REFRESH_PATH, json={"cookie": True})
    assert_error(r, 401, "invalid_refresh_token")
    assert set_cookie(r)[1].get("max-age") == "0"
    for bad in ("x" * 129, "not a token", "a;b"):
        r = post(stack, REFRESH_PATH, json={"cookie": True},
                 headers={"Cookie": f"{COOKIE}={bad}"})
        assert_error(r, 401, "invalid_refresh_token")
    r = post(stack, REFRESH_PATH, json={"cookie": True}, cookie="A" * 43)
    assert_error(r, 401, "invalid_refresh_token")
    for path in ("login", "refresh"):
        r = post(stack, f"{AUTH}/{path}", json={"username": "x", "password": "y",
                                                "refresh_token": "z", "cookie": "yes"})
        assert_error(r, 400, "wrong_type")


def test_json_clients_keep_the_body_flow(stack):
    u = stack.register(prefix="ck")
    assert u.refresh  # registration without the opt-in: in the body
    r = post(stack, f"{AUTH}/login", json={"username": u.username, "password": PASSWORD})
    b = assert_ok(r)
    assert b["refresh_token"] and set_cookie(r) is None
    r = post(stack, REFRESH_PATH, json={"refresh_token": b["refresh_token"]})
    b2 = assert_ok(r)
    assert b2["refresh_token"] != b["refresh_token"] and set_cookie(r) is None
    assert_error(post(stack, REFRESH_PATH, json={}), 400, "missing_field")


def test_body_token_wins_over_the_cookie(stack):
    """A JSON client that happens to hold a cookie refreshes what it sent."""
    u = stack.register(prefix="ck")
    _, value, _ = login_cookie(stack, u)
    r = post(stack, REFRESH_PATH, json={"refresh_token": u.refresh}, cookie=value)
    assert assert_ok(r)["refresh_token"] and set_cookie(r) is None
    assert_ok(post(stack, REFRESH_PATH, json={}, cookie=value))  # the cookie is unspent


def test_logout_clears_the_cookie(stack):
    u = stack.register(prefix="ck")
    b, value, _ = login_cookie(stack, u)
    r = post(stack, f"{AUTH}/logout", headers={"Authorization": f"Bearer {b['access_token']}"})
    assert r.status_code == 204
    cleared, attrs = set_cookie(r)
    assert cleared == "" and attrs.get("max-age") == "0" and attrs.get("path") == REFRESH_PATH
    assert_error(post(stack, REFRESH_PATH, json={}, cookie=value), 401)


def test_cookie_is_not_sent_to_other_paths(stack):
    """What a browser does with the Set-Cookie: sent to the refresh path only."""
    u = stack.register(prefix="ck")
    r = post(stack, f"{AUTH}/login", json={"username": u.username, "password": PASSWORD,
                                           "cookie": True})
    jar = SimpleCookie()
    jar.load(r.headers["Set-Cookie"])
    assert jar[COOKIE]["path"] == REFRESH_PATH and jar[COOKIE]["httponly"]
    s = requests.Session()
    s.cookies.set(COOKIE, jar[COOKIE].value, path=jar[COOKIE]["path"], domain="127.0.0.1")
    sent = {}
    for path in (f"{AUTH}/me", f"{AUTH}/logout", f"{API}/users/search", REFRESH_PATH):
        req = s.prepare_request(requests.Request("POST", stack.base + path, json={}))
        sent[path] = "Cookie" in req.headers
    assert sent == {f"{AUTH}/me": False, f"{AUTH}/logout": False, f"{API}/users/search": False,
                    REFRESH_PATH: True}


# -- Secure over TLS: the auth app spoken to directly over FastCGI, as a TLS
# front would (HTTPS=on), since the test stack serves plain HTTP. ----------------
def _fcgi_record(rtype, content, req_id=1):
    return struct.pack("!BBHHBx", 1, rtype, req_id, len(content), 0) + content


def _fcgi_pair(name, value):
    out = b""
    for n in (len(name), len(value)):
        out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return out + name + value


def fcgi_post(sock_path, path, body, extra):
    """POSTs body (JSON) to the app on sock_path; (status, headers, body)."""
    params = {"REQUEST_METHOD": "POST", "REQUEST_URI": path, "SCRIPT_NAME": path,
              "QUERY_STRING": "", "CONTENT_TYPE": "application/json",
              "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
              "SERVER_PROTOCOL": "HTTP/1.1", **extra}
    pairs = b"".join(_fcgi_pair(k.encode(), v.encode()) for k, v in params.items())
    msg = (_fcgi_record(1, struct.pack("!HB5x", 1, 0)) + _fcgi_record(4, pairs) +
           _fcgi_record(4, b"") + _fcgi_record(5, body) + _fcgi_record(5, b""))
    out = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(sock_path)
        s.sendall(msg)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
            if rtype == 6:
                out += buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            if rtype == 3:
                break
    head, _, payload = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = [tuple(x.split(": ", 1)) for x in lines if ": " in x]
    status = int(dict(headers)["Status"].split()[0])
    return status, headers, payload


def test_cookie_is_secure_over_tls(stack):
    u = stack.register(prefix="ck")
    socks = sorted(glob.glob(os.path.join(stack.rundir, "sockets", "auth.sock*")))
    assert socks, os.listdir(os.path.join(stack.rundir, "sockets"))
    body = (b'{"username":"%s","password":"%s","cookie":true}'
            % (u.username.encode(), PASSWORD.encode()))
    for https, secure in (("on", True), (None, False)):
        extra = {"HTTPS": https} if https else {}
        status, headers, _ = fcgi_post(socks[0], f"{AUTH}/login", body, extra)
        assert status == 200
        cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        assert len(cookies) == 1, headers
        attrs = [a.strip().lower() for a in cookies[0].split(";")]
        assert ("secure" in attrs) == secure, cookies
        assert "httponly" in attrs and "samesite=strict" in attrs
