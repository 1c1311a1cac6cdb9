/* SQLite queries for share links. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

#define LINK_COLS                                                                                  \
    "id, file_id, password_hash, created_at, expires_at, revoked_at, max_downloads, downloads"

static void read_link(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_link_t *l = out;
    memset(l, 0, sizeof *l);
    hs__sq_id(l->id, s, 0);
    hs__sq_id(l->file_id, s, 1);
    l->password_hash = hs__sq_text(a, s, 2);
    l->created_at = sqlite3_column_int64(s, 3);
    l->expires_at = sqlite3_column_int64(s, 4);
    l->revoked_at = sqlite3_column_int64(s, 5);
    l->max_downloads = sqlite3_column_int64(s, 6);
    l->downloads = sqlite3_column_int64(s, 7);
}

static const char SQL_INSERT[] =
    "INSERT INTO share_links (id, token_hash, file_id, password_hash, created_at, expires_at,"
    " max_downloads) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

int hs__sq_link_create(hs_store_t *st, const hs_link_t *l, const char *token_hash, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_INSERT, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, l->id);
    hs__sq_bind_text(s, 2, token_hash);
    hs__sq_bind_text(s, 3, l->file_id);
    hs__sq_bind_text(s, 4, l->password_hash);
    sqlite3_bind_int64(s, 5, l->created_at);
    sqlite3_bind_int64(s, 6, l->expires_at);
    sqlite3_bind_int64(s, 7, l->max_downloads);
    return hs__sq_step_done(st, s, err);
}

static const char SQL_GET[] = "SELECT " LINK_COLS " FROM share_links WHERE token_hash = ?1";

int hs__sq_link_get(hs_store_t *st, const char *token_hash, hs_arena_t *a, hs_link_t *out,
                    hs_err_t *err)
{
    return hs__sq_get_one(st, SQL_GET, token_hash, read_link, a, out, "link_not_found", "link",
                          err);
}

/* One UPDATE with every condition in its WHERE: two racing downloads of a
 * one-download link cannot both see downloads < max_downloads. */
static const char SQL_TAKE[] =
    "UPDATE share_links SET downloads = downloads + 1 WHERE id = ?1 AND revoked_at = 0"
    " AND expires_at > ?2 AND (max_downloads = 0 OR downloads < max_downloads)";
static const char SQL_STATE[] =
    "SELECT revoked_at, expires_at > ?2, max_downloads = 0 OR downloads < max_downloads"
    " FROM share_links WHERE id = ?1";

int hs__sq_link_take(hs_store_t *st, const char *id, int64_t now, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_TAKE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    int rc =
        hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "link_not_found", "No such link", err);
    if (rc != HS_ENOTFOUND)
        return rc;
    /* Refused: say why. */
    if (!(s = hs__sq_prepare(st, SQL_STATE, err)))
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    int step = sqlite3_step(s);
    int64_t revoked = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 1;
    int live = step == SQLITE_ROW && sqlite3_column_int(s, 1);
    sqlite3_reset(s);
    if (revoked)
        return hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    if (!live)
        return hs_err_set(err, HS_EGONE, "link_expired", "This link has expired");
    return hs_err_set(err, HS_EGONE, "link_exhausted", "This link has no downloads left");
}

static const char SQL_LIST[] = "SELECT " LINK_COLS " FROM share_links"
                               " WHERE file_id = ?1 AND revoked_at = 0 ORDER BY id LIMIT 1000";

int hs__sq_link_list(hs_store_t *st, const char *file_id, hs_arena_t *a, hs_link_t **out, size_t *n,
                     hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_LIST, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, file_id);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = hs_arena_grow(a, *out, *n, &cap, sizeof **out);
        read_link(a, s, &(*out)[(*n)++]);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_REVOKE[] = "UPDATE share_links SET revoked_at = ?3"
                                 " WHERE id = ?1 AND file_id = ?2 AND revoked_at = 0";

int hs__sq_link_revoke(hs_store_t *st, const char *id, const char *file_id, int64_t now,
                       hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_REVOKE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    hs__sq_bind_text(s, 2, file_id);
    sqlite3_bind_int64(s, 3, now);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "link_not_found", "No such link",
                             err);
}
