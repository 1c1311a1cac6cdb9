"""The web client's Files and Send views and the public share page, in a real
browser: Debian's chromium, headless, driven by playwright-core from
tests/node/web_files.mjs on the main stack (one browser, a fresh context per
person, the session put in localStorage as the shell keeps it).

- files: a 100 MiB random file uploaded through the Files view with tus.
  The bar moves (several increasing values, speed and time left shown).
  About a fifth of the way the browser goes offline while a PATCH is on its
  way: the page says so and stops; back online it goes on by itself. About
  half-way a PATCH is held back and the page reloaded: the page lists the
  unfinished upload, the same file is picked again and the upload resumes
  at the server's tus offset (fewer bytes sent again than the file has).
  Then the file, downloaded from the list, hashes the same; a share link
  with a password and a limit is made, opened in a context without an
  account (name and size shown, a wrong password refused with the API's
  message, the right one downloads the same bytes), counted, revoked, and
  then refused.
- send: P2P from the Send view between two users (mode auto, direct on
  loopback): the offer shows, both rows show progress with speed and time
  left, both show the SHA-256, the file saved by the recipient hashes the
  same. Then a recipient whose WebRTC never answers: after relay_after
  (1.5 s) both pages say plainly that the file goes through the encrypted
  relay, and it still arrives whole.

No page may log a console error other than the browser's own line for the
4xx answers the test asks for. Screenshots go to build/test-output/web/."""
import re

import pytest

from hsapi import uniq
from browser import MIB, node_exe, out_dir, random_file, run_script, session_of

OUT = out_dir("web")


@pytest.fixture(scope="module")
def node():
    return node_exe()


def run_node(node, *args, timeout=120):
    return run_script("web_files.mjs", *args, timeout=timeout)


def check_progress(seen, size, label):
    """Several distinct increasing byte counts strictly between 0 and size
    (within one run of the bar), with speed and time left shown on the way."""
    values = []
    for s in seen:
        if not values or s["bytes"] != values[-1]:
            values.append(s["bytes"])
    inner = [v for v in values if 0 < v < size]
    assert len(set(inner)) >= 3, f"{label}: too few progress steps: {values}"
    assert any(re.search(r"\d (B|KB|MB|GB)/s$", s["speed"]) for s in seen), (
        f"{label}: no speed shown")
    assert any(s["eta"].endswith(" left") for s in seen), f"{label}: no time left shown"
    assert any(s["pct"] == "100%" for s in seen), f"{label}: never 100%"


FAILED_403 = "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
FAILED_404 = "console: Failed to load resource: the server responded with a status of 404 (Not Found)"


def test_files_upload_resume_download_share(node, stack, tmp_path):
    size = 100 * MIB
    path = tmp_path / f"{uniq('big')}.bin"
    digest = random_file(path, size)
    owner = stack.register(prefix="webf")
    out = run_node(node, "--case", "files", "--base", stack.base, "--file", str(path),
                   "--session", session_of(owner), "--out", str(OUT))
    assert out["source_sha256"] == digest

    # Progress as the page drew it (upload rows and the download's bar).
    check_progress([s for s in out["seen"]], size, "upload")

    # Offline mid-way: said, stopped, and resumed by itself once online.
    off = out["offline"]
    assert 0 < off["at"] < size
    assert off["navigator_online"] is False
    assert "back online" in off["status"]
    phases = [p["phase"] for p in out["patches"]]
    assert "resumed" in phases, "no PATCH after going back online"
    first_resumed = next(p for p in out["patches"] if p["phase"] == "resumed")
    assert first_resumed["offset"] == off["at"], "the upload did not go on where it stopped"

    # Reload mid-way: listed as unfinished, resumed from the server's offset.
    rl = out["reload"]
    assert out["unfinished_listed"] == path.name
    assert "on the server" in out["unfinished_text"]
    assert rl["resumed_from"] == rl["held_at"] == rl["first_patch_offset"]
    assert size // 2 <= rl["resumed_from"] < size
    assert rl["bytes_sent_after"] == size - rl["resumed_from"] < size
    assert out["upload"]["pct"] == "100%"
    assert out["upload"]["status"].startswith("Uploaded (resumed at")
    # Every PATCH is 8 MiB (chunkSize) from a multiple of it.
    assert all(p["offset"] % (8 * MIB) == 0 for p in out["patches"])

    # The stored file and the browser's download of it.
    r = stack.get(f"/api/v1/files/{out['file_id']}/info", token=owner.access)
    assert r.status_code == 200
    info = r.json()
    assert info["filename"] == path.name and info["size"] == size
    assert out["download"] == {"filename": path.name, "sha256": digest}
    assert out["list_meta"].startswith("100 MB")

    # The share link: the public page, a wrong password, the right one.
    assert re.match(r"^http://[^/]+/share\.html#t=[A-Za-z0-9_-]{32}&n=.+&s=\d+&p=1$",
                    out["share_url"]), out["share_url"]
    assert out["links_listed"] == 1
    sp = out["share_page"]
    assert sp == {"name": path.name, "size": "100 MB", "password_asked": True,
                  "wrong_password": "The password is wrong (password_required)."}
    sd = out["share_download"]
    assert sd["filename"] == path.name and sd["sha256"] == digest
    assert sd["shown_name"] == path.name and sd["pct"] == "100%"
    assert "1 of 3 downloads" in out["link_desc"] and "password" in out["link_desc"]
    # Revoked: the page says so and offers no more tries.
    assert out["revoked_message"].startswith("This link does not work")
    assert out["revoked_button_disabled"] is True
    links = stack.get(f"/api/v1/files/{out['file_id']}/links", token=owner.access).json()
    assert links["items"] == []

    assert out["errors"] == {"owner": [], "anonymous": [FAILED_403], "anonymous2": [FAILED_404]}
    for name in ("uploading", "offline", "unfinished-after-reload", "uploaded", "share-link",
                 "phone", "desktop"):
        assert (OUT / f"files-{name}.png").is_file()
    assert (OUT / "share-page-phone.png").is_file()


def test_send_view_p2p(node, stack, tmp_path):
    stack.wait_bridges()
    size = 20 * 1000 * 1000 + 3
    path = tmp_path / f"{uniq('p2p')}.bin"
    digest = random_file(path, size)
    small = tmp_path / f"{uniq('small')}.bin"
    small_digest = random_file(small, 1000 * 1000 + 1)
    sender = stack.register(prefix="webs")
    peer = stack.register(prefix="webr")
    out = run_node(node, "--case", "send", "--base", stack.base, "--file", str(path),
                   "--small-file", str(small), "--session", session_of(sender),
                   "--peer-session", session_of(peer), "--peer-name", peer.username,
                   "--out", str(OUT))
    assert out["chosen"] == f"Sending to @{peer.username}"
    assert path.name in out["offer_text"] and sender.username in out["offer_text"]
    for side in ("sender", "recipient"):
        row = out[side]
        assert row["bytes"] == size and row["pct"] == "100%", side
        assert row["status"] == "Completed", (side, row["status"])
        assert row["sha256"] == digest, side
        assert row["path"] == "direct" and row["fallback_shown"] is False, side
        check_progress(row["seen"], size, side)
    assert out["download"] == {"filename": path.name, "sha256": digest}
    fin = stack.get(f"/api/v1/p2p/{out['transfer_id']}", token=peer.access).json()
    assert fin["state"] == "completed" and fin["sha256"] == digest

    fb = out["fallback"]
    assert fb["small_sha256"] == small_digest
    for side in ("sender", "recipient"):
        assert fb[side]["path"] == "relay" and fb[side]["flagged"] == "1", side
        assert fb[side]["visible"] and "relay" in fb[side]["text"], side
        assert "end-to-end encrypted" in fb[side]["text"], side
        assert fb[side]["sha256"] == small_digest, side
    assert fb["sender"]["text"].startswith("No direct connection after")

    assert out["errors"] == {"sender": [], "recipient": [], "recipient2": []}
    for name in ("send-offer", "send-sender", "send-recipient", "send-recipient-phone",
                 "send-fallback-sender", "send-fallback-recipient"):
        assert (OUT / f"{name}.png").is_file()
