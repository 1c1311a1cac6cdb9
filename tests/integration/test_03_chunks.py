"""The seed's chunked upload API on a stack with 64 KiB chunks: chunks in any
order over parallel connections (multipart and raw PUT), status, complete,
whole-file and per-chunk sha256, duplicates and conflicts, the seed's own
curl command line, and an app SIGKILLed in the middle of a chunk."""
import json
import os
import random
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hsapi import Client, assert_error, assert_ok
from test_03_helpers import (FILES, app_pids, blob_path, chunks_of, complete, download,
                             init_upload, kill_apps, post_chunk, put_chunk, sha256, start_stack,
                             status, stop_stack, wait_respawned)

CHUNK = 65536
MIB_PLUS = 1024 * 1024 + 12345


@pytest.fixture(scope="module")
def small():
    s = start_stack("files-chunks", HS_CHUNK_SIZE=CHUNK)
    yield s
    stop_stack(s)


@pytest.fixture
def owner(small):
    return small.register(prefix="ch")


def test_parallel_random_order_upload(small, owner):
    """~1 MiB in 64 KiB chunks, shuffled, half by multipart and half by PUT,
    over six connections at once; status midway; complete; download."""
    rng = random.Random(3)
    data = os.urandom(MIB_PLUS)
    digest = sha256(data)
    up = init_upload(small, owner, len(data), filename="random.bin",
                     content_type="application/octet-stream", sha256=digest)
    assert up["chunk_size"] == CHUNK
    parts = chunks_of(data, CHUNK)
    assert up["chunk_count"] == len(parts) == 17
    assert up["file_size"] == len(data)
    uid = up["upload_id"]
    order = list(range(len(parts)))
    rng.shuffle(order)
    local = threading.local()

    def send(n):
        if not hasattr(local, "client"):
            local.client = Client(small.base)
        via = post_chunk if n % 2 else put_chunk
        return n, via(local.client, owner, uid, n, parts[n])

    first, rest = order[:9], order[9:]
    with ThreadPoolExecutor(6) as pool:
        for n, r in pool.map(send, first):
            b = assert_ok(r)
            assert b == {"upload_id": uid, "chunk_number": n, "received": True,
                         "duplicate": False}, b

    st = assert_ok(status(small, owner, uid))
    assert st["received_chunks"] == sorted(first)
    assert st["missing_chunks"] == sorted(rest)
    assert st["complete"] is False
    assert st["protocol"] == "chunks" and st["file_size"] == len(data)
    e = assert_error(complete(small, owner, uid), 409, "missing_chunks")
    assert f"{len(rest)} of 17" in e["message"]

    with ThreadPoolExecutor(6) as pool:
        for n, r in pool.map(send, rest):
            assert assert_ok(r)["duplicate"] is False

    st = assert_ok(status(small, owner, uid))
    assert st["received_chunks"] == list(range(17)) and st["missing_chunks"] == []
    assert st["complete"] is True

    f = assert_ok(complete(small, owner, uid))
    assert f["id"] == uid
    assert f["size"] == len(data) and f["sha256"] == digest
    assert f["filename"] == "random.bin" and f["owner_id"] == owner.id
    assert f["download_url"] == f"{FILES}/{uid}"
    r = download(small, owner, uid)
    assert r.status_code == 200
    assert sha256(r.content) == digest
    # The upload is gone: it became the file.
    assert_error(status(small, owner, uid), 404, "upload_not_found")
    assert_error(complete(small, owner, uid), 404, "upload_not_found")


def test_whole_file_sha256_mismatch(small, owner):
    data = os.urandom(3 * CHUNK + 10)
    wrong = sha256(data + b"x")
    up = init_upload(small, owner, len(data), sha256=wrong)
    uid = up["upload_id"]
    for n, c in enumerate(chunks_of(data, CHUNK)):
        assert_ok(put_chunk(small, owner, uid, n, c))
    e = assert_error(complete(small, owner, uid), 409, "sha256_mismatch")
    assert sha256(data) in e["message"]
    # Nothing was lost: the upload is still there, whole, and can be aborted.
    st = assert_ok(status(small, owner, uid))
    assert st["complete"] is True
    assert_error(small.get(f"{FILES}/{uid}/info", token=owner.access), 404, "file_not_found")
    assert os.path.exists(blob_path(small, uid))
    assert small.delete(f"{FILES}/upload/{uid}", token=owner.access).status_code == 204
    assert not os.path.exists(blob_path(small, uid))
    assert_error(status(small, owner, uid), 404, "upload_not_found")


@pytest.mark.parametrize("bad", ["A" * 64, "abc", "g" * 64, "0" * 63])
def test_init_sha256_must_be_lowercase_hex(small, owner, bad):
    r = init_upload(small, owner, 10, sha256=bad, status=400)
    assert_error(r, 400, "invalid_value")


def test_duplicate_and_conflicting_chunks(small, owner):
    data = os.urandom(3 * CHUNK)
    parts = chunks_of(data, CHUNK)
    up = init_upload(small, owner, len(data))
    uid = up["upload_id"]
    for n, c in enumerate(parts):
        assert_ok(put_chunk(small, owner, uid, n, c))
    for send in (put_chunk, post_chunk):
        b = assert_ok(send(small, owner, uid, 1, parts[1]))
        assert b["duplicate"] is True and b["received"] is True and b["chunk_number"] == 1
        other = bytearray(parts[1])
        other[100] ^= 0xFF
        assert_error(send(small, owner, uid, 1, bytes(other)), 409, "chunk_conflict")
        assert_error(send(small, owner, uid, 2, os.urandom(CHUNK)), 409, "chunk_conflict")
    assert assert_ok(status(small, owner, uid))["received_chunks"] == [0, 1, 2]
    f = assert_ok(complete(small, owner, uid))
    assert sha256(download(small, owner, f["id"]).content) == sha256(data)


def test_chunk_sha256(small, owner):
    data = os.urandom(2 * CHUNK + 7)
    parts = chunks_of(data, CHUNK)
    uid = init_upload(small, owner, len(data))["upload_id"]
    # Raw PUT with X-Chunk-Sha256.
    e = assert_error(put_chunk(small, owner, uid, 0, parts[0], sha=sha256(b"other")), 400,
                     "checksum_mismatch")
    assert sha256(parts[0]) in e["message"]
    # Multipart with a chunk_sha256 field.
    assert_error(post_chunk(small, owner, uid, 2, parts[2], sha="0" * 64), 400,
                 "checksum_mismatch")
    st = assert_ok(status(small, owner, uid))
    assert st["received_chunks"] == [] and st["missing_chunks"] == [0, 1, 2]
    # The right digests, in either case, are accepted.
    assert_ok(put_chunk(small, owner, uid, 0, parts[0], sha=sha256(parts[0]).upper()))
    assert_ok(post_chunk(small, owner, uid, 2, parts[2], sha=sha256(parts[2])))
    assert_ok(put_chunk(small, owner, uid, 1, parts[1]))
    assert assert_ok(status(small, owner, uid))["complete"] is True
    f = assert_ok(complete(small, owner, uid))
    assert sha256(download(small, owner, f["id"]).content) == sha256(data)


def test_seed_curl_command_line(small, owner, tmp_path):
    """The seed's documented form, sent by curl itself."""
    data = os.urandom(CHUNK + 500)
    parts = chunks_of(data, CHUNK)
    uid = init_upload(small, owner, len(data), filename="curl.bin")["upload_id"]
    for n, c in enumerate(parts):
        part = tmp_path / f"part{n}"
        part.write_bytes(c)
        out = subprocess.run(
            ["curl", "-sS", "-H", f"Authorization: Bearer {owner.access}",
             "-F", f"upload_id={uid}", "-F", f"chunk_number={n}", "-F", f"chunk=@{part}",
             "-w", "\n%{http_code}", f"{small.base}{FILES}/upload/chunk"],
            capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        body, code = out.stdout.rsplit("\n", 1)
        assert code == "200", out.stdout
        assert '"received":true' in body and f'"chunk_number":{n}' in body, body
    f = assert_ok(complete(small, owner, uid))
    assert f["filename"] == "curl.bin"
    assert sha256(download(small, owner, uid).content) == sha256(data)


def test_abort_upload(small, owner):
    data = os.urandom(CHUNK * 2)
    uid = init_upload(small, owner, len(data))["upload_id"]
    assert_ok(put_chunk(small, owner, uid, 0, data[:CHUNK]))
    assert os.path.exists(blob_path(small, uid))
    r = small.delete(f"{FILES}/upload/{uid}", token=owner.access)
    assert r.status_code == 204 and r.content == b""
    assert not os.path.exists(blob_path(small, uid))
    assert_error(status(small, owner, uid), 404, "upload_not_found")
    assert_error(put_chunk(small, owner, uid, 1, data[CHUNK:]), 404, "upload_not_found")
    assert_error(small.delete(f"{FILES}/upload/{uid}", token=owner.access), 404,
                 "upload_not_found")


# -- an app killed mid-chunk ----------------------------------------------------------------
def _start_slow_request(stack, head, body_part):
    host, port = stack.base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=15)
    s.sendall(head.encode() + body_part)
    return s


def _read_all(sock):
    data = b""
    try:
        while True:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    except OSError:
        pass
    finally:
        sock.close()
    return data


def test_sigkill_mid_chunk_then_resume(small, owner):
    data = os.urandom(4 * CHUNK - 1000)
    parts = chunks_of(data, CHUNK)
    uid = init_upload(small, owner, len(data), filename="killed.bin")["upload_id"]
    for n in (0, 2, 3):
        assert_ok(put_chunk(small, owner, uid, n, parts[n]))

    # Chunk 1: the headers and 40% of the body, then nothing more.
    head = (f"PUT {FILES}/upload/{uid}/chunks/1 HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {owner.access}\r\nContent-Length: {CHUNK}\r\n"
            "Connection: close\r\n\r\n")
    sock = _start_slow_request(small, head, parts[1][:26000])
    time.sleep(0.5)  # the app is now inside the chunk, waiting for bytes
    killed = kill_apps(small)
    reply = _read_all(sock)
    # The cut request must not have been answered as a success.
    assert not reply.startswith(b"HTTP/1.1 200"), reply[:200]

    # lighttpd starts new processes on the next request (or after a short
    # 503 spell when the backend crashed moments before).
    wait_respawned(small, owner)
    st = assert_ok(status(small, owner, uid))
    fresh = app_pids(small)
    assert fresh and not set(fresh) & set(killed), (killed, fresh)
    assert st["received_chunks"] == [0, 2, 3] and st["missing_chunks"] == [1]
    assert_error(complete(small, owner, uid), 409, "missing_chunks")

    b = assert_ok(put_chunk(small, owner, uid, 1, parts[1]))
    assert b["duplicate"] is False
    f = assert_ok(complete(small, owner, uid))
    assert f["size"] == len(data)
    assert sha256(download(small, owner, uid).content) == sha256(data)


def test_sigkill_mid_tus_patch_then_resume(small, owner):
    """The same for tus: the offset stays where the last finished PATCH left
    it, and the upload resumes from there."""
    tus = {"Tus-Resumable": "1.0.0"}
    data = os.urandom(300000)
    r = small.post(f"{FILES}/tus", token=owner.access, data=b"",
                   headers={**tus, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    path = r.headers["Location"]
    r = small.req("PATCH", path, token=owner.access, data=data[:100000],
                  headers={**tus, "Upload-Offset": "0",
                           "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "100000", r.text

    head = (f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {owner.access}\r\n"
            "Tus-Resumable: 1.0.0\r\nUpload-Offset: 100000\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data) - 100000}\r\nConnection: close\r\n\r\n")
    sock = _start_slow_request(small, head, data[100000:180000])
    time.sleep(0.5)
    killed = kill_apps(small)
    reply = _read_all(sock)
    assert not reply.startswith(b"HTTP/1.1 204"), reply[:200]
    wait_respawned(small, owner)
    assert not set(app_pids(small)) & set(killed)

    r = small.req("HEAD", path, token=owner.access, headers=tus)
    assert r.status_code == 200
    offset = int(r.headers["Upload-Offset"])
    # Where the killed PATCH left it: never past the bytes that reached the app.
    assert 100000 <= offset <= 180000, offset
    r = small.req("PATCH", path, token=owner.access, data=data[offset:],
                  headers={**tus, "Upload-Offset": str(offset),
                           "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data)), r.text
    fid = path.rsplit("/", 1)[1]
    assert sha256(download(small, owner, fid).content) == sha256(data)


# -- races ----------------------------------------------------------------------------------------
def _race(stack, n, fn):
    """Runs fn(client) on n threads released together; returns the results."""
    barrier = threading.Barrier(n)

    def one(_):
        c = Client(stack.base)
        barrier.wait()
        return fn(c)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_racing_completes(small, owner):
    from test_03_helpers import stream_events
    data = os.urandom(CHUNK + 1)
    uid = init_upload(small, owner, len(data))["upload_id"]
    for n, c in enumerate(chunks_of(data, CHUNK)):
        assert_ok(put_chunk(small, owner, uid, n, c))
    results = _race(small, 8, lambda c: complete(c, owner, uid))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1, codes
    for r in results:
        if r.status_code != 200:
            assert_error(r, r.status_code, {"upload_not_found", "upload_busy", "upload_completing"})
            assert r.status_code in (404, 409)
    items = assert_ok(small.get(f"{FILES}/list", token=owner.access))["items"]
    assert [f["id"] for f in items].count(uid) == 1
    events = [e for e in stream_events(small, f"hs:ev:user:{owner.id}")
              if uid in e[1].get("data", "")]
    assert len(events) == 1, events
    assert sha256(download(small, owner, uid).content) == sha256(data)


def test_racing_same_chunk(small, owner):
    data = os.urandom(2 * CHUNK)
    parts = chunks_of(data, CHUNK)
    uid = init_upload(small, owner, len(data))["upload_id"]
    results = _race(small, 6, lambda c: put_chunk(c, owner, uid, 0, parts[0]))
    fresh = [r for r in results if r.status_code == 200 and not r.json()["duplicate"]]
    assert len(fresh) <= 1, [r.text for r in results]
    for r in results:
        if r.status_code != 200:
            assert_error(r, 409, "range_busy")
    # Whatever the race did, chunk 0 is received once (or can be sent again).
    st = assert_ok(status(small, owner, uid))
    if st["received_chunks"] != [0]:
        assert_ok(put_chunk(small, owner, uid, 0, parts[0]))
    assert_ok(put_chunk(small, owner, uid, 1, parts[1]))
    assert assert_ok(status(small, owner, uid))["received_chunks"] == [0, 1]
    f = assert_ok(complete(small, owner, uid))
    assert sha256(download(small, owner, f["id"]).content) == sha256(data)


def test_racing_different_bytes_same_chunk(small, owner):
    """Two clients send different bytes for one chunk at once: whichever
    wins, the chunk's recorded hash and the bytes on disk must agree."""
    data = os.urandom(2 * CHUNK)
    parts = chunks_of(data, CHUNK)
    other = os.urandom(CHUNK)
    uid = init_upload(small, owner, len(data))["upload_id"]
    bodies = [parts[0], other] * 3
    lock = threading.Lock()

    def send(c):
        with lock:
            body = bodies.pop()
        r = put_chunk(c, owner, uid, 0, body)
        return r, body

    results = _race(small, 6, send)
    won = [b for r, b in results if r.status_code == 200 and not r.json()["duplicate"]]
    assert len(won) <= 1
    for r, b in results:
        assert r.status_code in (200, 409), r.text
        if r.status_code == 409:
            assert_error(r, 409, {"range_busy", "chunk_conflict"})
        elif r.json()["duplicate"]:
            assert won and b == won[0], "a duplicate must have the winner's bytes"
    assert_ok(put_chunk(small, owner, uid, 1, parts[1]))
    st = assert_ok(status(small, owner, uid))
    if st["received_chunks"] == [1]:
        assert_ok(put_chunk(small, owner, uid, 0, parts[0]))
        won = [parts[0]]
    assert len(won) == 1
    f = assert_ok(complete(small, owner, uid))
    assert download(small, owner, f["id"]).content == won[0] + parts[1]


# -- the window between a finished write and its record ---------------------------------------
def _put_raw(stack, path, token, body, method="PUT", headers=None):
    import http.client
    host, port = stack.base.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        h = {"Authorization": f"Bearer {token}", "Connection": "close", **(headers or {})}
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def _one_overlap_trial(stack, owner, path, head_extra, a, b, method, ok_status):
    """A sends its body but the last byte and waits; three clients then send
    other bytes for the same range in a loop; A's last byte goes; the loop
    stops shortly after A's answer. Returns (A's status line, A's body,
    [(status, body) of the others])."""
    host, port = stack.base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall((f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {owner.access}\r\n"
               f"{head_extra}Content-Length: {len(a)}\r\nConnection: close\r\n\r\n").encode()
              + a[:-1])
    time.sleep(0.02)
    stop = threading.Event()
    others = []
    hdrs = {}
    for line in head_extra.strip().split("\r\n"):
        if line:
            k, v = line.split(": ", 1)
            hdrs[k] = v

    def spam():
        while not stop.is_set():
            others.append(_put_raw(stack, path, owner.access, b, method, hdrs))

    threads = [threading.Thread(target=spam) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.01)
    s.sendall(a[-1:])
    reply = _read_all(s)
    time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(30)
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body, others


# The window is some tens of microseconds wide: about one trial in 20 to 30
# hits it while the bug is there. Bounded in count and time.
TRIALS = 150
BUDGET = 25.0


def _code(body):
    """The error code of a JSON error body ("" for a body that is not one)."""
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""


def _losing_answer(st, body, codes):
    """A send that did not win: one of the app's 4xx codes (never the
    front's 503 page: an early range_busy reaches the client whole,
    test_03_early_reply.py). Nothing was recorded."""
    return 400 <= st < 500 and _code(body) in codes


def _is_recorded(stack, owner, uid, data):
    """Whether data is chunk 0's recorded content: a re-send of it is a
    duplicate, of anything else a chunk_conflict (and writes nothing)."""
    r = put_chunk(stack, owner, uid, 0, data)
    if r.status_code == 409:
        assert_error(r, 409, "chunk_conflict")
        return False
    assert assert_ok(r)["duplicate"], r.text
    return True


def test_chunk_write_record_window(small, owner):
    """Whoever's chunk is recorded must be whose bytes are on disk. A
    request that finds the chunk missing, then takes the write lock just
    after another request released it (but before that one recorded its
    hash) must not overwrite the recorded bytes.

    Either side may lock first (A's 20 ms head start is no promise on a
    loaded machine), and once B is recorded every later B is rightly a 200
    "duplicate": true. So which chunk is recorded is asked afterwards, not
    inferred from the answers: re-sending A's bytes is a duplicate exactly
    when A's hash is the recorded one, and B's when B's is."""
    deadline = time.monotonic() + BUDGET
    losing = ("range_busy", "chunk_conflict")
    for trial in range(TRIALS):
        if time.monotonic() > deadline:
            break
        a, b = os.urandom(CHUNK), os.urandom(CHUNK)
        uid = init_upload(small, owner, CHUNK)["upload_id"]
        line, a_body, others = _one_overlap_trial(small, owner,
                                                  f"{FILES}/upload/{uid}/chunks/0", "", a, b,
                                                  "PUT", 200)
        a_st = int(line.split()[1])
        assert a_st == 200 or _losing_answer(a_st, a_body, losing), (line, a_body[:200])
        for st, body in others:
            assert st == 200 or _losing_answer(st, body, losing), (st, body[:200])
        firsts = ["A"] * (a_st == 200) + [
            "B" for st, body in others if st == 200 and not json.loads(body)["duplicate"]]
        assert len(firsts) <= 1, (line, firsts)
        as_a, as_b = _is_recorded(small, owner, uid, a), _is_recorded(small, owner, uid, b)
        assert as_a != as_b, (as_a, as_b)
        recorded = "A" if as_a else "B"
        assert firsts in ([], [recorded]), (firsts, recorded)
        f = assert_ok(complete(small, owner, uid))
        got = download(small, owner, f["id"]).content
        assert got == (a if as_a else b), (
            f"trial {trial}: the chunk recorded is {recorded}'s, the bytes on disk are "
            f"{'A' if got == a else 'B' if got == b else 'mixed'}'s; answers: A {a_st}, others "
            f"{sorted({(st, body[:60]) for st, body in others if b'range_busy' not in body})}")


def test_tus_write_advance_window(small, owner):
    """The same for tus: the PATCH whose offset advance succeeded must be
    the one whose bytes are on disk. Only one PATCH at offset 0 can ever
    advance (the others find the offset moved, or the upload finished), so
    exactly one 204 whichever side locks first."""
    tus = ("Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
           "Content-Type: application/offset+octet-stream\r\n")
    size = 50000
    losing = ("range_busy", "offset_mismatch", "upload_finished", "upload_not_found")
    deadline = time.monotonic() + BUDGET
    for trial in range(TRIALS):
        if time.monotonic() > deadline:
            break
        a, b = os.urandom(size), os.urandom(size)
        r = small.post(f"{FILES}/tus", token=owner.access, data=b"",
                       headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size)})
        path = r.headers["Location"]
        line, a_body, others = _one_overlap_trial(small, owner, path, tus, a, b, "PATCH", 204)
        a_st = int(line.split()[1])
        assert a_st == 204 or _losing_answer(a_st, a_body, losing), (line, a_body[:200])
        for st, body in others:
            assert st == 204 or _losing_answer(st, body, losing), (st, body[:200])
        winners = [a] if b" 204 " in line else []
        winners += [b for st, body in others if st == 204]
        assert len(winners) == 1, (line, [st for st, _ in others])
        got = download(small, owner, path.rsplit("/", 1)[1]).content
        assert got == winners[0], (
            f"trial {trial}: the PATCH that advanced the offset was "
            f"{'A' if winners[0] is a else 'B'}'s, the file holds "
            f"{'A' if got == a else 'B' if got == b else 'mixed'}'s bytes; others answered "
            f"{sorted({(st, body[:60]) for st, body in others if b'range_busy' not in body})}")


def test_chunk_racing_complete_leaves_file_alone(small, owner):
    """A chunk re-sent with other bytes while its upload completes must not
    reach the finished file. Completing deletes the upload and its chunk
    records in one transaction; a PUT that had found the upload just before
    then found its chunk "missing" and wrote its bytes over the file that
    had just been checked (sha256, type) and published."""
    deadline = time.monotonic() + BUDGET
    losing = ("range_busy", "chunk_conflict", "upload_not_found")
    for trial in range(TRIALS):
        if time.monotonic() > deadline:
            break
        x, y = os.urandom(CHUNK), os.urandom(CHUNK)
        uid = init_upload(small, owner, CHUNK)["upload_id"]
        assert_ok(put_chunk(small, owner, uid, 0, x))
        stop = threading.Event()
        others = []

        def spam():
            while not stop.is_set():
                others.append(_put_raw(small, f"{FILES}/upload/{uid}/chunks/0", owner.access, y))

        threads = [threading.Thread(target=spam) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.005)
        r = complete(small, owner, uid)
        time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(30)
        f = assert_ok(r)
        for st, body in others:
            assert _losing_answer(st, body, losing), (st, body[:200])
        got = download(small, owner, f["id"]).content
        assert got == x, (
            f"trial {trial}: the completed file holds "
            f"{'the racing PUT' if got == y else 'mixed'}'s bytes; the PUTs answered "
            f"{sorted({(st, body[:70]) for st, body in others if b'range_busy' not in body})}")
