"""The output boundary of the files app (issue 11, defect 1 and the classes
behind it): content types checked by grammar at every entry and stored
normalised, one header writer that never splits a header, user bytes never
served as active content on the app's origin (attachment, nosniff, CSP
sandbox, active types as octet-stream), the optional download origin, and
the share-link hardening (8-character passwords, guesses counted per link
and address, links of disabled owners)."""
import base64
import http.client
import os
import sqlite3

import pytest

from hsapi import API, assert_error, assert_ok, sqlite_only
from p2p_helpers import P2P, in_state, relay_size, step
from test_03_helpers import (FILES, blob_path, download, init_upload, start_stack, stop_stack,
                             upload_file)

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def owner(stack):
    return stack.register(prefix="bd")


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def tus_create(stack, user, length, **metadata):
    h = {**TUS, "Upload-Length": str(length),
         "Upload-Metadata": ",".join(f"{k} {b64(v)}" for k, v in metadata.items())}
    return stack.post(f"{FILES}/tus", token=user.access, headers=h)


def db(stack):
    return sqlite3.connect(os.path.join(stack.rundir, "data", "hypersend.db"), timeout=10)


def assert_safe_download(r, served_type, disposition="attachment"):
    """The headers every download of user bytes carries."""
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == served_type
    assert r.headers["Content-Disposition"].split(";")[0] == disposition
    assert r.headers["X-Content-Type-Options"].split(",")[0].strip() == "nosniff"
    # The app's own policy reaches the browser (the front adds its page policy
    # beside it; a browser enforces both).
    policies = [p.strip() for p in r.headers["Content-Security-Policy"].split(",")]
    assert "sandbox" in policies, r.headers["Content-Security-Policy"]


# -- defect 1: header injection through the declared type --------------------------------------
def injections(victim_blob):
    return {
        "x_sendfile2": f"text/plain\r\nX-Sendfile2: {victim_blob} 0-\r\n",
        "header_split": "text/html\r\n\r\n",
        "lf_only": "text/plain\nX-Injected: 1",
        "cr_only": "text/plain\rX-Injected: 1",
        "tab_header": "text/plain\r\n\tX-Injected: 1",
    }


@pytest.mark.parametrize("kind", ["x_sendfile2", "header_split", "lf_only", "cr_only",
                                  "tab_header"])
def test_injected_content_type_is_refused_at_init(stack, owner, kind):
    """The reported attack: a content_type carrying an X-Sendfile2 line made
    the attacker's download return the victim's file through lighttpd; one
    ending in an empty line cut Content-Disposition off. Refused at entry."""
    victim = stack.register(prefix="vic")
    secret = b"the victim's private bytes " + os.urandom(8).hex().encode()
    vf = upload_file(stack, victim, secret, filename="private.txt", content_type="text/plain")
    ctype = injections(blob_path(stack, vf["id"]))[kind]
    r = init_upload(stack, owner, len(secret), filename="a.txt", content_type=ctype, status=400)
    assert_error(r, 400, "invalid_content_type")
    # and nothing the attacker holds can return the victim's bytes
    listed = assert_ok(stack.get(f"{FILES}/list", token=owner.access))["items"]
    for f in listed:
        d = download(stack, owner, f["id"])
        assert secret not in d.content and "X-Injected" not in d.headers


@pytest.mark.parametrize("kind", ["x_sendfile2", "header_split", "lf_only"])
def test_injected_filetype_is_refused_by_tus(stack, owner, kind):
    ctype = injections(blob_path(stack, "0" * 24))[kind]
    r = tus_create(stack, owner, 10, filename="a.txt", filetype=ctype)
    assert_error(r, 400, "invalid_content_type")


@sqlite_only
def test_stored_bad_type_is_never_a_header(stack, owner):
    """Even a bad type already in the store (written before the checks)
    cannot split the download's head: it goes out as octet-stream."""
    victim = stack.register(prefix="vic")
    vf = upload_file(stack, victim, b"victim bytes", filename="v.txt")
    f = upload_file(stack, owner, b"mine", filename="m.txt", content_type="text/plain")
    bad = f"text/plain\r\nX-Sendfile2: {blob_path(stack, vf['id'])} 0-\r\nX-Injected: 1"
    with db(stack) as c:
        c.execute("UPDATE files SET content_type = ? WHERE id = ?", (bad, f["id"]))
    r = download(stack, owner, f["id"])
    assert r.content == b"mine" and "X-Injected" not in r.headers
    assert_safe_download(r, "application/octet-stream")


@sqlite_only
def test_header_writer_refuses_a_stored_split(stack, owner):
    """The writer itself: tus echoes the stored Upload-Metadata in HEAD; a
    value with CR/LF planted in the store gives a 500 with none of the
    reply's headers, never an injected one."""
    r = tus_create(stack, owner, 10, filename="a.txt")
    assert r.status_code == 201, r.text
    loc = r.headers["Location"]
    with db(stack) as c:
        c.execute("UPDATE uploads SET metadata = ? WHERE id = ?",
                  ("filename YQ==\r\nX-Injected: 1\r\n\r\n<html>", loc.rsplit("/", 1)[1]))
    h = stack.req("HEAD", loc, token=owner.access, headers=TUS)
    assert h.status_code == 500
    assert "X-Injected" not in h.headers and "Upload-Offset" not in h.headers
    assert h.headers.get("X-Request-Id")
    g = stack.get(f"{FILES}/upload/{loc.rsplit('/', 1)[1]}", token=owner.access)
    assert g.status_code == 200  # the app lives on


# -- grammar and normal form -----------------------------------------------------------------
@pytest.mark.parametrize("sent,stored", [
    ("text/plain", "text/plain"),
    ("  Text/Plain ; Charset=UTF-8 ", "text/plain; charset=UTF-8"),
    ("IMAGE/PNG", "image/png"),
    ('multipart/mixed;boundary="a b"', 'multipart/mixed; boundary="a b"'),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])
def test_content_type_stored_normalised(stack, owner, sent, stored):
    f = upload_file(stack, owner, b"0123456789", filename="n.bin", content_type=sent)
    assert f["content_type"] == stored
    info = assert_ok(stack.get(f"{FILES}/{f['id']}/info", token=owner.access))
    assert info["content_type"] == stored


@pytest.mark.parametrize("sent", [
    "text", "text/", "/plain", "text/pl ain", "text/plain; charset", "text/plain;;a=b",
    'text/plain; a="open', "t\u00e9xt/plain", "text/plain; a=\u00e9", "text/plain\t\u0001",
    "a/" + "b" * 254,
])
def test_content_type_grammar(stack, owner, sent):
    r = init_upload(stack, owner, 10, content_type=sent, status=400)
    assert_error(r, 400, {"invalid_content_type", "invalid_value"})
    assert_error(tus_create(stack, owner, 10, filetype=sent), 400,
                 {"invalid_content_type", "invalid_metadata"})


def test_tus_filetype_normalised_and_empty_allowed(stack, owner):
    r = tus_create(stack, owner, 0, filename="e.txt", filetype=" Text/Plain ")
    assert r.status_code == 201, r.text
    fid = r.headers["Location"].rsplit("/", 1)[1]
    assert assert_ok(stack.get(f"{FILES}/{fid}/info", token=owner.access))[
        "content_type"] == "text/plain"
    # tus-js-client sends an empty filetype for unknown files: the default
    r = tus_create(stack, owner, 0, filename="u.bin", filetype="")
    fid = r.headers["Location"].rsplit("/", 1)[1]
    assert assert_ok(stack.get(f"{FILES}/{fid}/info", token=owner.access))[
        "content_type"] == "application/octet-stream"


# -- user bytes are never active content -----------------------------------------------------
ACTIVE = ["text/html", "text/html; charset=utf-8", "image/svg+xml", "application/xhtml+xml",
          "text/javascript", "application/javascript", "application/xml", "text/xml", "text/css"]
PASSIVE = ["image/png", "image/jpeg", "text/plain", "text/plain; charset=utf-8",
           "application/pdf", "video/mp4", "audio/mpeg"]
PAGE = b"<!doctype html><script>fetch('/api/v1/auth/me')</script><svg onload=alert(1)>"


@pytest.mark.parametrize("ctype", ACTIVE)
def test_active_types_go_as_octet_stream_attachments(stack, owner, ctype):
    f = upload_file(stack, owner, PAGE, filename="page.html", content_type=ctype)
    assert f["content_type"] == ctype  # what was declared is kept and shown
    for inline in ("", "?inline=1"):
        r = stack.get(f"{FILES}/{f['id']}{inline}", token=owner.access)
        assert_safe_download(r, "application/octet-stream")
        assert r.content == PAGE


@pytest.mark.parametrize("ctype", PASSIVE)
def test_passive_types_inline_only_when_asked(stack, owner, ctype):
    f = upload_file(stack, owner, PAGE, filename="p.bin", content_type=ctype)
    assert_safe_download(download(stack, owner, f["id"]), ctype)
    r = stack.get(f"{FILES}/{f['id']}?inline=1", token=owner.access)
    assert_safe_download(r, ctype, "inline")
    assert 'filename="p.bin"' in r.headers["Content-Disposition"]


def test_share_link_serves_safely(stack, owner):
    f = upload_file(stack, owner, PAGE, filename="page.html", content_type="text/html")
    link = assert_ok(stack.post(f"{FILES}/{f['id']}/links", token=owner.access, json={}), 201)
    for method in ("GET", "HEAD"):
        r = stack.req(method, link["url"])
        assert_safe_download(r, "application/octet-stream")
    r = stack.get(link["url"] + "?inline=1")
    assert_safe_download(r, "application/octet-stream")
    assert r.content == PAGE


def test_p2p_relay_download_serves_safely(stack):
    sender, recipient = stack.register(prefix="ps"), stack.register(prefix="pr")
    t = in_state(stack, sender, recipient, "accepted", size=100)
    data = PAGE.ljust(relay_size(100), b" ")
    f = upload_file(stack, sender, data, filename="relay.html", content_type="text/html")
    assert_ok(step(stack, sender, t["id"], "relay", {"file_id": f["id"]}))
    r = stack.get(f"{P2P}/{t['id']}/download", token=recipient.access)
    assert_safe_download(r, "application/octet-stream")
    assert r.content == data
    # a relay copy is ciphertext: bytes, whatever type its upload declared
    t = in_state(stack, sender, recipient, "accepted", size=100)
    f = upload_file(stack, sender, data, filename="relay.png", content_type="image/png")
    assert_ok(step(stack, sender, t["id"], "relay", {"file_id": f["id"]}))
    r = stack.get(f"{P2P}/{t['id']}/download?inline=1", token=recipient.access)
    assert_safe_download(r, "application/octet-stream")


# -- filenames -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["invoice\u202egpj.exe", "a\u202ab", "a\u202db", "\u2066x\u2069",
                                  "a\u0085b", "a\u009bb"])
def test_filename_bidi_and_c1_refused(stack, owner, name):
    """"invoice\\u202egpj.exe" shows as "invoiceexe.jpg": refused, not stored."""
    assert_error(init_upload(stack, owner, 10, filename=name, status=400), 400, "invalid_filename")
    assert_error(tus_create(stack, owner, 10, filename=name), 400, "invalid_filename")


def test_filename_joiners_and_rtl_text_kept(stack, owner):
    name = "\U0001f468\u200d\U0001f469 \u05e9\u05dc\u05d5\u05dd.txt"  # ZWJ emoji, Hebrew
    assert upload_file(stack, owner, b"x", filename=name)["filename"] == name


# -- download origin -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dl_stack():
    s = start_stack("dlorigin", HS_DOWNLOAD_ORIGIN="http://dl.invalid:8443")
    yield s
    stop_stack(s)


def raw_get(stack, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close", **headers})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}


def test_download_origin_redirects_navigations(dl_stack):
    """A browser that opens a share link on the app's host is sent to the
    download origin, without spending the link's one download; there the
    bytes are served; the web client's fetch() is served where it asks."""
    u = dl_stack.register(prefix="do")
    f = upload_file(dl_stack, u, PAGE, filename="page.html", content_type="text/html")
    link = assert_ok(dl_stack.post(f"{FILES}/{f['id']}/links", token=u.access,
                                   json={"max_downloads": 2}), 201)
    app_host = {"Host": f"127.0.0.1:{dl_stack.port}"}
    for _ in range(3):
        status, h, _ = raw_get(dl_stack, link["url"] + "?x=1", {**app_host, **NAVIGATE})
        assert status == 307
        assert h["Location"] == "http://dl.invalid:8443" + link["url"] + "?x=1"
    status, h, body = raw_get(dl_stack, link["url"], {"Host": "dl.invalid:8443", **NAVIGATE})
    assert status == 200 and body == PAGE and h["Content-Type"] == "application/octet-stream"
    status, h, body = raw_get(dl_stack, link["url"], {**app_host, **FETCH})
    assert status == 200 and body == PAGE
    # two downloads were spent, not five: the redirects counted nothing
    status, _, _ = raw_get(dl_stack, link["url"], {"Host": "dl.invalid:8443", **NAVIGATE})
    assert status == 410
    # the API download too (a navigation cannot carry a token, but a frame
    # of an authenticated page could be asked to)
    status, h, _ = raw_get(dl_stack, f"{FILES}/{f['id']}",
                           {**app_host, **NAVIGATE, "Authorization": f"Bearer {u.access}"})
    assert status == 307 and h["Location"] == f"http://dl.invalid:8443{FILES}/{f['id']}"


def test_no_download_origin_serves_navigations(stack, owner):
    f = upload_file(stack, owner, b"plain", filename="a.txt", content_type="text/plain")
    link = assert_ok(stack.post(f"{FILES}/{f['id']}/links", token=owner.access, json={}), 201)
    status, h, body = raw_get(stack, link["url"], NAVIGATE)
    assert status == 200 and body == b"plain"


# -- share-link hardening --------------------------------------------------------------------
@pytest.mark.parametrize("pw,ok", [("1234567", False), ("\u00e9" * 7, False), ("12345678", True),
                                   ("\u00e9" * 8, True)])
def test_link_password_at_least_8_characters(stack, owner, pw, ok):
    f = upload_file(stack, owner, b"x")
    r = stack.post(f"{FILES}/{f['id']}/links", token=owner.access, json={"password": pw})
    if ok:
        assert assert_ok(r, 201)["has_password"] is True
    else:
        assert_error(r, 400, "invalid_value")


def get_from(stack, path, source, headers=None):
    """GET from another loopback address (127.0.0.x), as another client."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_password_guesses_counted_per_address(stack, owner):
    """30 wrong guesses from one address lock that address out, not the
    owner's right password from another."""
    f = upload_file(stack, owner, b"guarded bytes")
    link = assert_ok(stack.post(f"{FILES}/{f['id']}/links", token=owner.access,
                                json={"password": "right horse"}), 201)
    codes = [get_from(stack, link["url"], "127.0.0.2", {"X-Share-Password": f"guess {i}"})[0]
             for i in range(30)]
    assert codes[0] == 403 and codes[-1] == 429, codes
    status, body = get_from(stack, link["url"], "127.0.0.1", {"X-Share-Password": "right horse"})
    assert status == 200 and body == b"guarded bytes"
    # the guesser stays locked out, right password or not
    assert get_from(stack, link["url"], "127.0.0.2", {"X-Share-Password": "right horse"})[0] == 429


def test_links_of_a_disabled_owner_stop(stack):
    owner = stack.register(prefix="dis")
    f = upload_file(stack, owner, b"shared then frozen")
    link = assert_ok(stack.post(f"{FILES}/{f['id']}/links", token=owner.access, json={}), 201)
    assert stack.get(link["url"]).content == b"shared then frozen"
    assert_ok(stack.post(f"{API}/users/{owner.id}/disable", token=stack.admin.access))
    assert_error(stack.get(link["url"]), 404, "link_not_found")
    assert stack.req("HEAD", link["url"]).status_code == 404
    assert_ok(stack.post(f"{API}/users/{owner.id}/enable", token=stack.admin.access))
    assert stack.get(link["url"]).content == b"shared then frozen"
