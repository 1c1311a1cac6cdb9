"""Slow clients never hold an app process (issue 11, defect 12).

Each app has two processes. Bodies are buffered whole by lighttpd before an
app sees them, except the upload routes (chunks, tus), which stream to
hs-files processes of their own (HS_UPLOAD_PROCS); those refuse an
anonymous request before reading its body, and read an authenticated one
with a deadline (body_timeout) that keeps what arrived.
Here 20 connections per route group send a request whose body never
finishes, and everybody else is still served at once.
"""
import socket
import time

import pytest
import requests

from hsapi import API, assert_error, assert_ok
from test_03_helpers import FILES, init_upload, start_stack, stop_stack, upload_file

SLOW = 20          # connections per route
QUICK = 1.0        # seconds a normal request may take meanwhile
BODY_TIMEOUT = 3   # body_timeout of this file's stack (30 by default)
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def slow_stack():
    # body_timeout short, so that the authenticated stall below is quick.
    s = start_stack("slowbody", HS_BODY_TIMEOUT=str(BODY_TIMEOUT))
    yield s
    stop_stack(s)


def open_slow(stack, method, path, token=None, headers=None, length=60000, first=b"{"):
    """A request whose headers are complete and whose body is not: `first`
    then nothing more (an attacker trickling a byte every 20 s)."""
    host, port = stack.base.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    sock.sendall(head.encode() + b"\r\n" + first)
    return sock


def timed(fn):
    t = time.monotonic()
    r = fn()
    return r, time.monotonic() - t


def test_slow_bodies_do_not_freeze_the_apps(slow_stack):
    s = slow_stack
    owner = s.register(prefix="sb")
    data = b"slow body test " * 100
    f = upload_file(s, owner, data, filename="kept.bin")
    link = assert_ok(s.post(f"{FILES}/{f['id']}/links", token=owner.access, json={}), 201)
    up = init_upload(s, owner, 1 << 20)
    tus = s.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": "1000"})
    assert tus.status_code == 201, tus.text
    tus_path = tus.headers["Location"]
    json_h = {"Content-Type": "application/json"}
    # Every route group; JSON routes with a valid token too (the front
    # buffers their bodies), upload routes anonymously (refused unread).
    slow = [
        ("POST", f"{API}/auth/login", None, json_h),
        ("POST", f"{API}/auth/logout", owner.access, json_h),
        ("PUT", f"{API}/users/{owner.id}", owner.access, json_h),
        ("POST", f"{API}/chats", owner.access, json_h),
        ("POST", f"{API}/messages", owner.access, json_h),
        ("POST", f"{API}/files/upload/init", owner.access, json_h),
        ("POST", f"{API}/files/upload/chunk", None,
         {"Content-Type": "multipart/form-data; boundary=b"}),
        ("PUT", f"{API}/files/upload/{up['upload_id']}/chunks/0", None, {}),
        ("PATCH", tus_path, None, {**TUS, **OCTETS, "Upload-Offset": "0"}),
        # Authenticated uploads are read (with a deadline) by processes of
        # their own: they never hold those of downloads and share links.
        ("PUT", f"{API}/files/upload/{up['upload_id']}/chunks/0", owner.access, {}, 1 << 20),
        ("PATCH", tus_path, owner.access, {**TUS, **OCTETS, "Upload-Offset": "0"}, 1000),
        ("POST", f"{API}/p2p/initiate", owner.access, json_h),
    ]
    socks = []
    try:
        for method, path, token, headers, *length in slow:
            for _ in range(SLOW):
                socks.append(open_slow(s, method, path, token, headers, *length))
        time.sleep(0.3)  # let them all reach lighttpd (and any app)
        checks = {
            "health": lambda: s.get("/health", timeout=5),
            "login": lambda: s.post(f"{API}/auth/login", timeout=5,
                                    json={"username": owner.username,
                                          "password": owner.password}),
            "me": lambda: s.get(f"{API}/users/{owner.id}", token=owner.access, timeout=5),
            "chats": lambda: s.get(f"{API}/chats", token=owner.access, timeout=5),
            "p2p": lambda: s.get(f"{API}/p2p/history", token=owner.access, timeout=5),
            "download": lambda: s.get(f"{FILES}/{f['id']}", token=owner.access, timeout=5),
            "share": lambda: s.get(f"/s/{link['token']}", timeout=5),
        }
        for round_ in range(2):
            for name, fn in checks.items():
                try:
                    r, took = timed(fn)
                except requests.RequestException as e:
                    pytest.fail(f"{name} with {len(socks)} slow bodies open: {e}")
                assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:200]}"
                assert took < QUICK, f"{name} took {took:.2f} s with {len(socks)} slow bodies"
                if name in ("download", "share"):
                    assert r.content == data
    finally:
        for sock in socks:
            sock.close()


def read_reply(sock, timeout):
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            break
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        d = sock.recv(65536)
        if not d:
            break
        body += d
    return int(lines[0].split()[1]), headers, body


def test_stalled_upload_gives_up_and_keeps_what_arrived(slow_stack):
    """An authenticated upload that stops sending is given up after
    body_timeout (3 s here) with body_timeout; a tus upload keeps the bytes
    that arrived, and the processes serve others meanwhile."""
    import json
    s = slow_stack
    owner = s.register(prefix="st")
    tus = s.post(f"{FILES}/tus", token=owner.access, data=b"",
                 headers={**TUS, "Upload-Length": "1000"})
    assert tus.status_code == 201, tus.text
    path = tus.headers["Location"]
    up = init_upload(s, owner, 1000)
    t0 = time.monotonic()
    stalled = [
        open_slow(s, "PATCH", path, owner.access,
                  {**TUS, **OCTETS, "Upload-Offset": "0"}, length=1000, first=b"a" * 400),
        open_slow(s, "PUT", f"{API}/files/upload/{up['upload_id']}/chunks/0", owner.access,
                  {"Content-Type": "application/octet-stream"}, length=1000, first=b"b" * 400),
    ]
    try:
        time.sleep(0.3)
        r, took = timed(lambda: s.get("/health", timeout=5))
        assert r.status_code == 200 and took < QUICK
        status, headers, body = read_reply(stalled[0], 10)
        waited = time.monotonic() - t0
        assert status == 400, body
        assert json.loads(body)["error"]["code"] == "body_timeout"
        assert headers.get("upload-offset") == "400"
        assert BODY_TIMEOUT - 0.5 < waited < BODY_TIMEOUT + 4, waited
        status, headers, body = read_reply(stalled[1], 10)
        assert status == 400 and json.loads(body)["error"]["code"] == "body_timeout", body
    finally:
        for sock in stalled:
            sock.close()
    # Nothing lost: the tus upload resumes at 400.
    r = s.req("HEAD", path, token=owner.access, headers=TUS)
    assert r.headers["Upload-Offset"] == "400"
    r = s.req("PATCH", path, token=owner.access, data=b"c" * 600,
              headers={**TUS, **OCTETS, "Upload-Offset": "400"})
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "1000"


def test_unauthenticated_upload_is_refused_unread(slow_stack):
    """A chunk upload without a valid token is answered 401 at once, while
    its body has not arrived (and it is not read)."""
    s = slow_stack
    up_path = f"{API}/files/upload/chunk"
    sock = open_slow(s, "POST", up_path, "not-a-token",
                     {"Content-Type": "multipart/form-data; boundary=b"}, length=8 << 20)
    try:
        t = time.monotonic()
        status, _, body = read_reply(sock, 5)
        assert status == 401, body
        assert time.monotonic() - t < QUICK
    finally:
        sock.close()
    # A fast client with a bad token gets its 401 too (not a 5xx), every time.
    for _ in range(5):
        r = s.post(up_path, token="not-a-token", data=b"x" * (4 << 20),
                   headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert_error(r, 401)
