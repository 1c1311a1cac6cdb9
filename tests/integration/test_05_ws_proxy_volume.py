"""A WebSocket through lighttpd carries any amount the client sends (issue 11,
defect 16): lighttpd counted the tunnel's bytes against max-request-size and
cut the socket (1006) after 1 MiB. Here 48 messages of 48 KiB (2.25 MiB) go
over one socket through the front, and it still answers."""
import asyncio

from wsclient import WS

MESSAGES = 48
SIZE = 48 * 1024


def test_more_than_2_mib_from_the_client_through_lighttpd(stack, user_a):
    async def run():
        ws = await WS.connect(stack.ws_proxy_url, user_a.access)
        try:
            for i in range(MESSAGES):
                r = await ws.request({"type": "ping", "ref": f"big{i}", "pad": "x" * SIZE})
                assert r["type"] == "pong", r
            await ws.ping()
        finally:
            await ws.close()
    asyncio.run(run())
