"""Moving a deployment from SQLite to MongoDB (issue 15): `hs-admin migrate
--to mongo`. A stack on SQLite is seeded through the API (users, a follow,
sessions with a rotated refresh token and a logged-out one, an upload in
progress, files, a share link with one of two downloads taken, a group chat
with messages, an attachment, an edit, a deletion, a reaction, a read
marker, a P2P offer, a block) and stopped; the copy into a database of its
own on MONGODB_URI's server is killed midway, refused without --resume,
finished with it, and verified; then a stack on store = mongo over the same
data folder (the blobs stay where they are) answers for every object. Needs
MONGODB_URI: `tests/ferretdb/with.sh env HS_BIN_DIR=$PWD/build/bin
/usr/bin/python3 -m pytest -q tests/integration/test_15_migrate.py`;
without it every test skips and says why."""
import hashlib
import os
import shutil
import signal
import subprocess
import uuid

import pytest

from conftest import Stack, _finish
from hsapi import API, BIN_DIR, assert_error, assert_ok
from test_03_helpers import FILES, complete, download, init_upload, put_chunk, upload_file
from test_04_helpers import CHATS, group, mark_read, page, react, search, send

URI = os.environ.get("MONGODB_URI", "")
pytestmark = pytest.mark.skipif(
    not URI.startswith("mongodb://"),
    reason="MONGODB_URI is not set: run under tests/ferretdb/with.sh (PostgreSQL + FerretDB)")
AUTH = f"{API}/auth"
P2P = f"{API}/p2p"
CHUNK = 65536

def target_uri():
    rest = URI[len("mongodb://"):]
    hosts = rest.split("/", 1)[0].split("?", 1)[0]
    query = rest.split("?", 1)[1] if "?" in rest else ""
    return (f"mongodb://{hosts}/hs_mig_{uuid.uuid4().hex[:12]}"
            + (f"?{query}" if query else ""))


def admin_env(s, uri, **extra):
    return dict(s.env, HS_CONFIG=os.path.join(s.rundir, "hypersend.conf"),
                HS_DATA_DIR=os.path.join(s.rundir, "data"), HS_MONGO_URI=uri, **extra)


def migrate(s, uri, *args, **extra):
    return subprocess.run([str(BIN_DIR / "hs-admin"), "migrate", "--to", "mongo", *args],
                          env=admin_env(s, uri, **extra), capture_output=True, text=True,
                          timeout=120)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def seed(s):
    """Every kind of object, through the API; what the checks need."""
    w = {}
    a, b, c = (s.register(prefix=p) for p in ("mga", "mgb", "mgc"))
    w.update(a=a, b=b, c=c)
    assert s.post(f"{API}/users/{b.id}/follow", token=a.access).status_code in (200, 204)
    # a rotates once: the first refresh token is spent, the second live
    rot = assert_ok(s.post(f"{AUTH}/refresh", json={"refresh_token": a.refresh}))
    w.update(spent=a.refresh, live=rot["refresh_token"], a_access=rot["access_token"])
    c2 = s.login(c)
    assert s.post(f"{AUTH}/logout", token=c2.access).status_code == 204
    w["c_gone"] = c2
    # files: one whole, one attached in the chat, one upload half sent
    w["data1"] = os.urandom(50_000)
    w["f1"] = upload_file(s, a, w["data1"], filename="one.bin")
    w["data2"] = os.urandom(3_000)
    w["f2"] = upload_file(s, a, w["data2"], filename="two.txt")
    w["data3"] = os.urandom(CHUNK + 1000)
    up = init_upload(s, a, len(w["data3"]), filename="three.bin")
    assert up["chunk_size"] == CHUNK
    assert_ok(put_chunk(s, a, up["upload_id"], 0, w["data3"][:CHUNK]))
    w["upload"] = up["upload_id"]
    link = assert_ok(s.post(f"{FILES}/{w['f1']['id']}/links", token=a.access,
                            json={"max_downloads": 2}), 201)
    assert s.get(link["url"]).content == w["data1"]
    w["link"] = link
    # a group chat: messages, an attachment, an edit, a deletion, a reaction,
    # b's read marker
    g = group(s, a, [b, c], name="moving day")
    w["chat"] = g["id"]
    m1 = send(s, a, g["id"], "hello migration world")
    m2 = send(s, b, g["id"], "zebras cross the river", client_id="cid-1")
    m3 = send(s, a, g["id"], "the file", file_ids=[w["f2"]["id"]], reply_to=m1["id"])
    m4 = send(s, c, g["id"], "to be deleted")
    m5 = send(s, c, g["id"], "first draft")
    assert_ok(s.put(f"{API}/messages/{m5['id']}", token=c.access, json={"content": "edited text"}))
    assert s.delete(f"{API}/messages/{m4['id']}", token=c.access).status_code in (200, 204)
    assert_ok(react(s, b, m1["id"], "\U0001F44D"))
    assert mark_read(s, b, g["id"], m3["id"]).status_code in (200, 204)
    w["msgs"] = [m1, m2, m3, m4, m5]
    w["history"] = [(m["id"], m["content"], m["deleted"])
                    for m in page(s, b, g["id"], limit=100)["items"]]
    # P2P: an offer a -> b, pending; c blocks a
    t = assert_ok(s.post(f"{P2P}/initiate", token=a.access,
                         json={"recipient_id": b.id, "filename": "film.mp4", "size": 1000}), 201)
    w["transfer"] = t["id"]
    assert s.put(f"{P2P}/blocks/{a.id}", token=c.access).status_code in (200, 204)
    return w


@pytest.fixture(scope="module")
def moved():
    """The seeded SQLite stack, stopped; its copy (killed once midway, then
    resumed); a stack on mongo over the same folder. Yields (world, the
    mongo stack, the runs, pymongo database, the SQLite digests)."""
    made = []
    s = Stack("mig-sq", {"HS_STORE": "sqlite", "HS_CHUNK_SIZE": str(CHUNK)})
    made.append(s)
    try:
        s.start()
        w = seed(s)
        s.stop(keep=True)
        db_path = os.path.join(s.rundir, "data", "hypersend.db")
        before = digest(db_path)
        uri = target_uri()
        runs = {}
        # the first run stops itself inside messages (after one document);
        # killed there, as a crash or a Ctrl-C would
        p = subprocess.Popen([str(BIN_DIR / "hs-admin"), "migrate", "--to", "mongo"],
                             env=admin_env(s, uri, HS_MIGRATE_TEST_PAUSE="messages"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("paused in messages"):
                break
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        runs["killed"] = "".join(lines)
        import pymongo
        mdb = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000).get_default_database()
        runs["partial_messages"] = mdb.messages.count_documents({})
        runs["refused"] = migrate(s, uri)
        runs["resumed"] = migrate(s, uri, "--resume")
        runs["again"] = migrate(s, uri, "--resume")
        after = digest(db_path)
        m = Stack("mig-mg", {"HS_STORE": "mongo", "HS_MONGO_URI": uri,
                             "HS_CHUNK_SIZE": str(CHUNK)})
        shutil.rmtree(m.rundir, ignore_errors=True)
        m.rundir = s.rundir  # the same data folder, key and blobs
        made.append(m)
        m.start()
        yield w, m, runs, mdb, (before, after)
    finally:
        _finish(made)


def test_copy_killed_midway_is_refused_then_resumed_and_verified(moved):
    w, m, runs, mdb, _ = moved
    assert "copied users" in runs["killed"] and "paused in messages" in runs["killed"]
    assert runs["partial_messages"] == 1
    r = runs["refused"]
    assert r.returncode == 1 and "already holds" in r.stderr and "--resume" in r.stderr, r
    r = runs["resumed"]
    assert r.returncode == 0, (r.stdout, r.stderr)
    table = r.stdout.split("\ncollection")[1]
    assert "MISMATCH" not in table
    rows = {ln.split()[0]: ln.split()[1:] for ln in table.strip().splitlines()[1:]}
    for coll in ("users", "follows", "sessions", "session_revocations", "refresh_tokens",
                 "refresh_claims", "uploads", "upload_chunks", "files", "usage", "share_links",
                 "link_claims", "chats", "chat_members", "messages", "reactions", "chat_files",
                 "p2p_transfers", "p2p_blocks"):
        assert rows[coll][2] == "ok" and rows[coll][0] == rows[coll][1], (coll, table)
    assert rows["users"][0] == "3" and rows["messages"][0] == "5"
    assert rows["link_claims"][0] == "1"  # the download taken of the two
    assert rows["session_revocations"][0] == "1" and rows["refresh_claims"][0] == "1"
    # a run over a finished copy changes nothing and verifies again
    assert runs["again"].returncode == 0 and "MISMATCH" not in runs["again"].stdout
    assert " 0 new" in runs["again"].stdout


def test_sqlite_file_is_never_written(moved):
    before, after = moved[4]
    assert before == after


def test_documents_have_the_backend_shapes(moved):
    """What the message operations will read: the chain, client keys,
    grants and tombstones, and the counters recomputed."""
    w, m, runs, mdb, _ = moved
    m1, m2, m3, m4, m5 = w["msgs"]
    docs = {d["_id"]: d for d in mdb.messages.find({"chat_id": w["chat"]})}
    ordered = sorted(docs)
    assert [docs[i]["prev"] for i in ordered] == [""] + ordered[:-1]
    assert docs[m2["id"]]["client_key"] == "c:cid-1"
    assert docs[m1["id"]]["client_key"] == m1["id"]
    assert docs[m3["id"]]["files"] == [w["f2"]["id"]] and docs[m3["id"]]["origin"] == m3["id"]
    assert docs[m4["id"]]["deleted_at"] > 0 and docs[m4["id"]]["content"] == ""
    assert docs[m5["id"]]["content"] == "edited text" and docs[m5["id"]]["edited_at"] > 0
    assert all(d["v"] == 0 for d in docs.values())
    grant = mdb.chat_files.find_one({"file_id": w["f2"]["id"]})
    assert grant["chat_id"] == w["chat"] and grant["origin"] == m3["id"]
    usage = mdb.usage.find_one({"_id": w["a"].id})
    assert usage["bytes"] == len(w["data1"]) + len(w["data2"]) + len(w["data3"])
    assert usage["v"] == 0
    member = mdb.chat_members.find_one({"_id": f"{w['chat']}:{w['b'].id}"})
    assert member["last_read_id"] == m3["id"] and member["v"] == 0


def test_accounts_after_the_move(moved):
    w, m, *_ = moved
    a, b, c = w["a"], w["b"], w["c"]
    again = m.login(a)  # the old password
    assert again.id == a.id
    assert_ok(m.me(w["a_access"]))  # a live session's access token (same key)
    assert_error(m.me(w["c_gone"].access), 401)  # the logged-out session stays revoked
    r = assert_ok(m.post(f"{AUTH}/refresh", json={"refresh_token": w["live"]}))
    assert r["session_id"] == a.session_id
    # the token spent before the move is still spent: a replay is theft
    assert_error(m.post(f"{AUTH}/refresh", json={"refresh_token": w["spent"]}), 401,
                 "refresh_token_reused")
    followers = assert_ok(m.get(f"{API}/users/{b.id}/followers", token=again.access))["items"]
    assert [u["id"] for u in followers] == [a.id]
    found = assert_ok(m.get(f"{API}/users/search", token=again.access,
                            params={"q": c.username[:6]}))["items"]
    assert c.id in [u["id"] for u in found]


def test_files_after_the_move(moved):
    w, m, runs, mdb, _ = moved
    a = m.login(w["a"])
    r = download(m, a, w["f1"]["id"])
    assert r.status_code == 200 and r.content == w["data1"]
    listed = [f["id"] for f in assert_ok(m.get(f"{FILES}/list", token=a.access))["items"]]
    assert w["f1"]["id"] in listed and w["f2"]["id"] in listed
    # the share link has one download left of its two
    assert m.get(w["link"]["url"]).content == w["data1"]
    assert_error(m.get(w["link"]["url"]), 410, "link_exhausted")
    # the upload goes on where it stopped: chunk 0 is there, 1 is missing
    st = assert_ok(m.get(f"{FILES}/upload/{w['upload']}", token=a.access))
    assert st["received_chunks"] == [0] and st["missing_chunks"] == [1]
    assert_error(put_chunk(m, a, w["upload"], 0, b"x" * CHUNK), 409)
    assert_ok(put_chunk(m, a, w["upload"], 1, w["data3"][CHUNK:]))
    f3 = assert_ok(complete(m, a, w["upload"]))
    assert download(m, a, f3["id"]).content == w["data3"]
    # the usage counter was copied right: deleting files takes their bytes
    # off it exactly (f2 stays: the chat's messages show it)
    for fid in (w["f1"]["id"], f3["id"]):
        assert m.delete(f"{FILES}/{fid}", token=a.access).status_code == 204
    assert mdb.usage.find_one({"_id": a.id})["bytes"] == len(w["data2"])


def test_p2p_after_the_move(moved):
    w, m, *_ = moved
    b = m.login(w["b"])
    c = m.login(w["c"])
    t = assert_ok(m.get(f"{P2P}/{w['transfer']}", token=b.access))
    assert t["state"] == "pending"
    assert assert_ok(m.post(f"{P2P}/{w['transfer']}/accept", token=b.access,
                            json={}))["state"] == "accepted"
    assert assert_ok(m.get(f"{P2P}/blocks", token=c.access))["user_ids"] == [w["a"].id]


def test_chat_members_after_the_move(moved):
    w, m, *_ = moved
    a = m.login(w["a"])
    items = assert_ok(m.get(f"{CHATS}/{w['chat']}/members", token=a.access,
                            params={"limit": 100}))["items"]
    roles = {x["user_id"]: x["role"] for x in items}
    assert roles == {w["a"].id: "owner", w["b"].id: "member", w["c"].id: "member"}


def test_history_reactions_and_marks_after_the_move(moved):
    w, m, *_ = moved
    b = m.login(w["b"])
    items = page(m, b, w["chat"], limit=100)["items"]
    assert [x["id"] for x in items] == [h[0] for h in w["history"]]
    assert [(x["content"], x["deleted"]) for x in items] == [h[1:] for h in w["history"]]
    m1, m2, m3, m4, m5 = w["msgs"]
    byid = {x["id"]: x for x in items}
    assert byid[m1["id"]]["reactions"][0]["emoji"] == "\U0001F44D"
    assert [f["id"] for f in byid[m3["id"]]["attachments"]] == [w["f2"]["id"]]
    chat = assert_ok(m.get(f"{CHATS}/{w['chat']}", token=b.access))
    assert chat["unread_count"] == 1  # c's edited message after b's marker
    # the chain goes on: a new message lands after the copied ones
    new = send(m, b, w["chat"], "after the move")
    assert new["id"] > max(byid)
    # the attached file is still readable by a member
    assert download(m, b, w["f2"]["id"]).content == w["data2"]


def test_search_after_the_move(moved):
    w, m, runs, *_ = moved
    # the words were copied and counted against SQLite's FTS5 index
    out = runs["resumed"].stdout
    assert "skipped search words" not in out
    words = [ln.split() for ln in out.splitlines() if ln.startswith("message_tokens ")]
    assert len(words) == 1 and words[0][3] == "ok" and int(words[0][1]) > 0, out
    b = m.login(w["b"])
    hits = assert_ok(search(m, b, q="zebra"))["items"]
    assert [h["id"] for h in hits] == [w["msgs"][1]["id"]]
    assert assert_ok(search(m, b, q="deleted"))["items"] == []
