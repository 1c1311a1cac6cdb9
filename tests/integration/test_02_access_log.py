"""The apps' access log (<rundir>/logs/access.log): one line per request with
the request id, method, path, status and the authenticated user, and no
secrets in it (nor in the web server's own logs)."""
import re
import time
import uuid

from hsapi import API, PASSWORD, wait_for

FIELD = re.compile(r"(\w+)=(\S*)")


def parse(line):
    return dict(FIELD.findall(line))


def settle(stack):
    """Waits until a marker request is in the log, so lines of earlier tests'
    requests (written just after their responses) are in before counting."""
    rid = f"mark-{uuid.uuid4().hex}"
    stack.get("/health", headers={"X-Request-Id": rid})
    assert wait_for(lambda: f"rid={rid} " in stack.read_log(), timeout=5)
    time.sleep(0.2)


def test_access_log(stack):
    settle(stack)
    before = stack.read_log().count("\n")
    sent = []  # (rid, method, path, status, user)
    secrets = set()

    def call(method, path, expect, user="-", **kw):
        rid = f"it-{uuid.uuid4().hex}"
        h = dict(kw.pop("headers", {}), **{"X-Request-Id": rid})
        r = stack.req(method, path, headers=h, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        assert r.headers.get("X-Request-Id") == rid
        sent.append((rid, method, path.split("?")[0], expect, user))
        return r

    name = f"log_{uuid.uuid4().hex[:10]}"
    new_pw = f"another {uuid.uuid4().hex} passphrase"
    secrets |= {PASSWORD, new_pw}
    b = call("POST", f"{API}/auth/register", 201,
             json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}).json()
    uid = b["id"]
    secrets |= {b["access_token"], b["refresh_token"]}
    b2 = call("POST", f"{API}/auth/login", 200,
              json={"username": name, "password": PASSWORD}).json()
    secrets |= {b2["access_token"], b2["refresh_token"]}
    call("POST", f"{API}/auth/login", 401, json={"username": name, "password": new_pw})
    call("GET", f"{API}/auth/me", 200, user=uid, token=b["access_token"])
    b3 = call("POST", f"{API}/auth/refresh", 200,
              json={"refresh_token": b["refresh_token"]}).json()
    secrets |= {b3["access_token"], b3["refresh_token"]}
    call("PUT", f"{API}/auth/change-password", 200, user=uid, token=b3["access_token"],
         json={"old_password": PASSWORD, "new_password": new_pw})
    call("GET", f"{API}/users/search?q={name}&token={b3['access_token']}", 200, user=uid,
         token=b3["access_token"])
    call("PUT", f"{API}/users/{uid}", 200, user=uid, token=b3["access_token"],
         json={"bio": "hello"})
    call("GET", f"{API}/auth/me", 401)
    call("GET", f"{API}/auth/nope", 404)
    call("GET", "/health", 200)
    call("POST", f"{API}/auth/logout", 204, user=uid, token=b3["access_token"])

    def lines():
        text = stack.read_log()
        got = {}
        for line in text.splitlines():
            f = parse(line)
            if f.get("rid", "").startswith("it-"):
                got.setdefault(f["rid"], []).append(f)
        return got if all(rid in got for rid, *_ in sent) else None

    got = wait_for(lines, timeout=5)
    assert got, "not every request reached the access log"
    for rid, method, path, status, user in sent:
        assert len(got[rid]) == 1, f"{rid}: {len(got[rid])} lines"
        f = got[rid][0]
        assert (f.get("method"), f.get("path"), f.get("status"), f.get("user")) == (
            method, path, str(status), user), f
        assert f.get("ip") == "127.0.0.1"
    after = stack.read_log().count("\n")
    assert after - before == len(sent), "extra or missing lines"

    # lighttpd buffers its access log (written about once a second): wait
    # for a request made after all the others, so that every line is in.
    mark = f"/flush-{uuid.uuid4().hex}.txt"
    stack.get(mark)
    assert wait_for(lambda: mark in stack.read_log("lighttpd-access.log"), timeout=5)
    for log in ("access.log", "lighttpd-access.log", "lighttpd-error.log"):
        text = stack.read_log(log)
        for secret in secrets:
            assert secret not in text, f"{log} contains a secret ({secret[:12]}...)"
        assert "$argon2" not in text


def test_access_log_lines_cannot_be_forged(stack):
    """An insane request id is replaced, not logged; a path cannot add
    fields or lines of its own."""
    r1 = stack.get("/health", headers={"X-Request-Id": "ok status=200 user=admin"})
    rid1 = r1.headers["X-Request-Id"]
    r2 = stack.raw("GET", f"{API}/auth/x%20forged=1%20user=admin%20status=200")
    assert r2.status_code == 404
    rid2 = r2.headers["X-Request-Id"]

    def ours():
        text = stack.read_log()
        found = [ln for ln in text.splitlines()
                 if f"rid={rid1} " in ln or f"rid={rid2} " in ln]
        return found if len(found) == 2 else None

    found = wait_for(ours, timeout=5)
    assert found, "the requests were not logged"
    text = stack.read_log()
    assert "rid=ok " not in text
    for line in found:
        f = parse(line)
        assert "forged" not in f
        assert line.count(" user=") == 1 and line.count(" status=") == 1
        assert f["user"] == "-"
