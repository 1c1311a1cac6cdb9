"""The injection sweep (issue 11): every string field of every route that
takes strings is tried with CR/LF, NUL (escaped and raw), "../", 64 KiB
strings, invalid UTF-8, HTML and bidi overrides. Whatever the route
answers:

- never a 5xx, and never a header the payload wrote (no header named
  X-Injected, no header value with CR or LF);
- what is accepted is returned byte-identical (what is validated is what is
  stored), filenames aside: their C0 controls become '_' (docs/security.md);
- blobs stay under <data_dir>/files/<xx>/<id> with server-chosen names, and
  nothing else appears in the data folder.

One module-scoped set of users and objects; each case is one request (two
or three for the P2P reason), so the whole sweep takes seconds."""
import base64
import json
import os
import re
from urllib.parse import quote

import pytest

from hsapi import API, PASSWORD, assert_ok, fake_id, uniq
from p2p_helpers import P2P, offer, step
from test_03_helpers import FILES, upload_file

MARK = "X-Injected"

# Text payloads go through json.dumps (so a NUL is sent escaped, \u0000).
TEXT = {
    "crlf": f"v\r\n{MARK}: 1\r\n\r\n<b>body</b>",
    "lf": f"v\n{MARK}: 1",
    "cr": f"v\r{MARK}: 1",
    "nul": "nul\x00admin",
    "dotdot": "../../../../../../etc/passwd",
    "dotdot_win": "..\\..\\..\\windows\\win.ini",
    "long": "x" * 65536,
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>\"'&amp;",
    "bidi": "invoice\u202egpj.exe",
    "zero_width": "ad\u200bmin",
    "lone_surrogate": "a\ud800b",
    "plain": "plain text 1",
}
# Raw payloads are put into the JSON text as bytes: invalid UTF-8, a raw NUL,
# raw CR/LF (JSON forbids them unescaped).
RAW = {
    "raw_ff": b"\xff\xfe",
    "raw_cut": b"a\xc3",
    "raw_overlong": b"\xc0\xaf..\xc0\xaf",
    "raw_nul": b"nul\x00admin",
    "raw_crlf": b"v\r\n" + MARK.encode() + b": 1",
}
PAYLOADS = sorted(TEXT) + sorted(RAW)
PLACEHOLDER = "@@payload@@"


def encode_body(body, field, payload):
    """The JSON bytes of body with field set to the payload."""
    if payload in TEXT:
        return json.dumps({**body, field: TEXT[payload]}).encode()
    text = json.dumps({**body, field: PLACEHOLDER}).encode()
    return text.replace(PLACEHOLDER.encode(), RAW[payload])


def sent_value(payload):
    return TEXT.get(payload)


def check(r, what):
    """The invariants of every answer."""
    assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    for k, v in r.headers.items():
        assert k.lower() != MARK.lower(), f"{what}: injected header {k}: {v}"
        assert "\r" not in v and "\n" not in v, f"{what}: header {k} carries CR/LF"
    # (the front answers some requests itself, e.g. a path with %00, and
    # HEAD answers carry no body)
    if r.status_code >= 400 and r.headers.get("Content-Type", "").startswith("application/json"):
        err = r.json()["error"]
        assert err["code"] and err["status"] == r.status_code, f"{what}: {err}"


def echo(returned, payload, what, filename=False):
    """An accepted text payload comes back byte-identical."""
    want = sent_value(payload)
    if want is None:
        return
    if filename:  # C0 controls and DEL become '_' in filenames
        want = re.sub(r"[\x00-\x1f\x7f]", "_", want)
    assert returned == want, f"{what}: sent {want[:80]!r}, got {returned[:80]!r}"


class World:
    """The users and objects the sweep works on."""

    def __init__(self, stack):
        self.stack = stack
        self.a = stack.register(prefix="inj")
        self.b = stack.register(prefix="inj")
        self.chat = assert_ok(stack.post(f"{API}/chats", token=self.a.access,
                                         json={"kind": "group", "name": "sweep",
                                               "members": [self.b.id]}), 201)
        self.msg = assert_ok(stack.post(f"{API}/messages", token=self.a.access,
                                        json={"chat_id": self.chat["id"], "content": "hi"}), 201)
        self.file = upload_file(stack, self.a, b"sweep bytes", filename="s.txt")

    def send(self, method, path, body, field, payload, token=None):
        data = encode_body(body, field, payload)
        return self.stack.req(method, path, token=token or self.a.access, data=data,
                              headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def world(stack):
    return World(stack)


# (route id, method, path(world), base body(world), field, read back(world, response) or None)
def json_cases():
    def body_of(key):
        return lambda w, r: r.json()[key]
    return [
        ("register.username", "POST", lambda w: f"{API}/auth/register",
         lambda w: {"email": f"{uniq('e')}@example.com", "password": PASSWORD}, "username",
         body_of("username")),
        ("register.email", "POST", lambda w: f"{API}/auth/register",
         lambda w: {"username": uniq("r"), "password": PASSWORD}, "email", None),
        ("register.password", "POST", lambda w: f"{API}/auth/register",
         lambda w: {"username": uniq("r"), "email": f"{uniq('e')}@example.com"}, "password",
         None),
        ("login.username", "POST", lambda w: f"{API}/auth/login",
         lambda w: {"password": PASSWORD}, "username", None),
        ("login.password", "POST", lambda w: f"{API}/auth/login",
         lambda w: {"username": w.b.username}, "password", None),
        ("refresh.refresh_token", "POST", lambda w: f"{API}/auth/refresh", lambda w: {},
         "refresh_token", None),
        ("change_password.old", "PUT", lambda w: f"{API}/auth/change-password",
         lambda w: {"new_password": PASSWORD + "!"}, "old_password", None),
        ("user.display_name", "PUT", lambda w: f"{API}/users/{w.a.id}", lambda w: {},
         "display_name", body_of("display_name")),
        ("user.bio", "PUT", lambda w: f"{API}/users/{w.a.id}", lambda w: {}, "bio",
         body_of("bio")),
        ("user.avatar_file_id", "PUT", lambda w: f"{API}/users/{w.a.id}", lambda w: {},
         "avatar_file_id", None),
        ("chat.kind", "POST", lambda w: f"{API}/chats", lambda w: {"name": "n"}, "kind", None),
        ("chat.name", "POST", lambda w: f"{API}/chats", lambda w: {"kind": "group"}, "name",
         body_of("name")),
        ("chat.description", "POST", lambda w: f"{API}/chats",
         lambda w: {"kind": "group", "name": "n"}, "description", body_of("description")),
        ("chat_update.name", "PUT", lambda w: f"{API}/chats/{w.chat['id']}", lambda w: {},
         "name", body_of("name")),
        ("chat_update.description", "PUT", lambda w: f"{API}/chats/{w.chat['id']}",
         lambda w: {}, "description", body_of("description")),
        ("chat_member.user_id", "POST", lambda w: f"{API}/chats/{w.chat['id']}/members",
         lambda w: {}, "user_id", None),
        ("chat_role.role", "PUT", lambda w: f"{API}/chats/{w.chat['id']}/members/{w.b.id}",
         lambda w: {}, "role", None),
        ("chat_read.message_id", "POST", lambda w: f"{API}/chats/{w.chat['id']}/read",
         lambda w: {}, "message_id", None),
        ("message.content", "POST", lambda w: f"{API}/messages",
         lambda w: {"chat_id": w.chat["id"]}, "content", body_of("content")),
        ("message.chat_id", "POST", lambda w: f"{API}/messages", lambda w: {"content": "c"},
         "chat_id", None),
        ("message.client_id", "POST", lambda w: f"{API}/messages",
         lambda w: {"chat_id": w.chat["id"], "content": "c"}, "client_id", None),
        ("message.reply_to", "POST", lambda w: f"{API}/messages",
         lambda w: {"chat_id": w.chat["id"], "content": "c"}, "reply_to", None),
        ("message_edit.content", "PUT", lambda w: f"{API}/messages/{w.msg['id']}",
         lambda w: {}, "content", body_of("content")),
        ("react.emoji", "POST", lambda w: f"{API}/messages/{w.msg['id']}/react", lambda w: {},
         "emoji", None),
        ("upload_init.filename", "POST", lambda w: f"{FILES}/upload/init",
         lambda w: {"file_size": 10}, "filename", "upload_filename"),
        ("upload_init.content_type", "POST", lambda w: f"{FILES}/upload/init",
         lambda w: {"filename": "f.bin", "file_size": 10}, "content_type", "upload"),
        ("upload_init.sha256", "POST", lambda w: f"{FILES}/upload/init",
         lambda w: {"filename": "f.bin", "file_size": 10}, "sha256", "upload"),
        ("upload_init.chat_id", "POST", lambda w: f"{FILES}/upload/init",
         lambda w: {"filename": "f.bin", "file_size": 10}, "chat_id", "upload"),
        ("upload_complete.upload_id", "POST", lambda w: f"{FILES}/upload/complete",
         lambda w: {}, "upload_id", None),
        ("link.password", "POST", lambda w: f"{FILES}/{w.file['id']}/links", lambda w: {},
         "password", None),
        ("p2p.recipient_id", "POST", lambda w: f"{P2P}/initiate",
         lambda w: {"filename": "f", "size": 10}, "recipient_id", None),
        ("p2p.filename", "POST", lambda w: f"{P2P}/initiate",
         lambda w: {"recipient_id": w.b.id, "size": 10}, "filename", "p2p_filename"),
        ("p2p.sha256", "POST", lambda w: f"{P2P}/initiate",
         lambda w: {"recipient_id": w.b.id, "filename": "f", "size": 10}, "sha256", None),
        ("p2p.mode", "POST", lambda w: f"{P2P}/initiate",
         lambda w: {"recipient_id": w.b.id, "filename": "f", "size": 10}, "mode", None),
        ("p2p.relay_file_id", "POST", lambda w: f"{P2P}/{fake_id()}/relay", lambda w: {},
         "file_id", None),
    ]


CASES = json_cases()


def download_checked(world, file_id, what):
    """Downloads a file made from a payload (API and share link) through
    the invariants: the payload never reaches a header of its own."""
    s = world.stack
    r = s.get(f"{FILES}/{file_id}", token=world.a.access)
    check(r, what + " (download)")
    assert r.status_code == 200 and r.content == b"0123456789", f"{what}: {r.status_code}"
    assert r.headers["X-Content-Type-Options"].startswith("nosniff")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    link = assert_ok(s.post(f"{FILES}/{file_id}/links", token=world.a.access, json={}), 201)
    r = s.get(link["url"])
    check(r, what + " (share link)")
    assert r.content == b"0123456789"


def finish_upload(world, upload_id, what):
    """Sends the 10 bytes of a chunk-API upload, completes it, downloads it."""
    s = world.stack
    assert_ok(s.put(f"{FILES}/upload/{upload_id}/chunks/0", token=world.a.access,
                    data=b"0123456789"))
    f = assert_ok(s.post(f"{FILES}/upload/complete", token=world.a.access,
                         json={"upload_id": upload_id}))
    download_checked(world, f["id"], what)
    return f


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_json_fields(world, case):
    """Every payload into one field of one route."""
    name, method, path, body, field, back = case
    for payload in PAYLOADS:
        what = f"{name} <- {payload}"
        r = world.send(method, path(world), body(world), field, payload)
        check(r, what)
        if r.status_code >= 300:
            continue
        assert sent_value(payload) is not None, f"{what}: raw bad bytes accepted: {r.text[:200]}"
        if back == "upload_filename":
            f = finish_upload(world, r.json()["upload_id"], what)
            echo(f["filename"], payload, what, filename=True)
        elif back == "upload":
            finish_upload(world, r.json()["upload_id"], what)
        elif back == "p2p_filename":
            echo(r.json()["filename"], payload, what, filename=True)
        elif back is not None:
            echo(back(world, r), payload, what)


def test_p2p_fail_reason(world):
    """The reason of a failed transfer (one accepted transfer per payload)."""
    s = world.stack
    for payload in PAYLOADS:
        t = offer(s, world.a, world.b, size=10)
        assert_ok(step(s, world.b, t["id"], "accept"))
        r = world.send("POST", f"{P2P}/{t['id']}/fail", {}, "reason", payload)
        check(r, f"p2p.reason <- {payload}")
        if r.status_code < 300:
            echo(r.json()["reason"], payload, f"p2p.reason <- {payload}")


def b64(v):
    return base64.b64encode(v).decode()


def payload_bytes(payload):
    return TEXT[payload].encode("utf-8", "surrogatepass") if payload in TEXT else RAW[payload]


@pytest.mark.parametrize("key", ["filename", "filetype", "sha256", "chat_id", "name", "type"])
def test_tus_metadata(world, key):
    """tus metadata values are base64 in a header: every payload gets there
    intact, so only the server's checks stand between it and the store."""
    s = world.stack
    for payload in PAYLOADS:
        what = f"tus.{key} <- {payload}"
        meta = f"{key} {b64(payload_bytes(payload))}"
        if key not in ("filename", "name"):
            meta += f",filename {b64(b'tus.bin')}"
        r = s.post(f"{FILES}/tus", token=world.a.access,
                   headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10",
                            "Upload-Metadata": meta})
        check(r, what)
        if r.status_code >= 300:
            continue
        uid = r.headers["Location"].rsplit("/", 1)[1]
        h = s.req("HEAD", r.headers["Location"], token=world.a.access,
                  headers={"Tus-Resumable": "1.0.0"})
        check(h, what + " (HEAD)")
        assert h.headers["Upload-Metadata"] == meta
        p = s.req("PATCH", r.headers["Location"], token=world.a.access, data=b"0123456789",
                  headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                           "Content-Type": "application/offset+octet-stream"})
        check(p, what + " (PATCH)")
        assert p.status_code == 204, f"{what}: {p.status_code} {p.text[:200]}"
        f = assert_ok(s.get(f"{FILES}/{uid}/info", token=world.a.access))
        if key in ("filename", "name"):
            echo(f["filename"], payload, what, filename=True)
        download_checked(world, uid, what)


HEADER_SAFE = ["dotdot", "dotdot_win", "long", "html", "bidi", "plain"]


def header_value(payload):
    v = TEXT[payload]
    return v[:7000].encode("utf-8")  # a front refuses request headers of 8 KiB


@pytest.mark.parametrize("header", ["Upload-Concat", "Upload-Checksum", "X-Share-Password",
                                    "X-Request-Id", "Origin", "X-Chunk-Sha256"])
def test_request_headers(world, header):
    """Request headers (which cannot carry CR/LF) with the other payloads."""
    s = world.stack
    link = assert_ok(s.post(f"{FILES}/{world.file['id']}/links", token=world.a.access,
                            json={"password": "long enough"}), 201)
    up = assert_ok(s.post(f"{FILES}/upload/init", token=world.a.access,
                          json={"filename": "h.bin", "file_size": 4}), 201)
    for payload in HEADER_SAFE:
        v = header_value(payload)
        what = f"{header} <- {payload}"
        tus = {"Tus-Resumable": "1.0.0", header: v}
        for method, path, h, data in [
            ("POST", f"{FILES}/tus", {**tus, "Upload-Length": "4"}, None),
            ("GET", link["url"], {header: v}, None),
            ("PUT", f"{FILES}/upload/{up['upload_id']}/chunks/0", {header: v}, b"abcd"),
            ("GET", f"{API}/auth/me", {header: v}, None),
        ]:
            r = s.req(method, path, token=world.a.access, headers=h, data=data)
            check(r, f"{what} {method} {path}")
            if header == "X-Request-Id":
                assert r.headers["X-Request-Id"] != v.decode(), what


@pytest.mark.parametrize("payload", sorted(TEXT))
def test_path_and_query_segments(world, payload):
    """Payloads as path parameters and query values, percent-encoded."""
    s = world.stack
    seg = quote(TEXT[payload][:2000].encode("utf-8", "surrogatepass"), safe="")
    for path in [f"{FILES}/{seg}", f"{FILES}/{seg}/info", f"/s/{seg}", f"{API}/users/{seg}",
                 f"{API}/chats/{seg}", f"{P2P}/{seg}", f"{API}/messages/{seg}",
                 f"{API}/users/search?q={seg}", f"{API}/messages/search?q={seg}",
                 f"{FILES}/list?cursor={seg}", f"{FILES}/{world.file['id']}?inline={seg}"]:
        r = s.get(path, token=world.a.access)
        check(r, f"GET {path[:80]}")


def test_blobs_stay_where_the_server_puts_them(stack, world):
    """After the sweep: every blob is <data>/files/<last two hex>/<24 hex>,
    and the data folder holds nothing else but the database."""
    data = os.path.join(stack.rundir, "data")
    for root, dirs, files in os.walk(data):
        rel = os.path.relpath(root, data)
        for f in files:
            if rel == ".":
                assert re.fullmatch(r"hypersend\.db(-wal|-shm|-journal)?", f), f
                continue
            parts = rel.split(os.sep)
            assert parts[0] == "files" and len(parts) == 2, os.path.join(rel, f)
            assert re.fullmatch(r"[0-9a-f]{24}", f) and parts[1] == f[-2:], os.path.join(rel, f)
        if rel == ".":
            assert set(dirs) <= {"files"}, dirs
    # and the web server still serves the folder it should, nothing above it
    assert stack.get("/../../etc/passwd").status_code in (400, 403, 404)
