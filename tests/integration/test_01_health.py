"""The stack as a whole: /health, the Redis-down fallback, request ids,
security headers on static pages, and CORS."""
import os
import re
import signal
import uuid

from hsapi import API, assert_error, assert_ok, wait_for

CORS_ORIGIN = "https://app.example"


def test_health_ok(stack):
    r = stack.get("/health")
    body = assert_ok(r)
    assert body["status"] == "ok"
    assert body["store"] == "ok"
    assert body["redis"] == "ok"
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("Cache-Control") == "no-store"


def test_health_wrong_method(stack):
    r = stack.post("/health", json={})
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET"


# -- request ids ----------------------------------------------------------------
def test_request_id_generated_and_unique(stack):
    ids = set()
    for path in ("/health", f"{API}/auth/me", f"{API}/users/search?q=a", f"{API}/auth/nope"):
        r = stack.get(path)
        rid = r.headers.get("X-Request-Id")
        assert rid and re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", rid), (path, rid)
        ids.add(rid)
    assert len(ids) == 4


def test_request_id_echoed(stack):
    for rid in (f"it-{uuid.uuid4().hex}", "a", "A.b_c:d-9", "x" * 64):
        r = stack.get("/health", headers={"X-Request-Id": rid})
        assert r.headers.get("X-Request-Id") == rid
        # and on errors, from the other app too
        r = stack.get(f"{API}/users/search?q=a", headers={"X-Request-Id": rid})
        assert r.status_code == 401
        assert r.headers.get("X-Request-Id") == rid


def test_request_id_insane_replaced(stack):
    for bad in ("x" * 65, "y" * 200, "has space", "semi;colon", "quote\"d", "slash/ed", "ünï"):
        r = stack.get("/health", headers={"X-Request-Id": bad.encode("utf-8")})
        rid = r.headers.get("X-Request-Id")
        assert rid and rid != bad, bad
        assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", rid), (bad, rid)


# -- static pages -----------------------------------------------------------------
def test_security_headers_on_static_page(stack):
    r = stack.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("X-Frame-Options") in ("DENY", "SAMEORIGIN")
    assert r.headers.get("Referrer-Policy") in ("no-referrer", "strict-origin-when-cross-origin",
                                                "same-origin", "strict-origin")


def test_security_headers_on_api_responses(stack):
    r = stack.get(f"{API}/auth/me")
    assert r.status_code == 401
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert "Content-Security-Policy" in r.headers


# -- CORS ---------------------------------------------------------------------------
def test_cors_not_configured_denies_preflight(stack):
    r = stack.req("OPTIONS", f"{API}/auth/login",
                  headers={"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert_error(r, 403, "cors_origin_denied")
    assert "Access-Control-Allow-Origin" not in r.headers


def test_options_without_origin_lists_methods(stack):
    r = stack.req("OPTIONS", f"{API}/auth/login")
    assert r.status_code == 204
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert allow == {"POST", "OPTIONS"}


def test_cors(make_stack):
    s = make_stack(HS_CORS_ORIGINS=CORS_ORIGIN)
    pre = {"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}
    r = s.req("OPTIONS", f"{API}/auth/login", headers=pre)
    assert r.status_code == 204, r.text
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    methods = {m.strip() for m in r.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert "POST" in methods
    allowed_headers = r.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "Origin" in r.headers.get("Vary", "")

    # a preflight on the other app, for a path with a parameter
    r = s.req("OPTIONS", f"{API}/users/0123456789abcdef01234567",
              headers=dict(pre, **{"Access-Control-Request-Method": "PUT"}))
    assert r.status_code == 204
    methods = {m.strip() for m in r.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert {"GET", "PUT"} <= methods

    for evil in ("https://evil.example", "https://app.example.evil", "http://app.example",
                 "null"):
        r = s.req("OPTIONS", f"{API}/auth/login", headers=dict(pre, Origin=evil))
        assert_error(r, 403, "cors_origin_denied")
        assert "Access-Control-Allow-Origin" not in r.headers

    u = s.register()
    r = s.get(f"{API}/auth/me", token=u.access, headers={"Origin": CORS_ORIGIN})
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    assert "X-Request-Id" in r.headers.get("Access-Control-Expose-Headers", "")

    r = s.get(f"{API}/auth/me", token=u.access, headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers

    r = s.get(f"{API}/auth/me", token=u.access)
    assert "Access-Control-Allow-Origin" not in r.headers


# -- Redis down ------------------------------------------------------------------------
def test_redis_down(make_stack):
    s = make_stack(HS_REDIS_TIMEOUT_MS="200")
    live = s.register()
    gone = s.register()
    assert s.post(f"{API}/auth/logout", token=gone.access).status_code == 204

    pid = s.redis_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        r = s.get("/health")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["redis"] == "down"
        assert body["store"] == "ok"
        assert body["status"] != "ok"

        # The store answers for revocation while Redis cannot.
        r = s.me(live.access)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == live.id
        r = s.get(f"{API}/users/{live.id}", token=live.access)
        assert r.status_code == 200, r.text
        assert_error(s.me(gone.access), 401, "token_revoked")
    finally:
        os.kill(pid, signal.SIGCONT)

    assert wait_for(lambda: s.get("/health").status_code == 200, timeout=10), "no recovery"
    assert s.me(live.access).status_code == 200
    assert_error(s.me(gone.access), 401, "token_revoked")
