"""The shared-hosting bundle (issue 14): `make bundle`'s tarball unpacked
into a home folder's document root behind Debian's apache2, configured like
a shared host (a vhost with AllowOverride All on that docroot; mod_rewrite,
and mod_fcgid or only mod_cgi), started unprivileged in the foreground on a
free loopback port. No Redis, no bridge, no daemon of ours: Apache starts
the programs itself. Each test runs once behind mod_fcgid (FastCGI,
long-lived processes) and once behind mod_cgi alone (one process per
request, the slower fallback).

Also: every bundled program finds its libraries in the bundle (ldd), and the
configuration, the secret key, the database, the blobs and the .htaccess
files are never served. The first run: behind mod_fcgid the bundle runs as
unpacked, with no configuration (the programs make their data folder and
key beside the document root); behind mod_cgi with the user's own
app/hypersend.conf. A data folder inside the document root or one that
cannot be made gives a 503 setup_* answer and the web client's setup page;
an Apache without mod_rewrite, or without a module to run programs, shows
the bundle's setup.html.

The bundle is built once (make bundle, into build/). Apache and the apps
run as nobody when the tests run as root. HS_KEEP_RUNDIR=1 keeps the home
folders."""
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import free_port
from hsapi import (API, BIN_DIR, PASSWORD, ROOT, Client, app_routes, assert_error, assert_ok,
                   wait_for)
from test_03_helpers import chunks_of, complete, init_upload, put_chunk
from test_04_helpers import direct, send

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
KEEP = os.environ.get("HS_KEEP_RUNDIR") == "1"
APPS = ["auth", "users", "files", "chats", "updates", "p2p"]
# What a host always has: glibc and its loader. Everything else must load
# from the bundle's app/lib.
BASE_LIBS = re.compile(r"^(linux-vdso|ld-linux-x86-64|libc|libm|libpthread|libdl|librt|libresolv)\.so")
FILES = f"{API}/files"
UPDATES = f"{API}/updates"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(APACHE) and os.path.exists(f"{MODULES}/mod_fcgid.so")),
    reason="apache2 and libapache2-mod-fcgid are missing (conf/install-deps.sh test)")


# -- the bundle ---------------------------------------------------------------------------
def version():
    return (ROOT / "VERSION").read_text().strip()


@pytest.fixture(scope="module")
def tarball():
    """make bundle (once): the path of hypersend-<version>-linux-x86_64.tar.gz."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "bundle"], check=True,
                   env=env, stdout=subprocess.DEVNULL, timeout=900)
    path = ROOT / "build" / f"hypersend-{version()}-linux-x86_64.tar.gz"
    assert path.is_file(), path
    return path


def test_the_tarball_holds_no_configuration_and_no_data(tarball):
    """Unpacking a newer bundle over an installed one keeps the user's
    app/hypersend.conf and data: the tarball has neither."""
    import tarfile
    with tarfile.open(tarball) as t:
        names = t.getnames()
    top = f"hypersend-{version()}-linux-x86_64"
    assert all(n == top or n.startswith(top + "/") for n in names), names[:5]
    rel = {n[len(top) + 1:] for n in names}
    assert {f"app/hs-{a}.fcgi" for a in APPS} <= rel
    assert {".htaccess", "app/.htaccess", "app/hypersend.conf.example", "index.html",
            "setup.html"} <= rel
    assert "app/hypersend.conf" not in rel
    assert not [n for n in rel if n == "data" or n.startswith("data/")]  # made outside
    assert "app/hs-ws-bridge.fcgi" not in rel  # a daemon: no place on a shared host


# -- plain CGI, without a web server -----------------------------------------------------------
def cgi(tmp_path, app, method, uri, body=b"", length=None, stdin=None, prepare=True, **env):
    """hs-<app> of the build (HS_BIN_DIR: the sanitizer build too) run as a
    CGI program: (status, headers, body, seconds, stderr). prepare: make the
    data folder and a key first (else the program does)."""
    key = tmp_path / "secret.key"
    if prepare and not key.exists():
        key.write_text(os.urandom(32).hex())
        (tmp_path / "data").mkdir()
    e = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
         "REQUEST_URI": uri, "REMOTE_ADDR": "127.0.0.1", "HS_DATA_DIR": str(tmp_path / "data"),
         "HS_SECRET_KEY_FILE": str(key), "HS_REDIS_HOST": "", "HS_EVENTS": "store",
         "HS_CONFIG": os.devnull, "CONTENT_TYPE": "application/json",
         "CONTENT_LENGTH": str(len(body) if length is None else length), **env}
    t0 = time.monotonic()
    if stdin is None:
        r = subprocess.run([str(BIN_DIR / f"hs-{app}")], input=body, env=e, capture_output=True,
                           timeout=60)
        out, err = r.stdout, r.stderr
    else:  # a pipe the test holds open
        p = subprocess.Popen([str(BIN_DIR / f"hs-{app}")], stdin=stdin, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
    took = time.monotonic() - t0
    # the sanitizer build (HS_BIN_DIR=build-asan/bin) reports on stderr
    assert b"Sanitizer" not in err and b"runtime error" not in err, err.decode()[-3000:]
    head, _, payload = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("Status: "), (out[:300], err.decode()[-2000:])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, payload, took, err.decode()


def test_cgi_requests_without_a_web_server(tmp_path):
    """The CGI path of lib/http (cgi.c) on its own: the variables, the body
    up to CONTENT_LENGTH, the reply on stdout, one request and the exit."""
    import json
    status, h, body, _, _ = cgi(tmp_path, "auth", "GET", "/health?x=1")
    assert status == 200 and json.loads(body)["events"] == "store", body
    assert h["Content-Length"] == str(len(body)) and h["X-Request-Id"], h
    reg = json.dumps({"username": "cgi_direct", "email": "cgi@example.com",
                      "password": PASSWORD}).encode()
    # bytes past CONTENT_LENGTH are not the body (RFC 3875)
    status, _, body, _, _ = cgi(tmp_path, "auth", "POST", "/api/v1/auth/register",
                                reg + b"trailing garbage", length=len(reg))
    assert status == 201, body
    token = json.loads(body)["access_token"]
    status, _, body, _, _ = cgi(tmp_path, "auth", "GET", "/api/v1/auth/me",
                                HTTP_AUTHORIZATION=f"Bearer {token}")
    assert status == 200 and json.loads(body)["username"] == "cgi_direct", body
    # a body cut short: the apps' own error
    status, _, body, _, _ = cgi(tmp_path, "auth", "POST", "/api/v1/auth/login", b'{"user',
                                length=100)
    assert status == 400 and json.loads(body)["error"]["code"] == "incomplete_body", body


def test_cgi_body_that_never_comes_ends_after_body_timeout(tmp_path):
    """A client that sends nothing holds a CGI process body_timeout at most,
    as a FastCGI one (SO_RCVTIMEO there, poll here)."""
    import json
    r, w = os.pipe()
    try:
        status, _, body, took, err = cgi(tmp_path, "auth", "POST", "/api/v1/auth/login",
                                         length=100, stdin=r, HS_BODY_TIMEOUT="1")
    finally:
        os.close(r)
        os.close(w)
    assert status == 400 and json.loads(body)["error"]["code"] == "body_timeout", body
    assert 0.9 <= took < 10, took
    assert "giving up" in err, err


def test_first_requests_at_once_make_one_key(tmp_path):
    """No data folder, no key: eight first requests at once (eight CGI
    processes) make the folder (0700) and one key (0600) that all of them
    sign with: every token each handed out is accepted by a later process."""
    import json
    from concurrent.futures import ThreadPoolExecutor
    data = tmp_path / "data"
    env = {"HS_DATA_DIR": str(data), "HS_SECRET_KEY_FILE": str(data / "secret.key")}

    def register(i):
        body = json.dumps({"username": f"first_{i}", "email": f"first{i}@example.com",
                           "password": PASSWORD}).encode()
        return cgi(tmp_path, "auth", "POST", "/api/v1/auth/register", body, prepare=False, **env)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(register, range(8)))
    assert [r[0] for r in replies] == [201] * 8, [(r[0], r[2][:200], r[4][-500:]) for r in replies]
    assert os.stat(data).st_mode & 0o777 == 0o700
    assert os.stat(data / "secret.key").st_mode & 0o777 == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}", (data / "secret.key").read_text())
    assert not [n for n in os.listdir(data) if n.endswith(".tmp")]
    for status, _, body, _, _ in replies:
        token = json.loads(body)["access_token"]
        status, _, me, _, _ = cgi(tmp_path, "auth", "GET", "/api/v1/auth/me", prepare=False,
                                  HTTP_AUTHORIZATION=f"Bearer {token}", **env)
        assert status == 200, me


def test_a_data_folder_others_can_read_is_made_private(tmp_path):
    """A data folder and key every account can read, when they are the
    program's own: made private (o-rwx) rather than refused."""
    import json
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o757)
    (data / "secret.key").write_text(os.urandom(32).hex())
    os.chmod(data / "secret.key", 0o644)
    env = {"HS_DATA_DIR": str(data), "HS_SECRET_KEY_FILE": str(data / "secret.key")}
    status, _, body, _, _ = cgi(tmp_path, "auth", "GET", "/health", prepare=False, **env)
    assert status == 200, body
    assert os.stat(data).st_mode & 0o777 == 0o750
    assert os.stat(data / "secret.key").st_mode & 0o777 == 0o640
    assert json.loads(body)["status"] == "ok"


def test_a_program_that_cannot_start_answers_503_setup(tmp_path):
    """Run by a web server, a program whose data folder is refused (here
    under DOCUMENT_ROOT) or whose configuration is bad answers a 503 JSON
    with a setup_* code, a message and a hint, not the server's bare 500;
    nothing is made inside the document root."""
    import json
    docroot = tmp_path / "www"
    docroot.mkdir()
    inside = {"DOCUMENT_ROOT": str(docroot), "HS_DATA_DIR": str(docroot / "data"),
              "HS_SECRET_KEY_FILE": str(docroot / "data" / "secret.key")}
    status, h, body, _, err = cgi(tmp_path, "auth", "GET", "/health", prepare=False, **inside)
    e = json.loads(body)["error"]
    assert status == 503 and e["code"] == "setup_data_in_docroot", body
    assert str(docroot / "data") in e["message"] and "hypersend-data" in e["hint"], e
    assert h["Content-Type"].startswith("application/json") and h["X-Request-Id"], h
    assert not (docroot / "data").exists() and "document root" in err
    conf = tmp_path / "hypersend.conf"
    conf.write_text("access_token_ttl = 1\n")
    status, _, body, _, _ = cgi(tmp_path, "auth", "GET", "/api/v1/auth/me", HS_CONFIG=str(conf))
    e = json.loads(body)["error"]
    assert status == 503 and e["code"] == "setup_config", body
    assert "access_token_ttl" in e["message"] and str(conf) in e["message"], e
    assert "hypersend.conf" in e["hint"], e


# -- a shared host ----------------------------------------------------------------------------
def host_user():
    """(uid, gid) the host runs us as: nobody when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


def as_user(cmd, **kw):
    """cmd as the host's user (setpriv when root), with a bare environment."""
    who = host_user()
    if who:
        cmd = ["setpriv", f"--reuid={who[0]}", f"--regid={who[1]}", "--clear-groups", *cmd]
    kw.setdefault("env", {"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"})
    kw.setdefault("text", True)
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60, **kw)


def apache_conf(home, port, mode, fcgid_max=None, rewrite=True):
    """A main config shaped like a shared host's: Debian's defaults for /,
    .ht* refused, one vhost whose docroot the user's .htaccess governs.
    mode: fcgid, cgi, or none (no module to run programs)."""
    run, logs, docroot = f"{home}/apache/run", f"{home}/apache/logs", f"{home}/public_html"
    mpm = "mpm_event" if mode != "cgi" else "mpm_prefork"
    mods = [mpm, "authz_core", "authz_host", "mime", "dir", "headers", "env", "setenvif",
            "alias"] + (["rewrite"] if rewrite else []) + \
        {"fcgid": ["fcgid"], "cgi": ["cgi"], "none": []}[mode]
    load = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in mods)
    fcgid = ""
    if mode == "fcgid":
        fcgid = f"""
FcgidIPCDir {run}/fcgid
FcgidProcessTableFile {run}/fcgid_shm
FcgidConnectTimeout 20
"""
        if fcgid_max:
            fcgid += f"FcgidMaxProcesses {fcgid_max}\nFcgidMaxProcessesPerClass {fcgid_max}\n"
    return f"""ServerRoot "{home}/apache"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {run}/apache2.pid
DefaultRuntimeDir {run}
ErrorLog {logs}/error.log
LogLevel warn
LogFormat "%h %t \\"%m %U %H\\" %>s %B %D" short
CustomLog {logs}/access.log short
TypesConfig /etc/mime.types
Timeout 60
{load}
StartServers 2
MaxRequestWorkers 150
{fcgid}
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
AccessFileName .htaccess
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
<VirtualHost 127.0.0.1:{port}>
    DocumentRoot {docroot}
    <Directory {docroot}>
        Options SymLinksIfOwnerMatch
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
"""


class Host(Client):
    """Apache on a home folder with the bundle unpacked in public_html."""

    def __init__(self, tarball, mode, data_inside=False, overrides=None, fcgid_max=None,
                 configure=True, rewrite=True):
        """configure: the user's own app/hypersend.conf, data folder and key
        (data_inside: the folder in the document root); else the bundle as
        unpacked, whose programs make them beside the document root."""
        self.mode = mode
        self.home = tempfile.mkdtemp(prefix=f"hs-bundle-{mode}-", dir="/tmp")
        os.chmod(self.home, 0o755)
        who = host_user()
        if who:
            os.chown(self.home, *who)
        self.docroot = f"{self.home}/public_html"
        self.app_dir = f"{self.docroot}/app"
        self.data = f"{self.docroot}/data" if data_inside else f"{self.home}/hypersend-data"
        as_user(["mkdir", "-p", self.docroot, f"{self.home}/apache/run/fcgid",
                 f"{self.home}/apache/logs"])
        # What the user does (docs/deploy.md): unpack.
        # (read here and piped: the user may not reach the build folder)
        with open(tarball, "rb") as f:
            as_user(["tar", "-xzf", "-", "-C", self.docroot, "--strip-components=1"], stdin=f,
                    text=False)
        if configure:
            # A user who chose another data folder: made by them, with a
            # key of their own, named in a copy of the template.
            as_user(["mkdir", "-p", self.data])
            as_user(["sh", "-c", f"umask 077 && printf %s {os.urandom(32).hex()} "
                     f"> {self.data}/secret.key"])
            conf = open(f"{self.app_dir}/hypersend.conf.example").read()
            assert "../../hypersend-data" in conf
            conf = conf.replace("../../hypersend-data", self.data)
            conf += "".join(f"{k} = {v}\n" for k, v in (overrides or {}).items())
            self.write(f"{self.app_dir}/hypersend.conf", conf)
        else:
            assert not overrides
        self.port = free_port()
        self.write(f"{self.home}/apache/apache2.conf",
                   apache_conf(self.home, self.port, mode, fcgid_max, rewrite))
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.proc = None

    @property
    def key(self):
        with open(f"{self.data}/secret.key") as f:
            return f.read().strip()

    def write(self, path, text):
        as_user(["sh", "-c", f"cat > {path}"], input=text)

    def start(self, health=200):
        """Starts apache2 and waits for GET /health to answer health."""
        cmd = [APACHE, "-f", f"{self.home}/apache/apache2.conf", "-DFOREGROUND"]
        who = host_user()
        if who:
            cmd = ["setpriv", f"--reuid={who[0]}", f"--regid={who[1]}", "--clear-groups", *cmd]
        self.proc = subprocess.Popen(cmd, env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"apache2 exited: {self.proc.stderr.read().decode()}"
                                     f"\n{self.log()}")
            try:
                return requests.get(self.base + "/health", timeout=5).status_code == health
            except requests.RequestException:
                return False

        assert wait_for(up, timeout=20), f"apache2 did not answer /health {health}\n{self.log()}"

    def log(self, name="error.log"):
        try:
            return open(f"{self.home}/apache/logs/{name}").read()[-4000:]
        except OSError as e:
            return str(e)

    def programs(self, name=""):
        """pids of the bundle's programs (those called name*) that are running."""
        pids = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.readlink(f"/proc/{pid}/exe").startswith(f"{self.app_dir}/{name}"):
                        pids.append(int(pid))
                except OSError:
                    pass
        return pids

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # mod_fcgid ends its programs as Apache stops; none may outlive it.
        left = wait_for(lambda: not self.programs(), timeout=10)
        stray = self.programs()
        for pid in stray:
            os.kill(pid, signal.SIGKILL)
        if not KEEP:
            shutil.rmtree(self.home, ignore_errors=True)
        assert left, f"programs left running after apache2 stopped: {stray}"

    def db_query(self, sql):
        """One value from the SQLite store, read as the host's user (so no
        file of the store's is ever made by another account)."""
        out = as_user(["python3", "-c", "import sqlite3,sys;"
                       "c=sqlite3.connect(sys.argv[1],timeout=5);"
                       "print(c.execute(sys.argv[2]).fetchone()[0])",
                       f"{self.data}/hypersend.db", sql]).stdout
        return out.strip()


@pytest.fixture(scope="module", params=["fcgid", "cgi"])
def host(request, tarball):
    # The bundle as unpacked behind mod_fcgid (the programs make their data
    # folder and key), the user's own configuration behind mod_cgi: both
    # installs are proven.
    h = Host(tarball, request.param, configure=request.param == "cgi")
    try:
        h.start()
        yield h
    finally:
        h.stop()


# -- the programs and their libraries ------------------------------------------------------------
def test_every_program_finds_its_libraries_in_the_bundle(host):
    """ldd on each program with no library path of ours: every library but
    glibc's resolves inside app/lib (RUNPATH $ORIGIN/lib), none is missing,
    and the program runs from there."""
    env = {"PATH": "/usr/bin:/bin"}
    for app in APPS:
        prog = f"{host.app_dir}/hs-{app}.fcgi"
        assert os.access(prog, os.X_OK), prog
        out = subprocess.run(["ldd", prog], capture_output=True, text=True, env=env,
                             check=True).stdout
        assert "not found" not in out, out
        for line in out.splitlines():
            m = re.match(r"\s*(\S+) => (\S+)", line)
            if m and not BASE_LIBS.match(m.group(1)):
                assert m.group(2).startswith(f"{host.app_dir}/lib/"), (prog, line)
        routes = as_user([prog, "--routes"]).stdout
        assert "GET" in routes or "POST" in routes, routes
        # run by hand with no HS_CONFIG: it finds app/hypersend.conf beside itself
        as_user([prog, "--check"])
    # the loader finds libjwt's own dependency (libjansson) in app/lib too
    assert os.path.exists(f"{host.app_dir}/lib/libjansson.so.4")


def test_the_commands_run_from_the_shell(host):
    """docs/deploy.md's commands, run over SSH or from the host's cron with
    no environment: create-admin and the cleanups find app/hypersend.conf
    beside the program."""
    from hsapi import User, uniq
    name = uniq("adm")
    out = as_user([f"{host.app_dir}/hs-auth.fcgi", "create-admin"],
                  input=f"{name}\n{name}@example.com\n{PASSWORD}\n").stdout
    assert out.startswith("created admin"), out
    admin = host.login(User(None, name.lower(), "", PASSWORD, None, None, None, "admin", {}))
    assert assert_ok(host.me(admin.access))["role"] == "admin"
    as_user([f"{host.app_dir}/hs-files.fcgi", "cleanup"])
    as_user([f"{host.app_dir}/hs-p2p.fcgi", "cleanup"])


def test_the_documented_glibc_is_enough(host):
    """docs/deploy.md names the oldest glibc the bundle runs on: no bundled
    program or library asks for a newer symbol version."""
    m = re.search(r"glibc (2\.\d+)", (ROOT / "docs" / "deploy.md").read_text())
    assert m, "docs/deploy.md names no glibc version"
    doc = tuple(int(x) for x in m.group(1).split("."))
    need = (2, 0)
    objs = [f"{host.app_dir}/{f}" for f in os.listdir(host.app_dir) if f.endswith(".fcgi")]
    objs += [f"{host.app_dir}/lib/{f}" for f in os.listdir(f"{host.app_dir}/lib") if ".so" in f]
    for o in objs:
        out = subprocess.run(["objdump", "-T", o], capture_output=True, text=True,
                             check=True).stdout
        for v in re.findall(r"GLIBC_(2\.\d+)", out):
            need = max(need, tuple(int(x) for x in v.split(".")))
    assert need <= doc, f"the bundle needs glibc {need}, docs/deploy.md says {doc}"


# -- the routes, behind each module ------------------------------------------------------------
def test_health_says_no_redis_and_no_websocket(host):
    h = assert_ok(host.get("/health"))
    assert h["status"] == "ok" and h["store_backend"] == "sqlite", h
    assert h["redis"] == "off" and h["events"] == "store" and h["websocket"] is False, h


def test_the_web_client_is_served(host):
    r = host.get("/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), r.text
    m = re.search(r'src="(/v/[0-9a-f]+/js/[^"]+\.m?js)"', r.text)
    assert m, r.text[:500]
    assert r.headers.get("Cache-Control") == "no-cache", r.headers
    assert "frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", ""), r.headers
    for enc in ("gzip", "identity"):  # the precompressed copy and the file itself
        # the versioned path: a symbolic link in the bundle
        js = host.get(m.group(1), headers={"Accept-Encoding": enc})
        assert js.status_code == 200 and "javascript" in js.headers["Content-Type"], js.headers
        assert js.headers.get("Content-Encoding", "identity") == enc, js.headers
        assert "immutable" in js.headers.get("Cache-Control", ""), js.headers
        csp = js.headers.get("Content-Security-Policy", "")
        assert csp.count("frame-ancestors") == 1, csp


def test_register_login_and_me(host):
    u = host.register(prefix="bu")
    assert assert_ok(host.me(u.access))["id"] == u.id
    s = host.login(u)
    assert assert_ok(host.me(s.access))["username"] == u.username
    # no token, a bad token: the apps' own 401 (the Authorization header
    # reaches them: CGIPassAuth)
    assert_error(host.get(f"{API}/auth/me"), 401)
    assert_error(host.me(s.access[:-2] + "xx"), 401)


def upload(host, user, data, name="b.bin"):
    up = init_upload(host, user, len(data), filename=name)
    # 64 KiB chunks: under mod_fcgid's default FcgidMaxRequestLen (128 KiB)
    assert up["chunk_size"] == 65536, up
    for n, c in enumerate(chunks_of(data, up["chunk_size"])):
        assert_ok(put_chunk(host, user, up["upload_id"], n, c,
                            sha=hashlib.sha256(c).hexdigest()))
    return assert_ok(complete(host, user, up["upload_id"]))


def test_upload_and_download(host):
    u = host.register(prefix="bf")
    data = os.urandom(300_000)
    f = upload(host, u, data)
    r = host.get(f"{FILES}/{f['id']}", token=u.access)
    assert r.status_code == 200, r.text[:300]
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert "X-Sendfile" not in r.headers  # sendfile_header = none: the app sent it
    # user bytes never render on the app's origin: the app's sandbox policy
    # reaches the browser beside the .htaccess page policy
    assert "sandbox" in r.headers.get("Content-Security-Policy", ""), r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r.headers
    r = host.get(f"{FILES}/{f['id']}", token=u.access, headers={"Range": "bytes=70000-70099"})
    assert r.status_code == 206 and r.content == data[70000:70100], r.status_code
    etag = host.get(f"{FILES}/{f['id']}", token=u.access).headers["ETag"]
    r = host.get(f"{FILES}/{f['id']}", token=u.access, headers={"If-None-Match": etag})
    assert r.status_code == 304, r.status_code
    # the blob sits in the data folder, whole
    blob = f"{host.data}/files/{f['id'][-2:]}/{f['id']}"
    assert os.path.getsize(blob) == len(data)


def test_share_link_download(host):
    u = host.register(prefix="bs")
    data = os.urandom(100_000)
    f = upload(host, u, data, name="shared.bin")
    link = assert_ok(host.post(f"{FILES}/{f['id']}/links", token=u.access, json={}), 201)
    r = host.get(link["url"])  # anonymous
    assert r.status_code == 200, r.text[:300]
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert 'filename="shared.bin"' in r.headers["Content-Disposition"]
    assert_error(host.get("/s/" + "A" * 43), 404)


def test_a_message_arrives_by_long_poll(host):
    """B waits on GET /api/v1/updates (seen waiting in the store's poll
    slots); A's message ends the wait with message.created."""
    a, b = host.register(prefix="ba"), host.register(prefix="bb")
    chat = direct(host, a, b)["id"]
    since = assert_ok(host.get(UPDATES, token=b.access))["next"]
    got = {}

    def wait():
        got["r"] = host.get(UPDATES, token=b.access, params={"since": since, "timeout": 20})
        got["at"] = time.monotonic()

    t = threading.Thread(target=wait)
    t.start()
    waiting = wait_for(lambda: host.db_query(
        f"SELECT count(*) FROM slots WHERE key = 'hs:polls:{b.id}'") == "1", timeout=15)
    assert waiting, "the poll is not waiting"
    sent_at = time.monotonic()
    msg = send(host, a, chat, "over the long poll")
    t.join(30)
    assert not t.is_alive()
    body = assert_ok(got["r"])
    assert got["at"] - sent_at < 5, "the wait did not end on the message"
    created = [e for e in body["events"] if e["type"] == "message.created"]
    assert created and created[0]["data"]["message"]["id"] == msg["id"], body
    assert created[0]["data"]["message"]["content"] == "over the long poll"
    # and the history has it
    hist = assert_ok(host.get(f"{API}/messages/{chat}", token=b.access))
    assert msg["id"] in str(hist)


def test_a_poll_past_the_templates_cap_short_polls(host):
    """The template's updates_max_waiting (a host's process limit): with
    that many polls waiting (holds of dead processes here, ending in 4 s), a
    poll answers at once with retry_ms instead of queueing for a process;
    once they end, polls wait again."""
    conf = f"{host.app_dir}/hypersend.conf"  # the user's, else the template as unpacked
    if not os.path.exists(conf):
        conf += ".example"
    cap = int(re.search(r"^updates_max_waiting = (\d+)$", open(conf).read(), re.M).group(1))
    u = host.register(prefix="bc")
    since = assert_ok(host.get(UPDATES, token=u.access))["next"]
    until = int(time.time() * 1000) + 4000
    as_user(["python3", "-c", "import sqlite3,sys;c=sqlite3.connect(sys.argv[1],timeout=5);"
             "c.executemany('INSERT INTO slots VALUES (?,?,?)',"
             "[('hs:polls',f'dead-{i}',int(sys.argv[3])) for i in range(int(sys.argv[2]))]);"
             "c.commit()", f"{host.data}/hypersend.db", str(cap), str(until)])
    got = assert_ok(host.get(UPDATES, token=u.access, params={"since": since, "timeout": 20}))
    assert got["retry_ms"] == 1000 and got["events"] == [], got

    def granted():
        r = assert_ok(host.get(UPDATES, token=u.access, params={"since": since, "timeout": 1}))
        return "retry_ms" not in r

    assert wait_for(granted, timeout=20, interval=0.5), "the dead holds never ended"
    assert time.time() * 1000 >= until - 50


def test_the_web_client_chats_by_long_poll(host):
    """Chromium on the bundle: the shell logs in, sees no WebSocket offered,
    long-polls from the start (no socket tried, no error toast) and shows a
    message of another user (tests/node/web_nows.mjs)."""
    from browser import run_script
    a, b = host.register(prefix="bw"), host.register(prefix="bx")
    chat = direct(host, a, b)["id"]
    out = run_script("web_nows.mjs", "--base", host.base, "--name", a.username,
                     "--password", a.password, "--chat", chat, "--other-token", b.access)
    assert out["sockets"] == 0 and out["transport"] == "poll" and out["toasts"] == [], out
    assert out["sent"] == 201 and out["delivery_ms"] < 5000, out
    assert out["errors"] == [], out


def test_every_route_reaches_its_program(host):
    """Each route of each app's table (--routes), with its {params} filled
    in and no token, is answered by that app (its X-Request-Id is in that
    app's access-log line), never by Apache: a route the .htaccess forgets
    fails here."""
    asked = []
    for app in APPS:
        for method, pattern, _ in app_routes(app):
            path = re.sub(r"\{[^}]+\}", "0123456789abcdef01234567", pattern)
            r = host.raw(method, path)
            rid = r.headers.get("X-Request-Id")
            assert rid, f"{method} {path}: {r.status_code} not from an app: {r.text[:200]}"
            asked.append((app, method, path, rid))
    log = open(f"{host.data}/access.log").read()
    for app, method, path, rid in asked:
        m = re.search(rf" (\S+) rid={re.escape(rid)} ", log)
        assert m and m.group(1) == app, f"{method} {path}: answered by {m and m.group(1)}"


def test_programs_run_as_the_module_runs_them(host):
    """mod_fcgid keeps its programs running between requests; under mod_cgi
    each request's process is gone once it answered."""
    assert_ok(host.get("/health"))  # hs-auth's
    # (not hs-updates: a poll the browser test left may still wait out its
    # timeout, under mod_cgi too)
    if host.mode == "fcgid":
        assert host.programs("hs-auth."), "hs-auth not kept running under mod_fcgid"
    else:
        assert wait_for(lambda: not host.programs("hs-auth."), timeout=10), host.programs()


def test_a_bundle_unpacked_over_keeps_data_and_sessions(host, tarball):
    """The upgrade: the tarball unpacked again over the running install (as
    docs/deploy.md says) keeps app/hypersend.conf, the data and every
    session."""
    u = host.register(prefix="bg")
    f = upload(host, u, b"kept " * 1000)
    conf_path = f"{host.app_dir}/hypersend.conf"
    conf = open(conf_path).read() if os.path.exists(conf_path) else None
    key = host.key
    with open(tarball, "rb") as t:
        as_user(["tar", "-xzf", "-", "-C", host.docroot, "--strip-components=1"], stdin=t,
                text=False)
    assert (open(conf_path).read() if os.path.exists(conf_path) else None) == conf
    assert host.key == key
    assert assert_ok(host.me(u.access))["id"] == u.id
    r = host.get(f"{FILES}/{f['id']}", token=u.access)
    assert r.status_code == 200 and r.content == b"kept " * 1000
    assert host.login(u).id == u.id


# -- what must never be served ------------------------------------------------------------------
PRIVATE = ["/.htaccess", "/app/.htaccess", "/data/.htaccess", "/app/hypersend.conf",
           "/app/hypersend.conf.example", "/app/lib/libjwt.so.0", "/app/lib/libcrypto.so.3",
           "/app/lib/magic.mgc", "/app/hs-auth.fcgi", "/app/", "/app", "/app//hypersend.conf",
           "/./app/hypersend.conf", "/js/../app/hypersend.conf", "/data/secret.key",
           "/data/hypersend.db", "/data/hypersend.db-wal", "/data/access.log", "/data/files/",
           "/data/", "/api/v1/auth/../../app/hypersend.conf", "/app/hs-auth.fcgi/../hypersend.conf",
           "/%61pp/hypersend.conf", "/app%2fhypersend.conf", "/app/hypersend.conf%00",
           "/app/hypersend.conf.", "/APP/hypersend.conf", "/data%2fsecret.key",
           "/s/../data/secret.key", "/app/hs-auth.fcgi/x",
           # the default data folder, beside the document root
           "/../hypersend-data/secret.key", "/%2e%2e/hypersend-data/secret.key",
           "/..%2fhypersend-data/hypersend.db", "/hypersend-data/secret.key",
           "/api/v1/auth/../../../hypersend-data/secret.key", "/s/%2e%2e/%2e%2e/hypersend-data/"]


def test_private_files_are_never_served(host):
    for path in PRIVATE:
        r = host.raw("GET", path)
        # (400: Apache's answer to a path that climbs above the root)
        assert r.status_code in (400, 403, 404), f"{path}: {r.status_code} {r.text[:200]}"
        assert host.key not in r.text, path
    # a blob by its path, in the data folder and where an older bundle kept it
    u = host.register(prefix="bp")
    f = upload(host, u, b"private bytes " * 100)
    for prefix in ("/data", "/../hypersend-data", "/%2e%2e/hypersend-data"):
        r = host.raw("GET", f"{prefix}/files/{f['id'][-2:]}/{f['id']}")
        assert r.status_code in (400, 403, 404) and b"private bytes" not in r.content, \
            r.status_code
    # the files are there all the same (the requests were refused, not lost)
    assert os.path.exists(f"{host.app_dir}/hypersend.conf.example")
    assert os.path.exists(f"{host.app_dir}/hypersend.conf") == (host.mode == "cgi")
    assert os.path.exists(f"{host.data}/secret.key") and os.path.exists(f"{host.data}/hypersend.db")



# -- the first run ------------------------------------------------------------------------------
def test_the_first_run_makes_a_private_data_folder_beside_the_docroot(host):
    """As unpacked (mod_fcgid here): hypersend-data beside public_html, 0700,
    with a 0600 key of 64 hex digits, the database and the blobs, all the
    host user's; none of it in the document root. The user's own folder
    (mod_cgi here, made 0755 by mkdir) loses other accounts' access."""
    assert os.path.realpath(host.data) == os.path.realpath(f"{host.home}/hypersend-data")
    assert_ok(host.get("/health"))
    st = os.stat(host.data)
    assert st.st_mode & 0o777 == (0o700 if host.mode == "fcgid" else 0o750), oct(st.st_mode)
    key = os.stat(f"{host.data}/secret.key")
    assert key.st_mode & 0o777 == 0o600, oct(key.st_mode)
    assert re.fullmatch(r"[0-9a-f]{64}", host.key)
    who = host_user()
    if who:
        assert (st.st_uid, key.st_uid) == (who[0], who[0])
    assert os.path.exists(f"{host.data}/hypersend.db")
    assert not os.path.exists(f"{host.docroot}/data")
    assert os.path.exists(f"{host.app_dir}/hypersend.conf") == (host.mode == "cgi")


def setup_error(h, code):
    """The 503 every request of h gets: /health and an API route (with a
    body) alike, with code, a message and a hint."""
    r = h.get("/health")
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("application/json"), \
        (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["hint"], err
    r = h.post(f"{API}/auth/register", json={"username": "setup", "email": "s@example.com",
                                             "password": PASSWORD})
    assert r.status_code == 503 and r.json()["error"]["code"] == code, r.text[:300]
    return err


def setup_page(h):
    """The text of the web client's setup page (Chromium)."""
    from browser import run_script
    out = run_script("web_setup.mjs", "--base", h.base)
    assert out["sign_in_form"] == 0 and out["errors"] == [], out
    return out["text"]


@pytest.mark.parametrize("mode", ["fcgid", "cgi"])
def test_a_data_folder_inside_the_docroot_is_refused(tarball, mode):
    """data_dir = <docroot>/data (the user's configuration): every request
    gets a 503 setup_data_in_docroot naming the folder and the fix, the
    store is never made there, and the web client shows it."""
    h = Host(tarball, mode, data_inside=True)
    try:
        h.start(health=503)
        err = setup_error(h, "setup_data_in_docroot")
        assert os.path.realpath(h.data) in err["message"], err
        assert "outside" in err["hint"] and "hypersend-data" in err["hint"], err
        assert not os.path.exists(f"{h.data}/hypersend.db")
        if mode == "fcgid":
            text = setup_page(h)
            assert "cannot start" in text and "document root" in text, text
            assert "setup_data_in_docroot" in text, text
    finally:
        h.stop()


def test_an_unwritable_home_gives_the_setup_answer_until_fixed(tarball):
    """The bundle as unpacked in a home the programs cannot write: a 503
    setup_data_dir_unwritable naming the folder; once the home is writable
    the next request works, without restarting anything (mod_fcgid's
    process tries again)."""
    h = Host(tarball, "fcgid", configure=False)
    try:
        os.chmod(h.home, 0o555)
        h.start(health=503)
        err = setup_error(h, "setup_data_dir_unwritable")
        assert "hypersend-data" in err["message"] and "uid" in err["message"], err
        text = setup_page(h)
        assert "hypersend-data" in text and "To fix it" in text, text
        os.chmod(h.home, 0o755)
        assert_ok(h.get("/health"))
        u = h.register(prefix="bz")
        assert assert_ok(h.me(u.access))["id"] == u.id
        assert os.stat(h.data).st_mode & 0o777 == 0o700
    finally:
        os.chmod(h.home, 0o755)
        h.stop()


@pytest.mark.parametrize("missing", ["rewrite", "exec"])
def test_a_missing_module_shows_the_setup_page(tarball, missing):
    """Apache without mod_rewrite, or with none of mod_fcgid, mod_cgi and
    mod_cgid: the front page, the API and /health show the bundle's
    setup.html (a 503 or 404 with that page), never the web client, an
    Apache 500 or the programs' bytes."""
    h = Host(tarball, "none" if missing == "exec" else "fcgid", configure=False,
             rewrite=missing != "rewrite")
    try:
        h.start(health=404 if missing == "rewrite" else 403)
        for path in ("/", "/index.html", "/health", f"{API}/auth/me", "/app/hs-auth.fcgi"):
            r = h.raw("GET", path)
            assert r.status_code in (403, 404, 503), (path, r.status_code)
            assert "Hypersend cannot run on this host yet" in r.text, (path, r.text[:300])
            assert "mod_rewrite" in r.text and "mod_fcgid" in r.text
        assert h.get("/setup.html").status_code == 200
        assert not h.programs(), "a program ran"
        assert not os.path.exists(h.data)
    finally:
        h.stop()
