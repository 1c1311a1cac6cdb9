"""Slowloris against the front (issue 11, defect 17): thousands of
connections from one address that never finish their request header.
lighttpd 1.4.69 has no per-address cap and no whole-header deadline, so the
front is sized and timed instead (conf/lighttpd.conf): room for many more
connections than before (4,096 filled up and /health went unanswered), and
a request that sends nothing for max-read-idle (10 s) is closed, so a byte
every 15 s no longer keeps a connection."""
import resource
import socket
import time

import pytest
import requests

ATTACK = 4200        # the connections of the report (the old cap was 4,096)
READ_IDLE = 10       # server.max-read-idle


def test_unfinished_headers_do_not_starve_health(make_stack):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = ATTACK + 256
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"this test needs {want} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    s = make_stack()
    socks = []
    try:
        for i in range(ATTACK):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            socks.append(sock)
        opened = time.monotonic()
        t = time.monotonic()
        try:
            r = requests.get(s.base + "/health", timeout=5)
        except requests.RequestException as e:
            pytest.fail(f"/health with {ATTACK} unfinished headers open: {e}")
        took = time.monotonic() - t
        assert r.status_code == 200 and took < 1.0, (r.status_code, took)
        # The header deadline: a connection that sends nothing more is closed.
        sample = socks[:: ATTACK // 50]
        for sock in sample:
            sock.settimeout(max(0.1, opened + READ_IDLE + 5 - time.monotonic()))
            try:
                assert sock.recv(4096) == b"", "expected the server to close the connection"
            except ConnectionResetError:
                pass
            except socket.timeout:
                pytest.fail(f"a silent unfinished header still open after {READ_IDLE + 5} s")
        assert time.monotonic() - opened >= READ_IDLE - 1
    finally:
        for sock in socks:
            sock.close()
