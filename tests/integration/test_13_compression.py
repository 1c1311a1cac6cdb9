"""The web client over the wire (issue 13): the build's precompressed copies
of www/ (conf/build-www.sh) go to clients that accept them, JSON answers
above 1 KiB are compressed on the fly, user files never are, and versioned
assets are cached for a year while pages are revalidated.

Responses are read with hsapi's raw client (http.client), which neither asks
for nor decodes any encoding, so the bytes on the wire are what is checked."""
import gzip
import re
import subprocess

import pytest

from hsapi import API, ROOT, assert_ok
from p2p_helpers import download as p2p_download
from p2p_helpers import in_state, relay_size, step, upload_relay
from test_03_helpers import upload_file

WWW = ROOT / "www"
BR_GZ = "br, gzip"
YEAR = "public, max-age=31536000, immutable"


def unbrotli(data):
    return subprocess.run(["brotli", "-d", "-c"], input=data, capture_output=True,
                          check=True, timeout=30).stdout


def decoded(r):
    enc = r.headers.get("Content-Encoding")
    if enc == "br":
        return unbrotli(r.content)
    if enc == "gzip":
        return gzip.decompress(r.content)
    assert enc is None, enc
    return r.content


@pytest.fixture(scope="module")
def prefix(stack):
    """The build's asset prefix, /v/<hash>, as index.html names it."""
    page = stack.raw("GET", "/")
    assert page.status_code == 200
    m = re.search(r'src="(/v/[0-9a-f]+)/js/app\.js"', page.text)
    assert m, f"index.html does not load a versioned app.js: {page.text}"
    return m.group(1)


# (path under the prefix, Content-Type it is sent with)
ASSETS = [
    ("/js/app.js", "text/javascript; charset=utf-8"),
    ("/js/views/chats.js", "text/javascript; charset=utf-8"),
    ("/css/app.css", "text/css; charset=utf-8"),
    ("/openapi.json", "application/json"),
]


@pytest.mark.parametrize("path,ctype", ASSETS)
def test_assets_come_precompressed(stack, prefix, path, ctype):
    plain = stack.raw("GET", prefix + path)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    # The build changes nothing in a file but its asset URLs.
    assert plain.content.replace(prefix.encode(), b"") == (WWW / path.lstrip("/")).read_bytes()
    sizes = {}
    for accept, enc in (("br", "br"), ("gzip", "gzip"), ("gzip, deflate, br", "br"),
                        ("br;q=0, gzip", "gzip")):
        r = stack.raw("GET", prefix + path, headers={"Accept-Encoding": accept})
        assert r.status_code == 200
        assert r.headers.get("Content-Encoding") == enc, (accept, dict(r.headers))
        assert r.headers["Content-Type"] == ctype
        assert "Accept-Encoding" in r.headers.get("Vary", "")
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert decoded(r) == plain.content, (accept, path)
        sizes[enc] = len(r.content)
    assert sizes["br"] < len(plain.content) * 0.5 and sizes["gzip"] < len(plain.content) * 0.5
    # Unversioned paths are served compressed too, and so are pages.
    r = stack.raw("GET", path, headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip" and decoded(r) == plain.content


@pytest.mark.parametrize("page,file", [("/", "index.html"), ("/index.html", "index.html"),
                                       ("/docs/", "docs/index.html"), ("/share.html", "share.html")])
def test_pages_come_precompressed(stack, prefix, page, file):
    plain = stack.raw("GET", page)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.content.replace(prefix.encode(), b"") == (WWW / file).read_bytes()
    r = stack.raw("GET", page, headers={"Accept-Encoding": BR_GZ})
    assert r.status_code == 200 and r.headers.get("Content-Encoding") == "br"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert decoded(r) == plain.content


@pytest.mark.parametrize("accept", [None, "identity", "br;q=0, gzip;q=0", "deflate"])
def test_no_encoding_unless_asked(stack, prefix, accept):
    h = {"Accept-Encoding": accept} if accept else {}
    for path, ctype in ASSETS:
        r = stack.raw("GET", prefix + path, headers=h)
        assert r.status_code == 200 and r.headers["Content-Type"] == ctype
        assert "Content-Encoding" not in r.headers, (accept, path)
        assert r.content.replace(prefix.encode(), b"") == (WWW / path.lstrip("/")).read_bytes()
        assert "Accept-Encoding" in r.headers.get("Vary", "")


def test_conditional_request_per_encoding(stack, prefix):
    """Each encoding is its own representation: its own ETag, and a 304 for it."""
    path = prefix + "/js/app.js"
    tags = {}
    for accept in ("br", "gzip", None):
        h = {"Accept-Encoding": accept} if accept else {}
        r = stack.raw("GET", path, headers=h)
        tags[accept] = r.headers["ETag"]
        again = stack.raw("GET", path, headers={**h, "If-None-Match": tags[accept]})
        assert again.status_code == 304 and again.content == b""
    assert len(set(tags.values())) == 3, tags


def test_json_answers_above_a_kilobyte_are_compressed(stack):
    u = stack.register()
    for i in range(12):
        upload_file(stack, u, b"x" * 10, filename=f"report-{i:02d}-of-the-quarter.txt")
    plain = stack.raw("GET", f"{API}/files/list", token=u.access)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert len(plain.content) > 2048
    for accept, enc in (("br", "br"), ("gzip", "gzip"), (BR_GZ, "br")):
        r = stack.raw("GET", f"{API}/files/list", token=u.access,
                      headers={"Accept-Encoding": accept})
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        assert r.headers.get("Content-Encoding") == enc, dict(r.headers)
        assert "Accept-Encoding" in r.headers.get("Vary", "")
        assert len(r.content) < len(plain.content) / 2
        # Same answer (created_at and the rest do not change between calls).
        assert decoded(r) == plain.content
        # API answers keep their own caching, never the assets' year.
        assert r.headers.get("Cache-Control") == plain.headers.get("Cache-Control")
        assert "max-age" not in r.headers.get("Cache-Control", "")
    # A large answer, which reaches the front in several reads, every time.
    for i in range(60):
        assert_ok(stack.post(f"{API}/chats", token=u.access, json={
            "kind": "group", "name": f"Project group {i}", "description": "plans " * 40,
            "members": []}), 201)
    plain = stack.raw("GET", f"{API}/chats?limit=100", token=u.access)
    assert plain.status_code == 200 and len(plain.content) > 30000
    for _ in range(20):
        r = stack.raw("GET", f"{API}/chats?limit=100", token=u.access,
                      headers={"Accept-Encoding": BR_GZ})
        assert r.headers.get("Content-Encoding") == "br", dict(r.headers)
        assert decoded(r) == plain.content
    # A small answer is not worth it.
    me = stack.raw("GET", f"{API}/auth/me", token=u.access, headers={"Accept-Encoding": BR_GZ})
    assert me.status_code == 200 and len(me.content) < 1024
    assert "Content-Encoding" not in me.headers


def _json_bytes(n):
    unit = b'{"id": 1, "name": "same text again and again", "ok": true}\n'
    return (unit * (n // len(unit) + 1))[:n]


def _check_uncompressed(r, data):
    assert r.status_code == 200, (r.status_code, r.content[:200])
    assert "Content-Encoding" not in r.headers, dict(r.headers)
    assert r.content == data
    assert int(r.headers["Content-Length"]) == len(data)


def test_user_files_are_never_compressed(stack, user_a):
    """Downloads (X-Sendfile) and share links send the stored bytes as they
    are, even when they look like JSON and the client takes brotli: a user
    file never goes out as application/json, the one type compressed on the
    fly, and no precompressed copy exists for it."""
    data = _json_bytes(40000)
    for ctype in ("application/json", "text/plain"):
        f = upload_file(stack, user_a, data, filename="export.json", content_type=ctype)
        h = {"Accept-Encoding": BR_GZ}
        r = stack.raw("GET", f"{API}/files/{f['id']}", token=user_a.access, headers=h)
        _check_uncompressed(r, data)
        # JSON is an active type, sent as application/octet-stream; text/plain
        # is sent as itself.
        assert r.headers["Content-Type"].startswith(
            "text/plain" if ctype == "text/plain" else "application/octet-stream")
        part = stack.raw("GET", f"{API}/files/{f['id']}", token=user_a.access,
                         headers={**h, "Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert "Content-Encoding" not in part.headers
        link = assert_ok(stack.post(f"{API}/files/{f['id']}/links", token=user_a.access,
                                    json={}), 201)
        _check_uncompressed(stack.raw("GET", link["url"], headers=h), data)


def test_relay_downloads_are_never_compressed(stack):
    a, b = stack.register(), stack.register()
    size = 5000
    t = in_state(stack, a, b, "accepted", size=size, mode="relay")
    data = _json_bytes(relay_size(size))
    f, _ = upload_relay(stack, a, data=data)
    assert_ok(step(stack, a, t["id"], "relay", {"file_id": f["id"]}))
    r = p2p_download(stack, b, t["id"], headers={"Accept-Encoding": BR_GZ, "Connection": "close"},
                     stream=True)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200 and "Content-Encoding" not in r.headers, dict(r.headers)
    assert raw == data


def test_versioned_assets_are_cached_for_a_year(stack, prefix):
    for path, _ in ASSETS + [("/vendor/tus-js-client/tus.min.js", None)]:
        for accept in (None, BR_GZ):
            h = {"Accept-Encoding": accept} if accept else {}
            r = stack.raw("GET", prefix + path, headers=h)
            assert r.status_code == 200 and r.headers.get("Cache-Control") == YEAR, (path, accept)
    # Pages are revalidated on every load, so a new build is seen at once.
    for page in ("/", "/index.html", "/share.html", "/p2p.html", "/docs/"):
        for accept in (None, BR_GZ):
            h = {"Accept-Encoding": accept} if accept else {}
            r = stack.raw("GET", page, headers=h)
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
            assert r.headers.get("Cache-Control") == "no-cache", (page, dict(r.headers))
    # Unversioned asset paths get no long caching.
    r = stack.raw("GET", "/js/app.js")
    assert "immutable" not in r.headers.get("Cache-Control", "")


def test_pages_name_only_versioned_assets_that_exist(stack, prefix):
    """Every script and stylesheet of the pages is under the current prefix,
    and is there."""
    for page in ("/", "/share.html", "/p2p.html", "/docs/"):
        text = stack.raw("GET", page).text
        urls = re.findall(r'(?:src|href)="(/[^"]+)"', text)
        assert urls, page
        for url in urls:
            if url.endswith((".js", ".css", ".png")):
                assert url.startswith(prefix + "/"), (page, url)
                assert stack.raw("GET", url).status_code == 200, url


def test_scripts_name_only_versioned_assets(stack, prefix):
    """The stylesheets and scripts the modules load themselves (a view's CSS,
    the tus client, the API document) are under the prefix too: nothing the
    client fetches misses the year of caching."""
    unversioned = re.compile(r"""[`'"]/(?:css/|js/|vendor/|openapi\.json)""")
    sources = sorted(p for p in (WWW / "js").rglob("*.js")) + [WWW / "docs" / "init.js"]
    assert len(sources) > 20
    for src in sources:
        path = "/" + src.relative_to(WWW).as_posix()
        r = stack.raw("GET", prefix + path)
        assert r.status_code == 200, path
        left = unversioned.findall(r.text)
        assert not left, (path, left)
        assert r.content.replace(prefix.encode(), b"") == src.read_bytes(), path
