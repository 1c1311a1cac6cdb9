/* SQLite queries for sessions and their rotating refresh tokens. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

#define SESSION_COLS "id, user_id, user_agent, ip, created_at, last_used_at, expires_at, revoked_at"

static void read_session(hs_arena_t *a, sqlite3_stmt *s, void *dst)
{
    hs_session_t *out = dst;
    memset(out, 0, sizeof *out);
    hs__sq_id(out->id, s, 0);
    hs__sq_id(out->user_id, s, 1);
    out->user_agent = hs__sq_text(a, s, 2);
    out->ip = hs__sq_text(a, s, 3);
    out->created_at = sqlite3_column_int64(s, 4);
    out->last_used_at = sqlite3_column_int64(s, 5);
    out->expires_at = sqlite3_column_int64(s, 6);
    out->revoked_at = sqlite3_column_int64(s, 7);
}

static const char SQL_CREATE[] =
    "INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)";
static const char SQL_TOKEN[] =
    "INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (?1, ?2, ?3)";

static int insert_token(hs_store_t *st, const char *hash, const char *sid, int64_t expires,
                        hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_TOKEN, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, hash);
    hs__sq_bind_text(s, 2, sid);
    sqlite3_bind_int64(s, 3, expires);
    return hs__sq_step_done(st, s, err);
}

int hs__sq_session_create(hs_store_t *st, const hs_session_t *ses, const char *refresh_hash,
                          int64_t refresh_expires, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_CREATE, err);
    if (!s) {
        hs__sq_rollback(st);
        return HS_EINTERNAL;
    }
    hs__sq_bind_text(s, 1, ses->id);
    hs__sq_bind_text(s, 2, ses->user_id);
    hs__sq_bind_text(s, 3, ses->user_agent ? ses->user_agent : "");
    hs__sq_bind_text(s, 4, ses->ip ? ses->ip : "");
    sqlite3_bind_int64(s, 5, ses->created_at);
    sqlite3_bind_int64(s, 6, ses->expires_at);
    if ((rc = hs__sq_step_done(st, s, err)) ||
        (rc = insert_token(st, refresh_hash, ses->id, refresh_expires, err)) ||
        (rc = hs__sq_commit(st, err))) {
        hs__sq_rollback(st);
        return rc;
    }
    return 0;
}

static const char SQL_GET[] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1";

int hs__sq_session_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_session_t *out,
                       hs_err_t *err)
{
    return hs__sq_get_one(st, SQL_GET, id, read_session, a, out, "session_not_found", "session",
                          err);
}

static const char SQL_ACTIVE[] = "SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id"
                                 " WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at = 0"
                                 " AND u.disabled = 0";

int hs__sq_session_active(hs_store_t *st, const char *id, const char *user_id, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_ACTIVE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    hs__sq_bind_text(s, 2, user_id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, "session_not_found", "No such active session");
    return hs__sq_fail(st, rc, err);
}

/* Most recently used first; the cursor is "<last_used_at>.<id>" of the last
 * row, and the next page starts strictly after it. */
static const char SQL_LIST[] =
    "SELECT " SESSION_COLS ", printf('%d.%s', last_used_at, id) FROM sessions"
    " WHERE user_id = ?1 AND revoked_at = 0 AND expires_at > ?2"
    " AND (?3 IS NULL OR (last_used_at, id) < (?3, ?4))"
    " ORDER BY last_used_at DESC, id DESC LIMIT ?5";

/* Splits a cursor into its time and id; -1 when it is not one. */
static int parse_cursor(const char *c, int64_t *ts, char id[HS_ID_LEN + 1])
{
    int64_t v = 0;
    int digits = 0;
    for (; *c >= '0' && *c <= '9' && digits < 18; c++, digits++)
        v = v * 10 + (*c - '0');
    if (!digits || *c != '.' || !hs_id_valid(c + 1))
        return -1;
    *ts = v;
    memcpy(id, c + 1, HS_ID_LEN + 1);
    return 0;
}

int hs__sq_session_list(hs_store_t *st, const char *user_id, const char *cursor, int limit,
                        hs_arena_t *a, hs_session_page_t *out, hs_err_t *err)
{
    int64_t ts = 0;
    char after[HS_ID_LEN + 1];
    memset(out, 0, sizeof *out);
    if (cursor && parse_cursor(cursor, &ts, after))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "This cursor is not valid");
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_LIST, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, user_id);
    sqlite3_bind_int64(s, 2, hs_now_ms());
    if (cursor) {
        sqlite3_bind_int64(s, 3, ts);
        hs__sq_bind_text(s, 4, after);
    } else {
        sqlite3_bind_null(s, 3);
        sqlite3_bind_null(s, 4);
    }
    sqlite3_bind_int(s, 5, limit + 1);
    return hs__sq_page(st, s, limit, sizeof *out->items, read_session, 8, a, (void **)&out->items,
                       &out->n, &out->next_cursor, NULL, err);
}

/* Sessions revoked at or after since, for warming a cold revocation cache. */
static const char SQL_REVOKED_SINCE[] = "SELECT " SESSION_COLS " FROM sessions"
                                        " WHERE revoked_at >= ?1";

int hs__sq_session_revoked_since(hs_store_t *st, int64_t since, hs_arena_t *a, hs_session_t **out,
                                 size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_REVOKED_SINCE, err);
    if (!s)
        return HS_EINTERNAL;
    sqlite3_bind_int64(s, 1, since);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = hs_arena_grow(a, *out, *n, &cap, sizeof **out);
        read_session(a, s, &(*out)[(*n)++]);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_REVOKE[] = "UPDATE sessions SET revoked_at = ?3"
                                 " WHERE id = ?1 AND user_id = ?2 AND revoked_at = 0";

int hs__sq_session_revoke(hs_store_t *st, const char *id, const char *user_id, int64_t now,
                          hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_REVOKE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    hs__sq_bind_text(s, 2, user_id);
    sqlite3_bind_int64(s, 3, now);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "session_not_found",
                             "No such session", err);
}

static const char SQL_REVOKE_OTHERS[] =
    "UPDATE sessions SET revoked_at = ?3"
    " WHERE user_id = ?1 AND id != ?2 AND revoked_at = 0 RETURNING id";

int hs__sq_session_revoke_others(hs_store_t *st, const char *user_id, const char *keep_id,
                                 int64_t now, hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_REVOKE_OTHERS, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, user_id);
    hs__sq_bind_text(s, 2, keep_id ? keep_id : "");
    sqlite3_bind_int64(s, 3, now);
    return hs__sq_collect_ids(st, s, a, ids, n, err);
}

static const char SQL_FIND_TOKEN[] =
    "SELECT r.session_id, r.expires_at, r.used_at, s.revoked_at FROM refresh_tokens r"
    " JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?1";
static const char SQL_USE_TOKEN[] = "UPDATE refresh_tokens SET used_at = ?2 WHERE hash = ?1";
static const char SQL_REVOKE_ID[] =
    "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0";
static const char SQL_TOUCH[] = "UPDATE sessions SET last_used_at = ?2, expires_at = ?3,"
                                " user_agent = ?4, ip = ?5 WHERE id = ?1";

/* The whole exchange runs in one IMMEDIATE transaction: two requests racing
 * with the same token serialize, and the second is seen as a reuse. */
int hs__sq_refresh_rotate(hs_store_t *st, const char *old_hash, const char *new_hash,
                          int64_t new_expires, int64_t now, const char *user_agent, const char *ip,
                          hs_arena_t *a, hs_session_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_FIND_TOKEN, err);
    if (!s)
        goto fail;
    hs__sq_bind_text(s, 1, old_hash);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        hs__sq_rollback(st);
        if (rc != SQLITE_DONE)
            return hs__sq_fail(st, rc, err);
        return hs_err_set(err, HS_EAUTH, "invalid_refresh_token",
                          "This refresh token is not valid");
    }
    hs__sq_id(out->id, s, 0);
    int64_t expires = sqlite3_column_int64(s, 1), used = sqlite3_column_int64(s, 2),
            revoked = sqlite3_column_int64(s, 3);
    sqlite3_reset(s);

    if (used) {
        s = hs__sq_prepare(st, SQL_REVOKE_ID, err);
        if (!s)
            goto fail;
        hs__sq_bind_text(s, 1, out->id);
        sqlite3_bind_int64(s, 2, now);
        if ((rc = hs__sq_step_done(st, s, err)) || (rc = hs__sq_commit(st, err)))
            goto fail;
        return hs_err_set(err, HS_EAUTH, "refresh_token_reused",
                          "This refresh token was already used; the session has been revoked");
    }
    if (revoked) {
        hs__sq_rollback(st);
        return hs_err_set(err, HS_EAUTH, "session_revoked", "This session has been revoked");
    }
    if (expires <= now) {
        hs__sq_rollback(st);
        return hs_err_set(err, HS_EAUTH, "refresh_token_expired", "This refresh token has expired");
    }
    s = hs__sq_prepare(st, SQL_USE_TOKEN, err);
    if (!s)
        goto fail;
    hs__sq_bind_text(s, 1, old_hash);
    sqlite3_bind_int64(s, 2, now);
    if ((rc = hs__sq_step_done(st, s, err)) ||
        (rc = insert_token(st, new_hash, out->id, new_expires, err)))
        goto fail;
    s = hs__sq_prepare(st, SQL_TOUCH, err);
    if (!s)
        goto fail;
    hs__sq_bind_text(s, 1, out->id);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, new_expires);
    hs__sq_bind_text(s, 4, user_agent ? user_agent : "");
    hs__sq_bind_text(s, 5, ip ? ip : "");
    if ((rc = hs__sq_step_done(st, s, err)) || (rc = hs__sq_commit(st, err)))
        goto fail;
    char sid[HS_ID_LEN + 1];
    memcpy(sid, out->id, sizeof sid);
    return hs__sq_session_get(st, sid, a, out, err);
fail:
    hs__sq_rollback(st);
    return err && err->rc ? err->rc : HS_EINTERNAL;
}
