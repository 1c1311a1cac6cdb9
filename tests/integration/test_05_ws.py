"""The WebSocket bridge (docs/ws.md), connecting: the hello, the three ways
to present the access token, /ws/<user_id>, straight to a bridge and
through lighttpd's /ws, and the close codes (and reasons) of refused
tokens and a bad since."""
import asyncio

import pytest

from hsapi import API, BAD_TOKENS, assert_ok, forge
from wsclient import EVENT_ID, WS, open_refused

VIA = ["direct", "proxy"]


def url(stack, via):
    return stack.ws_url(0) if via == "direct" else stack.ws_proxy_url


@pytest.mark.parametrize("how", ["query", "header", "protocol"])
@pytest.mark.parametrize("via", VIA)
def test_hello(stack, user_a, via, how):
    async def run():
        ws = await WS.connect(url(stack, via), user_a.access, how=how, name=f"{via} {how}")
        try:
            h = ws.hello_obj
            assert h["user_id"] == user_a.id, h
            assert h["resumed"] is False, h
            assert h["last_id"] is None or EVENT_ID.match(h["last_id"]), h
            # the main stack runs the defaults of docs/ws.md
            assert (h["heartbeat"], h["retention"], h["max_message"]) == (25, 600, 65536), h
            if how == "protocol":
                assert ws.conn.subprotocol == "hypersend"
            await ws.ping()
        finally:
            await ws.close()
    asyncio.run(run())


@pytest.mark.parametrize("via", VIA)
def test_path_names_the_user(stack, user_a, user_b, via):
    async def run():
        ws = await WS.connect(url(stack, via), user_a.access, path=f"/{user_a.id}")
        assert ws.hello_obj["user_id"] == user_a.id
        await ws.ping()
        await ws.close()
        code, _ = await open_refused(url(stack, via), user_a.access, path=f"/{user_b.id}")
        assert code == 4403
    asyncio.run(run())


# The close reason of each kind of bad token (docs/ws.md, close codes).
REASONS = {"expired": {"token_expired"}, "basic": {"missing_token", "invalid_token"}}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_token_closes_4401(stack, key, user_a, kind):
    header = forge(kind, key, user_a)
    scheme, _, token = header.partition(" ")

    async def run():
        tries = [open_refused(stack.ws_url(0), header, how="authorization"),
                 open_refused(stack.ws_proxy_url, header, how="authorization")]
        if scheme == "Bearer":
            tries += [open_refused(stack.ws_url(1), token, how="query"),
                      open_refused(stack.ws_proxy_url, token, how="protocol")]
        return await asyncio.gather(*tries)
    got = asyncio.run(run())
    assert [c for c, _ in got] == [4401] * len(got), f"{kind}: {got}"
    want = REASONS.get(kind, {"invalid_token"})
    assert all(r in want for _, r in got), f"{kind}: reasons {got}, expected one of {want}"


def test_missing_token_closes_4401(stack):
    async def run():
        return await asyncio.gather(
            open_refused(stack.ws_url(0)), open_refused(stack.ws_proxy_url),
            open_refused(stack.ws_url(0), "", how="query"),
            open_refused(stack.ws_url(0), "Bearer", how="authorization"),
            open_refused(stack.ws_url(0), None, how=None, params={"since": "1-0"}))
    got = asyncio.run(run())
    assert got == [(4401, "missing_token")] * len(got), got


def test_revoked_session_closes_4401(stack):
    u = stack.register(prefix="wsrev")
    other = stack.login(u)
    assert stack.post(f"{API}/auth/logout", token=other.access).status_code == 204

    async def run():
        got = await asyncio.gather(open_refused(stack.ws_url(0), other.access),
                                   open_refused(stack.ws_proxy_url, other.access, how="header"))
        # the user's other session still connects
        ws = await WS.connect(stack.ws_url(1), u.access)
        await ws.close()
        return got
    assert asyncio.run(run()) == [(4401, "token_revoked")] * 2


def test_disabled_user_closes_4401(stack):
    victim = stack.register(prefix="wsdis")
    r = stack.post(f"{API}/users/{victim.id}/disable", token=stack.admin.access)
    assert assert_ok(r)["disabled"] is True
    assert asyncio.run(open_refused(stack.ws_url(0), victim.access)) == (4401, "token_revoked")


@pytest.mark.parametrize("since", ["garbage", "12", "1-2-3", "-1-0", "1795265462373-x"])
def test_bad_since_closes_4400(stack, user_a, since):
    code, _ = asyncio.run(open_refused(stack.ws_url(0), user_a.access, params={"since": since}))
    assert code == 4400

def listen_addresses(port):
    """The local addresses of the sockets listening on port."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                addr, p = cols[1].rsplit(":", 1)
                if cols[3] == "0A" and int(p, 16) == port:
                    found.append(addr if width == 32 else
                                 ".".join(str(b) for b in reversed(bytes.fromhex(addr))))
    return found


def test_bridges_listen_on_loopback_only(stack):
    """ws_bind is 127.0.0.1 by default and /metrics is a loopback port:
    neither may be reachable from other hosts."""
    stack.wait_bridges()
    for i in range(stack.ws_bridges):
        for port in (stack.ws_port(i), stack.ws_port(i) + 1):
            addrs = listen_addresses(port)
            assert addrs and set(addrs) == {"127.0.0.1"}, f"port {port} listens on {addrs}"
