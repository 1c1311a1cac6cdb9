#!/usr/bin/python3
"""Seeds a MongoDB-protocol database for bench/mongo_search.sh: N messages in
CHATS chats, their search words written directly in the shape search.c
writes (message_tokens {_id: "<m>:<word>", t, p, c, m}), one searcher who is a
member of MINE of the chats, and the indexes the backend creates.

  mongo_search_seed.py URI N CHATS MINE   (prints the searcher's id)

Words: each message has WORDS words drawn from a Zipf-like vocabulary of
VOCAB words ("w<rank>"), so w1 is in most messages and w9000 in few; the
message content is those words joined by spaces (the checking in C reads
it)."""
import random
import sys
import time

import pymongo
from bson.objectid import ObjectId

uri, n, nchats, mine = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
WORDS, VOCAB = 3, 10000
db = pymongo.MongoClient(uri).get_default_database()
rng = random.Random(42)
weights = [1.0 / (r + 1) for r in range(VOCAB)]
cum, s = [], 0.0
for w in weights:
    s += w
    cum.append(s)


def word():
    x = rng.random() * s
    lo, hi = 0, VOCAB - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return "w%d" % lo


searcher = str(ObjectId())
chats = [str(ObjectId()) for _ in range(nchats)]
db.users.insert_one({"_id": searcher, "username": "searcher", "display_name": "Searcher"})
db.chat_members.insert_many([{"_id": "%s:%s" % (c, searcher), "chat_id": c, "user_id": searcher,
                              "role": "member"} for c in chats[:mine]])
db.message_tokens.create_index([("t", 1), ("c", 1), ("m", -1)], name="word")
db.message_tokens.create_index([("m", 1)], name="message")
t0 = time.time()
msgs, toks = [], []
base = int(time.time()) - n  # ids in time order: one second apart
for i in range(n):
    mid = "%08x%016x" % (base + i, i)
    c = chats[rng.randrange(nchats)]
    words = [word() for _ in range(WORDS)]
    msgs.append({"_id": mid, "chat_id": c, "sender_id": searcher, "content": " ".join(words),
                 "created_at": (base + i) * 1000, "edited_at": 0, "deleted_at": 0})
    for w in set(words):
        toks.append({"_id": "%s:%s" % (mid, w), "t": w, "p": w[:2], "c": c, "m": mid})
    if len(msgs) == 5000 or i == n - 1:
        db.messages.insert_many(msgs, ordered=False)
        db.message_tokens.insert_many(toks, ordered=False)
        msgs, toks = [], []
print("seeded %d messages in %.0f s" % (n, time.time() - t0), file=sys.stderr)
print(searcher)
