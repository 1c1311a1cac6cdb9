"""Several hosts (issue 15), built on this machine with network namespaces:
host C runs Redis and the database (PostgreSQL + FerretDB, the MongoDB
protocol); hosts A and B each run lighttpd, every FastCGI app and a
WebSocket bridge (conf/stack.sh inside the namespace), with store = mongo
on C, Redis on C, one signing key, and one blob folder bind-mounted into
both (standing in for a network filesystem). The namespaces hang off a
bridge with private addresses that exist only while the module runs; the
tests reach A and B through it as a balancer would.

Shown: a user on A and a user on B chat in real time both ways; senders on
both hosts into one chat, every message once and in order; uploads (chunk
API and tus) started on A and finished on B, downloaded from both with
the same sha256; a share link made on A opened on B; a P2P signal from A
to B; host A's apps and bridge SIGKILLed mid-traffic, its clients moving
to B and no accepted message lost.

Skips, saying why, where the machine does not allow network namespaces
(not root, or no CAP_NET_ADMIN)."""
import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import MAIN_ENV, Stack, _finish
from hsapi import API, assert_ok
from p2p_helpers import offer, step
from test_03_helpers import FILES, app_pids, download, init_upload, put_chunk, sha256
from test_04_helpers import create, page
from wsclient import Clients, match, rest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRET = os.path.join(ROOT, "tests", "ferretdb", "server.sh")
CHUNK = 65536
TUS = {"Tus-Resumable": "1.0.0"}
APPS = ("hs-auth", "hs-users", "hs-files", "hs-chats", "hs-updates", "hs-p2p")


def sh(*cmd, ns=None, check=True):
    full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
    r = subprocess.run(full, capture_output=True, text=True, timeout=120)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(full)}: {r.returncode} {r.stderr.strip()}")
    return r.stdout.strip()


class Net:
    """Three namespaces on a bridge: C (.3) and the app hosts A (.1), B (.2);
    the bridge itself (.254) is where the tests stand."""

    def __init__(self):
        tag = f"{os.getpid() % 100000}"
        self.subnet = f"10.77.{os.getpid() % 250}"
        self.bridge = f"hsbr{tag}"
        self.ns = {h: f"hs{tag}{h}" for h in "abc"}
        self.ip = {"a": f"{self.subnet}.1", "b": f"{self.subnet}.2", "c": f"{self.subnet}.3"}
        self.made = []

    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        sh("ip", "addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for h, ns in self.ns.items():
            sh("ip", "netns", "add", ns)
            self.made.append(("netns", ns))
            outer, inner = f"hsv{h}{self.bridge[4:]}", f"eth{h}"
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            self.made.append(("link", outer))
            sh("ip", "link", "set", inner, "netns", ns)
            sh("ip", "link", "set", outer, "master", self.bridge, "up")
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("ip", "addr", "add", f"{self.ip[h]}/24", "dev", inner, ns=ns)
            sh("ip", "link", "set", inner, "up", ns=ns)

    def down(self):
        for kind, name in reversed(self.made):
            if kind == "netns":
                sh("ip", "netns", "del", name, check=False)
            else:
                sh("ip", "link", "del", name, check=False)


def netns_allowed():
    """None when this machine lets the test make namespaces, else why not."""
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_NET_ADMIN"
    if not shutil.which("ip"):
        return "no ip command (iproute2)"
    probe = f"hsprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode:
        return f"ip netns add refused: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Hosts:
    def __init__(self):
        self.net = Net()
        self.tmp = tempfile.mkdtemp(prefix="hs-hosts-")
        os.chmod(self.tmp, 0o711)  # PostgreSQL runs as its own user under db/
        self.redis = None
        self.mounts = []
        self.stacks = {}

    def start(self):
        net = self.net
        net.up()
        c = net.ip["c"]
        self.redis = subprocess.Popen(
            ["ip", "netns", "exec", net.ns["c"], "redis-server", "--bind", c, "--port", "6379",
             "--save", "", "--appendonly", "no", "--protected-mode", "no",
             "--logfile", os.path.join(self.tmp, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        env = dict(os.environ, HS_FERRETDB_HOST=c)
        uri = subprocess.run(["ip", "netns", "exec", net.ns["c"], FERRET, "start",
                              os.path.join(self.tmp, "db")], env=env, capture_output=True,
                             text=True, timeout=300)
        assert uri.returncode == 0, uri.stderr
        shared = os.path.join(self.tmp, "blobs")
        os.makedirs(shared)
        key = os.urandom(32).hex()
        for h in "ab":
            s = Stack(f"host{h}", {
                **MAIN_ENV, "HS_BIND": "0.0.0.0", "HS_PORT": "8080", "HS_WS_PORT": "8091",
                "HS_REDIS_HOST": c, "HS_REDIS_PORT": "6379", "HS_WS_BRIDGES": "1",
                "HS_STORE": "mongo", "HS_MONGO_URI": uri.stdout.strip() + "hypersend",
                "HS_MONGO_INCOMPLETE": "1", "HS_UPLOAD_TTL": "3600"},
                netns=net.ns[h], host=net.ip[h])
            s.port = 8080
            s.base = f"http://{net.ip[h]}:8080"
            with open(os.path.join(s.rundir, "secret.key"), "w") as f:
                f.write(key)
            data = os.path.join(s.rundir, "data")
            os.makedirs(data)
            sh("mount", "--bind", shared, data)
            self.mounts.append(data)
            self.stacks[h] = s
        for s in self.stacks.values():
            s.start()
            # stack.sh waited for its bridge; the harness's own check looks
            # on this namespace's loopback, not the host's
            s.bridges_up = True
        return self

    def stop(self):
        problems = []
        try:
            _finish(list(self.stacks.values()))
        except BaseException as e:  # noqa: BLE001 (the rest must still go)
            problems.append(e)
        for m in self.mounts:
            sh("umount", m, check=False)
        subprocess.run(["ip", "netns", "exec", self.net.ns["c"], FERRET, "stop",
                        os.path.join(self.tmp, "db")], capture_output=True, timeout=60)
        if self.redis:
            os.killpg(self.redis.pid, signal.SIGTERM)
            self.redis.wait(10)
        self.net.down()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if problems:
            raise problems[0]


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
            o = await wb.take(match("message.created"))
            assert o["data"]["message"]["content"] == "from A"
            await rest(b.post, f"{API}/messages", token=ub.access,
                       json={"chat_id": chat, "content": "from B"})
            o = await wa.take(match("message.created"))
            assert o["data"]["message"]["content"] == "from B"
    asyncio.run(run())


def test_senders_on_both_hosts_one_order(hosts):
    """Two senders on each host post into one group at once: history has
    every message once, and the order a member's socket saw them in is the
    order of their ids."""
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
    assert ids == sorted(ids), "the socket's order is not the id order"
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
