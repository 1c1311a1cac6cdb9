"""Client events that the WebSocket fuzzer (tests/fuzz/fuzz_ws_client.c)
found mishandled: they must be refused with the documented code and leave
the bridge serving. Under the sanitizer build (HS_SANITIZE=1) the bridge
aborted on them before the fix."""
import asyncio

from hsapi import fake_id
from p2p_helpers import in_state, load, register_many
from wsclient import Clients, rest


def test_progress_bytes_beyond_int64_are_refused(stack):
    """bytes of 1e300 or 10**30 was cast to int64 before the range check
    (undefined behaviour); now it is an invalid_event like 1.5."""
    a, b = register_many(stack, 2, prefix="wfuzz")
    t = in_state(stack, a, b, "accepted", size=1000)
    tid = t["id"]

    async def run():
        async with Clients() as cs:
            wa = await cs.open(stack.ws_url(0), a.access, name="a")
            for bytes_ in (1e300, -1e300, 10**30, 2**63, -(2**63) * 2):
                for transfer_id in (tid, fake_id()):
                    r = await wa.request({"type": "p2p.progress", "transfer_id": transfer_id,
                                          "bytes": bytes_})
                    assert r["type"] == "error" and r["error"]["code"] == "invalid_event", (
                        bytes_, r)
            await wa.ping()  # the bridge is still there
            assert (await rest(load, stack, b, tid))["bytes_transferred"] == 0
    asyncio.run(run())
