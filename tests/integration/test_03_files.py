"""Finished files on the main stack: downloads through X-Sendfile (Range,
ETag, HEAD, Content-Disposition), metadata, the paginated list, deletion
with the bytes, share links (limits, expiry, passwords, revocation, other
users) and the file.ready event in Redis."""
import json
import os
import threading
import time
from urllib.parse import unquote

import pytest

from hsapi import HEX24, ISO_TIME, assert_error, assert_ok
from test_03_helpers import (FILES, blob_path, download, init_upload, put_chunk, complete,
                             sha256, stream_events, upload_file)


@pytest.fixture
def owner(stack):
    return stack.register(prefix="fl")


@pytest.fixture(scope="module")
def shared(stack):
    """One user with one 300 KB file, for the read-only download tests."""
    u = stack.register(prefix="dl")
    data = os.urandom(300000)
    f = upload_file(stack, u, data, filename="report.pdf", content_type="application/pdf")
    return u, f, data


# -- downloads -----------------------------------------------------------------------------------
def test_download_whole(stack, shared):
    u, f, data = shared
    r = download(stack, u, f["id"])
    assert r.status_code == 200
    assert r.content == data
    assert int(r.headers["Content-Length"]) == len(data)
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers.get("Accept-Ranges") == "bytes"
    assert r.headers.get("ETag")
    assert "X-Sendfile" not in r.headers  # lighttpd consumed it
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf")


@pytest.mark.parametrize("spec,start,end", [
    ("0-0", 0, 0), ("0-99", 0, 99), ("100-199", 100, 199), ("299999-299999", 299999, 299999),
    ("1000-", 1000, 299999), ("-500", 299500, 299999), ("-1", 299999, 299999),
    ("0-", 0, 299999), ("299000-400000", 299000, 299999), ("-400000", 0, 299999),
])
def test_range(stack, shared, spec, start, end):
    u, f, data = shared
    r = download(stack, u, f["id"], headers={"Range": f"bytes={spec}"})
    assert r.status_code == 206, r.text[:200]
    assert r.headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
    assert int(r.headers["Content-Length"]) == end - start + 1
    assert r.content == data[start:end + 1]


@pytest.mark.parametrize("spec", ["300000-", "300000-300010", "999999-"])
def test_range_past_the_end(stack, shared, spec):
    u, f, data = shared
    r = download(stack, u, f["id"], headers={"Range": f"bytes={spec}"})
    assert r.status_code == 416
    # (RFC 9110 says a 416 SHOULD carry "Content-Range: bytes */300000";
    # lighttpd 1.4.69 leaves it out, so it is not asserted here.)
    assert "Content-Range" not in r.headers or r.headers["Content-Range"] == f"bytes */{len(data)}"
    assert data[:100] not in r.content


def test_etag_and_conditionals(stack, shared):
    u, f, data = shared
    r = download(stack, u, f["id"])
    etag = r.headers["ETag"]
    r = download(stack, u, f["id"], headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    r = download(stack, u, f["id"], headers={"If-None-Match": '"something-else"'})
    assert r.status_code == 200 and r.content == data
    # If-Range with the current ETag serves the range; a stale one the whole file.
    r = download(stack, u, f["id"], headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206 and r.content == data[:10]
    r = download(stack, u, f["id"], headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == data


def test_head(stack, shared):
    u, f, data = shared
    r = stack.req("HEAD", f"{FILES}/{f['id']}", token=u.access)
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) == len(data)
    assert r.headers["Content-Type"] == "application/pdf"
    assert "filename=\"report.pdf\"" in r.headers["Content-Disposition"]


def expected_disposition(name):
    raw = name.encode()
    ascii_ = "".join("_" if (c < 0x20 or c >= 0x7F or c in b'"\\') else chr(c) for c in raw)
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~")
    enc = "".join(chr(c) if c in safe else f"%{c:02X}" for c in raw)
    return f"attachment; filename=\"{ascii_}\"; filename*=UTF-8''{enc}"


@pytest.mark.parametrize("name", ["résumé 2024.txt", "отчёт.pdf", "日本語 ファイル.png",
                                  'quote"and\\back.txt', "emoji 📄;=,%.bin",
                                  "semi;colon, comma=eq.txt"])
def test_content_disposition(stack, owner, name):
    f = upload_file(stack, owner, b"x", filename=name)
    r = download(stack, owner, f["id"])
    cd = r.headers["Content-Disposition"]
    assert cd == expected_disposition(name)
    # The RFC 5987 value decodes back to the name; the fallback is plain ASCII.
    assert unquote(cd.split("filename*=UTF-8''", 1)[1], encoding="utf-8") == name
    fallback = cd.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert fallback.isascii() and '"' not in fallback and "\\" not in fallback


# -- metadata, list, delete -----------------------------------------------------------------------
def test_info(stack, owner):
    # Plain random bytes now and then look like zlib, MPEG audio or a DOS
    # executable to libmagic; behind this prefix they never do.
    data = b"HSBIN\x00\x01\x02" + os.urandom(992)
    f = upload_file(stack, owner, data, filename="a.txt", content_type="text/plain",
                    sha256=sha256(data))
    info = assert_ok(stack.get(f"{FILES}/{f['id']}/info", token=owner.access))
    assert info == f
    assert HEX24.match(info["id"]) and info["owner_id"] == owner.id
    assert ISO_TIME.match(info["created_at"]) and info["expires_at"] is None
    assert info["size"] == 1000 and info["sha256"] == sha256(data)
    assert info["content_type"] == "text/plain"
    assert info["sniffed_type"] == "application/octet-stream"  # binary of no known kind
    assert info["chat_id"] is None
    assert info["download_url"] == f"{FILES}/{f['id']}"


@pytest.mark.parametrize("bad", ["nothex", "0" * 23, "0" * 25, "G" * 24, "%20", "x%2Fy"])
def test_info_bad_id(stack, owner, bad):
    assert_error(stack.raw("GET", f"{FILES}/{bad}/info", token=owner.access), 404,
                 "file_not_found")
    assert_error(stack.raw("GET", f"{FILES}/{bad}", token=owner.access), 404, "file_not_found")


def test_list_pagination(stack, owner):
    ids = [upload_file(stack, owner, os.urandom(10 + i), filename=f"f{i}.bin")["id"]
           for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = assert_ok(stack.get(f"{FILES}/list", token=owner.access, params=params))
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 3
        seen += [f["id"] for f in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == list(reversed(ids)), "newest first, each once"
    everything = assert_ok(stack.get(f"{FILES}/list", token=owner.access))
    assert [f["id"] for f in everything["items"]] == seen and everything["next_cursor"] is None
    item = everything["items"][0]
    assert item == assert_ok(stack.get(f"{FILES}/{item['id']}/info", token=owner.access))


@pytest.mark.parametrize("query,code", [("limit=0", "invalid_value"),
                                        ("limit=101", "invalid_value"),
                                        ("limit=x", "invalid_value"), ("limit=", "invalid_value"),
                                        ("cursor=abc", "invalid_cursor"),
                                        ("cursor=" + "Z" * 24, "invalid_cursor")])
def test_list_bad_query(stack, owner, query, code):
    assert_error(stack.get(f"{FILES}/list?{query}", token=owner.access), 400, code)


def test_list_is_per_user_and_excludes_uploads(stack, owner):
    other = stack.register(prefix="fl2")
    mine = upload_file(stack, owner, b"mine")
    init_upload(stack, owner, 100)  # unfinished: not a file
    upload_file(stack, other, b"theirs")
    items = assert_ok(stack.get(f"{FILES}/list", token=owner.access))["items"]
    assert [f["id"] for f in items] == [mine["id"]]


def test_delete_removes_bytes(stack, owner):
    data = os.urandom(5000)
    f = upload_file(stack, owner, data)
    path = blob_path(stack, f["id"])
    assert os.path.getsize(path) == len(data)
    link = assert_ok(stack.post(f"{FILES}/{f['id']}/links", token=owner.access, json={}), 201)
    r = stack.delete(f"{FILES}/{f['id']}", token=owner.access)
    assert r.status_code == 204 and r.content == b""
    assert not os.path.exists(path)
    assert_error(stack.get(f"{FILES}/{f['id']}/info", token=owner.access), 404, "file_not_found")
    assert_error(download(stack, owner, f["id"]), 404, "file_not_found")
    assert_error(stack.delete(f"{FILES}/{f['id']}", token=owner.access), 404, "file_not_found")
    assert_error(stack.get(link["url"]), 404, "link_not_found")
    assert f["id"] not in stack.get(f"{FILES}/list", token=owner.access).text


# -- share links ----------------------------------------------------------------------------------
def make_link(stack, user, file_id, **body):
    return assert_ok(stack.post(f"{FILES}/{file_id}/links", token=user.access, json=body), 201)


def test_link_create_and_download(stack, owner):
    data = os.urandom(20000)
    f = upload_file(stack, owner, data, filename="shared.bin")
    before = time.time()
    link = make_link(stack, owner, f["id"], expires_in=3600, max_downloads=5)
    assert set(link) == {"id", "file_id", "created_at", "expires_at", "max_downloads", "downloads",
                         "has_password", "token", "url"}
    assert link["file_id"] == f["id"] and link["max_downloads"] == 5 and link["downloads"] == 0
    assert link["has_password"] is False and link["url"] == f"/s/{link['token']}"
    assert len(link["token"]) >= 32
    exp = time.mktime(time.strptime(link["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 3600 - 60 <= exp <= time.time() + 3600 + 60

    r = stack.get(link["url"])  # no token
    assert r.status_code == 200 and r.content == data
    assert 'filename="shared.bin"' in r.headers["Content-Disposition"]
    r = stack.get(link["url"], headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]

    links = assert_ok(stack.get(f"{FILES}/{f['id']}/links", token=owner.access))["items"]
    assert len(links) == 1 and links[0]["id"] == link["id"]
    assert links[0]["downloads"] == 2
    assert "token" not in links[0] and "url" not in links[0]
    assert link["token"] not in json.dumps(links)
    # The default lifetime is a week; max_downloads 0 means no limit.
    d = make_link(stack, owner, f["id"])
    assert d["max_downloads"] == 0 and d["token"] != link["token"]


def test_link_head_shows_the_file_without_spending_a_download(stack, owner):
    """The share page asks HEAD first: name and size, the password checked,
    and nothing counted; a used-up link refuses it as it refuses GET."""
    data = os.urandom(3000)
    f = upload_file(stack, owner, data, filename="look first.bin")
    link = make_link(stack, owner, f["id"], max_downloads=1, password="open sesame")
    assert stack.req("HEAD", link["url"]).status_code == 403
    assert stack.req("HEAD", link["url"], headers={"X-Share-Password": "nope nope"}).status_code == 403
    for _ in range(3):
        r = stack.req("HEAD", link["url"], headers={"X-Share-Password": "open sesame"})
        assert r.status_code == 200 and r.content == b""
        assert int(r.headers["Content-Length"]) == len(data)
        assert 'filename="look first.bin"' in r.headers["Content-Disposition"]
    links = assert_ok(stack.get(f"{FILES}/{f['id']}/links", token=owner.access))["items"]
    assert links[0]["downloads"] == 0
    r = stack.get(link["url"], headers={"X-Share-Password": "open sesame"})
    assert r.status_code == 200 and r.content == data
    assert stack.req("HEAD", link["url"], headers={"X-Share-Password": "open sesame"}).status_code == 410
    assert_error(stack.get(link["url"], headers={"X-Share-Password": "open sesame"}), 410,
                 "link_exhausted")


def test_link_download_limit_race(stack, owner):
    data = os.urandom(50000)
    f = upload_file(stack, owner, data)
    link = make_link(stack, owner, f["id"], max_downloads=1)
    barrier = threading.Barrier(8)
    results = []
    lock = threading.Lock()

    def grab():
        from hsapi import Client
        c = Client(stack.base)
        barrier.wait()
        r = c.get(link["url"])
        with lock:
            results.append(r)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, [r.status_code for r in results]
    assert ok[0].content == data
    for r in results:
        if r.status_code != 200:
            assert_error(r, 410, "link_exhausted")
    assert_error(stack.get(link["url"]), 410, "link_exhausted")
    links = assert_ok(stack.get(f"{FILES}/{f['id']}/links", token=owner.access))["items"]
    assert links[0]["downloads"] == 1


def test_link_expires(stack, owner):
    f = upload_file(stack, owner, b"soon gone")
    link = make_link(stack, owner, f["id"], expires_in=1)
    assert stack.get(link["url"]).status_code == 200
    time.sleep(1.6)
    assert_error(stack.get(link["url"]), 410, "link_expired")
    # The file itself is still there.
    assert download(stack, owner, f["id"]).content == b"soon gone"


def test_link_revoked(stack, owner):
    f = upload_file(stack, owner, b"revoke me")
    keep = make_link(stack, owner, f["id"])
    link = make_link(stack, owner, f["id"])
    r = stack.delete(f"{FILES}/{f['id']}/links/{link['id']}", token=owner.access)
    assert r.status_code == 204
    assert_error(stack.get(link["url"]), 404, "link_not_found")
    ids = [l["id"] for l in assert_ok(stack.get(f"{FILES}/{f['id']}/links",
                                                token=owner.access))["items"]]
    assert ids == [keep["id"]]
    assert_error(stack.delete(f"{FILES}/{f['id']}/links/{link['id']}", token=owner.access), 404,
                 "link_not_found")
    assert_error(stack.delete(f"{FILES}/{f['id']}/links/nothex", token=owner.access), 404,
                 "link_not_found")
    # A link id of another file of the same owner does not work through this file.
    g = upload_file(stack, owner, b"other")
    assert_error(stack.delete(f"{FILES}/{g['id']}/links/{keep['id']}", token=owner.access), 404,
                 "link_not_found")
    assert stack.get(keep["url"]).status_code == 200


def test_link_password(stack, owner):
    f = upload_file(stack, owner, b"secret bytes")
    link = make_link(stack, owner, f["id"], password="open sesame")
    assert link["has_password"] is True
    e = assert_error(stack.get(link["url"]), 403, "password_required")
    assert "X-Share-Password" in e["hint"]
    assert "secret bytes" not in stack.get(link["url"]).text
    assert_error(stack.get(link["url"], headers={"X-Share-Password": "open sesame!"}), 403,
                 "password_required")
    assert_error(stack.get(link["url"], headers={"X-Share-Password": ""}), 403,
                 "password_required")
    r = stack.get(link["url"], headers={"X-Share-Password": "open sesame"})
    assert r.status_code == 200 and r.content == b"secret bytes"
    links = assert_ok(stack.get(f"{FILES}/{f['id']}/links", token=owner.access))["items"]
    assert "open sesame" not in json.dumps(links) and "argon2" not in json.dumps(links)


@pytest.mark.parametrize("body,code", [
    ({"expires_in": 0}, "invalid_value"), ({"expires_in": 31536001}, "invalid_value"),
    ({"expires_in": "60"}, "wrong_type"), ({"max_downloads": -1}, "invalid_value"),
    ({"max_downloads": 1.5}, "invalid_value"), ({"password": "abc"}, "invalid_value"),
    ({"password": "p" * 257}, "invalid_value"), ({"password": 1234}, "wrong_type"),
])
def test_link_create_invalid(stack, owner, body, code):
    f = upload_file(stack, owner, b"x")
    assert_error(stack.post(f"{FILES}/{f['id']}/links", token=owner.access, json=body), 400, code)
    assert assert_ok(stack.get(f"{FILES}/{f['id']}/links", token=owner.access))["items"] == []


@pytest.mark.parametrize("token", ["nope", "A" * 32, "A" * 43, "A" * 65, "A" * 5000, "%20",
                                   "a%2Fb"])
def test_unknown_share_token(stack, token):
    r = stack.raw("GET", f"/s/{token}")
    assert_error(r, 404, "link_not_found")


@pytest.mark.parametrize("path", ["/s/..%2F..%2Fetc%2Fpasswd", "/s/../conf/lighttpd.conf",
                                  "/s/%2e%2e/%2e%2e/Makefile", "/s/%00"])
def test_share_path_tricks(stack, path):
    r = stack.raw("GET", path)
    assert r.status_code in (400, 403, 404), r.status_code
    assert b"root:" not in r.content and b"server.modules" not in r.content
    assert b"fastcgi" not in r.content


def test_other_user_cannot_touch_links(stack, owner):
    other = stack.register(prefix="fl3")
    f = upload_file(stack, owner, b"mine")
    link = make_link(stack, owner, f["id"])
    assert_error(stack.get(f"{FILES}/{f['id']}/links", token=other.access), 404, "file_not_found")
    assert_error(stack.post(f"{FILES}/{f['id']}/links", token=other.access, json={}), 404,
                 "file_not_found")
    assert_error(stack.delete(f"{FILES}/{f['id']}/links/{link['id']}", token=other.access), 404,
                 "file_not_found")
    # Their own file's path with my link id does not reach my link either.
    g = upload_file(stack, other, b"theirs")
    assert_error(stack.delete(f"{FILES}/{g['id']}/links/{link['id']}", token=other.access), 404,
                 "link_not_found")
    assert stack.get(link["url"]).content == b"mine"
    links = assert_ok(stack.get(f"{FILES}/{f['id']}/links", token=owner.access))["items"]
    assert [l["id"] for l in links] == [link["id"]]


# -- events ---------------------------------------------------------------------------------------
def test_file_ready_event(stack, owner):
    key = f"hs:ev:user:{owner.id}"
    assert stream_events(stack, key) == []
    data = os.urandom(777)
    up = init_upload(stack, owner, len(data), filename="event.bin")
    assert_ok(put_chunk(stack, owner, up["upload_id"], 0, data))
    assert stream_events(stack, key) == [], "no event before complete"
    f = assert_ok(complete(stack, owner, up["upload_id"]))
    events = stream_events(stack, key)
    assert len(events) == 1
    entry_id, fields = events[0]
    assert fields["type"] == "file.ready"
    body = json.loads(fields["data"])
    assert body["id"] == f["id"] and body["size"] == 777 and body["filename"] == "event.bin"
    assert body["owner_id"] == owner.id
    # tus uploads announce themselves the same way.
    r = stack.post(f"{FILES}/tus", token=owner.access, data=data,
                   headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                            "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 201
    events = stream_events(stack, key)
    assert [e[1]["type"] for e in events] == ["file.ready", "file.ready"]
    assert json.loads(events[1][1]["data"])["id"] == r.headers["Location"].rsplit("/", 1)[1]
    assert events[1][0] > entry_id or len(events[1][0]) > len(entry_id)
