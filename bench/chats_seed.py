#!/usr/bin/python3
"""Seeds messages straight into a Hypersend SQLite database, for bench/chats.sh.

The stack made the schema, the users and the chats through the API; this
adds SMALL messages to one chat and LARGE to another in one transaction
(the apps may keep running: WAL lets them read meanwhile, busy_timeout
waits out their writes). The messages_fts triggers index every row.

Ids are ObjectId-like: 8 hex digits of the Unix second, then 16 hex digits
of a counter, so they sort by time as the app's own ids do. The messages
span the year before the run and alternate between the given senders at
random; their text is 2-14 words drawn from a Zipf law over ~5,000
pseudo-words (no word a prefix of another, so a prefix search for a word
finds that word alone), which gives words from a few dozen hits to over half
the messages.

Prints one JSON object: the seeding time, per chat its newest id and an old
id (1% of the way from the oldest) for deep history pages, and a rare and a
common word with their exact hit counts from the search index.
Standard library only.
"""
import argparse
import itertools
import json
import os
import random
import sqlite3
import sys
import time

ONSETS = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
          "br", "dr", "gr", "kr", "pl", "st", "tr", "sh", "ch"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
CODAS = ["", "", "", "n", "r", "s", "l"]


def vocabulary(rng, size):
    """size distinct pseudo-words, none a prefix of another, in random order."""
    words = set()
    while len(words) < size * 1.3:
        n = rng.choice((1, 2, 2, 3, 3, 4))
        words.add("".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(n)) +
                  rng.choice(CODAS))
    # Sorted, a word is followed by the words it is a prefix of: drop it.
    s = sorted(words)
    free = [w for w, nxt in zip(s, s[1:] + [""]) if not nxt.startswith(w)]
    if len(free) < size:
        sys.exit("chats_seed: vocabulary too small")
    rng.shuffle(free)
    return free[:size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--small-chat", required=True)
    ap.add_argument("--large-chat", required=True)
    ap.add_argument("--senders", required=True, help="comma-separated user ids (chat members)")
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--vocab", type=int, default=5000)
    ap.add_argument("--rare-hits", type=int, default=100, help="aim of the rare word's hits")
    ap.add_argument("--common-hits", type=int, default=50_000, help="aim of the common word's hits")
    ap.add_argument("--seed", type=int, default=1)
    o = ap.parse_args()
    senders = o.senders.split(",")
    rng = random.Random(o.seed)
    t_start = time.monotonic()

    vocab = vocabulary(rng, o.vocab)
    weights = [1.0 / (r + 1) for r in range(len(vocab))]  # Zipf, s = 1
    cum = list(itertools.accumulate(weights))
    total_w = cum[-1]
    lengths = (2, 14)
    avg_len = (lengths[0] + lengths[1]) / 2

    # Timestamps: both chats spread over the year before now, merged in time
    # order so that one global counter keeps ids increasing with time.
    end = int(time.time()) - 120
    start = end - 365 * 86400
    def stamps(n, chat):
        step = (end - start) / n
        return [(start + int(i * step), chat) for i in range(n)]
    timeline = sorted(stamps(o.small, o.small_chat) + stamps(o.large, o.large_chat),
                      key=lambda t: t[0])
    total = len(timeline)
    counter0 = rng.getrandbits(40) << 16

    def rows():
        choices, chunk = rng.choices, 65536
        words, wi = [], 0
        for i, (sec, chat) in enumerate(timeline):
            n = rng.randint(*lengths)
            if wi + n > len(words):
                words, wi = choices(vocab, cum_weights=cum, k=chunk), 0
            text = " ".join(words[wi:wi + n])
            wi += n
            r = rng.random()
            text = text[0].upper() + text[1:] + ("?" if r < 0.15 else "!" if r < 0.22 else
                                                 "." if r < 0.6 else "")
            mid = "%08x%016x" % (sec, counter0 + i)
            yield (mid, chat, senders[rng.randrange(len(senders))], text,
                   sec * 1000 + rng.randrange(1000))

    db = sqlite3.connect(o.db, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")  # 256 MiB: fewer spills mid-transaction
    for c in (o.small_chat, o.large_chat):
        if not db.execute("SELECT 1 FROM chats WHERE id = ?", (c,)).fetchone():
            sys.exit("chats_seed: no chat %s in %s" % (c, o.db))
    t0 = time.monotonic()
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO messages (id, chat_id, sender_id, content, created_at)"
                   " VALUES (?, ?, ?, ?, ?)", rows())
    for c in (o.small_chat, o.large_chat):
        db.execute("UPDATE chats SET (last_message_id, last_activity_at) ="
                   " (SELECT id, created_at FROM messages WHERE chat_id = ?1"
                   "  ORDER BY id DESC LIMIT 1) WHERE id = ?1", (c,))
    db.execute("COMMIT")
    t_insert = time.monotonic() - t0
    t0 = time.monotonic()
    ck = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    t_checkpoint = time.monotonic() - t0

    out = {"messages": total, "insert_s": round(t_insert, 2),
           "checkpoint_s": round(t_checkpoint, 2), "checkpoint_busy": ck[0],
           "rows_per_s": round(total / t_insert) if t_insert else 0, "chats": {}}
    for name, c, n in (("small", o.small_chat, o.small), ("large", o.large_chat, o.large)):
        count = db.execute("SELECT count(*) FROM messages WHERE chat_id = ?", (c,)).fetchone()[0]
        old = db.execute("SELECT id FROM messages WHERE chat_id = ? ORDER BY id LIMIT 1 OFFSET ?",
                         (c, max(n // 100, 60))).fetchone()
        new = db.execute("SELECT id FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT 1",
                         (c,)).fetchone()
        out["chats"][name] = {"id": c, "count": count, "old_id": old and old[0],
                              "newest_id": new and new[0]}

    # Pick the words whose expected hits come closest to the aims, then count
    # their real hits with the search index itself (prefix query, as the app).
    def expected(rank):
        p = weights[rank] / total_w
        return total * (1 - (1 - p) ** avg_len)
    def pick(aim):
        return min(range(len(vocab)), key=lambda r: abs(expected(r) - aim))
    for kind, aim in (("rare", o.rare_hits), ("common", o.common_hits)):
        w = vocab[pick(aim)]
        hits = db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
                          ('"%s"*' % w,)).fetchone()[0]
        if not hits:
            sys.exit("chats_seed: the %s word '%s' has no hits" % (kind, w))
        out[kind] = {"word": w, "hits": hits}
    db.close()
    out["total_s"] = round(time.monotonic() - t_start, 2)
    out["db_mib"] = round(sum(os.path.getsize(o.db + s) for s in ("", "-wal", "-shm")
                              if os.path.exists(o.db + s)) / 1048576, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
