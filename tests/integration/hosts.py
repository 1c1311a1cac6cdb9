"""Several hosts on one machine (tests/integration/test_15_hosts.py,
bench/hosts.py): network namespaces on a bridge, host C running Redis and
PostgreSQL + FerretDB (the MongoDB protocol), hosts A and B each running
conf/stack.sh (lighttpd, every app, a bridge) on store = mongo with one
signing key and one bind-mounted blob folder. The addresses exist only
while the namespaces do; the caller stands on the bridge (.254).

    why = netns_allowed()          # None, or why not (not root, ...)
    h = Hosts(**hs_keys).start()   # h.stacks["a"], h.stacks["b"]
    h.stop()                       # everything gone: stacks, mounts, links
"""
import os
import shutil
import signal
import subprocess
import tempfile

from conftest import MAIN_ENV, Stack, _finish

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRET = os.path.join(ROOT, "tests", "ferretdb", "server.sh")


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
    """overrides: HS_* keys for both app hosts (on top of the tests' MAIN_ENV)."""

    def __init__(self, **overrides):
        self.overrides = {k: str(v) for k, v in overrides.items()}
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
                "HS_REDIS_HOST": c, "HS_REDIS_PORT": "6379", "HS_REDIS_EXTERNAL": "1", "HS_WS_BRIDGES": "1",
                "HS_STORE": "mongo", "HS_MONGO_URI": uri.stdout.strip() + "hypersend",
                "HS_UPLOAD_TTL": "3600", **self.overrides},
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
