"""The P2P page (www/p2p.html, www/js/p2p.js) in real browsers: Debian's
chromium, headless, driven by playwright-core from tests/node/p2p_browser.mjs,
two people in two browsers with fresh profiles on the main stack.

- direct: a 50 MiB random file in mode "direct" (WebRTC DataChannel). Both
  pages show progress (several distinct, increasing values read from the
  DOM, with speed and time left), the recipient's SHA-256 and the file it
  saves equal the sender's, the transfer ends `completed`.
- relay: the same in mode "relay". While the recipient's download is held
  back, the ciphertext stored on the server is read: the transfer is
  `transferring`, the blob has the size of docs/p2p.md's format, starts with
  its header and holds no plaintext, and is not in the sender's file list;
  after completion the hash matches and the blob is gone.
- auto: mode "auto" with a recipient whose WebRTC never answers: the sender
  falls back to the relay after relay_after (1.5 s here) and the file still
  arrives whole.
- offers: a wrong password shows the API's message, an unknown recipient is
  named, a rejected offer shows as such to the sender, one the sender cancels
  leaves the recipient's list.
- cancel: the sender cancels during its relay upload; both pages end
  cancelled and the partial upload is removed.
- crypto: p2p-relay.js's format against an independent node:crypto
  implementation of docs/p2p.md (ECDH, HKDF, AES-256-GCM, nonce and AAD
  layout, sizes), and tampered files refused.

No page may log a console error. Screenshots of both pages go to
build/test-output/p2p/. The throughput of each transfer is printed."""
import math
import os
import re
import subprocess

import pytest

from hsapi import uniq
from browser import MIB, node_exe, out_dir, random_file, run_script

OUT = out_dir("p2p")
BIG = 50 * MIB
CHUNK = 65536


@pytest.fixture(scope="module")
def node():
    return node_exe()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(path, size, sha256) by name: 'big' (50 MiB) and 'small' (3 MB, odd size)."""
    d = tmp_path_factory.mktemp("p2p-src")
    out = {}
    for name, size in (("big", BIG), ("small", 3 * 1000 * 1000 + 7)):
        path = d / f"{name}-{uniq('f')}.bin"
        out[name] = (path, size, random_file(path, size))
    return out


def run_node(node, *args, timeout=150):
    return run_script("p2p_browser.mjs", *args, timeout=timeout)


def run_case(node, stack, case, file, register_sender=False, extra=()):
    """Runs one browser case between a fresh recipient and a fresh sender
    (registered through the page's own form when register_sender)."""
    stack.wait_bridges()
    recipient = stack.register(prefix="p2pr")
    args = ["--case", case, "--base", stack.base, "--file", str(file),
            "--recipient-name", recipient.username, "--recipient-pass", recipient.password,
            "--recipient-token", recipient.access, "--rundir", stack.rundir, "--out", str(OUT),
            *extra]
    if register_sender:
        name = uniq("p2ps")
        args += ["--sender-name", name, "--sender-pass", recipient.password,
                 "--sender-email", f"{name}@example.com"]
    else:
        sender = stack.register(prefix="p2ps")
        args += ["--sender-name", sender.username, "--sender-pass", sender.password,
                 "--sender-token", sender.access]
    return run_node(node, *args)


def check_progress(out, side, size):
    """Several distinct, increasing byte counts strictly between 0 and size,
    with percent, speed and time left shown on the way."""
    row = out[side]
    values = []
    for s in row["seen"]:
        if not values or s["bytes"] != values[-1]:
            values.append(s["bytes"])
    assert values == sorted(values), f"{side}: progress went backwards: {values}"
    inner = [v for v in values if 0 < v < size]
    assert len(inner) >= 3, f"{side}: too few progress steps seen in the page: {values}"
    pcts = {s["pct"] for s in row["seen"]}
    assert len(pcts) >= 4 and "100%" in pcts, f"{side}: percents shown: {sorted(pcts)}"
    assert any(re.search(r"\d (B|KB|MB|GB)/s$", s["speed"]) for s in row["seen"]), (
        f"{side}: no speed shown during the transfer")
    assert any(s["eta"].endswith(" left") for s in row["seen"]), (
        f"{side}: no time left shown during the transfer")
    assert row["pct"] == "100%" and row["progress_value"] == 1000


def check_common(out, file, size, digest, mode):
    assert out["errors"] == {"sender": [], "recipient": []}, out["errors"]
    for side in ("sender", "recipient"):
        assert out[side]["state"] == "completed", (side, out[side]["status"])
        assert out[side]["bytes"] == size
    # The hash the recipient computed, shown on both sides, and the file saved.
    assert out["source_sha256"] == digest
    assert out["recipient"]["sha256"] == digest
    assert out["sender"]["sha256"] == digest
    assert out["download"] == {"filename": file.name, "sha256": digest, "href_scheme": "blob"}
    fin = out["final"]
    assert fin["state"] == "completed" and fin["mode"] == mode
    assert fin["size"] == size and fin["bytes_transferred"] == size
    assert fin["sha256"] == digest
    for name in ("sender", "recipient"):
        assert (OUT / f"{out['case']}-{name}.png").is_file()


def report(capsys, label, size, seconds, extra=""):
    mib = size / MIB
    with capsys.disabled():
        print(f"\n  p2p {label}: {mib:.0f} MiB in {seconds:.2f} s = {mib / seconds:.1f} MiB/s "
              f"({size / seconds / 1e6:.1f} MB/s){extra}")


def test_direct_transfer(node, stack, files, capsys):
    path, size, digest = files["big"]
    out = run_case(node, stack, "direct", path, register_sender=True)
    check_common(out, path, size, digest, "direct")
    assert out["sender"]["path"] == "direct" and out["recipient"]["path"] == "direct"
    assert out["final"]["relay_file_id"] is None
    check_progress(out, "sender", size)
    check_progress(out, "recipient", size)
    secs = out["accept_to_done_ms"] / 1000
    report(capsys, "direct (WebRTC, two chromiums on loopback)", size, secs,
           f"; accept to completed, the recipient's own clock {out['recipient']['elapsed_ms']} ms")


def test_relay_transfer_is_encrypted(node, stack, files, capsys):
    path, size, digest = files["big"]
    out = run_case(node, stack, "relay", path)
    check_common(out, path, size, digest, "relay")
    assert out["sender"]["path"] == "relay" and out["recipient"]["path"] == "relay"
    check_progress(out, "sender", size)
    check_progress(out, "recipient", size)
    relay = out["relay"]
    assert "error" not in relay, relay.get("error")
    # Read while the transfer was in progress, before the recipient had a byte.
    assert relay["state_during"] == "transferring"
    assert relay["bytes_during"] > 0  # the sender's p2p.progress reports reached the server
    assert relay["state_after_read"] == "transferring"
    assert relay["file_id"] and out["final"]["relay_file_id"] is None  # cleared with the copy
    assert relay["blob_path"].startswith(os.path.join(stack.rundir, "data", "files",
                                                      relay["file_id"][-2:]))
    # The format of docs/p2p.md: header, then each chunk sealed with a tag.
    assert relay["blob_size"] == 16 + size + 16 * math.ceil(size / CHUNK)
    assert relay["header_hex"] == "4853503250310000" + "00010000" + "00000000"
    # Not the plaintext: not its hash, not its first chunk, not a sample of it.
    assert relay["blob_sha256"] != digest
    assert relay["first_chunk_is_plaintext"] is False
    assert relay["plaintext_prefix_found"] is False
    assert relay["plaintext_middle_found"] is False
    # docs/p2p.md: the relay copy never shows in the sender's file list ...
    assert relay["sender_list_status"] == 200 and relay["in_sender_list"] is False
    # ... and is deleted when the transfer completes.
    assert relay["blob_gone"] is True
    secs = (out["accept_to_done_ms"] - relay["hold_ms"]) / 1000
    report(capsys, "relay (encrypt + upload + download + decrypt)", size, secs,
           f"; accept to completed less the test's {relay['hold_ms']} ms hold on the download,"
           f" the recipient's download+decrypt {out['recipient']['elapsed_ms']} ms")


def test_auto_falls_back_to_relay(node, stack, files):
    path, size, digest = files["small"]
    out = run_case(node, stack, "auto", path, extra=["--relay-after", "1500"])
    check_common(out, path, size, digest, "auto")
    # It tried the direct path first, then used the relay.
    paths = [s["path"] for s in out["sender"]["seen"] if s["path"]]
    assert paths and paths[0] == "direct" and paths[-1] == "relay", paths
    assert out["recipient"]["path"] == "relay"
    assert out["final"]["relay_file_id"] is None  # the relay copy went with completion
    # Not before relay_after.
    assert out["accept_to_done_ms"] >= 1500


def test_offers_rejected_and_cancelled(node, stack, files):
    """What a person sees when an offer does not become a transfer."""
    stack.wait_bridges()
    path, _, _ = files["small"]
    sender = stack.register(prefix="p2ps")
    recipient = stack.register(prefix="p2pr")
    out = run_node(node, "--case", "offers", "--base", stack.base, "--file", str(path),
                   "--sender-name", sender.username, "--sender-pass", sender.password,
                   "--recipient-name", recipient.username, "--recipient-pass",
                   recipient.password, "--recipient-token", recipient.access, "--out", str(OUT))
    # The API's own message and code for a wrong password.
    assert out["login_error"] == "Invalid username or password (invalid_credentials)."
    assert out["unknown_recipient_error"] == 'No user is called "nobody_by_that_name"'
    assert out["offers_listed"] == 2
    assert out["rejected"] == {"sender_state": "rejected", "offer_left": 0, "final": "rejected",
                               "sender_status": "The recipient declined the file"}
    assert out["cancelled"] == {"sender_state": "cancelled", "offer_left": 0, "final": "cancelled"}
    # The browser's own line for the 401 of the wrong password, nothing else.
    assert out["errors"]["sender"] == []
    assert out["errors"]["recipient"] == [
        "console: Failed to load resource: the server responded with a status of 401 (Unauthorized)"]


def test_cancel_during_relay_upload(node, stack, files):
    """The sender cancels while chunk 1 of its encrypted upload is held back:
    both pages end cancelled and the partial upload is removed."""
    stack.wait_bridges()
    path, _, _ = files["big"]
    sender = stack.register(prefix="p2ps")
    recipient = stack.register(prefix="p2pr")
    out = run_node(node, "--case", "cancel", "--base", stack.base, "--file", str(path),
                   "--sender-name", sender.username, "--sender-pass", sender.password,
                   "--sender-token", sender.access, "--recipient-name", recipient.username,
                   "--recipient-pass", recipient.password, "--recipient-token", recipient.access,
                   "--out", str(OUT))
    assert out["upload_during"] == 200
    assert out["final"] == "cancelled"
    assert out["recipient_status"] == "The transfer was cancelled"
    assert out["upload_after"] == 404, "the cancelled transfer's partial upload is still there"
    assert out["sender_files"] == 0
    assert out["errors"] == {"sender": [], "recipient": []}


# Node 20 and later load a .js file by its syntax (www/ has no package.json)
# and have Web Crypto as a global; Debian 12's Node 18 does neither, and the
# crypto case failed there ("Unexpected token 'export'"). These switches,
# where this node has them, make it load modules as Node 18 does.
NODE18_LIKE = ("--no-experimental-detect-module", "--no-experimental-require-module",
               "--no-experimental-global-webcrypto")


def node18_like(node):
    text = subprocess.run([node, "--help"], capture_output=True, text=True, timeout=30).stdout
    return " ".join(flag for flag in NODE18_LIKE if flag in text)


def test_relay_format_matches_the_document(node, monkeypatch):
    monkeypatch.setenv("NODE_OPTIONS", node18_like(node))
    out = run_node(node, "--case", "crypto", timeout=60)
    assert out["public_key_len"] == 65
    sizes = [c["size"] for c in out["cases"]]
    assert sizes == [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 1234]
    for c in out["cases"]:
        assert c["ct_size"] == c["expected_size"] == 16 + c["size"] + 16 * max(
            1, math.ceil(c["size"] / CHUNK)), c
        assert c["header_ok"] and c["node_decrypts"] and c["node_plain_ok"], c
        assert c["module_roundtrip_ok"] and c["flip_refused"], c
        if c["size"] > CHUNK:
            assert c["truncation_refused"], c
        if c["size"] > 2 * CHUNK:
            assert c["swap_refused"], c
