"""The real tus-js-client (Node, tests/node/tus_upload.mjs) against the main
stack: a large upload in several PATCHes, an upload aborted at ~30% and
resumed from the server's offset through its stored fingerprint, and a
parallel upload (three partial uploads and a final concatenation). Every
result is downloaded through the API and compared by sha256.

conf/node-deps.sh installs tus-js-client into tests/node/node_modules
when it is missing."""
import hashlib
import json
import shutil
import subprocess

import pytest

from browser import random_file
from hsapi import ROOT, assert_ok
from test_03_helpers import FILES, MIB

NODE_DIR = ROOT / "tests" / "node"
SCRIPT = NODE_DIR / "tus_upload.mjs"


@pytest.fixture(scope="module")
def node():
    exe = shutil.which("node")
    if not exe:
        pytest.fail("node is not installed (conf/install-deps.sh installs nodejs and npm)")
    r = subprocess.run([str(ROOT / "conf" / "node-deps.sh")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"conf/node-deps.sh failed:\n{r.stdout}\n{r.stderr}"
    assert (NODE_DIR / "node_modules" / "tus-js-client").is_dir()
    return exe


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Random files: (path, size, sha256) by name."""
    d = tmp_path_factory.mktemp("tus-src")
    out = {}
    for name, size in (("big", 64 * MIB), ("mid", 24 * MIB + 12345)):
        path = d / f"{name}.bin"
        out[name] = (path, size, random_file(path, size))
    return out


def run_client(node, stack, user, path, mode, *extra):
    cmd = [node, str(SCRIPT), "--endpoint", f"{stack.base}{FILES}/tus", "--token", user.access,
           "--file", str(path), "--mode", mode, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=str(NODE_DIR))
    lines = r.stdout.strip().splitlines()
    assert lines, f"no output from tus_upload.mjs (exit {r.returncode}):\n{r.stderr}"
    out = json.loads(lines[-1])
    assert r.returncode == 0 and out["ok"], f"{out.get('error')}\n{r.stderr}"
    return out


def check_download(stack, user, file_id, size, digest, filename):
    info = assert_ok(stack.get(f"{FILES}/{file_id}/info", token=user.access))
    assert info["size"] == size and info["filename"] == filename
    h = hashlib.sha256()
    got = 0
    with stack.get(f"{FILES}/{file_id}", token=user.access, stream=True) as r:
        assert r.status_code == 200
        assert int(r.headers["Content-Length"]) == size
        for block in r.iter_content(1 << 20):
            h.update(block)
            got += len(block)
    assert got == size
    assert h.hexdigest() == digest
    # Free the space again.
    assert stack.delete(f"{FILES}/{file_id}", token=user.access).status_code == 204


def test_large_upload(node, stack, files):
    user = stack.register(prefix="tjs")
    path, size, digest = files["big"]
    out = run_client(node, stack, user, path, "plain", "--chunk-size", str(4 * MIB))
    run = out["runs"][0]
    assert out["size"] == size
    assert run["posts"] == 1 and run["patches"] == size // (4 * MIB)
    assert run["bytes_sent"] == size
    assert all(s in ("POST 201", "PATCH 204") for s in run["statuses"]), run["statuses"]
    check_download(stack, user, out["file_id"], size, digest, "big.bin")


def test_interrupted_upload_resumes(node, stack, files, tmp_path):
    user = stack.register(prefix="tjs")
    path, size, digest = files["mid"]
    out = run_client(node, stack, user, path, "interrupt", "--chunk-size", str(2 * MIB),
                     "--storage", str(tmp_path / "tus-urls.json"), "--abort-at", "0.3")
    first, second = out["runs"]
    assert first["aborted_at"] is not None and first["aborted_at"] >= 0.3 * size
    assert first["posts"] == 1
    # The second run found the first upload and asked the server where it was.
    assert second["previous_uploads"] == 1
    assert second["posts"] == 0 and second["heads"] >= 1
    assert second["first_offset"] > 0
    assert second["first_offset"] >= first["bytes_sent"]
    assert second["bytes_sent"] < size
    assert second["first_offset"] + second["bytes_sent"] == size
    check_download(stack, user, out["file_id"], size, digest, "mid.bin")


def test_parallel_upload(node, stack, files):
    user = stack.register(prefix="tjs")
    path, size, digest = files["mid"]
    out = run_client(node, stack, user, path, "parallel", "--chunk-size", str(4 * MIB))
    run = out["runs"][0]
    # Three partial uploads and one final.
    assert run["posts"] == 4
    assert run["statuses"].count("POST 201") == 4
    assert run["bytes_sent"] == size
    items = assert_ok(stack.get(f"{FILES}/list", token=user.access))["items"]
    # Only the final upload is a file; the partial ones are gone.
    assert [f["id"] for f in items] == [out["file_id"]]
    check_download(stack, user, out["file_id"], size, digest, "mid.bin")
