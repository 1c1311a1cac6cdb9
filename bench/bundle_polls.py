#!/usr/bin/python3
"""How many polling clients the shared-hosting bundle serves under a process
limit, each message delivered within 2 s.

The bundle unpacked behind Debian's apache2 with mod_fcgid, as in
tests/integration/test_14_bundle.py, with FcgidMaxProcesses (and
FcgidMaxProcessesPerClass) set to PROCS, 20 by default: a host's process
limit. N clients each poll as the web client does (js/poll.js): GET
/api/v1/updates?since=..&timeout=25 in a loop over a keep-alive connection,
and, when an answer has retry_ms, wait that long before the next poll. After
a warm-up, one sender sends each client one message (in their direct chat),
spread over SPREAD_S seconds; a message's delay is from the start of its
POST to the answer of the client's poll that holds it.

Two settings in one run, each on a fresh host:
  long     updates_max_waiting = 0: every poll waits (long polls only)
  capped   the template's (conf/bundle/hypersend.conf): updates_max_waiting
           polls wait, the others short-poll every updates_short_poll_ms

  bench/bundle_polls.py [--procs 20] [--long N ...] [--capped N ...]
                        [--cap M] [--short-ms MS]     (make bundle first)

Prints one line per setting and N: clients with every message within 2 s,
the delays' median, 95th percentile and maximum, the most polls waiting at
once (the store's poll slots), short polls a second, and the slowest
request of another app (GET /users/<id>) meanwhile."""
import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from hsapi import API, assert_ok  # noqa: E402
from test_04_helpers import direct, register_many, send  # noqa: E402
from test_14_bundle import Host, version  # noqa: E402

UPDATES = f"{API}/updates"
WARMUP_S = 4    # every client polling, mod_fcgid's processes started
SPREAD_S = 10   # the messages are sent over this long
TAIL_S = 30     # a late message may come up to a poll timeout (25 s) late
TARGET_S = 2.0


class PollClient(threading.Thread):
    """One web client's poll loop on its own keep-alive connection: records
    when each message.created's content arrived, and its short polls."""

    def __init__(self, host, user, since):
        super().__init__(daemon=True)
        self.netloc = urllib.parse.urlsplit(host.base).netloc
        self.user, self.since = user, since
        self.arrived = {}
        self.short_polls = 0
        self.stop = False
        self.conn = None

    def poll(self):
        for attempt in range(2):  # a keep-alive connection the server closed: once more
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.netloc, timeout=90)
                self.conn.request("GET", f"{UPDATES}?since={self.since}&timeout=25",
                                  headers={"Authorization": f"Bearer {self.user.access}"})
                r = self.conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{r.status} {body[:200]!r}")
                return json.loads(body)
            except (http.client.HTTPException, OSError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def run(self):
        while not self.stop:
            try:
                r = self.poll()
            except Exception as e:  # noqa: BLE001 (counted as a miss below)
                print(f"  poll failed: {e}", file=sys.stderr)
                time.sleep(1)
                continue
            now = time.monotonic()
            for e in r["events"]:
                if e["type"] == "message.created":
                    self.arrived[e["data"]["message"]["content"]] = now
            self.since = r["next"]
            if r.get("retry_ms"):
                self.short_polls += 1
                time.sleep(r["retry_ms"] / 1000)


def waiting_polls(host):
    """Polls waiting in the app now: the users' poll slots held."""
    return int(host.db_query("SELECT count(*) FROM slots WHERE key LIKE 'hs:polls:%' "
                             "AND until > CAST(strftime('%s','now') AS INTEGER) * 1000"))


def one_round(host, sender, pollers, chats):
    clients = [PollClient(host, u, assert_ok(host.get(UPDATES, token=u.access))["next"])
               for u in pollers]
    for c in clients:
        c.start()
    time.sleep(WARMUP_S)
    shorts0, t_shorts0 = sum(c.short_polls for c in clients), time.monotonic()
    # Another app's requests and the waiting polls, sampled meanwhile.
    samples = {"other": [], "waiting": []}
    done = threading.Event()

    def sample():
        while not done.is_set():
            t0 = time.monotonic()
            host.get(f"{API}/users/{sender.id}", token=sender.access, timeout=90)
            samples["other"].append(time.monotonic() - t0)
            samples["waiting"].append(waiting_polls(host))
            done.wait(1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = {}
    start = time.monotonic()
    for i, c in enumerate(clients):
        time.sleep(max(0.0, start + SPREAD_S * i / len(clients) - time.monotonic()))
        content = f"m{i}"
        sent[content] = (c, time.monotonic())
        send(host, sender, chats[c.user.id], content)
    deadline = time.monotonic() + TAIL_S
    while time.monotonic() < deadline and any(m not in c.arrived for m, (c, _) in sent.items()):
        time.sleep(0.2)
    shorts = (sum(c.short_polls for c in clients) - shorts0) / (time.monotonic() - t_shorts0)
    done.set()
    sampler.join(100)
    # Stop: a last message ends every poll still waiting.
    for c in clients:
        c.stop = True
    for c in clients:
        if c.is_alive():
            send(host, sender, chats[c.user.id], "stop")
    for c in clients:
        c.join(60)
    delays = [c.arrived[m] - t if m in c.arrived else float("inf") for m, (c, t) in sent.items()]
    return {"ok": sum(d <= TARGET_S for d in delays), "delays": sorted(delays),
            "waiting": max(samples["waiting"], default=0), "shorts": shorts,
            "other": max(samples["other"], default=0.0)}


def run_setting(name, tarball, procs, rounds, overrides):
    host = Host(tarball, "fcgid", data_inside=False, fcgid_max=procs,
                overrides={"register_ip_burst": 100000, "invite_burst": 100000,
                           "chat_create_per_hour": 100000, "message_burst": 100000,
                           **overrides})
    try:
        host.start()
        users = register_many(host, max(rounds) + 1, prefix="bp")
        sender, pollers = users[0], users[1:]
        chats = {u.id: direct(host, sender, u)["id"] for u in pollers}
        for n in rounds:
            r = one_round(host, sender, pollers[:n], chats)
            d = r["delays"]
            q = lambda p: d[min(len(d) - 1, int(p * len(d)))]  # noqa: E731
            fmt = lambda s: f"{s:6.2f}" if s != float("inf") else "  lost"  # noqa: E731
            print(f"{name:7s} {n:5d}  {r['ok']:5d}/{n:<5d} {fmt(statistics.median(d))} "
                  f"{fmt(q(0.95))} {fmt(d[-1])}  {r['waiting']:7d}  {r['shorts']:7.1f}  "
                  f"{r['other']:6.2f} s", flush=True)
    finally:
        host.stop()


def template_value(key):
    for line in open(os.path.join(ROOT, "conf", "bundle", "hypersend.conf")):
        k, _, v = line.partition("=")
        if k.strip() == key:
            return v.strip()
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=20)
    ap.add_argument("--long", type=int, nargs="*", default=[15, 50])
    ap.add_argument("--capped", type=int, nargs="*", default=[50, 100, 200])
    ap.add_argument("--cap", type=int, default=None, help="default: the template's")
    ap.add_argument("--short-ms", type=int, default=None, help="default: the template's")
    a = ap.parse_args()
    cap = a.cap if a.cap is not None else int(template_value("updates_max_waiting") or 0)
    short_ms = a.short_ms or int(template_value("updates_short_poll_ms") or 1000)
    tarball = os.path.join(ROOT, "build", f"hypersend-{version()}-linux-x86_64.tar.gz")
    print(f"FcgidMaxProcesses {a.procs}; polls with timeout=25; long: updates_max_waiting 0; "
          f"capped: updates_max_waiting {cap}, updates_short_poll_ms {short_ms}")
    print("setting clients  within_2s    median    p95    max  waiting  short/s  other_app")
    if a.long:
        run_setting("long", tarball, a.procs, a.long, {"updates_max_waiting": 0})
    if a.capped:
        run_setting("capped", tarball, a.procs, a.capped,
                    {"updates_max_waiting": cap, "updates_short_poll_ms": short_ms})


if __name__ == "__main__":
    main()
