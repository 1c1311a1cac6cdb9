#!/usr/bin/python3
"""Long-poll capacity of the shared-hosting bundle under a process limit.

The bundle unpacked behind Debian's apache2 with mod_fcgid, as in
tests/integration/test_14_bundle.py, with FcgidMaxProcesses (and
FcgidMaxProcessesPerClass) set to PROCS, 20 by default: a host's process
limit. For each N of the rounds, N users each send one long poll
(GET /api/v1/updates?timeout=25, as the web client); once every poll waits
in the app (or after 12 s, well within the polls' 25 s), a request of
another app is timed, then one message is sent to one of the N (in their
direct chat with the sender): to one whose poll mod_fcgid still holds in its
queue (no process free) when there is one. Its delivery delay is the time
from the send to its poll's answer holding the message.

  bench/bundle_polls.py [PROCS] [N ...]     (make bundle first)

Prints one line per N: the most polls waiting in the app at once, the
other app's status and latency, the one user's delivery delay."""
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from hsapi import API, assert_ok  # noqa: E402
from test_04_helpers import direct, register_many, send  # noqa: E402
from test_14_bundle import Host, version  # noqa: E402

UPDATES = f"{API}/updates"
SETTLE_S = 12


def one_round(host, sender, pollers, direct_chats):
    since = {u.id: assert_ok(host.get(UPDATES, token=u.access))["next"] for u in pollers}
    got = {}

    def poll(u):
        try:
            r = host.get(UPDATES, token=u.access, params={"since": since[u.id], "timeout": 25},
                         timeout=90)
            ok = r.status_code == 200 and any(
                e["type"] == "message.created" for e in r.json()["events"])
        except Exception:
            ok = False
        got[u.id] = (time.monotonic(), ok)

    threads = [threading.Thread(target=poll, args=(u,)) for u in pollers]
    for t in threads:
        t.start()
    # Until every poll waits, or SETTLE_S (mod_fcgid starts processes at
    # about one a second past its first ten): polls beyond what the
    # processes hold are queued by mod_fcgid meanwhile.
    deadline = time.monotonic() + SETTLE_S
    waiting = 0
    while time.monotonic() < deadline and waiting < len(pollers):
        waiting = max(waiting, int(host.db_query(
            "SELECT count(*) FROM slots WHERE key LIKE 'hs:polls:%'")))
        time.sleep(0.2)
    # A request of another app while the polls hold the processes (hs-users
    # has no process yet: mod_fcgid must start one).
    t0 = time.monotonic()
    other = host.get(f"{API}/users/{sender.id}", token=sender.access, timeout=90).status_code
    other_s = time.monotonic() - t0
    # One user's message: to a poller whose poll waits in mod_fcgid's queue
    # (no slot in the store) when there is one, else to the last one. Only
    # that poll ends on it.
    held = set(host.db_query("SELECT group_concat(key) FROM slots WHERE key LIKE "
                             "'hs:polls:%'").replace("hs:polls:", "").split(","))
    target = next((u for u in pollers if u.id not in held), pollers[-1])
    t0 = time.monotonic()
    send(host, sender, direct_chats[target.id], "to you")
    t_one = target.id
    for t in threads:
        t.join(120)
    one_s = got[t_one][0] - t0 if got[t_one][1] else float("inf")
    queued = target.id not in held
    return waiting, other, other_s, one_s, queued


def main():
    procs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = [int(x) for x in sys.argv[2:]] or [5, 10, 15, 17, 18, 20, 25]
    tarball = os.path.join(ROOT, "build", f"hypersend-{version()}-linux-x86_64.tar.gz")
    host = Host(tarball, "fcgid", data_inside=False, fcgid_max=procs,
                overrides={"register_ip_burst": 100000, "invite_burst": 100000,
                           "chat_create_per_hour": 100000, "message_burst": 100000})
    try:
        host.start()
        users = register_many(host, max(rounds) + 1, prefix="bp")
        sender, pollers = users[0], users[1:]
        chats = {u.id: direct(host, sender, u)["id"] for u in pollers}
        print(f"FcgidMaxProcesses {procs}; polls with timeout=25")
        print("polls  waiting  other_app  one_user_delivery")
        for n in rounds:
            waiting, other, other_s, one_s, queued = one_round(host, sender, pollers[:n], chats)
            print(f"{n:5d}  {waiting:7d}  {other} {other_s:5.2f} s  {one_s:6.2f} s"
                  f"{' (its poll was queued)' if queued else ''}", flush=True)
    finally:
        host.stop()


if __name__ == "__main__":
    main()
