"""The seed's kind of stack, for bench/run.sh: GET /api/v1/auth/me in FastAPI,
doing the work hs-auth does for it, against the same SQLite file:

  - verify the HS256 access token (PyJWT) with the same key, issuer, "typ"
    and expiry checks;
  - the revocation state from SQLite: the session joined to its user, not
    revoked nor disabled (hs-auth's statement, revocation_cache = auto);
  - read the user's row and follow counts from SQLite (one statement, as
    hs-auth runs it);
  - answer the same JSON.

Run by bench/run.sh with uvicorn, 2 workers, no access log:
  HS_CONFIG=<run>/hypersend.conf uvicorn --app-dir bench fastapi_app:app --workers 2
It reads secret_key_file, jwt_issuer and the SQLite path out of that config
file. Not part of Hypersend; a benchmark baseline.
"""
import json
import os
import sqlite3
import time

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def _config(path):
    cfg = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            cfg[k.strip()] = v.strip()
    for k in list(cfg):
        env = os.environ.get("HS_" + k.upper())
        if env is not None:
            cfg[k] = env
    return cfg


CFG = _config(os.environ["HS_CONFIG"])
with open(CFG["secret_key_file"], "rb") as f:
    KEY = f.read().rstrip(b"\r\n ")
ISSUER = CFG.get("jwt_issuer", "hypersend")
DB_PATH = CFG.get("sqlite_path") or os.path.join(CFG["data_dir"], "hypersend.db")
_db = None


def db():
    """One read connection per worker process, opened on first use."""
    global _db
    if _db is None:
        _db = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, check_same_thread=False)
        _db.execute("PRAGMA busy_timeout = 5000")
    return _db


def iso(ms):
    if not ms:
        return None
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def fail(status, code, message):
    headers = {"WWW-Authenticate": 'Bearer realm="hypersend"'} if status == 401 else None
    return JSONResponse({"error": {"status": status, "code": code, "message": message,
                                   "hint": ""}}, status_code=status, headers=headers)


app = FastAPI()


@app.get("/api/v1/auth/me")
async def me(request: Request):
    h = request.headers.get("authorization", "")
    if not h.lower().startswith("bearer "):
        return fail(401, "missing_token", "This endpoint needs an access token")
    try:
        c = jwt.decode(h[7:].strip(), KEY, algorithms=["HS256"], issuer=ISSUER,
                       options={"require": ["exp", "sub", "sid", "jti"]})
    except jwt.ExpiredSignatureError:
        return fail(401, "token_expired", "The access token has expired")
    except jwt.PyJWTError:
        return fail(401, "invalid_token", "The access token is not valid")
    if c.get("typ") != "access":
        return fail(401, "invalid_token", "The access token is not valid")
    sub, sid = c["sub"], c["sid"]
    d = db()
    if d.execute("SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1"
                 " AND s.user_id = ?2 AND s.revoked_at = 0 AND u.disabled = 0",
                 (sid, sub)).fetchone() is None:
        return fail(401, "token_revoked", "This session has been revoked")
    row = d.execute("SELECT u.id, u.username, u.email, u.password_hash, u.display_name, u.bio, "
                    "u.avatar_file_id, u.settings, u.role, u.disabled, u.created_at, "
                    "u.updated_at, (SELECT count(*) FROM follows WHERE followee_id = u.id),"
                    " (SELECT count(*) FROM follows WHERE follower_id = u.id)"
                    " FROM users u WHERE u.id = ?", (sub,)).fetchone()
    if row is None:
        return fail(401, "token_revoked", "This session has been revoked")
    followers, following = row[12], row[13]
    return JSONResponse({
        "id": row[0], "username": row[1], "display_name": row[4] or "",
        "avatar_file_id": row[6], "bio": row[5] or "", "role": row[8] or "user",
        "disabled": bool(row[9]), "created_at": iso(row[10]), "email": row[2],
        "settings": json.loads(row[7] or "{}"), "updated_at": iso(row[11]),
        "followers_count": followers, "following_count": following, "is_following": False,
    }, headers={"Cache-Control": "no-store"})
