/* SQLite queries for users. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

void hs__sq_read_user(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_user_t *u = out;
    memset(u, 0, sizeof *u);
    hs__sq_id(u->id, s, 0);
    u->username = hs__sq_text(a, s, 1);
    u->email = hs__sq_text(a, s, 2);
    u->password_hash = hs__sq_text(a, s, 3);
    u->display_name = hs__sq_text(a, s, 4);
    u->bio = hs__sq_text(a, s, 5);
    u->avatar_file_id = hs__sq_text(a, s, 6);
    u->settings = hs__sq_text(a, s, 7);
    u->role = hs__sq_text(a, s, 8);
    u->disabled = sqlite3_column_int(s, 9);
    u->created_at = sqlite3_column_int64(s, 10);
    u->updated_at = sqlite3_column_int64(s, 11);
}

/* A page of users from s; column cursor_col of the last row is the cursor. */
static int user_page(hs_store_t *st, sqlite3_stmt *s, int limit, int cursor_col, hs_arena_t *a,
                     hs_user_page_t *out, hs_err_t *err)
{
    return hs__sq_page(st, s, limit, sizeof *out->items, hs__sq_read_user, cursor_col, a,
                       (void **)&out->items, &out->n, &out->next_cursor, NULL, err);
}

static const char SQL_CREATE[] =
    "INSERT INTO users (id, username, email, password_hash, display_name, bio, settings, role,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, '', '{}', ?7, ?6, ?6)"
    " RETURNING role";

int hs__sq_user_create(hs_store_t *st, hs_user_t *u, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_CREATE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, u->id);
    hs__sq_bind_text(s, 2, u->username);
    hs__sq_bind_text(s, 3, u->email);
    hs__sq_bind_text(s, 4, u->password_hash);
    hs__sq_bind_text(s, 5, u->display_name ? u->display_name : "");
    sqlite3_bind_int64(s, 6, u->created_at);
    hs__sq_bind_text(s, 7, u->role && strcmp(u->role, "admin") == 0 ? "admin" : "user");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        u->role = strcmp((const char *)sqlite3_column_text(s, 0), "admin") == 0 ? "admin" : "user";
        sqlite3_reset(s);
        return 0;
    }
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT) {
        hs__sq_t *q = st->impl;
        const char *msg = sqlite3_errmsg(q->db);
        if (strstr(msg, "users.email"))
            return hs_err_set(err, HS_ECONFLICT, "email_taken", "This email is already registered");
        return hs_err_set(err, HS_ECONFLICT, "username_taken", "This username is already taken");
    }
    return hs__sq_fail(st, rc, err);
}

static int get_one(hs_store_t *st, const char *sql, const char *key, hs_arena_t *a, hs_user_t *out,
                   hs_err_t *err)
{
    return hs__sq_get_one(st, sql, key, hs__sq_read_user, a, out, "user_not_found", "user", err);
}

static const char SQL_GET[] = "SELECT " HS__SQ_USER_COLS " FROM users u WHERE u.id = ?1";

int hs__sq_user_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out, hs_err_t *err)
{
    return get_one(st, SQL_GET, id, a, out, err);
}

static const char SQL_LOGIN[] =
    "SELECT " HS__SQ_USER_COLS " FROM users u WHERE u.username = ?1 OR u.email = ?1";

int hs__sq_user_find_login(hs_store_t *st, const char *login, hs_arena_t *a, hs_user_t *out,
                           hs_err_t *err)
{
    return get_one(st, SQL_LOGIN, login, a, out, err);
}

/* Runs an UPDATE bound by the caller and maps "no row" to user_not_found. */
static int update_one(hs_store_t *st, sqlite3_stmt *s, hs_err_t *err)
{
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "user_not_found", "No such user",
                             err);
}

static const char SQL_PROFILE[] = "UPDATE users SET display_name = ?2, bio = ?3,"
                                  " avatar_file_id = ?4, settings = ?5, updated_at = ?6"
                                  " WHERE id = ?1";

int hs__sq_user_update_profile(hs_store_t *st, const hs_user_t *u, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_PROFILE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, u->id);
    hs__sq_bind_text(s, 2, u->display_name ? u->display_name : "");
    hs__sq_bind_text(s, 3, u->bio ? u->bio : "");
    hs__sq_bind_text(s, 4, u->avatar_file_id);
    hs__sq_bind_text(s, 5, u->settings ? u->settings : "{}");
    sqlite3_bind_int64(s, 6, u->updated_at);
    return update_one(st, s, err);
}

static const char SQL_PASSWORD[] =
    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1";

int hs__sq_user_set_password(hs_store_t *st, const char *id, const char *hash, int64_t now,
                             hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_PASSWORD, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    hs__sq_bind_text(s, 2, hash);
    sqlite3_bind_int64(s, 3, now);
    return update_one(st, s, err);
}

static const char SQL_DISABLED[] = "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE id = ?1";

int hs__sq_user_set_disabled(hs_store_t *st, const char *id, int disabled, int64_t now,
                             hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_DISABLED, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    sqlite3_bind_int(s, 2, disabled ? 1 : 0);
    sqlite3_bind_int64(s, 3, now);
    return update_one(st, s, err);
}

static const char SQL_ROLE[] = "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1";

int hs__sq_user_set_role(hs_store_t *st, const char *id, const char *role, int64_t now,
                         hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_ROLE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    hs__sq_bind_text(s, 2, strcmp(role, "admin") == 0 ? "admin" : "user");
    sqlite3_bind_int64(s, 3, now);
    return update_one(st, s, err);
}

/* LIKE is ASCII case-insensitive; the prefix is escaped so % and _ in a
 * query match themselves. Column 12 (the username) is the cursor. */
static const char SQL_SEARCH[] =
    "SELECT " HS__SQ_USER_COLS ", u.username FROM users u"
    " WHERE u.disabled = 0 AND u.username > ?2"
    " AND (u.username LIKE ?1 ESCAPE '\\' OR u.display_name LIKE ?1 ESCAPE '\\')"
    " ORDER BY u.username LIMIT ?3";

int hs__sq_user_search(hs_store_t *st, const char *prefix, const char *after, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_SEARCH, err);
    if (!s)
        return HS_EINTERNAL;
    size_t n = strlen(prefix);
    char *pat = hs_arena_alloc(a, 2 * n + 2), *p = pat;
    for (size_t i = 0; i < n; i++) {
        if (prefix[i] == '%' || prefix[i] == '_' || prefix[i] == '\\')
            *p++ = '\\';
        *p++ = prefix[i];
    }
    *p++ = '%';
    *p = '\0';
    hs__sq_bind_text(s, 1, pat);
    hs__sq_bind_text(s, 2, after ? after : "");
    sqlite3_bind_int(s, 3, limit + 1);
    return user_page(st, s, limit, 12, a, out, err);
}
