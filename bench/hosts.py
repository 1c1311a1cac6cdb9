#!/usr/bin/python3
"""Message sends through two hosts against one (issue 15), on this machine:
the three hosts of tests/integration/hosts.py (network namespaces; host C
with Redis and PostgreSQL + FerretDB, hosts A and B with lighttpd, the apps
and a bridge on store = mongo). Two senders post into two group chats with
wrk (bench/chats_send.lua), BENCH_CONNECTIONS connections each, for
BENCH_SECONDS:
  one host    both wrk processes against host A
  two hosts   one against A, one against B
The rounds alternate (one, two, one, two, ...) BENCH_ROUNDS times each; the
figures are the medians of the summed requests/s and two/one is their ratio.
Every host here shares the same two CPUs, so the ratio shows what a second
host costs or saves in the protocol path, not what a second machine adds.

Run as root from the repository root after `make` (make bench runs it);
prints "skipped: ..." and exits 0 where network namespaces are not allowed.
Environment: BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_CONNECTIONS (8),
HS_BIN_DIR (build/bin)."""
import os
import re
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("HS_BIN_DIR", os.path.join(TOP, "build", "bin"))

from hosts import Hosts, netns_allowed  # noqa: E402
from hsapi import API, assert_ok  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "8"))


def wrk(base, token, chat):
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_CHAT=chat)
    return subprocess.Popen(["wrk", f"-t{min(2, CONNS)}", f"-c{CONNS}", f"-d{SECONDS}s",
                             "-s", os.path.join(TOP, "bench", "chats_send.lua"),
                             f"{base}{API}/messages"],
                            env=env, stdout=subprocess.PIPE, text=True)


def rate(out):
    """Requests/s of one wrk report; every answer must have been a 201."""
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"bench hosts: {bad.group(1)} sends failed:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    why = netns_allowed()
    if why:
        print(f"bench hosts: skipped: several hosts need network namespaces: {why}")
        return
    h = Hosts(HS_MESSAGE_BURST=100000, HS_MESSAGE_RATE=1000)
    try:
        h.start()
        a, b = h.stacks["a"], h.stacks["b"]
        senders = [a.register(prefix="bs"), a.register(prefix="bs")]
        chats = [assert_ok(a.post(f"{API}/chats", token=u.access,
                                  json={"kind": "group", "name": "bench", "members": []}), 201)["id"]
                 for u in senders]
        figures = {"one": [], "two": []}
        for r in range(ROUNDS * 2):
            kind = "one" if r % 2 == 0 else "two"
            targets = [a, a] if kind == "one" else [a, b]
            procs = [wrk(t.base, u.access, c) for t, u, c in zip(targets, senders, chats)]
            figures[kind].append(sum(rate(p.communicate()[0]) for p in procs))
            time.sleep(1)
        one, two = (statistics.median(figures[k]) for k in ("one", "two"))
        print(f"bench hosts load_before=\"{' '.join(open('/proc/loadavg').read().split()[:3])}\" "
              f"rounds={ROUNDS} seconds={SECONDS} connections={2 * CONNS}")
        print(f"bench hosts send one_host={one:.0f} two_hosts={two:.0f} ratio={two / one:.2f} "
              f"(rounds: one {[round(x) for x in figures['one']]}, "
              f"two {[round(x) for x in figures['two']]})")
    finally:
        h.stop()


if __name__ == "__main__":
    main()
