"""FastCGI connections a front keeps open (FCGI_KEEP_CONN): every app process
serves all the connections it holds, so a front keeping some (nginx's
fastcgi_keep_conn with an upstream keepalive pool) never leaves a request
waiting on a process that holds another connection idle.

The raw tests speak FastCGI to an app's socket themselves, as a front does;
the last one runs authenticated GET /auth/me through nginx (two workers,
keepalive) from 64 connections at once.
"""
import os
import re
import shutil
import socket
import struct
import subprocess

import pytest

from conftest import SANITIZE
from hsapi import API, STORE, bearer

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
REPLY_TIMEOUT = 2.0  # a served request answers in milliseconds


def _record(rtype, content=b""):
    pad = (-len(content)) % 8
    return struct.pack(">BBHHBx", 1, rtype, 1, len(content), pad) + content + b"\0" * pad


def _nv(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


class FcgiConn:
    """One FastCGI connection to an app's socket, as a front opens it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(REPLY_TIMEOUT)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def request(self, method, uri, headers=None, body=b"", keep=True):
        """Sends one request (FCGI_KEEP_CONN when keep) and reads its reply:
        (status, body). socket.timeout when no reply comes."""
        params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "SERVER_PROTOCOL": "HTTP/1.1",
                  "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
                  "CONTENT_TYPE": "application/json" if body else ""}
        for k, v in (headers or {}).items():
            params["HTTP_" + k.upper().replace("-", "_")] = v
        out = _record(BEGIN, struct.pack(">HB5x", 1, 1 if keep else 0))
        out += _record(PARAMS, b"".join(_nv(k, v) for k, v in params.items())) + _record(PARAMS)
        if body:
            out += _record(STDIN, body)
        self.sock.sendall(out + _record(STDIN))
        stdout = b""
        while True:
            rtype, content = self._read_record()
            if rtype == STDOUT:
                stdout += content
            elif rtype == END:
                break
        head, _, payload = stdout.partition(b"\r\n\r\n")
        status = int(re.search(rb"^Status: (\d+)", head, re.M).group(1))
        return status, payload

    def _read_record(self):
        while len(self.buf) < 8:
            self._fill()
        _, rtype, _, clen, pad = struct.unpack(">BBHHBx", self.buf[:8])
        while len(self.buf) < 8 + clen + pad:
            self._fill()
        content = self.buf[8:8 + clen]
        self.buf = self.buf[8 + clen + pad:]
        return rtype, content

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the app closed the connection")
        self.buf += data

    def closed_by_app(self):
        """True when the app has closed this connection (EOF within the
        timeout), False when it is still open and quiet."""
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


@pytest.fixture(scope="module")
def one_proc(make_module_stack):
    """One hs-auth process holding at most 2 connections."""
    return make_module_stack(HS_PROCS="1", HS_FCGI_MAX_CONNS="2")


def _health(conn, keep=True):
    status, body = conn.request("GET", "/health", keep=keep)
    assert status == 200 and b'"status":"ok"' in body, body
    return status


def test_one_process_serves_every_kept_connection(one_proc):
    """A process holding a kept, idle connection still answers a second one,
    and both stay usable (the front's next requests on either)."""
    path = one_proc.fcgi_socket("auth")
    first, second = FcgiConn(path), FcgiConn(path)
    try:
        _health(first)
        _health(second)  # today's apps: no answer, the process waits on `first`
        _health(first)
        _health(second)
        assert not first.closed_by_app() and not second.closed_by_app()
    finally:
        first.close()
        second.close()


def test_body_then_next_request_on_one_kept_connection(one_proc):
    """A request whose body the app read whole leaves the kept connection
    ready for the next one, and so does one answered before its body was
    read (the app reads the rest off the connection first)."""
    conn = FcgiConn(one_proc.fcgi_socket("auth"))
    try:
        status, body = conn.request("POST", f"{API}/auth/login",
                                    body=b'{"username":"nobody_here","password":"wrong pass"}')
        assert status == 401 and b'"code":"invalid_credentials"' in body, body
        _health(conn)
        status, body = conn.request("POST", f"{API}/auth/no-such-route", body=b"x" * 100)
        assert status == 404 and b'"code":"route_not_found"' in body, body
        _health(conn)
        assert not conn.closed_by_app()
    finally:
        conn.close()


def test_connection_closed_when_the_front_does_not_keep_it(one_proc):
    """Without FCGI_KEEP_CONN (lighttpd's way) the app closes the connection
    after the reply, as before."""
    conn = FcgiConn(one_proc.fcgi_socket("auth"))
    try:
        _health(conn, keep=False)
        assert conn.closed_by_app()
    finally:
        conn.close()


def test_connection_cap_closes_the_longest_idle(one_proc):
    """fcgi_max_conns = 2: a third connection is served, and the one idle the
    longest is closed for it (the front opens a new one when it needs it)."""
    path = one_proc.fcgi_socket("auth")
    conns = [FcgiConn(path) for _ in range(3)]
    try:
        _health(conns[0])
        _health(conns[1])
        _health(conns[2])
        assert conns[0].closed_by_app()
        _health(conns[1])
        _health(conns[2])
    finally:
        for c in conns:
            c.close()


WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d max_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, latency.max, latency:percentile(99), e.connect, e.read, e.write,
    e.status, e.timeout))
end
"""


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("spawn-fcgi")
                    or not shutil.which("wrk"),
                    reason="needs nginx, spawn-fcgi and wrk (conf/install-deps.sh test)")
@pytest.mark.skipif(STORE != "sqlite", reason=(
    "bounds the front's kept connections at 100 ms p99; on FerretDB every /auth/me reads by "
    "scanning the users table (docs/mongo-status.md), so the bound would be FerretDB's"))
def test_nginx_keepalive_64_connections_none_waits(make_stack, tmp_path):
    """nginx with two workers, fastcgi_keep_conn and upstream keepalive (the
    shipped conf/nginx.conf): 64 connections of authenticated GET /auth/me
    for 3 s, every answer a 200, 99 in 100 within 100 ms and none past a
    second. Before the apps served several connections each, requests
    waited on a process holding the other worker's idle connection: p99 near
    a second, and timeouts."""
    s = make_stack(HS_FRONT="nginx", HS_NGINX_WORKERS="2")
    with open(os.path.join(s.rundir, "nginx", "site.conf")) as f:
        assert "keepalive 16;" in f.read()
    u = s.register(prefix="nk")
    assert s.get(f"{API}/auth/me", token=u.access).status_code == 200
    script = tmp_path / "report.lua"
    script.write_text(WRK_REPORT)
    r = subprocess.run(
        ["wrk", "-t1", "-c64", "-d3s", "--timeout", "2s", "-s", str(script),
         "-H", f"Authorization: {bearer(u.access)['Authorization']}", f"{s.base}{API}/auth/me"],
        capture_output=True, text=True, timeout=60)
    m = re.search(r"RESULT (.*)", r.stdout)
    assert m, (r.stdout, r.stderr)
    got = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    errors = {k: got[k] for k in ("connect", "read", "write", "status", "timeout") if got[k]}
    assert not errors, (got, r.stdout)
    assert got["requests"] > 64, got
    if not SANITIZE:  # instrumented apps are several times slower: no bound
        # Saturated on two CPUs shared with the load generator, 99 in 100
        # answers come within 100 ms and none waits a second; the tail past
        # that is the scheduler (a max of 130 ms was measured at load 3 with
        # every process busy, none waiting). Before, requests waited on a
        # process holding the other worker's idle connection: p99 0.6-1.3 s
        # and 2 s timeouts.
        assert got["p99_us"] < 100_000 and got["max_us"] < 1_000_000, (
            got, "load average", os.getloadavg())
    # every one of them reached hs-auth and was answered there
    assert s.read_log().count("path=/api/v1/auth/me status=200") >= got["requests"]
