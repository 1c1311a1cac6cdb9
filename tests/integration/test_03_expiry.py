"""Expiry: uploads that outlive upload_ttl (HS_UPLOAD_TTL=2 s) answer 410,
files with expires_in disappear, and `hs-files cleanup` (the cron job)
removes both, rows and bytes, and says how many."""
import calendar
import os
import subprocess
import time

import pytest

from hsapi import BIN_DIR, assert_error, assert_ok
from test_03_helpers import (FILES, blob_path, complete, download, init_upload, post_chunk,
                             put_chunk, start_stack, status, stop_stack, upload_file)

TTL = 2
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}
SANITIZE = os.environ.get("HS_SANITIZE") == "1"


@pytest.fixture(scope="module")
def ttl():
    s = start_stack("files-ttl", HS_UPLOAD_TTL=TTL, HS_CHUNK_SIZE=65536)
    yield s
    stop_stack(s)


def iso_ms(s):
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(s[20:23])


def run_cleanup(stack):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HS_")}
    env["HS_CONFIG"] = os.path.join(stack.rundir, "hypersend.conf")
    if SANITIZE:  # reports land where the stack's own checks look for them
        logs = os.path.join(stack.rundir, "logs")
        env["ASAN_OPTIONS"] = f"log_path={logs}/asan:detect_leaks=1:abort_on_error=0"
        env["UBSAN_OPTIONS"] = f"log_path={logs}/ubsan:print_stacktrace=1:halt_on_error=1"
    return subprocess.run([str(BIN_DIR / "hs-files"), "cleanup"], env=env, capture_output=True,
                          text=True, timeout=60)


def test_expired_upload_is_gone(ttl):
    u = ttl.register(prefix="ex")
    other = ttl.register(prefix="ex2")
    data = os.urandom(2 * 65536)
    up = init_upload(ttl, u, len(data))
    uid = up["upload_id"]
    deadline = iso_ms(up["expires_at"]) / 1000
    assert time.time() + TTL - 1 <= deadline <= time.time() + TTL + 1
    assert_ok(put_chunk(ttl, u, uid, 0, data[:65536]))
    r = ttl.post(f"{FILES}/tus", token=u.access, data=b"", headers={**TUS, "Upload-Length": "10"})
    tus_path = r.headers["Location"]
    time.sleep(TTL + 0.5)

    assert_error(put_chunk(ttl, u, uid, 1, data[65536:]), 410, "upload_expired")
    assert_error(post_chunk(ttl, u, uid, 1, data[65536:]), 410, "upload_expired")
    assert_error(status(ttl, u, uid), 410, "upload_expired")
    assert_error(complete(ttl, u, uid), 410, "upload_expired")
    assert_error(ttl.req("PATCH", tus_path, token=u.access, data=b"0123456789",
                         headers={**TUS, **OCTETS, "Upload-Offset": "0"}), 410, "upload_expired")
    assert ttl.req("HEAD", tus_path, token=u.access, headers=TUS).status_code == 410
    # Someone else learns nothing, not even that it expired.
    assert_error(status(ttl, other, uid), 404, "upload_not_found")
    assert ttl.req("HEAD", tus_path, token=other.access, headers=TUS).status_code == 404
    # Aborting an expired upload is allowed and frees it at once.
    assert ttl.delete(f"{FILES}/upload/{uid}", token=u.access).status_code == 204
    assert ttl.req("DELETE", tus_path, token=u.access, headers=TUS).status_code == 204
    assert_error(status(ttl, u, uid), 404, "upload_not_found")
    assert not os.path.exists(blob_path(ttl, uid))


def test_file_expires_in(ttl):
    u = ttl.register(prefix="ex")
    f = upload_file(ttl, u, b"short-lived", expires_in=2)
    assert f["expires_at"] is not None
    link = assert_ok(ttl.post(f"{FILES}/{f['id']}/links", token=u.access, json={}), 201)
    assert download(ttl, u, f["id"]).content == b"short-lived"
    assert ttl.get(link["url"]).content == b"short-lived"
    time.sleep(2.5)
    assert_error(ttl.get(f"{FILES}/{f['id']}/info", token=u.access), 404, "file_not_found")
    assert_error(download(ttl, u, f["id"]), 404, "file_not_found")
    assert_error(ttl.get(link["url"]), 410, "link_expired")
    assert f["id"] not in ttl.get(f"{FILES}/list", token=u.access).text


def test_expires_in_counts_from_completion(ttl):
    """The API documents expires_in as 'seconds the finished file is kept
    after completion': a slow upload must not eat into that time."""
    u = ttl.register(prefix="ex")
    up = init_upload(ttl, u, 5, expires_in=100)
    time.sleep(1.2)
    assert_ok(put_chunk(ttl, u, up["upload_id"], 0, b"12345"))
    f = assert_ok(complete(ttl, u, up["upload_id"]))
    kept = iso_ms(f["expires_at"]) - iso_ms(f["created_at"])
    assert abs(kept - 100000) < 500, f"kept {kept} ms after completion, not 100000"


def test_cleanup(make_stack):
    s = make_stack(HS_UPLOAD_TTL=TTL, HS_CHUNK_SIZE=65536, HS_REGISTER_IP_BURST=1000)
    u = s.register(prefix="cl")
    data = os.urandom(2 * 65536)
    # Expiring: a chunked upload, a tus upload, a file with expires_in=1.
    up = init_upload(s, u, len(data))["upload_id"]
    assert_ok(put_chunk(s, u, up, 0, data[:65536]))
    r = s.post(f"{FILES}/tus", token=u.access, data=data[:1000],
               headers={**TUS, **OCTETS, "Upload-Length": str(len(data))})
    assert r.status_code == 201
    tus_id = r.headers["Location"].rsplit("/", 1)[1]
    short = upload_file(s, u, b"gone soon", expires_in=1)
    link = assert_ok(s.post(f"{FILES}/{short['id']}/links", token=u.access, json={}), 201)
    # Staying: a file without expiry and one with a long one.
    keep = upload_file(s, u, b"keep me")
    keep_long = upload_file(s, u, b"keep me too", expires_in=3600)
    for i in (up, tus_id, short["id"], keep["id"], keep_long["id"]):
        assert os.path.exists(blob_path(s, i)), i

    time.sleep(TTL + 0.5)
    r = run_cleanup(s)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "removed 2 expired uploads and 1 expired files", r.stdout
    for i in (up, tus_id, short["id"]):
        assert not os.path.exists(blob_path(s, i)), i
    assert_error(status(s, u, up), 404, "upload_not_found")
    assert s.req("HEAD", f"{FILES}/tus/{tus_id}", token=u.access, headers=TUS).status_code == 404
    assert_error(s.get(f"{FILES}/{short['id']}/info", token=u.access), 404, "file_not_found")
    assert_error(s.get(link["url"]), 404, "link_not_found")
    assert download(s, u, keep["id"]).content == b"keep me"
    assert download(s, u, keep_long["id"]).content == b"keep me too"
    ids = [f["id"] for f in assert_ok(s.get(f"{FILES}/list", token=u.access))["items"]]
    assert ids == [keep_long["id"], keep["id"]]

    r = run_cleanup(s)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "removed 0 expired uploads and 0 expired files"


def test_cleanup_bad_config(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("upload_ttl = banana\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HS_")}
    env["HS_CONFIG"] = str(conf)
    r = subprocess.run([str(BIN_DIR / "hs-files"), "cleanup"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "upload_ttl" in r.stderr
