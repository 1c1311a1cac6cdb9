"""Helpers shared by the files tests (test_03_*.py): uploads through the
chunk API, downloads, blob paths, multipart bodies built by hand, extra
stacks with their own settings, and the hs-files processes of a stack.
No tests here."""
import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import MAIN_ENV, Stack, _finish
from hsapi import API, assert_ok

FILES = f"{API}/files"
MIB = 1024 * 1024


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# -- extra stacks ----------------------------------------------------------------
def start_stack(name, **overrides):
    """A stack of this module's own (for module-scoped fixtures); the main
    stack's generous rate limits plus overrides."""
    s = Stack(name, {**MAIN_ENV, **{k: str(v) for k, v in overrides.items()}})
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    return s


def stop_stack(s):
    _finish([s])


# -- uploads ---------------------------------------------------------------------------
def init_upload(stack, user, size, filename="file.bin", status=201, **fields):
    body = {"filename": filename, "file_size": size, **fields}
    r = stack.post(f"{FILES}/upload/init", token=user.access, json=body)
    if status != 201:
        return r
    return assert_ok(r, 201)


def put_chunk(stack, user, upload_id, n, data, sha=None, headers=None):
    h = dict(headers or {})
    if sha is not None:
        h["X-Chunk-Sha256"] = sha
    return stack.put(f"{FILES}/upload/{upload_id}/chunks/{n}", token=user.access, data=data,
                     headers=h)


def post_chunk(stack, user, upload_id, n, data, sha=None):
    """The seed's multipart form: upload_id, chunk_number (chunk_sha256), chunk."""
    parts = [("upload_id", (None, upload_id)), ("chunk_number", (None, str(n)))]
    if sha is not None:
        parts.append(("chunk_sha256", (None, sha)))
    parts.append(("chunk", ("blob", data, "application/octet-stream")))
    return stack.post(f"{FILES}/upload/chunk", token=user.access, files=parts)


def status(stack, user, upload_id):
    return stack.get(f"{FILES}/upload/{upload_id}", token=user.access)


def complete(stack, user, upload_id):
    return stack.post(f"{FILES}/upload/complete", token=user.access, json={"upload_id": upload_id})


def chunks_of(data, chunk_size):
    return [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]


def upload_file(stack, user, data, filename="file.bin", **fields):
    """Init, every chunk by PUT, complete: the file JSON."""
    up = init_upload(stack, user, len(data), filename=filename, **fields)
    for n, c in enumerate(chunks_of(data, up["chunk_size"])):
        assert_ok(put_chunk(stack, user, up["upload_id"], n, c))
    return assert_ok(complete(stack, user, up["upload_id"]))


def download(stack, user, file_id, **kw):
    return stack.get(f"{FILES}/{file_id}", token=user.access, **kw)


def blob_path(stack, any_id):
    return os.path.join(stack.rundir, "data", "files", any_id[-2:], any_id)


# -- multipart by hand -------------------------------------------------------------------
def multipart(boundary, parts, close=True):
    """parts: (name, value bytes, filename or None). Returns the body bytes."""
    b = boundary.encode()
    out = b""
    for name, value, filename in parts:
        disp = f'form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += b"--" + b + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n"
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + value + b"\r\n"
    if close:
        out += b"--" + b + b"--\r\n"
    return out


# -- events -------------------------------------------------------------------------------
def stream_events(stack, key):
    """XRANGE key - + through redis-cli: [(id, {field: value})]."""
    out = subprocess.run(["redis-cli", "-p", str(stack.redis_port), "--json", "XRANGE", key, "-",
                          "+"], capture_output=True, text=True, timeout=30, check=True).stdout
    entries = json.loads(out or "[]")
    result = []
    for entry_id, fields in entries:
        if isinstance(fields, dict):
            result.append((entry_id, fields))
        else:
            result.append((entry_id, dict(zip(fields[::2], fields[1::2]))))
    return result


# -- processes ----------------------------------------------------------------------------
def app_pids(stack, app="hs-files"):
    """Live processes of one app of this stack: the binary by name, with the
    stack's runtime folder in its environment (lighttpd passes HS_RUN_DIR)."""
    needle = f"HS_RUN_DIR={stack.rundir}\0".encode()
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0]
            if not argv0.endswith(b"/" + app.encode()):
                continue
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().split(b") ")[-1][:1] == b"Z":
                    continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle not in f.read():
                    continue
        except OSError:
            continue
        pids.append(int(pid))
    return pids


def wait_respawned(stack, user, timeout=10):
    """After kill_apps: polls an authenticated files request, and the tus
    OPTIONS of the upload processes, until both answer. lighttpd (and
    Apache's mod_fcgid) start new processes on the next request, but while
    they come up (within ~2 s of an earlier crash, or slower under ASan)
    they may answer with their own 503 or 500 page first; nginx answers 502
    until conf/stack-nginx.sh's watcher has started the apps again (within
    a second). Those are allowed, a JSON error from the app is not.
    Returns the statuses seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        r = stack.get(f"{FILES}/list", token=user.access)
        if r.status_code == 200:
            r = stack.req("OPTIONS", f"{FILES}/tus")
            if r.status_code == 204:
                seen.append(200)
                return seen
        seen.append(r.status_code)
        from_front = r.text.startswith(("<?xml", "<html>", "<!DOCTYPE"))
        assert r.status_code in (500, 502, 503) and from_front, (
            f"{r.status_code} {r.text[:300]} after {seen}")
        if time.monotonic() > deadline:
            pytest.fail(f"hs-files did not come back within {timeout} s: {seen}")
        time.sleep(0.05)


def kill_apps(stack, app="hs-files"):
    """SIGKILLs every process of the app in this stack; waits until they are gone."""
    pids = app_pids(stack, app)
    assert pids, f"no {app} processes found for {stack.rundir}"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while set(pids) & set(app_pids(stack, app)):
        if time.monotonic() > deadline:
            pytest.fail(f"{app} {pids} survived SIGKILL")
        time.sleep(0.02)
    return pids
