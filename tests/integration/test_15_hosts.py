"""Several hosts (issue 15), built on this machine with network namespaces:
host C runs Redis and the database (PostgreSQL + FerretDB, the MongoDB
protocol); hosts A and B each run lighttpd, every FastCGI app and a
WebSocket bridge (conf/stack.sh inside the namespace), with store = mongo
on C, Redis on C, one signing key, and one blob folder bind-mounted into
both (standing in for a network filesystem). The namespaces hang off a
bridge with private addresses that exist only while the module runs; the
tests reach A and B through it as a balancer would.

Shown: a user on A and a user on B chat in real time both ways; senders on
both hosts into one chat, every message once and each sender's in order; uploads (chunk
API and tus) started on A and finished on B, downloaded from both with
the same sha256; a share link made on A opened on B; a P2P signal from A
to B; host A's apps and bridge SIGKILLed mid-traffic, its clients moving
to B and no accepted message lost.

The namespaces, host C and the stacks: hosts.py. Skips, saying why, where
the machine does not allow network namespaces (not root, or no
CAP_NET_ADMIN)."""
import asyncio
import os
import signal
import threading

import pytest

from hosts import Hosts, netns_allowed
from hsapi import API, assert_ok
from p2p_helpers import offer, step
from test_03_helpers import FILES, app_pids, download, init_upload, put_chunk, sha256
from test_04_helpers import create, page
from wsclient import Clients, match, rest

CHUNK = 65536
TUS = {"Tus-Resumable": "1.0.0"}
APPS = ("hs-auth", "hs-users", "hs-files", "hs-chats", "hs-updates", "hs-p2p")


@pytest.fixture(scope="module")
def hosts():
    why = netns_allowed()
    if why:
        pytest.skip(f"several hosts need network namespaces: {why}")
    h = Hosts()
    try:
        h.start()
    except BaseException:
        h.stop()
        raise
    yield h.stacks
    h.stop()


def test_one_account_and_session_on_both_hosts(hosts):
    a, b = hosts["a"], hosts["b"]
    u = a.register(prefix="hh")
    me = assert_ok(b.get(f"{API}/auth/me", token=u.access))
    assert me["id"] == u.id
    assert b.post(f"{API}/auth/logout", token=u.access).status_code == 204
    # revoked on B: refused on A as well (the revocation is in the shared store)
    assert a.get(f"{API}/auth/me", token=u.access).status_code == 401


def test_chunked_upload_started_on_a_finishes_on_b(hosts):
    a, b = hosts["a"], hosts["b"]
    u = a.register(prefix="hu")
    data = os.urandom(5 * CHUNK + 1234)
    up = init_upload(a, u, len(data), filename="both.bin", chunk_size=CHUNK)
    uid = up["upload_id"]
    parts = [data[i:i + up["chunk_size"]] for i in range(0, len(data), up["chunk_size"])]
    for n in range(0, len(parts), 2):  # even chunks on A, odd ones on B
        assert_ok(put_chunk(a, u, uid, n, parts[n]))
    st = assert_ok(b.get(f"{FILES}/upload/{uid}", token=u.access))
    assert st["received_chunks"] == list(range(0, len(parts), 2))
    for n in range(1, len(parts), 2):
        assert_ok(put_chunk(b, u, uid, n, parts[n]))
    f = assert_ok(b.post(f"{FILES}/upload/complete", token=u.access, json={"upload_id": uid}))
    assert f["size"] == len(data)
    for s in (a, b):
        assert sha256(download(s, u, uid).content) == sha256(data)


def test_tus_upload_started_on_a_resumes_on_b(hosts):
    a, b = hosts["a"], hosts["b"]
    u = a.register(prefix="ht")
    data = os.urandom(300000)
    r = a.post(f"{FILES}/tus", token=u.access, data=b"",
               headers={**TUS, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    path = r.headers["Location"]
    octets = {**TUS, "Content-Type": "application/offset+octet-stream"}
    r = a.req("PATCH", path, token=u.access, data=data[:120000],
              headers={**octets, "Upload-Offset": "0"})
    assert r.status_code == 204, r.text
    r = b.req("HEAD", path, token=u.access, headers=TUS)
    assert r.headers["Upload-Offset"] == "120000"
    r = b.req("PATCH", path, token=u.access, data=data[120000:],
              headers={**octets, "Upload-Offset": "120000"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data)), r.text
    fid = path.rsplit("/", 1)[1]
    for s in (a, b):
        assert sha256(download(s, u, fid).content) == sha256(data)


def test_share_link_made_on_a_opens_on_b(hosts):
    a, b = hosts["a"], hosts["b"]
    u = a.register(prefix="hl")
    data = os.urandom(40000)
    up = init_upload(a, u, len(data), filename="shared.bin")
    assert_ok(put_chunk(a, u, up["upload_id"], 0, data))
    fid = assert_ok(a.post(f"{FILES}/upload/complete", token=u.access,
                           json={"upload_id": up["upload_id"]}))["id"]
    link = assert_ok(a.post(f"{FILES}/{fid}/links", token=u.access,
                            json={"max_downloads": 1}), 201)
    r = b.get(link["url"])
    assert r.status_code == 200 and sha256(r.content) == sha256(data)
    # the limit holds across hosts: the second download, on A, is refused
    assert a.get(link["url"]).status_code == 410


def said(text):
    """A message.created event of a message whose content is text."""
    def pred(o):
        return o.get("type") == "message.created" and o["data"]["message"]["content"] == text
    pred.__name__ = f"message.created {text!r}"
    return pred


def test_chat_in_real_time_both_ways(hosts):
    a, b = hosts["a"], hosts["b"]
    ua, ub = a.register(prefix="hca"), b.register(prefix="hcb")
    chat = create(a, ua, kind="direct", members=[ub.id])["id"]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(a.ws_proxy_url, ua.access, name="ann on A")
            wb = await cs.open(b.ws_proxy_url, ub.access, name="ben on B")
            await rest(a.post, f"{API}/messages", token=ua.access,
                       json={"chat_id": chat, "content": "from A"})
            await wb.take(said("from A"))
            await rest(b.post, f"{API}/messages", token=ub.access,
                       json={"chat_id": chat, "content": "from B"})
            await wa.take(said("from B"))
    asyncio.run(run())


def test_senders_on_both_hosts_one_order(hosts):
    """Two senders on each host post into one group at once: a member's
    socket gets every message once, history holds the same ones, and each
    sender's messages have ids in the order it sent them (ids follow commit
    order whichever host wrote them; the socket's arrival order across
    senders is the order of publication, which the client sorts by id)."""
    a, b = hosts["a"], hosts["b"]
    owner = a.register(prefix="hoa")
    others = [b.register(prefix="hob"), a.register(prefix="hoc"), b.register(prefix="hod")]
    chat = create(a, owner, kind="group", name="order", members=[o.id for o in others])["id"]
    senders = [(a, owner), (b, others[0]), (a, others[1]), (b, others[2])]
    per = 15
    failures = []

    def send(stack, user, k):
        for i in range(per):
            r = stack.post(f"{API}/messages", token=user.access,
                           json={"chat_id": chat, "content": f"{k}:{i}"})
            if r.status_code != 201:
                failures.append((k, i, r.status_code, r.text[:200]))

    async def run():
        async with Clients() as cs:
            watch = await cs.open(b.ws_proxy_url, others[0].access, name="watcher on B")
            threads = [threading.Thread(target=send, args=(s, u, k))
                       for k, (s, u) in enumerate(senders)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not failures, failures
            got = await watch.take_n(match("message.created"), per * len(senders), timeout=30)
            return [o["data"]["message"] for o in got]
    seen = asyncio.run(run())
    ids = [m["id"] for m in seen]
    assert len(set(ids)) == len(ids), "a message arrived twice"
    history = []
    params = {"limit": 100}
    while True:
        b_ = page(a, owner, chat, **params)
        history += b_["items"]
        if b_["next_cursor"] is None:
            break
        params["before"] = b_["next_cursor"]
    contents = sorted(m["content"] for m in history)
    assert contents == sorted(f"{k}:{i}" for k in range(len(senders)) for i in range(per))
    assert sorted(m["id"] for m in history) == sorted(ids)
    for k in range(len(senders)):
        mine = sorted((m for m in history if m["content"].startswith(f"{k}:")),
                      key=lambda m: m["id"])
        assert [m["content"] for m in mine] == [f"{k}:{i}" for i in range(per)], k


def test_p2p_signal_crosses_hosts(hosts):
    a, b = hosts["a"], hosts["b"]
    ua, ub = a.register(prefix="hpa"), b.register(prefix="hpb")

    async def run():
        async with Clients() as cs:
            wa = await cs.open(a.ws_proxy_url, ua.access, name="sender on A")
            wb = await cs.open(b.ws_proxy_url, ub.access, name="recipient on B")
            t = await rest(offer, a, ua, ub, size=100, filename="clip.mp4")
            o = await wb.take(match("transfer.offer"))
            assert o["data"]["id"] == t["id"]
            assert (await rest(step, b, ub, t["id"], "accept")).status_code == 200
            sdp = {"kind": "sdp", "sdp": "v=0 from A"}
            await wa.send({"type": "p2p.signal", "transfer_id": t["id"], "data": sdp})
            o = await wb.take(match("p2p.signal"))
            assert o["data"] == {"transfer_id": t["id"], "from": ua.id, "data": sdp}
    asyncio.run(run())


def test_host_a_killed_mid_traffic_clients_move_to_b(hosts):
    """A sender posts through A while A's apps and bridge are SIGKILLed; it
    moves to B on the first failure (as a balancer would send it), and a
    member whose socket was on A reconnects to B and resumes from its last
    event id. Every message that was accepted (201) is delivered, once."""
    a, b = hosts["a"], hosts["b"]
    sender, member = a.register(prefix="hka"), a.register(prefix="hkb")
    chat = create(a, sender, kind="direct", members=[member.id])["id"]
    accepted = []

    def post(i, stacks):
        for s in stacks:
            try:
                r = s.post(f"{API}/messages", token=sender.access,
                           json={"chat_id": chat, "content": f"m{i}"})
            except OSError:
                continue
            if r.status_code == 201:
                accepted.append(r.json()["id"])
                return

    async def run():
        async with Clients() as cs:
            w = await cs.open(a.ws_proxy_url, member.access, name="member on A")
            for i in range(10):
                await rest(post, i, [a, b])
            first = await w.take_n(match("message.created"), 10)
            last = first[-1]["id"]
            victims = [p for app in APPS for p in app_pids(a, app)] + a.bridge_pids()
            assert victims
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            for i in range(10, 30):
                await rest(post, i, [a, b])
            w2 = await cs.open(b.ws_proxy_url, member.access, since=last, name="member on B")
            rest_ = await w2.take_n(match("message.created"), len(accepted) - 10, timeout=20)
            return [o["data"]["message"]["id"] for o in first + rest_]
    got = asyncio.run(run())
    assert len(accepted) == 30
    assert sorted(got) == sorted(accepted) and len(set(got)) == len(got)
