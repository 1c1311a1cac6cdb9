#!/usr/bin/python3
"""Seeds users for bench/ws.sh straight into a Hypersend SQLite database and
mints their access tokens.

The stack made the schema and one group chat through the API; this adds
USERS users, each with one session (the bridge checks sessions the way the
apps do: hs_auth_verify looks at the Redis denylist, the store when Redis is
away), and makes the first MEMBERS of them members of the chat, in one
transaction while the stack runs (WAL; busy_timeout waits out the apps).

Tokens are what lib/core/token.c issues: HS256 over the stack's secret key (the
bytes of secret.key, trailing newline dropped, as lib/http/app.c reads it) with
the claims iss, sub (user id), sid (session id), jti, typ "access", iat and
exp. They go to --tokens, one per line in user order (the chat's members
first). Prints one JSON object. Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sqlite3
import sys
import time


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(key, issuer, sub, sid, now, ttl):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": issuer, "sub": sub, "sid": sid, "jti": b64url(os.urandom(16)),
              "typ": "access", "iat": now, "exp": now + ttl}
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing = (header + "." + body).encode()
    sig = b64url(hmac.new(key, signing, hashlib.sha256).digest())
    return header + "." + body + "." + sig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--key-file", required=True, help="the stack's secret.key")
    ap.add_argument("--issuer", default="hypersend")
    ap.add_argument("--ttl", type=int, default=3600, help="token lifetime in seconds")
    ap.add_argument("--chat", required=True, help="the group chat the members join")
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--tokens", required=True, help="output: one token per line")
    o = ap.parse_args()
    if o.members > o.users:
        sys.exit("ws_seed: --members exceeds --users")
    with open(o.key_file, "rb") as f:
        key = f.read().rstrip(b"\r\n ")
    if len(key) < 32:
        sys.exit("ws_seed: %s holds fewer than 32 bytes" % o.key_file)

    t0 = time.monotonic()
    now_ms = int(time.time() * 1000)
    now = now_ms // 1000
    counter = random.getrandbits(40) << 16
    def new_id():
        nonlocal counter
        counter += 1
        return "%08x%016x" % (now, counter)

    users = [(new_id(), new_id()) for _ in range(o.users)]  # (user id, session id)
    tag = "%x" % (counter >> 16 & 0xffffff)
    db = sqlite3.connect(o.db, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    if not db.execute("SELECT 1 FROM chats WHERE id = ?", (o.chat,)).fetchone():
        sys.exit("ws_seed: no chat %s in %s" % (o.chat, o.db))
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO users (id, username, email, password_hash, display_name, created_at, updated_at)"
        " VALUES (?, ?, ?, '!', ?, ?, ?)",
        (("%s" % u, "wsb%s_%d" % (tag, i), "wsb%s_%d@example.com" % (tag, i), "Bench %d" % i,
          now_ms, now_ms) for i, (u, _) in enumerate(users)))
    db.executemany(
        "INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at)"
        " VALUES (?, ?, 'bench/ws.sh', '127.0.0.1', ?, ?, ?)",
        ((s, u, now_ms, now_ms, now_ms + o.ttl * 1000) for u, s in users))
    db.executemany(
        "INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
        ((o.chat, u, now_ms) for u, _ in users[:o.members]))
    db.execute("UPDATE chats SET member_count = (SELECT count(*) FROM chat_members WHERE chat_id = ?1)"
               " WHERE id = ?1", (o.chat,))
    db.execute("COMMIT")
    members = db.execute("SELECT member_count FROM chats WHERE id = ?", (o.chat,)).fetchone()[0]
    db.close()
    with open(o.tokens, "w") as f:
        for u, s in users:
            f.write(token(key, o.issuer, u, s, now, o.ttl) + "\n")
    print(json.dumps({"users": o.users, "members_seeded": o.members, "chat_members": members,
                      "seconds": round(time.monotonic() - t0, 2)}))


if __name__ == "__main__":
    main()
