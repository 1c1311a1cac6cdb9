"""Ctrl-C on `make run` stops everything (issue 11, defect 8).

A terminal sends SIGINT to the whole foreground process group: conf/stack.sh,
redis-server, the bridges, lighttpd and the apps lighttpd spawned. Before the
fix the apps died of it at once, lighttpd respawned them while shutting down,
and the new ones waited on their sockets for ever (three tries in five).
"""
import base64
import os
import signal
import socket
import time

from conftest import Stack

TRIES = 5
GONE_WITHIN = 8.0  # seconds


def test_sigint_to_the_process_group_leaves_nothing_running():
    for i in range(TRIES):
        s = Stack(f"ctrlc{i}", {"HS_WS_BRIDGES": "1"})
        s.start()
        try:
            # Every app has been spawned and is serving.
            for path in ("/health", "/api/v1/users/x", "/api/v1/chats", "/api/v1/files/list",
                         "/api/v1/p2p/history"):
                s.get(path)
            assert s.leftovers(), "the stack's processes should be visible"
            # A browser's WebSocket stays open through lighttpd: its graceful
            # shutdown then lasts, which is when it respawned the apps.
            u = s.register(prefix="cc")
            ws = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            key = base64.b64encode(os.urandom(16)).decode()
            ws.sendall((f"GET /ws?token={u.access} HTTP/1.1\r\nHost: t\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                       .encode())
            assert b" 101 " in ws.recv(4096).split(b"\r\n")[0]
            os.killpg(s.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            deadline = time.monotonic() + GONE_WITHIN
            left = s.leftovers()
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = s.leftovers()
            assert not left, (f"try {i + 1}: {GONE_WITHIN} s after SIGINT these remain: "
                              + "; ".join(f"{p} {c}" for p, c in left))
            assert s.proc.wait(1) is not None
            ws.close()
        finally:
            problems = s.stop()
            assert not problems, problems


def test_apps_exit_when_lighttpd_is_killed():
    """However lighttpd ends (here SIGKILL, which it cannot pass on), the apps
    it spawned do not stay behind waiting on their sockets."""
    s = Stack("pdeath", {"HS_WS_BRIDGES": "1"})
    s.start()
    try:
        apps = [p for p, c in s.leftovers() if "/hs-" in c and "hs-ws-bridge" not in c]
        assert len(apps) >= 6, s.leftovers()
        (lighttpd,) = s._group_pids("lighttpd")
        os.kill(lighttpd, signal.SIGKILL)
        deadline = time.monotonic() + GONE_WITHIN
        left = [p for p in apps if os.path.exists(f"/proc/{p}")]
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in apps if os.path.exists(f"/proc/{p}")
                    and open(f"/proc/{p}/stat").read().split(") ")[-1][:1] != "Z"]
        assert not left, f"{GONE_WITHIN} s after lighttpd's SIGKILL these apps remain: {left}"
    finally:
        problems = s.stop()
        assert not problems, problems
