"""/api/v1/auth: register, login, refresh (rotation and reuse detection),
logout, me, change-password and sessions."""
import asyncio
import os
import sqlite3
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import API, HEX24, ISO_TIME, PASSWORD, assert_error, assert_ok, jwt_claims, sqlite_only, uniq
from wsclient import WS, open_refused

AUTH = f"{API}/auth"


def register_raw(stack, username, email=None, password=PASSWORD):
    email = email if email is not None else f"{uniq('m')}@example.com"
    return stack.post(f"{AUTH}/register",
                      json={"username": username, "email": email, "password": password})


# -- register ---------------------------------------------------------------------
def test_register_response(stack):
    name = uniq("Reg").replace("reg", "Reg")
    email = f"{name}@Example.COM"
    r = stack.post(f"{AUTH}/register",
                   json={"username": name, "email": email, "password": PASSWORD})
    b = assert_ok(r, 201)
    assert r.headers["Content-Type"].startswith("application/json")
    assert HEX24.match(b["id"])
    assert b["username"] == name.lower()
    assert b["email"] == email.lower()
    assert b["role"] == "user"
    assert b["token_type"] == "bearer"
    assert isinstance(b["expires_in"], int) and b["expires_in"] > 0
    assert HEX24.match(b["session_id"])
    assert isinstance(b["refresh_token"], str) and len(b["refresh_token"]) >= 32
    assert b["refresh_token"] != b["access_token"]
    assert "password" not in b and "password_hash" not in b
    assert PASSWORD not in r.text and "$argon2" not in r.text

    c = jwt_claims(b["access_token"])
    assert c["iss"] == "hypersend" and c["typ"] == "access"
    assert c["sub"] == b["id"] and c["sid"] == b["session_id"]
    assert c["exp"] - c["iat"] == b["expires_in"]

    me = assert_ok(stack.me(b["access_token"]))
    assert me["id"] == b["id"] and me["username"] == name.lower()


def test_admin_is_made_on_purpose(stack, user_a):
    assert stack.admin.role == "admin"
    assert user_a.role == "user"
    assert assert_ok(stack.me(stack.admin.access))["role"] == "admin"
    assert assert_ok(stack.me(user_a.access))["role"] == "user"


def test_registering_first_makes_nobody_admin(make_stack):
    """A fresh deploy cannot be raced: the first account to register is an
    ordinary user; `hs-auth create-admin` makes admins."""
    s = make_stack()
    first, second = s.register(), s.register()
    assert (first.role, second.role) == ("user", "user")
    assert s.me(first.access).json()["role"] == "user"
    assert_error(s.post(f"{API}/users/{second.id}/disable", token=first.access), 403,
                 "admin_required")
    # the operator promotes an existing account (the username alone)...
    r = s.run_command("auth", "create-admin", stdin=f"{first.username}\n")
    assert r.returncode == 0 and r.stdout.startswith(f"promoted admin {first.username}"), r
    assert s.me(first.access).json()["role"] == "admin"
    assert assert_ok(s.post(f"{API}/users/{second.id}/disable", token=first.access))["disabled"]
    # ...or creates one, with the registration rules
    r = s.run_command("auth", "create-admin", stdin="newadmin\nnewadmin@example.com\nshort\n")
    assert r.returncode == 1 and "password" in r.stderr.lower(), r
    r = s.run_command("auth", "create-admin", stdin="nobody_here\n")
    assert r.returncode == 1 and "email" in r.stderr, r
    admin = s.create_admin()
    assert admin.role == "admin" and s.me(admin.access).json()["role"] == "admin"
    assert s.register().role == "user"


@pytest.mark.parametrize("username", [
    "ab", "x" * 33, "has space", "dash-ed", "at@sign", "ünïcode", "tab\tname", "slash/x",
    "semi;colon", "emoji\U0001F600x", "new\nline", "quote'x",
])
def test_register_invalid_username(stack, username):
    assert_error(register_raw(stack, username), 400, "invalid_username")


@pytest.mark.parametrize("username", ["", "y" * 65, "z" * 300])
def test_register_username_empty_or_huge(stack, username):
    assert_error(register_raw(stack, username), 400, {"invalid_username", "invalid_value"})


@pytest.mark.parametrize("email", [
    "plain", "a@b", "@example.com", "a@@example.com", "a@b@example.com", "a b@example.com",
    "a@example.", "a@.com", "a@example .com", "a\t@example.com",
])
def test_register_invalid_email(stack, email):
    assert_error(register_raw(stack, uniq("e"), email=email), 400, "invalid_email")


@pytest.mark.parametrize("password", [
    "short1!", "1234567", "password123", "PASSWORD123", "Password1", "qwertyuiop",
    "aaaaaaaaaaaaaaaa", "hypersend", "",
])
def test_register_weak_password(stack, password):
    r = register_raw(stack, uniq("w"), password=password)
    if password == "":
        assert_error(r, 400, {"weak_password", "invalid_value"})
    else:
        assert_error(r, 400, "weak_password")


def test_register_password_containing_username(stack):
    name = uniq("pw")
    assert_error(register_raw(stack, name, password=f"my {name.upper()} secret"), 400,
                 "weak_password")


def test_register_password_too_long(stack):
    assert_error(register_raw(stack, uniq("l"), password="Long passphrase " * 20), 400,
                 {"invalid_value", "weak_password"})


def test_register_duplicates(stack):
    u = stack.register()
    # same username in another case, new email
    r = register_raw(stack, u.username.upper(), email=f"{uniq('d')}@example.com")
    assert_error(r, 409, "username_taken")
    # new username, same email in another case
    r = register_raw(stack, uniq("d"), email=u.email.upper())
    assert_error(r, 409, "email_taken")
    # the original account is intact
    assert stack.login(u).id == u.id


# -- login ----------------------------------------------------------------------------
def test_login_by_username_and_email(stack, user_a):
    for by, ident in (("username", user_a.username), ("email", user_a.email),
                      ("username", user_a.username.upper()), ("email", user_a.email.upper())):
        r = stack.post(f"{AUTH}/login", json={by: ident, "password": PASSWORD})
        b = assert_ok(r)
        assert b["id"] == user_a.id and b["username"] == user_a.username
        assert b["email"] == user_a.email
        assert b["token_type"] == "bearer" and b["expires_in"] > 0
        assert b["session_id"] != user_a.session_id
        assert assert_ok(stack.me(b["access_token"]))["id"] == user_a.id
        # do not pile up sessions on the shared user
        assert stack.post(f"{AUTH}/logout", token=b["access_token"]).status_code == 204


def test_login_failures_look_the_same(stack, user_a):
    wrong = stack.post(f"{AUTH}/login",
                       json={"username": user_a.username, "password": "not the password 1"})
    unknown = stack.post(f"{AUTH}/login",
                         json={"username": uniq("nobody"), "password": "not the password 1"})
    unknown_email = stack.post(f"{AUTH}/login",
                               json={"email": f"{uniq('nobody')}@example.com",
                                     "password": PASSWORD})
    for r in (wrong, unknown, unknown_email):
        assert_error(r, 401, "invalid_credentials")
    assert wrong.json() == unknown.json() == unknown_email.json()
    skip = {"date", "x-request-id"}
    assert ({k.lower() for k in wrong.headers} - skip) == ({k.lower() for k in unknown.headers} - skip)
    assert user_a.username not in wrong.text


def test_login_needs_an_identifier(stack):
    assert_error(stack.post(f"{AUTH}/login", json={"password": PASSWORD}), 400, "missing_field")
    assert_error(stack.post(f"{AUTH}/login", json={"username": uniq()}), 400, "missing_field")


# -- me ------------------------------------------------------------------------------------
def test_me(stack, user_a):
    r = stack.me(user_a.access)
    b = assert_ok(r)
    assert b["id"] == user_a.id
    assert b["username"] == user_a.username
    assert b["email"] == user_a.email
    assert b["role"] == "user"
    assert b["disabled"] is False
    assert isinstance(b["settings"], dict)
    for k in ("display_name", "bio", "avatar_file_id", "followers_count", "following_count",
              "is_following"):
        assert k in b, k
    assert ISO_TIME.match(b["created_at"])
    assert "password_hash" not in b and "$argon2" not in r.text


# -- refresh ---------------------------------------------------------------------------------
def test_refresh_rotates(stack):
    u = stack.register()
    r = stack.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh})
    b = assert_ok(r)
    assert b["token_type"] == "bearer" and b["expires_in"] > 0
    assert b["refresh_token"] != u.refresh
    assert b["access_token"] != u.access
    assert b["session_id"] == u.session_id
    c = jwt_claims(b["access_token"])
    assert c["sub"] == u.id and c["sid"] == u.session_id
    assert assert_ok(stack.me(b["access_token"]))["id"] == u.id
    # and again with the new one
    b2 = assert_ok(stack.post(f"{AUTH}/refresh", json={"refresh_token": b["refresh_token"]}))
    assert b2["refresh_token"] not in (b["refresh_token"], u.refresh)
    assert stack.me(b2["access_token"]).status_code == 200


def test_refresh_reuse_revokes_session(stack):
    u = stack.register()
    other = stack.login(u)  # another session of the same user: unaffected
    b1 = assert_ok(stack.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh}))
    b2 = assert_ok(stack.post(f"{AUTH}/refresh", json={"refresh_token": b1["refresh_token"]}))
    assert stack.me(b2["access_token"]).status_code == 200

    # the first, spent refresh token comes back: a leak
    assert_error(stack.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh}), 401,
                 "refresh_token_reused")
    # the session's current access token dies at once, and so do the older ones
    assert_error(stack.me(b2["access_token"]), 401, "token_revoked")
    assert_error(stack.me(b1["access_token"]), 401, "token_revoked")
    assert_error(stack.me(u.access), 401, "token_revoked")
    # the newest refresh token of that session is dead too
    r = stack.post(f"{AUTH}/refresh", json={"refresh_token": b2["refresh_token"]})
    assert_error(r, 401)
    # the other session lives on
    assert stack.me(other.access).status_code == 200
    assert stack.post(f"{AUTH}/refresh", json={"refresh_token": other.refresh}).status_code == 200


def test_refresh_race(stack):
    """The same refresh token presented eight times at once: exactly one
    exchange succeeds."""
    u = stack.register()
    with ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda _: stack.post(f"{AUTH}/refresh",
                                              json={"refresh_token": u.refresh}), range(8)))
    ok = [r for r in rs if r.status_code == 200]
    assert len(ok) == 1, [r.status_code for r in rs]
    for r in rs:
        if r.status_code != 200:
            assert_error(r, 401, {"refresh_token_reused", "session_revoked"})


def test_register_race(stack):
    name = uniq("race")
    with ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda i: register_raw(stack, name, email=f"{name}{i}@example.com"),
                         range(8)))
    assert sorted(r.status_code for r in rs) == [201] + [409] * 7
    for r in rs:
        if r.status_code == 409:
            assert_error(r, 409, "username_taken")


def test_refresh_invalid(stack):
    for tok in ("nope", uuid.uuid4().hex + uuid.uuid4().hex[:11], "x" * 128):
        assert_error(stack.post(f"{AUTH}/refresh", json={"refresh_token": tok}), 401,
                     "invalid_refresh_token")
    assert_error(stack.post(f"{AUTH}/refresh", json={"refresh_token": "x" * 129}), 400,
                 "invalid_value")


def test_access_token_is_not_a_refresh_token(stack, user_a):
    r = stack.post(f"{AUTH}/refresh", json={"refresh_token": user_a.access})
    assert_error(r, r.status_code if r.status_code in (400, 401) else 401)
    assert "access_token" not in r.text
    assert_error(stack.me(user_a.refresh), 401, "invalid_token")


# -- logout -------------------------------------------------------------------------------------
def test_logout(stack):
    u = stack.register()
    other = stack.login(u)
    r = stack.post(f"{AUTH}/logout", token=u.access)
    assert r.status_code == 204 and r.content == b""
    assert r.headers.get("X-Request-Id")
    assert_error(stack.me(u.access), 401, "token_revoked")
    assert_error(stack.post(f"{AUTH}/logout", token=u.access), 401, "token_revoked")
    assert_error(stack.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh}), 401)
    # only that session ended
    assert stack.me(other.access).status_code == 200


# -- change-password ---------------------------------------------------------------------------
def test_change_password(stack):
    u = stack.register()
    s2, s3 = stack.login(u), stack.login(u, by="email")
    new_pw = "a brand new passphrase 42"
    cp = f"{AUTH}/change-password"

    r = stack.put(cp, token=u.access, json={"old_password": "wrong old password",
                                            "new_password": new_pw})
    assert_error(r, 403, "wrong_password")
    r = stack.put(cp, token=u.access, json={"old_password": PASSWORD, "new_password": "short"})
    assert_error(r, 400, "weak_password")
    r = stack.put(cp, token=u.access, json={"old_password": PASSWORD,
                                            "new_password": "password123"})
    assert_error(r, 400, "weak_password")
    r = stack.put(cp, token=u.access, json={"old_password": PASSWORD,
                                            "new_password": f"xx{u.username}yy"})
    assert_error(r, 400, "weak_password")
    # none of the refusals changed anything
    for s in (u, s2, s3):
        assert stack.me(s.access).status_code == 200

    r = stack.put(cp, token=u.access, json={"old_password": PASSWORD, "new_password": new_pw})
    b = assert_ok(r)
    assert b["revoked_sessions"] == 2
    assert stack.me(u.access).status_code == 200
    for s in (s2, s3):
        assert_error(stack.me(s.access), 401, "token_revoked")
        assert_error(stack.post(f"{AUTH}/refresh", json={"refresh_token": s.refresh}), 401)
    # the current session's refresh token still works
    assert stack.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh}).status_code == 200

    r = stack.post(f"{AUTH}/login", json={"username": u.username, "password": PASSWORD})
    assert_error(r, 401, "invalid_credentials")
    assert stack.login(u, password=new_pw).id == u.id
    assert stack.login(u, password=new_pw, by="email").id == u.id


# -- sessions -----------------------------------------------------------------------------------
def test_sessions_list(stack):
    ua1, ua2 = f"it-agent-{uuid.uuid4().hex}", f"it-agent-{uuid.uuid4().hex}"
    u = stack.register(headers={"User-Agent": ua1})
    s2 = stack.login(u, headers={"User-Agent": ua2})
    r = stack.get(f"{AUTH}/sessions", token=u.access)
    items = assert_ok(r)["items"]
    assert {i["id"] for i in items} == {u.session_id, s2.session_id}
    by_id = {i["id"]: i for i in items}
    cur = by_id[u.session_id]
    assert cur["current"] is True and by_id[s2.session_id]["current"] is False
    assert cur["user_agent"] == ua1 and by_id[s2.session_id]["user_agent"] == ua2
    assert cur["ip"] == "127.0.0.1"
    for i in items:
        assert ISO_TIME.match(i["created_at"]) and ISO_TIME.match(i["last_used_at"])
        assert ISO_TIME.match(i["expires_at"])
    # the other user's view marks its own session current
    items = assert_ok(stack.get(f"{AUTH}/sessions", token=s2.access))["items"]
    assert [i["id"] for i in items if i["current"]] == [s2.session_id]


def test_sessions_long_user_agent_is_cut(stack):
    u = stack.register(headers={"User-Agent": "z" * 1000})
    items = assert_ok(stack.get(f"{AUTH}/sessions", token=u.access))["items"]
    assert len(items) == 1 and 0 < len(items[0]["user_agent"]) <= 256


def test_delete_own_session(stack):
    u = stack.register()
    s2 = stack.login(u)
    r = stack.delete(f"{AUTH}/sessions/{s2.session_id}", token=u.access)
    assert r.status_code == 204, r.text
    assert_error(stack.me(s2.access), 401, "token_revoked")
    assert_error(stack.post(f"{AUTH}/refresh", json={"refresh_token": s2.refresh}), 401)
    assert stack.me(u.access).status_code == 200
    ids = [i["id"] for i in stack.get(f"{AUTH}/sessions", token=u.access).json()["items"]]
    assert ids == [u.session_id]
    # again: it is gone
    assert_error(stack.delete(f"{AUTH}/sessions/{s2.session_id}", token=u.access), 404,
                 "session_not_found")
    # the current session, through the same endpoint
    assert stack.delete(f"{AUTH}/sessions/{u.session_id}", token=u.access).status_code == 204
    assert_error(stack.me(u.access), 401, "token_revoked")


def test_delete_other_users_session(stack, user_a):
    victim = stack.login(user_a)
    try:
        attacker = stack.register()
        r = stack.delete(f"{AUTH}/sessions/{victim.session_id}", token=attacker.access)
        assert_error(r, 404, "session_not_found")
        assert stack.me(victim.access).status_code == 200
        ids = [i["id"] for i in stack.get(f"{AUTH}/sessions", token=victim.access).json()["items"]]
        assert victim.session_id in ids
    finally:
        stack.post(f"{AUTH}/logout", token=victim.access)


@pytest.mark.parametrize("sid", ["nope", "0" * 23, "0" * 25, "G" * 24, "ABCDEF0123456789ABCDEF01",
                                 "0123456789abcdef0123456%", "%2e%2e"])
def test_delete_session_malformed_id(stack, user_a, sid):
    assert_error(stack.delete(f"{AUTH}/sessions/{sid}", token=user_a.access), 404)
    assert stack.me(user_a.access).status_code == 200


def test_delete_session_unknown_id(stack, user_a):
    assert_error(stack.delete(f"{AUTH}/sessions/{'a' * 24}", token=user_a.access), 404,
                 "session_not_found")


# -- revocation: the store is the truth, Redis a cache (docs/architecture.md) -------------------
def redis_cli(s, *args):
    return subprocess.run(["redis-cli", "-p", str(s.redis_port), *args], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize("cache", ["auto", "redis"])
def test_revocations_survive_a_redis_restart(make_stack, cache):
    """Logout, a deleted session, a password change and a disabled account
    are stored; a Redis that restarts empty must not bring any of their
    tokens back, over HTTP or WebSocket. With revocation_cache = auto on
    SQLite the store answers every check and Redis holds no revocation; with
    redis the cache is warmed again from the store."""
    s = make_stack(HS_REVOCATION_CACHE=cache)
    admin = s.admin
    u = s.register()
    gone, deleted = s.login(u), s.login(u)
    assert s.post(f"{AUTH}/logout", token=gone.access).status_code == 204
    assert s.delete(f"{AUTH}/sessions/{deleted.session_id}", token=u.access).status_code == 204
    pw = s.register()
    old = s.login(pw)
    r = s.put(f"{AUTH}/change-password", token=pw.access,
              json={"old_password": PASSWORD, "new_password": "a brand new passphrase 42"})
    assert assert_ok(r)["revoked_sessions"] == 1
    victim = s.register()
    assert_ok(s.post(f"{API}/users/{victim.id}/disable", token=admin.access))
    dead = (gone, deleted, old, victim)
    for t in dead:
        assert_error(s.me(t.access), 401, "token_revoked")

    s.kill_redis()
    s.start_redis()
    # empty (the bridges may have written their liveness keys since)
    assert redis_cli(s, "EXISTS", f"hs:deny:sid:{gone.session_id}", "hs:auth:warm") == "0"
    for t in dead:
        assert_error(s.me(t.access), 401, "token_revoked")
    # redis: the cache was warmed from the store, the same answers now come
    # from Redis; auto: Redis was never asked (on SQLite; auto in front of a
    # remote store such as MongoDB is the cache)
    warm = "1" if cache == "redis" or s.store != "sqlite" else "0"
    assert redis_cli(s, "EXISTS", "hs:auth:warm") == warm
    assert redis_cli(s, "EXISTS", f"hs:deny:sid:{gone.session_id}") == warm
    for t in dead:
        assert_error(s.me(t.access), 401, "token_revoked")
    for t in (u, pw, admin):
        assert s.me(t.access).status_code == 200

    async def sockets():
        return [await open_refused(s.ws_url(0), t.access) for t in dead]
    assert asyncio.run(sockets()) == [(4401, "token_revoked")] * len(dead)

    async def alive():
        ws = await WS.connect(s.ws_url(0), u.access)
        await ws.close()
    asyncio.run(alive())


def test_a_cold_cache_is_detected_whoever_asks_first(make_stack):
    """The WebSocket bridge may be the first to see the empty Redis."""
    s = make_stack(HS_REVOCATION_CACHE="redis")
    u = s.register()
    other = s.login(u)
    assert s.post(f"{AUTH}/logout", token=other.access).status_code == 204
    s.kill_redis()
    s.start_redis()
    assert asyncio.run(open_refused(s.ws_url(0), other.access)) == (4401, "token_revoked")
    assert_error(s.me(other.access), 401, "token_revoked")
    assert s.me(u.access).status_code == 200


def add_sessions(s, user_id, n, after_sid):
    """n sessions of user_id written straight into the stack's SQLite file
    (logins would cost n argon2 hashes), used 1 ms after session after_sid,
    so they list between it and any later login."""
    db = sqlite3.connect(os.path.join(s.rundir, "data", "hypersend.db"), timeout=10)
    try:
        (t,) = db.execute("SELECT last_used_at FROM sessions WHERE id = ?", (after_sid,)).fetchone()
        rows = [(os.urandom(12).hex(), user_id, t + 1, t + 86_400_000) for _ in range(n)]
        db.executemany("INSERT INTO sessions (id, user_id, user_agent, ip, created_at,"
                       " last_used_at, expires_at) VALUES (?, ?, 'bulk', '', ?3, ?3, ?4)", rows)
        db.commit()
    finally:
        db.close()


@sqlite_only
def test_password_change_ends_every_other_session_however_many(make_stack):
    """1,002 sessions: the change revokes them all, the oldest included (it
    was past the first 1,000 the session list returns), and its token can
    neither call the API nor open a WebSocket; the list pages past 1,000."""
    s = make_stack()
    u = s.register()
    oldest = s.login(u)
    add_sessions(s, u.id, 999, oldest.session_id)
    newest = s.login(u)
    # 1,002 sessions, listed 100 at a time with a cursor
    seen, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        b = assert_ok(s.get(f"{AUTH}/sessions", token=newest.access, params=params))
        seen += [i["id"] for i in b["items"]]
        cursor = b["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 1002
    assert seen[0] == newest.session_id and seen[-1] == u.session_id
    assert seen.index(oldest.session_id) == 1000  # past the first 1,000
    assert_error(s.get(f"{AUTH}/sessions", token=u.access, params={"cursor": "nope"}), 400,
                 "invalid_cursor")

    r = s.put(f"{AUTH}/change-password", token=newest.access,
              json={"old_password": PASSWORD, "new_password": "a brand new passphrase 42"})
    assert assert_ok(r)["revoked_sessions"] == 1001
    for t in (u, oldest):
        assert_error(s.me(t.access), 401, "token_revoked")
    assert asyncio.run(open_refused(s.ws_url(0), oldest.access)) == (4401, "token_revoked")
    assert s.me(newest.access).status_code == 200
    b = assert_ok(s.get(f"{AUTH}/sessions", token=newest.access))
    assert [i["id"] for i in b["items"]] == [newest.session_id] and b["next_cursor"] is None
    # a session started after the change works, over HTTP and WebSocket
    later = s.login(u, password="a brand new passphrase 42")
    assert s.me(later.access).status_code == 200

    async def alive():
        ws = await WS.connect(s.ws_url(0), later.access)
        await ws.close()
    asyncio.run(alive())


# -- the Redis transport ------------------------------------------------------------------------
def redis_clients(stack):
    out = subprocess.run(["redis-cli", "-p", str(stack.redis_port), "CLIENT", "LIST"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "cmd=client" not in line]


def test_apps_reach_redis_over_its_socket(stack):
    """conf/stack.sh points the apps at Redis's Unix socket (cheaper per
    request than loopback TCP): the revocation check goes over it."""
    u = stack.register()
    assert stack.me(u.access).status_code == 200
    clients = redis_clients(stack)
    assert any("redis.sock" in c for c in clients), clients


def test_redis_over_tcp_still_works(make_stack):
    """redis_host as an address keeps TCP: tokens work and logout revokes."""
    s = make_stack(HS_REDIS_HOST="127.0.0.1")
    u = s.register()
    assert s.me(u.access).status_code == 200
    assert_ok(s.post(f"{AUTH}/logout", token=u.access), 204)
    assert_error(s.me(u.access), 401, "token_revoked")
    clients = redis_clients(s)
    assert clients and not any("redis.sock" in c for c in clients), clients
