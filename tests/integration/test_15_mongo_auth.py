"""The apps on the mongo store backend (issue 15, under construction: users,
sessions, follows, files, links, P2P, chats and messages so far;
docs/mongo-status.md): a whole stack with store = mongo registers, logs in,
rotates refresh tokens (a replay revokes the session), logs out, refuses a
taken username, uploads, downloads, shares and deletes a file, and chats in
a group, all on a MongoDB-protocol server. Needs
MONGODB_URI: run it under the FerretDB harness, `tests/ferretdb/with.sh
/usr/bin/python3 -m pytest -q tests/integration/test_15_mongo_auth.py`;
without it every test skips and says why."""
import os
import uuid

import pytest

from hsapi import API, assert_error, assert_ok

URI = os.environ.get("MONGODB_URI", "")
pytestmark = pytest.mark.skipif(
    not URI.startswith("mongodb://"),
    reason="MONGODB_URI is not set: run under tests/ferretdb/with.sh (PostgreSQL + FerretDB)")
AUTH = f"{API}/auth"


def mongo_stack(make_stack):
    """A stack on a database of its own on MONGODB_URI's server; .mongo_db
    is that database (pymongo), to see what the apps wrote."""
    rest = URI[len("mongodb://"):]
    hosts = rest.split("/", 1)[0].split("?", 1)[0]
    query = rest.split("?", 1)[1] if "?" in rest else ""
    uri = f"mongodb://{hosts}/hs_it_{uuid.uuid4().hex[:12]}" + (f"?{query}" if query else "")
    s = make_stack(HS_STORE="mongo", HS_MONGO_URI=uri)
    import pymongo
    s.mongo_db = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000).get_default_database()
    return s


def test_auth_flow_on_mongo(make_stack):
    s = mongo_stack(make_stack)
    u = s.register(prefix="mg")
    me = assert_ok(s.me(u.access))
    assert me["id"] == u.id and me["username"] == u.username
    # written to MongoDB, not to a SQLite file beside it
    assert s.mongo_db.users.find_one({"_id": u.id})["username"] == u.username
    assert not os.path.exists(os.path.join(s.rundir, "data", "hypersend.db"))
    assert_error(s.post(f"{AUTH}/register", json={"username": u.username,
                                                 "email": "other@example.com",
                                                 "password": u.password}), 409, "username_taken")
    second = s.login(u, by="email")
    assert second.session_id != u.session_id

    b1 = assert_ok(s.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh}))
    b2 = assert_ok(s.post(f"{AUTH}/refresh", json={"refresh_token": b1["refresh_token"]}))
    # a replayed token revokes its session: the chain's live token dies too
    assert_error(s.post(f"{AUTH}/refresh", json={"refresh_token": u.refresh}), 401,
                 "refresh_token_reused")
    assert_error(s.post(f"{AUTH}/refresh", json={"refresh_token": b2["refresh_token"]}), 401)

    # the other session lives on, and logging it out ends it
    assert_ok(s.me(second.access))
    assert s.post(f"{AUTH}/logout", token=second.access).status_code == 204
    assert_error(s.me(second.access), 401)
    assert s.mongo_db.session_revocations.count_documents({"user_id": u.id}) == 2



def test_files_on_mongo(make_stack):
    """An upload in chunks, its download, the list, a share link with one
    download, and the delete, on mongo."""
    from test_03_helpers import FILES, download, upload_file
    s = mongo_stack(make_stack)
    u = s.register(prefix="mgf")
    data = os.urandom(300_000)
    f = upload_file(s, u, data, filename="m.bin")
    r = download(s, u, f["id"])
    assert r.status_code == 200 and r.content == data
    items = assert_ok(s.get(f"{FILES}/list", token=u.access))["items"]
    assert [x["id"] for x in items] == [f["id"]]
    assert s.mongo_db.files.find_one({"_id": f["id"]})["size"] == len(data)
    assert s.mongo_db.usage.find_one({"_id": u.id})["bytes"] == len(data)
    link = assert_ok(s.post(f"{FILES}/{f['id']}/links", token=u.access,
                            json={"max_downloads": 1}), 201)
    r = s.get(link["url"])  # no token: the share link
    assert r.status_code == 200 and r.content == data
    assert_error(s.get(link["url"]), 410, "link_exhausted")
    assert s.delete(f"{FILES}/{f['id']}", token=u.access).status_code == 204
    assert_error(s.get(f"{FILES}/{f['id']}/info", token=u.access), 404, "file_not_found")
    assert s.mongo_db.usage.find_one({"_id": u.id})["bytes"] == 0


def test_chat_on_mongo(make_stack):
    """A group on mongo: a send (retried with its client id), an attachment
    readable by the members, an edit, a reaction, the history, the read
    marker and the delivery state, the chat list's unread count; the
    messages form their chat's chain in MongoDB."""
    from test_03_helpers import FILES, download, upload_file
    from test_04_helpers import (MESSAGES, group, listed, mark_read, page, post_message, react,
                                 send)
    s = mongo_stack(make_stack)
    a, b = s.register(prefix="mgc"), s.register(prefix="mgc")
    chat = group(s, a, [b])["id"]
    first = assert_ok(post_message(s, a, chat, "hello", client_id="k-1"), 201)
    again = assert_ok(post_message(s, a, chat, "hello", client_id="k-1"), 200)
    assert again["id"] == first["id"]
    f = upload_file(s, a, b"attached", filename="n.txt")
    second = send(s, a, chat, "see this", file_ids=[f["id"]])
    assert second["id"] > first["id"]
    r = download(s, b, f["id"])
    assert r.status_code == 200 and r.content == b"attached"
    e = assert_ok(s.put(f"{MESSAGES}/{first['id']}", token=a.access, json={"content": "hi!"}))
    assert e["content"] == "hi!" and e["edited_at"]
    assert_ok(react(s, b, first["id"], "\U0001f44d"))
    items = page(s, b, chat)["items"]
    assert [m["id"] for m in items] == [second["id"], first["id"]]  # newest first
    assert items[1]["content"] == "hi!"
    assert items[1]["reactions"] == [{"emoji": "\U0001f44d", "count": 1, "me": True}]
    assert [x["id"] for x in items[0]["attachments"]] == [f["id"]]
    assert listed(s, b, chat)["unread_count"] == 2
    assert [m["state"] for m in page(s, a, chat)["items"]] == ["delivered", "delivered"]
    assert assert_ok(mark_read(s, b, chat, second["id"]))["unread_count"] == 0
    assert [m["state"] for m in page(s, a, chat)["items"]] == ["read", "read"]
    assert listed(s, a, chat)["last_message"]["id"] == second["id"]
    # the chain in MongoDB: each message names the one before it
    docs = {d["_id"]: d for d in s.mongo_db.messages.find({"chat_id": chat})}
    assert docs[first["id"]]["prev"] == "" and docs[second["id"]]["prev"] == first["id"]
    assert s.mongo_db.chat_files.count_documents({"file_id": f["id"], "chat_id": chat}) == 1
    assert s.delete(f"{MESSAGES}/{second['id']}", token=a.access).status_code == 204
    assert s.mongo_db.chat_files.count_documents({"file_id": f["id"]}) == 0
    assert_error(s.get(f"{FILES}/{f['id']}/info", token=b.access), 404, "file_not_found")


def test_server_gone_is_503_not_a_hang(make_stack):
    """The database stops under a running stack: requests that need it answer
    503 store_unavailable within the server selection timeout (2 s), not
    after a hang. A server of this test's own
    (tests/ferretdb/server.sh), so that stopping it touches nothing else."""
    import shutil
    import subprocess
    import tempfile
    import time
    server = os.path.join(os.path.dirname(__file__), "..", "ferretdb", "server.sh")
    # not under pytest's 0700 folders: PostgreSQL runs as its own user
    d = tempfile.mkdtemp(prefix="hs-ferretdb-it.")
    uri = subprocess.run([server, "start", d], check=True, capture_output=True,
                         text=True, timeout=120).stdout.strip()
    try:
        s = make_stack(HS_STORE="mongo", HS_MONGO_URI=uri.rstrip("/") + "/hs_gone")
        u = s.register(prefix="gone")
        assert_ok(s.me(u.access))
        subprocess.run([server, "stop", d], check=True, timeout=60)
        t0 = time.monotonic()
        assert_error(s.me(u.access), 503, "store_unavailable")
        assert time.monotonic() - t0 < 6
    finally:
        subprocess.run([server, "stop", d], timeout=60)
        shutil.rmtree(d, ignore_errors=True)
