"""The authorization sweep: every route that takes an object id, generated
from the route tables of the built apps (`hs-<app> --routes`), called by an
ordinary user B with the id of an object user A made, with every method the
route serves.

For each (method, route): the answer is 404 with the error shape (or the
documented status of an exception listed in EXPECT with its reason), no data
of A's object appears in the answer (body or headers), and a well-formed id
that names nothing gets the same status, code and message (no existence
oracle). Afterwards A still sees every object unchanged.

A route with a {param} that neither FIXTURES nor EXCEPTIONS knows fails
test_every_id_route_has_a_fixture: a new route is covered the day it is
added, or the test says what to add.
"""
import asyncio
import base64
import json

import pytest

from hsapi import API, BIN_DIR, app_routes, assert_error, assert_ok, fake_id
from p2p_helpers import STEP_BODY, offer
from test_03_helpers import init_upload, upload_file
from test_04_helpers import create, send

# Every app binary that serves routes (the bridge's table too: /ws/{user_id}).
APPS = ("auth", "users", "files", "chats", "p2p", "updates", "ws-bridge")
TUS = {"Tus-Resumable": "1.0.0"}

# Routes with a {param} whose answer to another user is not "404, nothing of
# the object", on purpose. pattern -> why. Their other properties (no data of
# an object B may not see) are checked where they apply, below.
EXCEPTIONS = {
    "/s/{token}": "a share token is a bearer capability: whoever holds it may download, by "
                  "design; guessing is covered by test_03 (tokens are 24 random bytes)",
    "/api/v1/p2p/blocks/{user_id}": "B's own block list: blocking or unblocking A is B's "
                                    "right and tells nothing about A",
    "/api/v1/users/{id}/follow": "following is B's own action on a public profile",
    "/api/v1/users/{id}/followers": "follower lists are public to signed-in users",
    "/api/v1/users/{id}/following": "following lists are public to signed-in users",
    "/ws/{user_id}": "a WebSocket route: checked by test_ws_path_of_another_user "
                     "(close 4403 before any frame, docs/ws.md)",
}
# (method, pattern) -> (status, code, why): user ids are public (profiles are
# readable by every signed-in user), so these answer for what the id names;
# an unknown id is not compared with them (it is simply user_not_found).
EXPECT = {
    ("GET", "/api/v1/users/{id}"): (200, None, "profiles are public to signed-in users "
                                    "(checked: no email, no private field)"),
    ("PUT", "/api/v1/users/{id}"): (403, "not_your_profile", "profiles are public, so their "
                                    "existence is no secret; only the owner edits"),
    ("POST", "/api/v1/users/{id}/disable"): (403, "admin_required", "admin only; profiles "
                                             "are public"),
    ("POST", "/api/v1/users/{id}/enable"): (403, "admin_required", "admin only; profiles "
                                            "are public"),
}
# OPTIONS routes are public CORS/tus discovery: they read no object.
PUBLIC_METHODS = {"OPTIONS"}


def route_table():
    """[(method, pattern, auth)] of every app."""
    routes = []
    for app in APPS:
        if not (BIN_DIR / f"hs-{app}").exists():
            pytest.fail(f"{BIN_DIR}/hs-{app} is not built")
        routes += app_routes(app)
    return routes


def id_routes():
    return [(m, p) for m, p, _ in route_table() if "{" in p]


def key_of(pattern):
    """The fixture key of a pattern: a trailing slash (tus clients write
    /files/tus/<id>/ too) names the same object."""
    return pattern.rstrip("/") or pattern


# -- A's objects ----------------------------------------------------------------------
class World:
    """User A's objects, made once: ids, and the strings that must never reach B."""


@pytest.fixture(scope="module")
def world(stack):
    w = World()
    w.a = stack.register(prefix="za")
    w.b = stack.register(prefix="zb")
    w.c = stack.register(prefix="zc")  # A's partner in chats and transfers
    tag = w.a.username.split("_")[1]
    w.secrets = {w.a.email}  # never in any answer to B
    # chats of each kind, none public; a message in each
    w.chats = {}
    for kind in ("direct", "group", "channel"):
        fields = {} if kind == "direct" else {"name": f"{kind}-{tag}-name",
                                              "description": f"{kind}-{tag}-about"}
        if kind == "channel":
            fields["is_public"] = False
        chat = create(stack, w.a, kind, [w.c], **fields)
        msg = send(stack, w.a, chat["id"], content=f"{kind}-{tag}-words")
        w.chats[kind] = (chat, msg)
        w.secrets |= {fields.get("name"), fields.get("description"), msg["content"]} - {None}
    # a file with a share link, an unfinished upload, a tus upload
    w.file = upload_file(stack, w.a, b"A's bytes " * 100, filename=f"file-{tag}.txt")
    w.link = assert_ok(stack.post(f"{API}/files/{w.file['id']}/links", token=w.a.access,
                                  json={"expires_in": 3600}), 201)
    w.upload = init_upload(stack, w.a, 5000, filename=f"upload-{tag}.bin")
    meta = "filename " + base64.b64encode(f"tus-{tag}.bin".encode()).decode()
    r = stack.post(f"{API}/files/tus", token=w.a.access,
                   headers={**TUS, "Upload-Length": "5000", "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    w.tus_id = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    w.transfer = offer(stack, w.a, w.c, filename=f"transfer-{tag}.mp4")
    w.secrets |= {w.file["filename"], w.file["sha256"], f"upload-{tag}.bin", f"tus-{tag}.bin",
                  w.transfer["filename"], w.link["token"], w.a.refresh}
    w.secrets.discard(None)
    return w


def _fixtures(w):
    """pattern -> [(label, {param: A's value})]: the objects each route is tried on."""
    chats = [(k, {"id": c["id"]}) for k, (c, _) in w.chats.items()]
    msgs = [(f"{k} message", {"id": m["id"]}) for k, (_, m) in w.chats.items()]
    user = [("A", {"id": w.a.id})]
    return {
        "/api/v1/auth/sessions/{id}": [("A's session", {"id": w.a.session_id})],
        "/api/v1/chats/{id}": chats,
        "/api/v1/chats/{id}/leave": chats,
        "/api/v1/chats/{id}/join": chats,
        "/api/v1/chats/{id}/members": chats,
        "/api/v1/chats/{id}/members/{user_id}": [(k, {"id": c["id"], "user_id": w.c.id})
                                                 for k, (c, _) in w.chats.items()],
        "/api/v1/chats/{id}/mute": chats,
        "/api/v1/chats/{id}/read": chats,
        "/api/v1/messages/{chat_id}": [(k, {"chat_id": c["id"]}) for k, (c, _) in w.chats.items()],
        "/api/v1/messages/{id}": msgs,
        "/api/v1/messages/{id}/react": msgs,
        "/api/v1/messages/{id}/receipts": msgs,
        "/api/v1/files/upload/{upload_id}": [("upload", {"upload_id": w.upload["upload_id"]})],
        "/api/v1/files/upload/{upload_id}/chunks/{n}": [
            ("upload", {"upload_id": w.upload["upload_id"], "n": "0"})],
        "/api/v1/files/tus/{upload_id}": [("tus upload", {"upload_id": w.tus_id})],
        "/api/v1/files/{file_id}": [("file", {"file_id": w.file["id"]})],
        "/api/v1/files/{file_id}/info": [("file", {"file_id": w.file["id"]})],
        "/api/v1/files/{file_id}/links": [("file", {"file_id": w.file["id"]})],
        "/api/v1/files/{file_id}/links/{link_id}": [
            ("link", {"file_id": w.file["id"], "link_id": w.link["id"]})],
        "/api/v1/p2p/{id}": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/accept": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/reject": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/cancel": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/fail": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/complete": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/progress": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/relay": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/p2p/{id}/download": [("transfer", {"id": w.transfer["id"]})],
        "/api/v1/users/{id}": user,
        "/api/v1/users/{id}/disable": user,
        "/api/v1/users/{id}/enable": user,
    }


def request_kw(method, pattern, w):
    """A body (and headers) the route would accept from its owner, so that a
    refusal is the authorization's and not the validation's."""
    bodies = {
        ("PUT", "/api/v1/chats/{id}"): {"name": "renamed by B"},
        ("POST", "/api/v1/chats/{id}/members"): {"user_id": w.b.id},
        ("PUT", "/api/v1/chats/{id}/members/{user_id}"): {"role": "admin"},
        ("PUT", "/api/v1/chats/{id}/mute"): {"muted": True},
        ("POST", "/api/v1/chats/{id}/read"): {"message_id": w.chats["group"][1]["id"]},
        ("PUT", "/api/v1/messages/{id}"): {"content": "edited by B"},
        ("POST", "/api/v1/messages/{id}/react"): {"emoji": "\U0001F44D"},
        ("POST", "/api/v1/files/{file_id}/links"): {"expires_in": 3600},
        ("PUT", "/api/v1/users/{id}"): {"display_name": "B was here"},
    }
    pattern = key_of(pattern)
    if (method, pattern) in bodies:
        return {"json": bodies[(method, pattern)]}
    if pattern.startswith("/api/v1/p2p/{id}/") and method == "POST":
        body = STEP_BODY[pattern.rsplit("/", 1)[1]]
        return {"json": body} if body is not None else {"data": b"", "headers": {}}
    if pattern == "/api/v1/files/upload/{upload_id}/chunks/{n}":
        return {"data": b"x" * 100, "headers": {"Content-Type": "application/octet-stream"}}
    if pattern == "/api/v1/files/tus/{upload_id}":
        h = dict(TUS)
        if method == "PATCH":
            h.update({"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
            return {"data": b"x" * 100, "headers": h}
        return {"headers": h}
    if method in ("POST", "PUT", "PATCH"):
        return {"json": {}}
    return {}


def concrete(pattern, params):
    path = pattern
    for k, v in params.items():
        path = path.replace("{" + k + "}", v)
    assert "{" not in path, f"{pattern}: no value for a parameter ({params})"
    return path


def leaks(r, secrets):
    """The strings of secrets found anywhere in the answer."""
    text = r.text + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    return sorted(s for s in secrets if s and s in text)


def check_answer(r, method, pattern, expected):
    """Asserts the answer's status (and error shape and code); returns
    (status, code, message) for comparing two answers."""
    status, code = expected[:2]
    where = f"{method} {r.request.path_url}"
    if status == 200:
        assert r.status_code == 200, f"{where}: {r.status_code} {r.text[:300]}"
        return (200, None, None)
    if method == "HEAD":
        assert r.status_code == status, f"{where}: expected {status}, got {r.status_code}"
        assert not r.content
        return (status, None, None)
    e = assert_error(r, status, code)
    return (status, e["code"], e["message"])


# -- the tests ------------------------------------------------------------------------
def test_every_id_route_has_a_fixture(stack, world):
    fixtures = _fixtures(world)
    missing = sorted({p for _, p in id_routes() if key_of(p) not in fixtures
                      and key_of(p) not in EXCEPTIONS})
    assert not missing, (
        "routes with an id parameter that test_08_authz.py cannot try with another user's "
        "object: add a fixture (in _fixtures) or an exception with its reason:\n  "
        + "\n  ".join(missing))
    stale = sorted((set(fixtures) | set(EXCEPTIONS)) - {key_of(p) for _, p in id_routes()})
    assert not stale, f"fixtures or exceptions for routes no app serves: {stale}"


def sweep_cases(world):
    """[(method, pattern, label, params, expected)] for every id route and
    object; DELETE last, so that a broken check cannot remove what the
    others try."""
    fixtures = _fixtures(world)
    cases = []
    for method, pattern in id_routes():
        if key_of(pattern) in EXCEPTIONS or method in PUBLIC_METHODS:
            continue
        expected = EXPECT.get((method, key_of(pattern)), (404, None, "no such object for B"))
        for label, params in fixtures[key_of(pattern)]:
            cases.append((method, pattern, label, params, expected))
    cases.sort(key=lambda c: c[0] == "DELETE")
    return cases


def test_another_users_ids_answer_404_with_nothing_of_the_object(stack, world):
    w = world
    failures = []
    tried = 0
    for method, pattern, label, params, expected in sweep_cases(w):
        kw = request_kw(method, pattern, w)
        fake = {k: (v if k == "n" else fake_id()) for k, v in params.items()}
        answers = []
        tries = (params,) if (method, key_of(pattern)) in EXPECT else (params, fake)
        for ps in tries:
            r = stack.req(method, concrete(pattern, ps), token=w.b.access, **kw)
            tried += 1
            try:
                answers.append(check_answer(r, method, pattern, expected))
                found = leaks(r, w.secrets)
                assert not found, f"{method} {r.request.path_url}: A's data in the answer: {found}"
            except AssertionError as e:
                failures.append(f"[{label}] {e}")
                break
        else:
            if len(answers) == 2 and answers[0] != answers[1]:
                failures.append(f"[{label}] {method} {pattern}: A's id answers {answers[0]}, "
                                f"an unknown id {answers[1]} (an existence oracle)")
    assert tried > 100
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_public_profile_shows_nothing_private(stack, world):
    w = world
    u = assert_ok(stack.get(f"{API}/users/{w.a.id}", token=w.b.access))
    assert u["id"] == w.a.id
    assert w.a.email not in json.dumps(u)
    assert not {"email", "password", "password_hash", "role_changed_at"} & set(u), sorted(u)


def test_objects_unchanged_for_their_owner(stack, world):
    """Runs after the sweep: A still sees every object as it was."""
    w = world
    for kind, (chat, msg) in w.chats.items():
        got = assert_ok(stack.get(f"{API}/chats/{chat['id']}", token=w.a.access))
        assert got.get("name") == chat.get("name"), kind
        members = assert_ok(stack.get(f"{API}/chats/{chat['id']}/members", token=w.a.access))
        ids = {m.get("user_id", m.get("id")) for m in members["items"]}
        assert w.b.id not in ids and w.c.id in ids, (kind, ids)
        hist = assert_ok(stack.get(f"{API}/messages/{chat['id']}", token=w.a.access))
        assert [m["content"] for m in hist["items"]] == [msg["content"]], kind
    info = assert_ok(stack.get(f"{API}/files/{w.file['id']}/info", token=w.a.access))
    assert info["filename"] == w.file["filename"]
    links = assert_ok(stack.get(f"{API}/files/{w.file['id']}/links", token=w.a.access))
    assert w.link["id"] in [x["id"] for x in links["items"]]
    assert_ok(stack.get(f"{API}/files/upload/{w.upload['upload_id']}", token=w.a.access))
    r = stack.req("HEAD", f"{API}/files/tus/{w.tus_id}", token=w.a.access, headers=TUS)
    assert r.status_code == 200 and r.headers["Upload-Offset"] == "0"
    t = assert_ok(stack.get(f"{API}/p2p/{w.transfer['id']}", token=w.a.access))
    assert t["state"] == "pending"
    assert_ok(stack.me(w.a.access))
    me = assert_ok(stack.get(f"{API}/users/{w.a.id}", token=w.a.access))
    assert me.get("display_name") != "B was here"


def test_ws_path_of_another_user(stack, world):
    from wsclient import open_refused
    w = world

    async def run():
        for uid in (w.a.id, fake_id()):
            code, reason = await open_refused(stack.ws_proxy_url, w.b.access, path=f"/{uid}")
            assert code == 4403, (uid, code, reason)
    asyncio.run(run())
