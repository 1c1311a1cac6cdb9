"""/api/v1/users: profiles, profile updates, search, follows and the admin
switches (disable/enable)."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import API, HEX24, ISO_TIME, assert_error, assert_ok, fake_id

USERS = f"{API}/users"
AUTH = f"{API}/auth"
MALFORMED_IDS = ["nope", "0" * 23, "0" * 25, "Z" * 24, "ABCDEF0123456789ABCDEF01", "search1"]


def profile(stack, viewer, target_id):
    return stack.get(f"{USERS}/{target_id}", token=viewer.access)


# -- profiles ---------------------------------------------------------------------------
def test_public_profile_has_no_email(stack, user_a, user_b):
    r = profile(stack, user_a, user_b.id)
    b = assert_ok(r)
    assert b["id"] == user_b.id and b["username"] == user_b.username
    assert "email" not in b and user_b.email not in r.text
    assert "settings" not in b
    assert b["role"] == "user" and b["disabled"] is False
    assert ISO_TIME.match(b["created_at"])
    for k in ("display_name", "bio", "avatar_file_id", "followers_count", "following_count",
              "is_following"):
        assert k in b, k
    assert "password_hash" not in b and "$argon2" not in r.text


def test_own_profile_has_email(stack, user_a):
    b = assert_ok(profile(stack, user_a, user_a.id))
    assert b["email"] == user_a.email
    assert isinstance(b["settings"], dict)
    assert ISO_TIME.match(b["updated_at"])


def test_admin_profile_public_view(stack, user_a):
    b = assert_ok(profile(stack, user_a, stack.admin.id))
    assert b["role"] == "admin" and "email" not in b


@pytest.mark.parametrize("uid", MALFORMED_IDS + ["unknown"])
def test_profile_not_found(stack, user_a, uid):
    uid = fake_id() if uid == "unknown" else uid
    assert_error(profile(stack, user_a, uid), 404, "user_not_found")


# -- profile updates -----------------------------------------------------------------------
def png_1x1():
    """A real 1x1 PNG (libmagic sniffs image/png)."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def upload_avatar(stack, user, data=None, content_type="image/png"):
    from test_03_helpers import upload_file
    return upload_file(stack, user, data or png_1x1(), filename="me.png",
                       content_type=content_type)["id"]


def test_update_own_profile(stack):
    u = stack.register()
    avatar = upload_avatar(stack, u)
    settings = {"theme": "dark", "n": 3, "nested": {"list": [1, "two", None, True]},
                "unicode": "żółw"}
    body = {"display_name": "Zoë Example", "bio": "Hello, world", "avatar_file_id": avatar,
            "settings": settings}
    b = assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access, json=body))
    for k, v in body.items():
        assert b[k] == v, k
    assert b["email"] == u.email
    got = assert_ok(profile(stack, u, u.id))
    for k, v in body.items():
        assert got[k] == v, k
    # a partial update keeps the rest; null clears the avatar
    b = assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access,
                            json={"bio": "", "avatar_file_id": None}))
    assert b["bio"] == "" and b["avatar_file_id"] is None
    assert b["display_name"] == "Zoë Example" and b["settings"] == settings
    # the public view shows the new name but not the settings
    other = stack.register()
    pub = assert_ok(profile(stack, other, u.id))
    assert pub["display_name"] == "Zoë Example" and "settings" not in pub


def test_update_lengths_count_characters(stack):
    u = stack.register()
    b = assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access,
                            json={"display_name": "é" * 64, "bio": "ł" * 500}))
    assert b["display_name"] == "é" * 64 and b["bio"] == "ł" * 500


@pytest.mark.parametrize("body", [
    {"display_name": "x" * 65}, {"display_name": "é" * 65}, {"bio": "y" * 501},
    {"avatar_file_id": "abc"}, {"avatar_file_id": "z" * 24}, {"avatar_file_id": "0" * 25},
    {"avatar_file_id": ""},
])
def test_update_invalid_value(stack, user_a, body):
    before = assert_ok(profile(stack, user_a, user_a.id))
    assert_error(stack.put(f"{USERS}/{user_a.id}", token=user_a.access, json=body), 400,
                 "invalid_value")
    assert assert_ok(profile(stack, user_a, user_a.id)) == before


def test_avatar_must_be_an_own_passive_image(stack):
    """Avatars are pictures: an SVG (script inside), an HTML page declared
    as image/png, someone else's file or no file at all is refused."""
    u, other = stack.register(), stack.register()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    refused = [fake_id(), upload_avatar(stack, other),
               upload_avatar(stack, u, svg, "image/svg+xml"),
               upload_avatar(stack, u, b"<!doctype html><html><script>x()</script></html>",
                             "image/png"),
               upload_avatar(stack, u, png_1x1(), "text/html")]
    for fid in refused:
        assert_error(stack.put(f"{USERS}/{u.id}", token=u.access,
                               json={"avatar_file_id": fid}), 400, "invalid_avatar")
    assert assert_ok(profile(stack, u, u.id))["avatar_file_id"] is None
    ok = upload_avatar(stack, u, png_1x1(), "image/png")
    assert assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access,
                               json={"avatar_file_id": ok}))["avatar_file_id"] == ok


@pytest.mark.parametrize("body", [
    {"display_name": 5}, {"display_name": ["a"]}, {"bio": {"a": 1}}, {"bio": True},
    {"avatar_file_id": 123456789012345678901234}, {"settings": "dark"}, {"settings": [1, 2]},
    {"settings": 1},
])
def test_update_wrong_type(stack, user_a, body):
    before = assert_ok(profile(stack, user_a, user_a.id))
    assert_error(stack.put(f"{USERS}/{user_a.id}", token=user_a.access, json=body), 400,
                 "wrong_type")
    assert assert_ok(profile(stack, user_a, user_a.id)) == before


def test_update_settings_size(stack):
    u = stack.register()
    ok = {"blob": "s" * 8000}
    assert assert_ok(stack.put(f"{USERS}/{u.id}", token=u.access,
                               json={"settings": ok}))["settings"] == ok
    big = {"blob": "s" * 9000}
    r = stack.put(f"{USERS}/{u.id}", token=u.access, json={"settings": big, "bio": "changed"})
    assert_error(r, 413)
    got = assert_ok(profile(stack, u, u.id))
    assert got["settings"] == ok and got["bio"] == ""


def test_update_someone_else(stack, user_a, user_b):
    before = assert_ok(profile(stack, user_b, user_b.id))
    r = stack.put(f"{USERS}/{user_b.id}", token=user_a.access,
                  json={"display_name": "pwned", "bio": "pwned", "settings": {"x": 1}})
    assert_error(r, 403, "not_your_profile")
    assert assert_ok(profile(stack, user_b, user_b.id)) == before
    # the admin cannot edit other profiles either
    r = stack.put(f"{USERS}/{user_b.id}", token=stack.admin.access, json={"bio": "admin"})
    assert_error(r, 403, "not_your_profile")
    assert assert_ok(profile(stack, user_b, user_b.id)) == before


@pytest.mark.parametrize("uid", MALFORMED_IDS + ["unknown"])
def test_update_unknown(stack, user_a, uid):
    uid = fake_id() if uid == "unknown" else uid
    assert_error(stack.put(f"{USERS}/{uid}", token=user_a.access, json={"bio": "x"}), 404,
                 "user_not_found")


# -- search ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crowd(stack):
    """Seven users sharing a username prefix, and one whose display name
    (only) starts with it."""
    prefix = "s" + uuid.uuid4().hex[:8]
    users = [stack.register(username=f"{prefix}_{i}") for i in range(7)]
    odd = stack.register()
    assert_ok(stack.put(f"{USERS}/{odd.id}", token=odd.access,
                        json={"display_name": prefix.upper() + " Display"}))
    return {"prefix": prefix, "users": users, "by_name": odd}


def search(stack, token, **params):
    return stack.get(f"{USERS}/search", token=token, params=params)


def walk(stack, token, q, limit):
    seen, pages, cursor = [], 0, None
    while True:
        params = {"q": q, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        b = assert_ok(search(stack, token, **params))
        pages += 1
        assert len(b["items"]) <= limit
        seen += b["items"]
        cursor = b["next_cursor"]
        if cursor is None:
            return seen, pages
        assert b["items"], "a next_cursor after an empty page"
        assert pages < 50


def test_search_prefix(stack, user_a, crowd):
    want = {u.id for u in crowd["users"]} | {crowd["by_name"].id}
    r = search(stack, user_a.access, q=crowd["prefix"])
    b = assert_ok(r)
    assert b["next_cursor"] is None
    assert {i["id"] for i in b["items"]} == want
    for i in b["items"]:
        assert set(i) >= {"id", "username", "display_name", "avatar_file_id"}
        assert "email" not in i
    assert "@example.com" not in r.text
    # a longer prefix narrows it
    b = assert_ok(search(stack, user_a.access, q=crowd["prefix"] + "_3"))
    assert [i["id"] for i in b["items"]] == [crowd["users"][3].id]
    # a prefix, not a substring
    b = assert_ok(search(stack, user_a.access, q=crowd["prefix"][1:]))
    assert not want & {i["id"] for i in b["items"]}


def test_search_case_insensitive(stack, user_a, crowd):
    want = {u.id for u in crowd["users"]} | {crowd["by_name"].id}
    for q in (crowd["prefix"].upper(), crowd["prefix"].capitalize()):
        b = assert_ok(search(stack, user_a.access, q=q))
        assert {i["id"] for i in b["items"]} == want


def test_search_never_matches_email(stack, user_a, crowd):
    u = crowd["users"][0]
    for q in (u.email, u.username + "@", "@example.com"):
        b = assert_ok(search(stack, user_a.access, q=q))
        assert u.id not in {i["id"] for i in b["items"]}


def test_search_wildcards_are_literal(stack, user_a, crowd):
    for q in ("%" + crowd["prefix"][1:], "_" + crowd["prefix"][1:], "%", "_%"):
        b = assert_ok(search(stack, user_a.access, q=q))
        ids = {i["id"] for i in b["items"]}
        assert not ids & {u.id for u in crowd["users"]}, q


def test_search_injection_is_harmless(stack, user_a):
    for q in ("' OR 1=1 --", "\" OR \"\"=\"", "a'; DROP TABLE users; --", "\\"):
        assert assert_ok(search(stack, user_a.access, q=q))["items"] == []
    assert stack.me(user_a.access).status_code == 200


@pytest.mark.parametrize("limit", [1, 2, 3, 8, 100])
def test_search_pagination(stack, user_a, crowd, limit):
    want = {u.id for u in crowd["users"]} | {crowd["by_name"].id}
    seen, pages = walk(stack, user_a.access, crowd["prefix"], limit)
    ids = [i["id"] for i in seen]
    assert len(ids) == len(set(ids)), "duplicates across pages"
    assert set(ids) == want
    assert pages == max(1, -(-len(want) // limit))
    names = [i["username"] for i in seen]
    assert names == sorted(names)


@pytest.mark.parametrize("params", [
    {}, {"q": ""}, {"q": "x" * 65}, {"q": "é" * 65}, {"q": "ab", "limit": "0"},
    {"q": "ab", "limit": "101"}, {"q": "ab", "limit": "-1"}, {"q": "ab", "limit": "ten"},
    {"q": "ab", "limit": ""}, {"q": "ab", "limit": "5x"}, {"q": "ab", "cursor": "c" * 65},
])
def test_search_bad_params(stack, user_a, params):
    assert_error(search(stack, user_a.access, **params), 400)


def test_search_limits_accepted(stack, user_a):
    for q in ("x" * 64, "ö" * 64):
        assert assert_ok(search(stack, user_a.access, q=q, limit="100"))["items"] == []


# -- follows -------------------------------------------------------------------------------------
def follow(stack, who, target_id, on=True):
    return (stack.post if on else stack.delete)(f"{USERS}/{target_id}/follow", token=who.access)


def test_follow_unfollow(stack):
    a, b = stack.register(), stack.register()
    for _ in range(2):  # idempotent
        p = assert_ok(follow(stack, a, b.id))
        assert p["id"] == b.id and p["is_following"] is True
        assert p["followers_count"] == 1 and p["following_count"] == 0
        assert "email" not in p
    pb = assert_ok(profile(stack, a, b.id))
    assert pb["is_following"] is True and pb["followers_count"] == 1
    pa = assert_ok(profile(stack, a, a.id))
    assert pa["following_count"] == 1 and pa["followers_count"] == 0
    # b's view of a: b does not follow a
    assert assert_ok(profile(stack, b, a.id))["is_following"] is False
    assert assert_ok(profile(stack, b, b.id))["followers_count"] == 1

    for _ in range(2):
        p = assert_ok(follow(stack, a, b.id, on=False))
        assert p["is_following"] is False and p["followers_count"] == 0
    assert assert_ok(profile(stack, a, a.id))["following_count"] == 0


def test_follow_race(stack):
    a, b = stack.register(), stack.register()
    with ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda _: follow(stack, a, b.id), range(8)))
    assert [r.status_code for r in rs] == [200] * 8
    assert assert_ok(profile(stack, a, b.id))["followers_count"] == 1
    seen, _ = walk_follows(stack, a.access, b.id, "followers", 10)
    assert seen == [a.id]


def test_follow_self(stack, user_a):
    assert_error(follow(stack, user_a, user_a.id), 400, "cannot_follow_self")
    assert assert_ok(profile(stack, user_a, user_a.id))["following_count"] == 0


@pytest.mark.parametrize("uid", MALFORMED_IDS + ["unknown"])
@pytest.mark.parametrize("on", [True, False])
def test_follow_unknown(stack, user_a, uid, on):
    uid = fake_id() if uid == "unknown" else uid
    assert_error(follow(stack, user_a, uid, on), 404, "user_not_found")


@pytest.fixture(scope="module")
def fan_club(stack, crowd):
    """The crowd's seven users follow one star; the first follows the other six."""
    star = stack.register()
    fans = crowd["users"]
    for f in fans:
        assert_ok(follow(stack, f, star.id))
    for other in fans[1:]:
        assert_ok(follow(stack, fans[0], other.id))
    return star, fans


def walk_follows(stack, token, uid, kind, limit):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        b = assert_ok(stack.get(f"{USERS}/{uid}/{kind}", token=token, params=params))
        pages += 1
        assert len(b["items"]) <= limit
        for i in b["items"]:
            assert "email" not in i and HEX24.match(i["id"])
        seen += [i["id"] for i in b["items"]]
        cursor = b["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 50


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_followers_pagination(stack, user_a, fan_club, limit):
    star, fans = fan_club
    seen, pages = walk_follows(stack, user_a.access, star.id, "followers", limit)
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == {f.id for f in fans}
    assert pages == -(-7 // limit)
    assert assert_ok(profile(stack, user_a, star.id))["followers_count"] == 7


@pytest.mark.parametrize("limit", [2, 5, 20])
def test_following_pagination(stack, user_a, fan_club, limit):
    star, fans = fan_club
    seen, _ = walk_follows(stack, user_a.access, fans[0].id, "following", limit)
    assert len(seen) == len(set(seen))
    assert set(seen) == {star.id} | {f.id for f in fans[1:]}
    assert assert_ok(profile(stack, user_a, fans[0].id))["following_count"] == 7
    seen, _ = walk_follows(stack, user_a.access, star.id, "following", limit)
    assert seen == []


@pytest.mark.parametrize("kind", ["followers", "following"])
def test_follow_lists_bad_params(stack, user_a, fan_club, kind):
    star, _ = fan_club
    url = f"{USERS}/{star.id}/{kind}"
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"cursor": "nope"},
                   {"cursor": "G" * 24}):
        assert_error(stack.get(url, token=user_a.access, params=params), 400)
    for uid in ("nope", fake_id()):
        assert_error(stack.get(f"{USERS}/{uid}/{kind}", token=user_a.access), 404,
                     "user_not_found")


# -- admin: disable / enable ---------------------------------------------------------------------
def test_disable_requires_admin(stack, user_a):
    victim = stack.register()
    for path in ("disable", "enable"):
        r = stack.post(f"{USERS}/{victim.id}/{path}", token=user_a.access)
        assert_error(r, 403, "admin_required")
    # nor may a user disable themselves by this route
    assert_error(stack.post(f"{USERS}/{victim.id}/disable", token=victim.access), 403,
                 "admin_required")
    assert stack.me(victim.access).status_code == 200
    assert assert_ok(profile(stack, user_a, victim.id))["disabled"] is False


def test_disable_and_enable(stack, user_a):
    admin = stack.admin
    victim = stack.register(prefix="victim")
    second = stack.login(victim)
    assert_ok(follow(stack, user_a, victim.id))

    r = stack.post(f"{USERS}/{victim.id}/disable", token=admin.access)
    assert assert_ok(r) == {"id": victim.id, "disabled": True}

    # every access token of the user dies at once
    for s in (victim, second):
        assert_error(stack.me(s.access), 401)
        assert_error(profile(stack, s, s.id), 401)
        r = stack.post(f"{AUTH}/refresh", json={"refresh_token": s.refresh})
        assert r.status_code in (401, 403), r.text
        assert_error(r, r.status_code)
    # logging in says why; a wrong password still says nothing
    r = stack.post(f"{AUTH}/login", json={"username": victim.username,
                                          "password": victim.password})
    assert_error(r, 403, "account_disabled")
    r = stack.post(f"{AUTH}/login", json={"username": victim.username,
                                          "password": "wrong password 123"})
    assert_error(r, 401, "invalid_credentials")

    # hidden from everyone but admins
    assert_error(profile(stack, user_a, victim.id), 404, "user_not_found")
    assert_error(follow(stack, user_a, victim.id), 404, "user_not_found")
    assert_error(stack.get(f"{USERS}/{victim.id}/followers", token=user_a.access), 404,
                 "user_not_found")
    b = assert_ok(search(stack, user_a.access, q=victim.username))
    assert victim.id not in {i["id"] for i in b["items"]}
    b = assert_ok(profile(stack, admin, victim.id))
    assert b["disabled"] is True and b["id"] == victim.id

    # idempotent
    assert assert_ok(stack.post(f"{USERS}/{victim.id}/disable", token=admin.access))["disabled"]

    r = stack.post(f"{USERS}/{victim.id}/enable", token=admin.access)
    assert assert_ok(r) == {"id": victim.id, "disabled": False}
    fresh = stack.login(victim)
    assert assert_ok(stack.me(fresh.access))["id"] == victim.id
    assert assert_ok(profile(stack, user_a, victim.id))["disabled"] is False
    # the sessions killed by the disable stay dead
    for s in (victim, second):
        assert_error(stack.me(s.access), 401)
    b = assert_ok(search(stack, user_a.access, q=victim.username))
    assert victim.id in {i["id"] for i in b["items"]}
    assert_ok(follow(stack, user_a, victim.id, on=False))


def test_disabled_user_refresh_fails(stack):
    victim = stack.register()
    assert_ok(stack.post(f"{USERS}/{victim.id}/disable", token=stack.admin.access))
    r = stack.post(f"{AUTH}/refresh", json={"refresh_token": victim.refresh})
    assert r.status_code in (401, 403), r.text
    assert "access_token" not in r.text
    assert_error(r, r.status_code)


def test_disable_self_and_unknown(stack):
    admin = stack.admin
    assert_error(stack.post(f"{USERS}/{admin.id}/disable", token=admin.access), 400,
                 "cannot_disable_self")
    assert stack.me(admin.access).status_code == 200
    for uid in ("nope", fake_id()):
        for path in ("disable", "enable"):
            assert_error(stack.post(f"{USERS}/{uid}/{path}", token=admin.access), 404,
                         "user_not_found")
