"""The integration harness: whole Hypersend stacks (redis-server, lighttpd and
the FastCGI apps, started by conf/stack.sh) on free loopback ports, each in
its own temporary runtime folder.

Fixtures:
  stack       the session's main stack (generous rate limits). Its first user,
              registered before any test runs, is the admin: stack.admin.
  make_stack  a factory for extra stacks with their own HS_* overrides
              (small rate limits, CORS origins, a Redis to stop...); they are
              stopped when the test ends.
  user_a, user_b  two ordinary users on the main stack that tests must not
              log out, disable or otherwise change.

Environment: HS_BIN_DIR (default build/bin), HS_SANITIZE=1 (fail on any
ASan/UBSan report the apps leave in <rundir>/logs), HS_KEEP_RUNDIR=1 (keep the
temporary folders).
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

from hsapi import BIN_DIR, ROOT, Client  # noqa: E402

SANITIZE = os.environ.get("HS_SANITIZE") == "1"
KEEP = os.environ.get("HS_KEEP_RUNDIR") == "1"
START_TIMEOUT = 20
STOP_TIMEOUT = 10

# The main stack registers many users and fails logins on purpose; the rate
# limits are tested on stacks of their own. argon2 keeps its defaults.
MAIN_ENV = {
    "HS_REGISTER_IP_BURST": "100000",
    "HS_LOGIN_IP_BURST": "100000",
    "HS_LOGIN_ACCOUNT_BURST": "100000",
}


def free_port(taken=()):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


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
    """One running stack. .base, .rundir, .port, .redis_port, .env."""

    def __init__(self, name, overrides):
        self.name = name
        self.port = free_port()
        self.redis_port = free_port({self.port})
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.rundir = os.path.realpath(tempfile.mkdtemp(prefix=f"hs-it-{name}-"))
        self.proc = None
        self.stopped = False
        env = {k: v for k, v in os.environ.items() if not k.startswith("HS_")}
        env.update({
            "HS_PORT": str(self.port),
            "HS_REDIS_PORT": str(self.redis_port),
            "HS_QUIET": "1",
            "HS_BIN_DIR": str(BIN_DIR),
            "HS_PROCS": "2",
        })
        if SANITIZE:
            env["HS_SANITIZE"] = "1"
        env.update({k: str(v) for k, v in overrides.items()})
        self.env = env

    # -- life -------------------------------------------------------------
    def start(self):
        """Starts the stack and waits for its /health; a port another process
        took meanwhile means a retry on new ports."""
        for attempt in range(3):
            why = self._launch()
            if why is None:
                return self
            clash = any("already in use" in _read(p) for p in (
                self.out_path, self.log_path("lighttpd-error.log"), self.log_path("redis.log")))
            if not clash or attempt == 2:
                msg = self.diagnostics(f"stack '{self.name}' did not come up: {why}")
                problems = self.stop(keep=True)
                pytest.fail("\n".join([msg] + problems), pytrace=False)
            self._kill()
            self.port = free_port()
            self.redis_port = free_port({self.port})
            self.base = f"http://127.0.0.1:{self.port}"
            self.env.update(HS_PORT=str(self.port), HS_REDIS_PORT=str(self.redis_port))

    def _launch(self):
        """None once this stack answers /health, else why not."""
        self.out_path = os.path.join(self.rundir, "stack.out")
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                [str(ROOT / "conf" / "stack.sh"), "run", self.rundir], env=self.env,
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
            # our own apps answered (not some other server on a reused port)
            if ok and "path=/health" in _read(self.log_path()) and self.proc.poll() is None:
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
        return (f"{headline}\n--- stack output ({self.out_path}):\n{_read(self.out_path, 40)}"
                f"\n--- {logs}/lighttpd-error.log (tail):\n"
                f"{_read(os.path.join(logs, 'lighttpd-error.log'), 40)}")

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
        """The redis-server of this stack: in its process group, on its port."""
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

    def log_path(self, name="access.log"):
        return os.path.join(self.rundir, "logs", name)

    def read_log(self, name="access.log"):
        return _read(self.log_path(name))


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
        # The first account on a fresh store becomes the admin: take it here,
        # before any test (or another file) registers someone.
        s.admin = s.register(prefix="admin")
    except BaseException:
        s.stop()
        raise
    yield s
    _finish([s])


@pytest.fixture
def make_stack():
    made = []

    def factory(**overrides):
        s = Stack(f"x{len(made)}", overrides)
        made.append(s)
        return s.start()

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
