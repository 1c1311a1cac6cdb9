/* SQLite queries for the follow graph. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

static const char SQL_FOLLOW[] =
    "INSERT INTO follows (id, follower_id, followee_id, created_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (follower_id, followee_id) DO NOTHING";
static const char SQL_UNFOLLOW[] =
    "DELETE FROM follows WHERE follower_id = ?1 AND followee_id = ?2";

int hs__sq_follow_set(hs_store_t *st, const char *follower, const char *followee, int on,
                      int64_t now, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, on ? SQL_FOLLOW : SQL_UNFOLLOW, err);
    if (!s)
        return HS_EINTERNAL;
    if (on) {
        char id[HS_ID_LEN + 1];
        hs_id_new(id);
        hs__sq_bind_text(s, 1, id);
        hs__sq_bind_text(s, 2, follower);
        hs__sq_bind_text(s, 3, followee);
        sqlite3_bind_int64(s, 4, now);
    } else {
        hs__sq_bind_text(s, 1, follower);
        hs__sq_bind_text(s, 2, followee);
    }
    return hs__sq_step_done(st, s, err);
}

static const char SQL_STATE[] =
    "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = ?1 AND followee_id = ?2)";

int hs__sq_follow_state(hs_store_t *st, const char *follower, const char *followee, int *on,
                        hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_STATE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, follower);
    hs__sq_bind_text(s, 2, followee);
    int rc = sqlite3_step(s);
    *on = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_COUNTS[] = "SELECT (SELECT count(*) FROM follows WHERE followee_id = ?1),"
                                 " (SELECT count(*) FROM follows WHERE follower_id = ?1)";

int hs__sq_follow_counts(hs_store_t *st, const char *id, long *followers, long *following,
                         hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_COUNTS, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *followers = (long)sqlite3_column_int64(s, 0);
        *following = (long)sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

/* A profile's row and counts in one statement: one read transaction (a
 * WAL read lock taken and dropped once) instead of two. */
static const char SQL_USER_COUNTS[] =
    "SELECT " HS__SQ_USER_COLS ", (SELECT count(*) FROM follows WHERE followee_id = u.id),"
    " (SELECT count(*) FROM follows WHERE follower_id = u.id) FROM users u WHERE u.id = ?1";

int hs__sq_user_with_counts(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out,
                            long *followers, long *following, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_USER_COUNTS, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        hs__sq_read_user(a, s, out);
        *followers = (long)sqlite3_column_int64(s, 12);
        *following = (long)sqlite3_column_int64(s, 13);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, "user_not_found", "No such user");
    return hs__sq_fail(st, rc, err);
}

/* Column 12 (the follow's own id) is the cursor; ids grow with time. */
static const char SQL_FOLLOWERS[] =
    "SELECT " HS__SQ_USER_COLS ", f.id FROM follows f JOIN users u ON u.id = f.follower_id"
    " WHERE f.followee_id = ?1 AND f.id < ?2 ORDER BY f.id DESC LIMIT ?3";
static const char SQL_FOLLOWING[] =
    "SELECT " HS__SQ_USER_COLS ", f.id FROM follows f JOIN users u ON u.id = f.followee_id"
    " WHERE f.follower_id = ?1 AND f.id < ?2 ORDER BY f.id DESC LIMIT ?3";

int hs__sq_follow_page(hs_store_t *st, const char *id, int followers, const char *before, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err)
{
    /* "g" sorts after every hex id, so no cursor means "from the newest". */
    sqlite3_stmt *s = hs__sq_page_query(st, followers ? SQL_FOLLOWERS : SQL_FOLLOWING, id, before,
                                        "g", limit, err);
    if (!s)
        return HS_EINTERNAL;
    return hs__sq_page(st, s, limit, sizeof *out->items, hs__sq_read_user, 12, a,
                       (void **)&out->items, &out->n, &out->next_cursor, NULL, err);
}
