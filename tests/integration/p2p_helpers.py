"""Helpers shared by the P2P transfer tests (test_06_p2p*.py, docs/p2p.md):
offers and steps over REST, transfers brought into each state, relay copies
of the right size uploaded with the files API, the user event streams, and
`hs-p2p cleanup` run against a stack. No tests here."""
import os
import subprocess

from hsapi import API, BIN_DIR, assert_ok
from test_03_helpers import upload_file
from test_04_helpers import register_many, user_events  # noqa: F401 - re-exported

P2P = f"{API}/p2p"
RELAY_CHUNK = 65536
STATES = ("pending", "accepted", "transferring", "completed", "failed", "rejected", "cancelled",
          "expired")
# Every field of a transfer (docs/p2p.md), in the order the server writes them.
TRANSFER_KEYS = {"id", "sender_id", "recipient_id", "filename", "size", "sha256", "mode", "state",
                 "reason", "bytes_transferred", "relay_file_id", "created_at", "updated_at",
                 "expires_at"}
# The steps a party takes, with a body that is valid for each.
STEP_BODY = {"accept": None, "reject": None, "cancel": None, "fail": {"reason": "ice_failed"},
             "complete": {"sha256": "0" * 64}, "progress": {"bytes": 1},
             "relay": {"file_id": "0" * 24}}


def relay_size(size):
    """The size of a relay copy of a size-byte file: 16 + size + 16 per chunk."""
    chunks = max(1, -(-size // RELAY_CHUNK))
    return 16 + size + 16 * chunks


# -- REST ------------------------------------------------------------------------------
def initiate_req(stack, sender, recipient, size=1000, filename="holiday.mp4", **fields):
    """POST /p2p/initiate; the response."""
    body = {"recipient_id": getattr(recipient, "id", recipient), "filename": filename,
            "size": size, **fields}
    return stack.post(f"{P2P}/initiate", token=sender.access, json=body)


def offer(stack, sender, recipient, size=1000, **fields):
    """A new pending transfer (201 asserted): its JSON."""
    return assert_ok(initiate_req(stack, sender, recipient, size, **fields), 201)


def step(stack, user, tid, action, body=None):
    """POST /p2p/{tid}/{action} (body None: no body at all); the response."""
    kw = {} if body is None else {"json": body}
    return stack.post(f"{P2P}/{tid}/{action}", token=user.access, **kw)


def get(stack, user, tid):
    return stack.get(f"{P2P}/{tid}", token=user.access)


def load(stack, user, tid):
    return assert_ok(get(stack, user, tid))


def history(stack, user, **params):
    return stack.get(f"{P2P}/history", token=user.access, params=params)


def history_all(stack, user, **params):
    """Every transfer of the user's history (walks the pages)."""
    items, cursor = [], None
    for _ in range(100):
        q = dict(params, limit=100)
        if cursor:
            q["cursor"] = cursor
        b = assert_ok(history(stack, user, **q))
        items += b["items"]
        cursor = b["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("GET /p2p/history did not end")


def download(stack, user, tid, method="GET", **kw):
    return stack.req(method, f"{P2P}/{tid}/download", token=user.access, **kw)


def in_state(stack, sender, recipient, state, **fields):
    """A transfer from sender to recipient brought to state over REST (all
    but expired); its JSON as the sender sees it."""
    t = offer(stack, sender, recipient, **fields)
    tid = t["id"]
    path = {"pending": [], "rejected": [(recipient, "reject", None)],
            "cancelled": [(sender, "cancel", None)], "accepted": [(recipient, "accept", None)],
            "transferring": [(recipient, "accept", None), (sender, "progress", {"bytes": 1})],
            "completed": [(recipient, "accept", None), (sender, "progress", {"bytes": 1}),
                          (recipient, "complete", {"sha256": "a" * 64})],
            "failed": [(recipient, "accept", None), (sender, "fail", {"reason": "broken"})]}[state]
    for who, action, body in path:
        t = assert_ok(step(stack, who, tid, action, body))
    assert t["state"] == state, t
    return t


# -- relay copies ----------------------------------------------------------------------
def upload_relay(stack, user, size=None, data=None):
    """Uploads opaque bytes (the server cannot tell them from ciphertext) of
    the relay size of a size-byte file with the chunk API; (file JSON, bytes)."""
    if data is None:
        data = os.urandom(relay_size(size))
    f = upload_file(stack, user, data, filename="relay.hsp2p")
    return f, data


def listed_file_ids(stack, user):
    """The ids in the user's GET /files/list (every page)."""
    ids, cursor = [], None
    for _ in range(100):
        params = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        b = assert_ok(stack.get(f"{API}/files/list", token=user.access, params=params))
        ids += [f["id"] for f in b["items"]]
        cursor = b.get("next_cursor")
        if not cursor:
            return ids
    raise AssertionError("GET /files/list did not end")


# -- events and commands ---------------------------------------------------------------
def transfer_events(stack, user, tid, prefix="transfer."):
    """[(type, data)] of the user's stream that concern transfer tid."""
    return [(t, d) for t, d in user_events(stack, user)
            if t.startswith(prefix) and (d.get("id") == tid or d.get("transfer_id") == tid)]


def event_types(stack, user, tid):
    return [t for t, _ in transfer_events(stack, user, tid)]


def run_cleanup(stack):
    """`hs-p2p cleanup` with the stack's config and HS_* overrides, as cron
    would run it; the completed process."""
    env = dict(stack.env, HS_CONFIG=os.path.join(stack.rundir, "hypersend.conf"),
               HS_RUN_DIR=stack.rundir)
    if env.get("HS_SANITIZE") == "1":
        env["ASAN_OPTIONS"] = f"log_path={stack.rundir}/logs/asan:detect_leaks=1:abort_on_error=0"
        env["UBSAN_OPTIONS"] = (f"log_path={stack.rundir}/logs/ubsan:print_stacktrace=1:"
                                "halt_on_error=1")
    return subprocess.run([str(BIN_DIR / "hs-p2p"), "cleanup"], env=env, capture_output=True,
                          text=True, timeout=60)
