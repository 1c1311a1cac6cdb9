"""Access tokens under attack, on every authenticated route: forged and
tampered signatures, alg "none", other HMACs with the right key, wrong
issuer or type, expired tokens, and Authorization headers that are not
Bearer tokens. Every forged token carries the claims of a live session, so
a server that skipped a check would answer the request instead of 401.

The signing key is <rundir>/secret.key's text used as-is (the hex string's
bytes, not decoded)."""
import http.client
import json
import time

import pytest

from hsapi import (API, access_claims, assert_error, assert_ok, b64url, b64url_decode,
                   jwt_claims, jwt_encode, route_table)

AUTH_ROUTES = [r for r in route_table() if r.auth]
SAFE_GET_ROUTES = [r for r in AUTH_ROUTES if r.method == "GET"]


@pytest.fixture(scope="module")
def victim(stack):
    """A live session whose ids the forged tokens claim."""
    return stack.register(prefix="sec")


def with_payload(token, **changes):
    """The token with its payload edited and the original signature kept."""
    h, p, s = token.split(".")
    claims = json.loads(b64url_decode(p))
    claims.update(changes)
    return ".".join([h, b64url(json.dumps(claims, separators=(",", ":")).encode()), s])


def forge(kind, key, u, admin_id):
    """The Authorization header value for one kind of bad credential."""
    c = access_claims(u.id, u.session_id)
    if kind == "wrong_key":
        return "Bearer " + jwt_encode(c, b"0" * 64)
    if kind == "empty_key":
        return "Bearer " + jwt_encode(c, b"")
    if kind == "decoded_key":  # the hex decoded to raw bytes is not the key
        return "Bearer " + jwt_encode(c, bytes.fromhex(key.decode()))
    if kind == "tampered_sub":
        return "Bearer " + with_payload(u.access, sub=admin_id)
    if kind == "tampered_exp":
        return "Bearer " + with_payload(u.access, exp=int(time.time()) + 10 * 365 * 86400)
    if kind == "signature_stripped":
        return "Bearer " + u.access.rsplit(".", 1)[0] + "."
    if kind == "alg_none":
        return "Bearer " + jwt_encode(c, None, alg="none")
    if kind == "alg_None":
        return "Bearer " + jwt_encode(c, None, alg="None")
    if kind == "alg_NONE_with_sig":
        t = jwt_encode(c, key)
        h = b64url(json.dumps({"alg": "NONE", "typ": "JWT"}).encode())
        return "Bearer " + ".".join([h] + t.split(".")[1:])
    if kind == "hs512_right_key":
        return "Bearer " + jwt_encode(c, key, alg="HS512")
    if kind == "hs384_right_key":
        return "Bearer " + jwt_encode(c, key, alg="HS384")
    if kind == "rs256_header_hmac":  # key confusion
        t = jwt_encode(c, key)
        h = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        return "Bearer " + ".".join([h] + t.split(".")[1:])
    if kind == "wrong_issuer":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, iss="evil"), key)
    if kind == "no_issuer":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, iss=None), key)
    if kind == "typ_refresh":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, typ="refresh"), key)
    if kind == "no_typ":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, typ=None), key)
    if kind == "no_exp":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, exp=None), key)
    if kind == "exp_string":
        return "Bearer " + jwt_encode(access_claims(u.id, u.session_id, exp="9999999999"), key)
    if kind == "no_sid":
        del c["sid"]
        return "Bearer " + jwt_encode(c, key)
    if kind == "no_sub":
        del c["sub"]
        return "Bearer " + jwt_encode(c, key)
    if kind == "bad_sub":
        return "Bearer " + jwt_encode(access_claims("' OR 1=1 --", u.session_id), key)
    if kind == "expired":
        now = int(time.time())
        return "Bearer " + jwt_encode(
            access_claims(u.id, u.session_id, iat=now - 1000, exp=now - 10), key)
    if kind == "garbage":
        return "Bearer abc.def.ghi"
    if kind == "not_a_jwt":
        return "Bearer " + "x" * 40
    if kind == "huge":
        return "Bearer " + "a" * 5000
    if kind == "empty_bearer":
        return "Bearer "
    if kind == "basic_scheme":
        return "Basic dXNlcjpwYXNzd29yZA=="
    if kind == "token_scheme":
        return "Token " + u.access
    if kind == "no_scheme":
        return u.access
    if kind == "refresh_as_access":
        return "Bearer " + u.refresh
    raise AssertionError(kind)


KINDS = ["wrong_key", "empty_key", "decoded_key", "tampered_sub", "tampered_exp",
         "signature_stripped", "alg_none", "alg_None", "alg_NONE_with_sig", "hs512_right_key",
         "hs384_right_key", "rs256_header_hmac", "wrong_issuer", "no_issuer", "typ_refresh",
         "no_typ", "no_exp", "exp_string", "no_sid", "no_sub", "bad_sub", "expired", "garbage",
         "not_a_jwt", "huge", "empty_bearer", "basic_scheme", "token_scheme", "no_scheme",
         "refresh_as_access"]


def concrete(pattern, u):
    return pattern.replace("{id}", u.id if "/users/" in pattern else u.session_id)


def test_forged_valid_token_is_accepted(stack, key, victim):
    """The control: a token made here the way the server makes them works, so
    the refusals below are about the defect each one carries."""
    tok = jwt_encode(access_claims(victim.id, victim.session_id), key)
    b = assert_ok(stack.me(tok))
    assert b["id"] == victim.id
    assert set(jwt_claims(victim.access)) >= {"iss", "sub", "sid", "jti", "typ", "iat", "exp"}


@pytest.mark.parametrize("route", SAFE_GET_ROUTES, ids=[str(r) for r in SAFE_GET_ROUTES])
def test_forged_valid_token_on_each_get_route(stack, key, victim, route):
    tok = jwt_encode(access_claims(victim.id, victim.session_id), key)
    path = concrete(route.pattern, victim)
    params = {"q": "sec"} if path.endswith("/search") else None
    assert stack.get(path, token=tok, params=params).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", AUTH_ROUTES, ids=[str(r) for r in AUTH_ROUTES])
def test_bad_token(stack, key, victim, route, kind):
    auth = forge(kind, key, victim, stack.admin.id)
    path = concrete(route.pattern, victim)
    kw = {"json": {}} if route.method in ("POST", "PUT", "DELETE") else {}
    r = stack.req(route.method, path, headers={"Authorization": auth}, **kw)
    codes = {"expired": "token_expired",
             # a malformed exp may read as "expired"; either way it is refused
             "exp_string": {"invalid_token", "token_expired"}}
    assert_error(r, 401, codes.get(kind, "invalid_token"))
    assert "access_token" not in r.text


def test_bad_tokens_changed_nothing(stack, victim):
    """After all of the above (logout and DELETE session included) the
    victim's session is alive."""
    assert stack.me(victim.access).status_code == 200
    ids = [s["id"] for s in stack.get(f"{API}/auth/sessions", token=victim.access).json()["items"]]
    assert victim.session_id in ids


def test_forged_token_for_revoked_session(stack, key):
    """Even a correctly signed token dies with its session."""
    u = stack.register()
    assert stack.post(f"{API}/auth/logout", token=u.access).status_code == 204
    tok = jwt_encode(access_claims(u.id, u.session_id), key)
    assert_error(stack.me(tok), 401, "token_revoked")


def test_sid_of_another_user_is_useless(stack, key, victim):
    """A token naming my sub and someone else's session (it would take the
    key to make one) still cannot end that session."""
    me = stack.register()
    tok = jwt_encode(access_claims(me.id, victim.session_id), key)
    r = stack.post(f"{API}/auth/logout", token=tok)
    assert r.status_code in (401, 404), r.text
    r = stack.delete(f"{API}/auth/sessions/{victim.session_id}", token=me.access)
    assert_error(r, 404, "session_not_found")
    assert stack.me(victim.access).status_code == 200
    r = stack.get(f"{API}/auth/sessions", token=tok)
    assert victim.session_id not in r.text


def test_no_secrets_in_user_documents(stack, victim):
    for r in (stack.me(victim.access), stack.get(f"{API}/users/{victim.id}", token=victim.access),
              stack.get(f"{API}/users/search", token=victim.access,
                        params={"q": victim.username})):
        assert r.status_code == 200
        assert "$argon2" not in r.text and victim.password not in r.text
        assert "password" not in r.text


def test_forwarded_for_is_not_trusted(stack, victim):
    """trust_proxy is off by default: a client cannot choose the address
    recorded for its session (or counted by the rate limits)."""
    r = stack.post(f"{API}/auth/login", json={"username": victim.username,
                                              "password": victim.password},
                   headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
    assert r.status_code == 200
    b = r.json()
    try:
        items = stack.get(f"{API}/auth/sessions", token=b["access_token"]).json()["items"]
        mine = [i for i in items if i["id"] == b["session_id"]]
        assert mine and mine[0]["ip"] == "127.0.0.1"
    finally:
        stack.post(f"{API}/auth/logout", token=b["access_token"])


@pytest.mark.parametrize("path", [
    "/../conf/lighttpd.conf", "/%2e%2e/conf/lighttpd.conf", "/..%2fconf/lighttpd.conf",
    "/../conf/stack.sh", "/docs/../../Makefile", "/%2e%2e/%2e%2e/etc/passwd",
])
def test_static_path_traversal(stack, path):
    host, port = stack.base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status in (400, 403, 404), (path, resp.status)
    for leak in (b"fastcgi.server", b"redis-server", b"root:", b"PKGS"):
        assert leak not in body
