"""Running the Node scripts of tests/node that drive Debian's chromium
through playwright-core (tests/node/package.json), for the browser tests.
Each script prints one JSON object on its last line: {"ok": true, ...} or
{"ok": false, "error": ...}."""
import functools
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from hsapi import ROOT

NODE_DIR = ROOT / "tests" / "node"
CHROMIUM = os.environ.get("HS_CHROMIUM", "/usr/bin/chromium")
OUT = ROOT / "build" / "test-output"  # screenshots, not committed
MIB = 1 << 20


@functools.lru_cache(maxsize=None)
def node_exe():
    """node's path, once chromium and the Node packages are known to be there."""
    exe = shutil.which("node")
    if not exe:
        pytest.fail("node is not installed (conf/install-deps.sh installs nodejs and npm)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is not installed (conf/install-deps.sh installs chromium)")
    r = subprocess.run([str(ROOT / "conf" / "node-deps.sh")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"conf/node-deps.sh failed:\n{r.stdout}\n{r.stderr}"
    assert (NODE_DIR / "node_modules" / "playwright-core").is_dir()
    return exe


def out_dir(name):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def run_script(script, *args, timeout=120):
    """Runs tests/node/<script> with args; its final JSON object, asserted ok."""
    r = subprocess.run([node_exe(), str(NODE_DIR / script), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, cwd=str(NODE_DIR))
    lines = r.stdout.strip().splitlines()
    assert lines, f"no output from {script} (exit {r.returncode}):\n{r.stderr[-3000:]}"
    out = json.loads(lines[-1])
    assert r.returncode == 0 and out["ok"], (
        f"{out.get('error')}\npartial: {json.dumps(out.get('partial', out))[:4000]}\n"
        f"{r.stderr[-3000:]}")
    return out


def random_file(path, size):
    """Writes size random bytes to path; their SHA-256 in hex."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def session_of(u):
    """The session as the web client keeps it in localStorage (hs.session)."""
    return json.dumps({"access_token": u.access, "refresh_token": u.refresh,
                       "session_id": u.session_id,
                       "user": {"id": u.id, "username": u.username, "email": u.email,
                                "role": u.role}})
