"""Downloads without X-Sendfile (sendfile_header = none): the files and p2p
apps send a blob's bytes themselves. The download, share-link and relay
tests of the X-Sendfile stack run again here unchanged (imported below,
with `stack` this module's stack); then what only this mode has to prove:
the headers a client sees equal the X-Sendfile answer's, Range edge cases
and conditionals, constant memory in the app and in lighttpd for a 200 MB
download, and a client that leaves mid-download frees its process."""
import hashlib
import os
import socket
import time

import pytest

from conftest import MAIN_ENV
from hsapi import wait_for
from test_03_files import (  # noqa: F401  (collected again against this module's stack)
    owner, shared, test_content_disposition, test_download_whole, test_etag_and_conditionals,
    test_head, test_link_create_and_download,
    test_link_head_shows_the_file_without_spending_a_download, test_range,
    test_range_past_the_end)
from test_03_helpers import FILES, app_pids, download, upload_file
from test_06_p2p import test_relay_transfer, users  # noqa: F401

_main = {}


@pytest.fixture(scope="module")
def stack(stack, make_module_stack):
    """This module's stack: the main stack's settings, sendfile_header = none.
    (The main, X-Sendfile stack is kept for the comparisons: `xsendfile`.)"""
    _main["stack"] = stack
    return make_module_stack(**MAIN_ENV, HS_SENDFILE_HEADER="none")


@pytest.fixture(scope="module")
def xsendfile(stack):
    return _main["stack"]


@pytest.fixture(scope="module")
def big(stack):
    """A 200 MB file: (user, file JSON, sha256 of its bytes)."""
    u = stack.register(prefix="big")
    data = os.urandom(200 * 1000 * 1000)
    f = upload_file(stack, u, data, filename="big.bin")
    return u, f, hashlib.sha256(data).hexdigest()


# The headers whose difference a client would notice.
SAME = ["Content-Type", "Content-Disposition", "X-Content-Type-Options",
        "Content-Security-Policy", "Content-Length", "Accept-Ranges", "Cache-Control",
        "Content-Range"]


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=100-199"}, {"Range": "bytes=-10"}])
@pytest.mark.parametrize("name,ctype", [("report.pdf", "application/pdf"),
                                        ("page.html", "text/html"), ("notes.txt", "text/plain")])
def test_headers_equal_the_xsendfile_answer(stack, xsendfile, name, ctype, headers):
    data = os.urandom(5000)
    got = {}
    for mode, s in (("none", stack), ("X-Sendfile", xsendfile)):
        u = s.register(prefix="hd")
        f = upload_file(s, u, data, filename=name, content_type=ctype)
        for inline in ("", "?inline=1"):
            r = s.get(f"{FILES}/{f['id']}{inline}", token=u.access, headers=headers)
            assert r.status_code == (206 if headers else 200), (mode, r.status_code)
            got[mode, inline] = ({h: r.headers.get(h) for h in SAME}, r.content,
                                 sorted(h for h in ("ETag", "Last-Modified") if h in r.headers))
    for inline in ("", "?inline=1"):
        assert got["none", inline] == got["X-Sendfile", inline]
    assert got["none", ""][2] == ["ETag", "Last-Modified"]


def test_ranges_and_conditionals(stack, shared):
    u, f, data = shared
    n = len(data)
    whole = download(stack, u, f["id"])
    etag, lastmod = whole.headers["ETag"], whole.headers["Last-Modified"]
    # 416 says the size (RFC 9110 15.5.17), and sends no byte.
    for spec in ("300000-", "999999-1000000", "-0"):
        r = download(stack, u, f["id"], headers={"Range": f"bytes={spec}"})
        assert r.status_code == 416 and r.content == b"", spec
        assert r.headers["Content-Range"] == f"bytes */{n}"
    # Several ranges, another unit or a malformed range: the whole file.
    for spec in ("bytes=0-9,20-29", "items=0-9", "bytes=9-0", "bytes=x-", "bytes=--5"):
        r = download(stack, u, f["id"], headers={"Range": spec})
        assert r.status_code == 200 and r.content == data, spec
        assert "Content-Range" not in r.headers
    # A middle range, its Content-Length and Content-Range.
    r = download(stack, u, f["id"], headers={"Range": "bytes=123456-234567"})
    assert r.status_code == 206 and r.content == data[123456:234568]
    assert r.headers["Content-Range"] == f"bytes 123456-234567/{n}"
    # If-Range by date: the current Last-Modified gives the range, another the file.
    r = download(stack, u, f["id"], headers={"Range": "bytes=-5", "If-Range": lastmod})
    assert r.status_code == 206 and r.content == data[-5:]
    r = download(stack, u, f["id"], headers={"Range": "bytes=-5",
                                             "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r.status_code == 200 and r.content == data
    # A weak ETag never matches If-Range (strong comparison), and does If-None-Match.
    r = download(stack, u, f["id"], headers={"Range": "bytes=0-0", "If-Range": "W/" + etag})
    assert r.status_code == 200 and r.content == data
    for inm in ("W/" + etag, f'"other", {etag}', "*"):
        r = download(stack, u, f["id"], headers={"If-None-Match": inm})
        assert r.status_code == 304 and r.content == b"", inm
        assert r.headers["ETag"] == etag
    # If-Modified-Since: 304 at or after Last-Modified, the file before it;
    # ignored next to an If-None-Match that does not match.
    r = download(stack, u, f["id"], headers={"If-Modified-Since": lastmod})
    assert r.status_code == 304
    r = download(stack, u, f["id"], headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r.status_code == 200 and r.content == data
    r = download(stack, u, f["id"], headers={"If-Modified-Since": lastmod,
                                             "If-None-Match": '"other"'})
    assert r.status_code == 200 and r.content == data


def test_missing_blob_is_404(stack, owner):
    from test_03_helpers import blob_path
    f = upload_file(stack, owner, b"gone soon", filename="gone.txt")
    os.unlink(blob_path(stack, f["id"]))
    r = download(stack, owner, f["id"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def _status(pid, field):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _lighttpd_pid(stack):
    needle = f"HS_RUN_DIR={stack.rundir}\0".encode()
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if os.path.basename(fh.read().split(b"\0")[0]) != b"lighttpd":
                    continue
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read():
                    return int(pid)
        except (OSError, ValueError):
            continue
    raise AssertionError("no lighttpd for this stack")


def _held(pid):
    """What lighttpd holds of answers: its resident memory plus the bytes
    of the (deleted) temporary files it has open."""
    spooled = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if "lighttpd-upload-" in target:
                spooled += os.stat(f"/proc/{pid}/fd/{fd}").st_size
        except OSError:
            continue
    return _status(pid, "VmRSS") + spooled


def test_200mb_download_in_constant_memory(stack, big):
    u, f, digest = big
    apps = app_pids(stack)
    before = {p: _status(p, "VmRSS") for p in apps}
    r = download(stack, u, f["id"], stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == f["size"]
    h, n, peak = hashlib.sha256(), 0, 0
    for block in r.iter_content(1 << 20):
        h.update(block)
        n += len(block)
        if n % (16 << 20) < (1 << 20):
            peak = max([peak] + [_status(p, "VmRSS") - before[p] for p in apps])
    assert n == f["size"] and h.hexdigest() == digest
    # The app holds one 256 KiB buffer, whatever the size. (Not VmHWM: the
    # upload processes are hs-files too, and took the 200 MB in.)
    assert peak < 16 << 20, f"an hs-files process grew by {peak >> 20} MiB"
    assert set(apps) <= set(app_pids(stack)), "an hs-files process died"


def test_lighttpd_does_not_buffer_a_download_for_a_slow_client(stack, big):
    """A client that stops reading leaves the app waiting (stream-response-
    body = 2 on the download routes), not lighttpd filling memory or tmpfs
    with the rest of the file."""
    u, f, _ = big
    lpid = _lighttpd_pid(stack)
    base = _held(lpid)
    r = download(stack, u, f["id"], stream=True)
    assert r.status_code == 200
    r.raw.read(1 << 20)  # then read nothing for two seconds
    grown, deadline = 0, time.monotonic() + 2
    while time.monotonic() < deadline:
        grown = max(grown, _held(lpid) - base)
        time.sleep(0.1)
    r.close()
    # At the app's speed, 2 s would put far more than 32 MiB here if
    # lighttpd read it regardless of the client.
    assert grown < 32 << 20, f"lighttpd held {grown >> 20} MiB of a download"


def test_client_leaving_mid_download_frees_the_process(stack, big):
    """More clients than hs-files processes each start the 200 MB download
    and hang up: the writes fail, each process moves on (none stuck, none
    crashed), and the next download is served."""
    u, f, _ = big
    pids = sorted(app_pids(stack))
    host, port = stack.base.split("//")[1].split(":")
    for _ in range(int(stack.env.get("HS_PROCS", "2")) + 2):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(f"GET {FILES}/{f['id']} HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {u.access}\r\n\r\n".encode())
        got = 0
        while got < (2 << 20):
            block = s.recv(1 << 16)
            assert block, f"the download ended after {got} bytes"
            got += len(block)
        s.close()
    r = download(stack, u, f["id"], headers={"Range": "bytes=-100"}, timeout=15)
    assert r.status_code == 206 and len(r.content) == 100
    assert wait_for(lambda: set(pids) <= set(app_pids(stack)), timeout=5), "an hs-files process died"
