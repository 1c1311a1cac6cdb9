/* SQLite queries for the store-backed event streams and rate limits
 * (events = store): what Redis holds when it is there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"

/* The newest id given out lives in its own row, not MAX(ms, seq) of the
 * events, so that trimming every event never lets an id go back. Like a
 * Redis stream id, ms never goes back with the clock: a clock behind the
 * last id reuses its ms with the next seq. */
static const char SQL_NEXT_ID[] =
    "UPDATE event_last SET seq = CASE WHEN ?1 > ms THEN 0 ELSE seq + 1 END, ms = MAX(ms, ?1)"
    " RETURNING ms, seq";
static const char SQL_APPEND[] =
    "INSERT INTO events (ms, seq, key, type, data) VALUES (?1, ?2, ?3, ?4, ?5)";
/* Age only, never count: everything younger than the retention can be
 * replayed. The primary key (ms, seq) makes it a range delete. */
static const char SQL_TRIM[] = "DELETE FROM events WHERE ms < ?1";

int hs__sq_event_append(hs_store_t *st, const char *key, const char *type, const char *data,
                        int64_t now, int64_t retention_ms, int64_t *ms, int64_t *seq, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    int64_t m = 0, q = 0;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_NEXT_ID, err);
    if (!s) {
        rc = HS_EINTERNAL;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, now);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        m = sqlite3_column_int64(s, 0);
        q = sqlite3_column_int64(s, 1);
        step = sqlite3_step(s);
    }
    sqlite3_reset(s);
    if (step != SQLITE_DONE) {
        rc = hs__sq_fail(st, step, err);
        goto fail;
    }
    if (!(s = hs__sq_prepare(st, SQL_APPEND, err))) {
        rc = HS_EINTERNAL;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, m);
    sqlite3_bind_int64(s, 2, q);
    hs__sq_bind_text(s, 3, key);
    hs__sq_bind_text(s, 4, type);
    hs__sq_bind_text(s, 5, data);
    if ((rc = hs__sq_step_done(st, s, err)))
        goto fail;
    if (!(s = hs__sq_prepare(st, SQL_TRIM, err))) {
        rc = HS_EINTERNAL;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, now - retention_ms);
    if ((rc = hs__sq_step_done(st, s, err)) || (rc = hs__sq_commit(st, err)))
        goto fail;
    *ms = m;
    *seq = q;
    return 0;
fail:
    hs__sq_rollback(st);
    return rc;
}

int hs__sq_event_trim(hs_store_t *st, int64_t before, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_TRIM, err);
    if (!s)
        return HS_EINTERNAL;
    sqlite3_bind_int64(s, 1, before);
    return hs__sq_step_done(st, s, err);
}

static const char SQL_LAST[] = "SELECT ms, seq FROM event_last";

int hs__sq_event_last(hs_store_t *st, int64_t *ms, int64_t *seq, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_LAST, err);
    if (!s)
        return HS_EINTERNAL;
    int rc = sqlite3_step(s);
    int64_t m = 0, q = 0;
    if (rc == SQLITE_ROW) {
        m = sqlite3_column_int64(s, 0);
        q = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hs__sq_fail(st, rc, err);
    *ms = m;
    *seq = q;
    return 0;
}

/* The keys as one JSON array for json_each (one statement, cached, for
 * any number of keys). NULL when out of memory. */
static char *keys_json(const char *const *keys, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 6 * strlen(keys[i]) + 3;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const unsigned char *k = (const unsigned char *)keys[i]; *k; k++) {
            if (*k == '"' || *k == '\\') {
                *p++ = '\\';
                *p++ = (char)*k;
            } else if (*k < 0x20) {
                p += sprintf(p, "\\u%04x", *k);
            } else {
                *p++ = (char)*k;
            }
        }
        *p++ = '"';
    }
    *p++ = ']';
    *p = 0;
    return out;
}

/* The index events_key (key, ms, seq) finds each key's tail; the merge of
 * the few keys sorts at most limit + 1 rows per key. */
static const char SQL_READ[] =
    "SELECT ms, seq, key, type, data FROM events"
    " WHERE key IN (SELECT value FROM json_each(?1)) AND (ms > ?2 OR (ms = ?2 AND seq > ?3))"
    " ORDER BY ms, seq LIMIT ?4";

int hs__sq_event_read(hs_store_t *st, const char *const *keys, size_t n, int64_t after_ms,
                      int64_t after_seq, int limit, hs_arena_t *a, hs_event_row_t **out,
                      size_t *nout, hs_err_t *err)
{
    *out = NULL;
    *nout = 0;
    if (n == 0 || limit <= 0)
        return 0;
    char *json = keys_json(keys, n);
    if (!json)
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_READ, err);
    if (!s) {
        free(json);
        return HS_EINTERNAL;
    }
    sqlite3_bind_text(s, 1, json, -1, free);
    sqlite3_bind_int64(s, 2, after_ms);
    sqlite3_bind_int64(s, 3, after_seq);
    sqlite3_bind_int(s, 4, limit);
    hs_event_row_t *rows = hs_arena_alloc(a, (size_t)limit * sizeof *rows);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < (size_t)limit) {
        hs_event_row_t *r = &rows[k++];
        r->ms = sqlite3_column_int64(s, 0);
        r->seq = sqlite3_column_int64(s, 1);
        r->key = hs__sq_text(a, s, 2);
        r->type = hs__sq_text(a, s, 3);
        r->data = hs__sq_text(a, s, 4);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hs__sq_fail(st, rc, err);
    *out = rows;
    *nout = k;
    return 0;
}

/* GCRA, as lib/core/ratelimit.c does it in Redis: the row holds the
 * theoretical arrival time (tat) in ms; rows whose tat has passed say
 * nothing more than a missing row and are dropped on the way. */
static const char SQL_TAT[] = "SELECT tat FROM rate_limits WHERE key = ?1";
static const char SQL_SET_TAT[] = "INSERT INTO rate_limits (key, tat) VALUES (?1, ?2)"
                                  " ON CONFLICT (key) DO UPDATE SET tat = excluded.tat";
static const char SQL_DROP_OLD[] = "DELETE FROM rate_limits WHERE tat < ?1";

int hs__sq_limit_take(hs_store_t *st, const char *key, int64_t burst, int64_t period_ms, int cost,
                      int64_t now, int64_t *wait_ms, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_TAT, err);
    if (!s) {
        rc = HS_EINTERNAL;
        goto fail;
    }
    hs__sq_bind_text(s, 1, key);
    int64_t tat = now;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        tat = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = hs__sq_fail(st, step, err);
        goto fail;
    }
    if (tat < now)
        tat = now;
    int64_t new_tat = tat + (cost > 0 ? cost : 1) * period_ms;
    int64_t allow_at = new_tat - burst * period_ms;
    int64_t wait = allow_at > now ? allow_at - now : 0;
    if (!wait && cost > 0) {
        if (!(s = hs__sq_prepare(st, SQL_SET_TAT, err))) {
            rc = HS_EINTERNAL;
            goto fail;
        }
        hs__sq_bind_text(s, 1, key);
        sqlite3_bind_int64(s, 2, new_tat);
        if ((rc = hs__sq_step_done(st, s, err)))
            goto fail;
        if (!(s = hs__sq_prepare(st, SQL_DROP_OLD, err))) {
            rc = HS_EINTERNAL;
            goto fail;
        }
        sqlite3_bind_int64(s, 1, now);
        if ((rc = hs__sq_step_done(st, s, err)))
            goto fail;
    }
    if ((rc = hs__sq_commit(st, err)))
        goto fail;
    *wait_ms = wait;
    return 0;
fail:
    hs__sq_rollback(st);
    return rc;
}

/* Things held at once (waiting long-polls of one user): a row per holder,
 * with when its hold ends, so a holder killed while holding frees its slot
 * then. */
static const char SQL_SLOT_EXPIRE[] = "DELETE FROM slots WHERE key = ?1 AND until < ?2";
static const char SQL_SLOT_COUNT[] = "SELECT count(*) FROM slots WHERE key = ?1";
static const char SQL_SLOT_ADD[] =
    "INSERT INTO slots (key, holder, until) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (key, holder) DO UPDATE SET until = excluded.until";
static const char SQL_SLOT_DROP[] = "DELETE FROM slots WHERE key = ?1 AND holder = ?2";

int hs__sq_slot_take(hs_store_t *st, const char *key, const char *holder, int64_t max,
                     int64_t until, int64_t now, int *taken, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_SLOT_EXPIRE, err);
    if (!s) {
        rc = HS_EINTERNAL;
        goto fail;
    }
    hs__sq_bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, now);
    if ((rc = hs__sq_step_done(st, s, err)))
        goto fail;
    if (!(s = hs__sq_prepare(st, SQL_SLOT_COUNT, err))) {
        rc = HS_EINTERNAL;
        goto fail;
    }
    hs__sq_bind_text(s, 1, key);
    int step = sqlite3_step(s);
    int64_t held = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (step != SQLITE_ROW) {
        rc = hs__sq_fail(st, step, err);
        goto fail;
    }
    int take = held < max;
    if (take) {
        if (!(s = hs__sq_prepare(st, SQL_SLOT_ADD, err))) {
            rc = HS_EINTERNAL;
            goto fail;
        }
        hs__sq_bind_text(s, 1, key);
        hs__sq_bind_text(s, 2, holder);
        sqlite3_bind_int64(s, 3, until);
        if ((rc = hs__sq_step_done(st, s, err)))
            goto fail;
    }
    if ((rc = hs__sq_commit(st, err)))
        goto fail;
    *taken = take;
    return 0;
fail:
    hs__sq_rollback(st);
    return rc;
}

int hs__sq_slot_drop(hs_store_t *st, const char *key, const char *holder, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_SLOT_DROP, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, key);
    hs__sq_bind_text(s, 2, holder);
    return hs__sq_step_done(st, s, err);
}
