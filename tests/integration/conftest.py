"""The integration harness: whole Hypersend stacks (redis-server, lighttpd and
the FastCGI apps, started by conf/stack.sh) on free loopback ports, each in
its own temporary runtime folder.

Fixtures:
  stack       the session's main stack (generous rate limits).
  stack.admin the stack's admin, made with `hs-auth create-admin` (nobody
              becomes admin by registering first) on first use; every stack
              has one.
  make_stack  a factory for extra stacks with their own HS_* overrides
              (small rate limits, CORS origins, a Redis to stop...); they are
              stopped when the test ends.
  make_module_stack  the same for stacks shared by the tests of one file.
  user_a, user_b  two ordinary users on the main stack that tests must not
              log out, disable or otherwise change.

WebSocket bridges (docs/ws.md): each stack gets a free block of four ports
from HS_WS_PORT; conf/stack.sh runs HS_WS_BRIDGES bridges (the main stack
two, others one unless overridden), bridge i on HS_WS_PORT + 2i with its
/metrics on the next port. stack.ws_url(i), stack.ws_proxy_url (/ws
through lighttpd), stack.metrics_url(i), stack.bridge_pid(i) /
bridge_pids(), and stack.kill_redis() / start_redis() for a Redis crash.

Fronts: lighttpd by default; make_stack(HS_FRONT="nginx") (or HS_FRONT=nginx
in the environment, for every stack) runs the apps under spawn-fcgi behind
nginx built from conf/nginx.conf (conf/stack-nginx.sh: HS_NGINX_WORKERS,
HS_NGINX_KEEPALIVE=0); make_stack(HS_FRONT="apache") runs Debian's apache2
with conf/apache.conf, whose mod_fcgid starts the apps (conf/stack-apache.sh;
as root, Apache and the apps run as www-data and reach Redis over TCP).
stack.front names it, stack.fcgi_socket(app) is an app's socket (lighttpd
and nginx; mod_fcgid names its sockets by process, not by app).

Environment: HS_BIN_DIR (default build/bin), HS_SANITIZE=1 (fail on any
ASan/UBSan report the apps leave in <rundir>/logs), HS_KEEP_RUNDIR=1 (keep the
temporary folders), HS_TEST_STORE=mongo with MONGODB_URI (every stack on the
MongoDB backend, a database each: `make integration-mongo`).
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hsapi import BIN_DIR, PASSWORD, ROOT, Client, User, uniq  # noqa: E402

SANITIZE = os.environ.get("HS_SANITIZE") == "1"
KEEP = os.environ.get("HS_KEEP_RUNDIR") == "1"
# HS_TEST_STORE=mongo: every stack on the MongoDB backend, on the server
# MONGODB_URI names (tests/ferretdb/with.sh starts one), a database each.
STORE = os.environ.get("HS_TEST_STORE", "sqlite")
MONGODB_URI = os.environ.get("MONGODB_URI", "")
if STORE == "mongo" and not MONGODB_URI:
    raise SystemExit("HS_TEST_STORE=mongo needs MONGODB_URI (run under tests/ferretdb/with.sh)")
START_TIMEOUT = 20
STOP_TIMEOUT = 10

# The main stack registers many users, fails logins on purpose and has
# shared users create many chats and offers; the rate limits are tested on
# stacks of their own. argon2 keeps its defaults.
MAIN_ENV = {
    "HS_REGISTER_IP_BURST": "100000",
    "HS_LOGIN_IP_BURST": "100000",
    "HS_LOGIN_ACCOUNT_BURST": "100000",
    "HS_CHAT_CREATE_PER_HOUR": "1000000",
    "HS_INVITE_BURST": "1000000",
    "HS_P2P_OFFER_BURST": "100000",
    "HS_UPDATES_PER_USER": "100",
    "HS_WS_BRIDGES": "2",
}
WS_BRIDGE = "hs-ws-bridge"


def free_port(taken=()):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


def free_port_block(n, taken=()):
    """A port p with p..p+n-1 all free (and none in taken)."""
    for _ in range(500):
        base = free_port(taken)
        ports = range(base, base + n)
        if ports[-1] > 65535 or any(p in taken for p in ports):
            continue
        try:
            for p in ports:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise AssertionError(f"no {n} consecutive free ports")


def _listening_inodes(port):
    """Socket inodes listening on 127.0.0.1:port (or any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _read(path, limit=None):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"<{e}>"
    text = data.decode("utf-8", "replace")
    if limit is not None:
        text = "\n".join(text.splitlines()[-limit:])
    return text


class Stack(Client):
    """One running stack. .base, .rundir, .port, .redis_port, .env.
    With netns, conf/stack.sh runs inside that network namespace (a host of
    test_15_hosts.py) and the stack is reached at host."""

    def __init__(self, name, overrides, netns=None, host="127.0.0.1"):
        self.name = name
        self.netns = netns
        self.host = host
        self.port = free_port()
        self.redis_port = free_port({self.port})
        self.ws_base = free_port_block(4, {self.port, self.redis_port})
        super().__init__(f"http://{host}:{self.port}")
        self.rundir = os.path.realpath(tempfile.mkdtemp(prefix=f"hs-it-{name}-"))
        self.proc = None
        self.stopped = False
        self.extra_procs = []  # redis-servers a test started again (start_redis)
        self._admin = None
        self.bridges_up = False
        env = {k: v for k, v in os.environ.items() if not k.startswith("HS_")}
        env.update({
            "HS_PORT": str(self.port),
            "HS_REDIS_PORT": str(self.redis_port),
            "HS_QUIET": "1",
            "HS_BIN_DIR": str(BIN_DIR),
            "HS_PROCS": "2",
            "HS_WS_PORT": str(self.ws_base),
            "HS_FRONT": os.environ.get("HS_FRONT", "lighttpd"),
        })
        if SANITIZE:
            env["HS_SANITIZE"] = "1"
        if STORE == "mongo":
            # A database of its own on the session's server (MONGODB_URI).
            env["HS_STORE"] = "mongo"
            env["HS_MONGO_URI"] = MONGODB_URI.rstrip("/") + "/" + os.path.basename(
                self.rundir).replace("-", "_")
        env.update({k: str(v) for k, v in overrides.items()})
        self.env = env
        self.front = env["HS_FRONT"]
        self.store = env.get("HS_STORE", "sqlite")

    # -- life -------------------------------------------------------------
    def start(self):
        """Starts the stack and waits for its /health; a port another process
        took meanwhile means a retry on new ports."""
        for attempt in range(3):
            why = self._launch()
            if why is None:
                return self
            clash = any("already in use" in _read(p) for p in (
                self.out_path, self.log_path(f"{self.front}-error.log"),
                self.log_path("redis.log"), *self._bridge_logs()))
            if not clash or attempt == 2:
                msg = self.diagnostics(f"stack '{self.name}' did not come up: {why}")
                problems = self.stop(keep=True)
                pytest.fail("\n".join([msg] + problems), pytrace=False)
            self._kill()
            self.port = free_port()
            self.redis_port = free_port({self.port})
            self.ws_base = free_port_block(4, {self.port, self.redis_port})
            self.base = f"http://{self.host}:{self.port}"
            self.env.update(HS_PORT=str(self.port), HS_REDIS_PORT=str(self.redis_port),
                            HS_WS_PORT=str(self.ws_base))

    def _launch(self):
        """None once this stack answers /health, else why not."""
        self.out_path = os.path.join(self.rundir, "stack.out")
        with open(self.out_path, "ab") as out:
            netns = ["ip", "netns", "exec", self.netns] if self.netns else []
            self.proc = subprocess.Popen(
                [*netns, str(ROOT / "conf" / "stack.sh"), "run", self.rundir], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=str(ROOT))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                return f"stack.sh exited with {self.proc.returncode}"
            try:
                ok = requests.get(self.base + "/health", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            # our own apps answered (not some other server on a reused port),
            # and stack.sh is done starting (no /health of its own to come)
            if (ok and "path=/health" in _read(self.log_path()) and self.proc.poll() is None
                    and os.path.exists(os.path.join(self.rundir, "ready"))):
                return None
            if time.monotonic() > deadline:
                return f"no 200 from /health in {START_TIMEOUT} s"
            time.sleep(0.05)

    def _kill(self):
        self._signal_group(signal.SIGCONT)
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(5)

    def diagnostics(self, headline):
        logs = os.path.join(self.rundir, "logs")
        text = (f"{headline}\n--- stack output ({self.out_path}):\n{_read(self.out_path, 40)}"
                f"\n--- {logs}/{self.front}-error.log (tail):\n"
                f"{_read(os.path.join(logs, f'{self.front}-error.log'), 40)}")
        for path in self._bridge_logs():
            text += f"\n--- {path} (tail):\n{_read(path, 40)}"
        return text

    def _bridge_logs(self):
        logs = os.path.join(self.rundir, "logs")
        return sorted(p for p in glob.glob(os.path.join(logs, "*"))
                      if ("ws" in os.path.basename(p) or "bridge" in os.path.basename(p))
                      and os.path.isfile(p))

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def leftovers(self):
        """Processes of this stack still alive: any whose command line or
        environment names the runtime folder (stack.sh, and everything it
        starts, which inherits HS_RUN_DIR/HS_CONFIG)."""
        found = []
        needle = self.rundir.encode()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            hit = False
            for part in ("cmdline", "environ"):
                try:
                    with open(f"/proc/{pid}/{part}", "rb") as f:
                        if needle in f.read():
                            hit = True
                            break
                except OSError:
                    pass
            if hit:
                try:
                    with open(f"/proc/{pid}/stat", "rb") as f:
                        if f.read().split(b") ")[-1][:1] == b"Z":
                            continue  # a zombie has already exited
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    continue
                found.append((int(pid), cmd))
        return found

    def stop(self, keep=False):
        """Stops everything this stack started; returns a list of problems.
        The runtime folder goes unless there were problems, keep or
        HS_KEEP_RUNDIR=1."""
        if self.stopped:
            return []
        self.stopped = True
        problems = []
        if self.proc is not None:
            if self.proc.poll() is None:
                # SIGCONT first, so a redis-server a test stopped can take the
                # SIGTERM; sent after it, SIGCONT can reach an exiting app
                # that LeakSanitizer is scanning under ptrace and hang it.
                self._signal_group(signal.SIGCONT)
                self._signal_group(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append(f"stack '{self.name}' ignored SIGTERM for {STOP_TIMEOUT} s")
                    self._signal_group(signal.SIGKILL)
                    self.proc.wait(5)
            for p in self.extra_procs:
                if p.poll() is None:
                    p.terminate()
                try:
                    p.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append(f"stack '{self.name}': restarted redis-server {p.pid} "
                                    "ignored SIGTERM")
                    p.kill()
                    p.wait(5)
            # The apps may still be exiting (LeakSanitizer runs at exit).
            deadline = time.monotonic() + STOP_TIMEOUT
            left = self.leftovers()
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = self.leftovers()
            if left:
                problems.append(f"stack '{self.name}' left processes behind: "
                                + "; ".join(f"{p} {c}" for p, c in left))
                for pid, _ in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        if SANITIZE:
            logs = os.path.join(self.rundir, "logs")
            reports = sorted(glob.glob(os.path.join(logs, "asan.*")) +
                             glob.glob(os.path.join(logs, "ubsan.*")))
            for path in reports:
                problems.append(f"sanitizer report {path}:\n{_read(path)}")
        if problems or keep:
            problems.append(f"(runtime folder kept: {self.rundir})")
        elif not KEEP:
            shutil.rmtree(self.rundir, ignore_errors=True)
        return problems

    # -- helpers for tests ----------------------------------------------------
    def redis_pid(self):
        """The redis-server of this stack: in its process group, on its port
        (or the one start_redis() started)."""
        for p in self.extra_procs:
            if p.poll() is None:
                return p.pid
        pgid = os.getpgid(self.proc.pid)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                if (cmd.startswith("redis-server") and f":{self.redis_port}" in cmd
                        and os.getpgid(int(pid)) == pgid):
                    return int(pid)
            except OSError:
                continue
        raise AssertionError(f"no redis-server on port {self.redis_port} in stack '{self.name}'")

    def kill_redis(self, sig=signal.SIGKILL):
        """Kills this stack's redis-server (SIGKILL: a crash) and waits until
        it is gone and its port refuses connections."""
        pid = self.redis_pid()
        os.kill(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            for p in self.extra_procs:
                p.poll()  # reap it if it was ours
            gone = not os.path.exists(f"/proc/{pid}") or _is_zombie(pid)
            if gone and not _accepts(self.redis_port):
                return pid
            time.sleep(0.02)
        raise AssertionError(f"redis-server {pid} still there {STOP_TIMEOUT} s after {sig}")

    def start_redis(self):
        """Starts a new, empty redis-server on this stack's port, with the
        arguments conf/stack.sh gives it; waits until it answers PING. It is
        stopped with the stack."""
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
                "--unixsocket", os.path.join(self.rundir, "redis", "redis.sock"),
                "--unixsocketperm", "700",
                "--save", "", "--appendonly", "no", "--dir", os.path.join(self.rundir, "redis"),
                "--logfile", self.log_path("redis.log"), "--daemonize", "no"]
        env = dict(self.env, HS_RUN_DIR=self.rundir)
        p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        self.extra_procs.append(p)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            r = subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"],
                               capture_output=True, text=True)
            if r.stdout.strip() == "PONG":
                return p.pid
            if p.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start again on {self.redis_port}:\n"
                                     + _read(self.log_path("redis.log"), 20))
            time.sleep(0.02)

    # -- the admin ------------------------------------------------------------
    @property
    def admin(self):
        """The stack's admin (a logged-in User), made on first use."""
        if self._admin is None:
            self._admin = self.create_admin()
        return self._admin

    def run_command(self, app, *args, stdin=""):
        """Runs `hs-<app> <args>` against this stack's config and data, as an
        operator would on the server; returns the CompletedProcess."""
        env = dict(self.env, HS_CONFIG=os.path.join(self.rundir, "hypersend.conf"),
                   HS_DATA_DIR=os.path.join(self.rundir, "data"))
        if SANITIZE:
            env["ASAN_OPTIONS"] = f"log_path={self.rundir}/logs/asan:detect_leaks=1"
            env["UBSAN_OPTIONS"] = f"log_path={self.rundir}/logs/ubsan:print_stacktrace=1"
        return subprocess.run([str(BIN_DIR / f"hs-{app}"), *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=60)

    def create_admin(self, prefix="admin"):
        """A new admin account made with `hs-auth create-admin`, logged in."""
        name = uniq(prefix)
        r = self.run_command("auth", "create-admin",
                             stdin=f"{name}\n{name}@example.com\n{PASSWORD}\n")
        assert r.returncode == 0 and r.stdout.startswith("created admin"), (r.stdout, r.stderr)
        login = User(None, name.lower(), f"{name.lower()}@example.com", PASSWORD, None, None,
                     None, "admin", {})
        return self.login(login)

    # -- the WebSocket bridges ------------------------------------------------
    @property
    def ws_bridges(self):
        return int(self.env.get("HS_WS_BRIDGES", "1"))

    def ws_port(self, i=0):
        return self.ws_base + 2 * i

    def ws_url(self, i=0, path="/ws"):
        """ws:// straight to bridge i."""
        self.wait_bridges()
        return f"ws://127.0.0.1:{self.ws_port(i)}{path}"

    @property
    def ws_proxy_url(self):
        """ws:// to /ws through lighttpd."""
        self.wait_bridges()
        return f"ws://{self.host}:{self.port}/ws"

    def metrics_url(self, i=0):
        self.wait_bridges()
        return f"http://127.0.0.1:{self.ws_port(i) + 1}/metrics"

    def _group_pids(self, comm):
        try:
            pgid = os.getpgid(self.proc.pid)
        except ProcessLookupError:
            return []
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != comm:
                        continue
                if os.getpgid(int(pid)) == pgid and not _is_zombie(int(pid)):
                    found.append(int(pid))
            except OSError:
                continue
        return sorted(found)

    def bridge_pids(self):
        """The live hs-ws-bridge processes of this stack (its process group)."""
        return self._group_pids(WS_BRIDGE)

    def bridge_pid(self, i=0):
        """The bridge of this stack listening on bridge i's port, or None."""
        inodes = {f"socket:[{n}]" for n in _listening_inodes(self.ws_port(i))}
        for pid in self.bridge_pids() if inodes else ():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        return None

    def wait_bridges(self, timeout=START_TIMEOUT):
        """Waits until every bridge of this stack listens on its ports (ws
        and metrics); skips the test when the bridge is not built."""
        if self.bridges_up:
            return
        if not (BIN_DIR / WS_BRIDGE).exists():
            pytest.skip(f"{BIN_DIR / WS_BRIDGE} is not built")
        deadline = time.monotonic() + timeout
        while True:
            missing = [i for i in range(self.ws_bridges)
                       if self.bridge_pid(i) is None or not _accepts(self.ws_port(i) + 1)]
            if not missing:
                self.bridges_up = True
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(self.diagnostics(
                    f"stack '{self.name}': bridge(s) {missing} not listening on "
                    f"{[self.ws_port(i) for i in missing]} (+1 for /metrics) after {timeout} s"),
                    pytrace=False)
            time.sleep(0.05)

    def fcgi_socket(self, app, i=0):
        """The unix socket app's processes accept on: one per process i under
        lighttpd (its max-procs), one shared by all under spawn-fcgi."""
        if self.front == "nginx":
            return os.path.join(self.rundir, "sockets", f"{app}.sock")
        if self.front == "apache":
            raise AssertionError("under Apache, mod_fcgid names the sockets "
                                 "(sockets/fcgid/<pid>.<n>), not by app")
        return os.path.join(self.rundir, "sockets", f"{app}.sock-{i}")

    def log_path(self, name="access.log"):
        return os.path.join(self.rundir, "logs", name)

    def read_log(self, name="access.log"):
        return _read(self.log_path(name))


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b") ")[-1][:1] == b"Z"
    except OSError:
        return True


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _finish(stacks):
    problems = []
    for s in stacks:
        problems += s.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def stack():
    s = Stack("main", MAIN_ENV)
    try:
        s.start()
        s.admin  # noqa: B018 (made now, before any test runs)
    except BaseException:
        s.stop()
        raise
    yield s
    _finish([s])


def _stack_factory(prefix):
    """A list of the stacks made and a factory that starts one more, with
    config overrides, named prefix + its number."""
    made = []

    def factory(**overrides):
        s = Stack(f"{prefix}{len(made)}", overrides)
        made.append(s)
        return s.start()

    return made, factory


@pytest.fixture
def make_stack():
    made, factory = _stack_factory("x")
    yield factory
    _finish(made)


@pytest.fixture(scope="module")
def make_module_stack():
    """make_stack for a stack the tests of one file share (one start for
    several tests of the same settings); stopped after the file's last test."""
    made, factory = _stack_factory("m")
    yield factory
    _finish(made)


@pytest.fixture(scope="session")
def user_a(stack):
    return stack.register(prefix="ua")


@pytest.fixture(scope="session")
def user_b(stack):
    return stack.register(prefix="ub")


@pytest.fixture(scope="session")
def key(stack):
    from hsapi import signing_key
    return signing_key(stack.rundir)
