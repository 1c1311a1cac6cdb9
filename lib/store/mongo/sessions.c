/* MongoDB operations on sessions and their rotating refresh tokens.
 *
 *   sessions             {_id, user_id, user_agent, ip, created_at,
 *                         last_used_at, expires_at}: rotation rewrites it
 *   session_revocations  {_id: session id, user_id, revoked_at}: inserted
 *                         once (the first revocation wins), never updated
 *   refresh_tokens       {_id: token hash, session_id, expires_at}
 *   refresh_claims       {_id: token hash, session_id, used_at}: the token
 *                         is used once its claim exists (one insert wins)
 *
 * Revocations and claims are documents of their own so that no update of a
 * session (which FerretDB applies as a whole-document replace) can undo
 * them, and so that racing requests are decided by a unique _id. */
#include <stdio.h>
#include <string.h>

#include "mongo.h"

static void read_session(hs_arena_t *a, const bson_t *doc, hs_session_t *out)
{
    memset(out, 0, sizeof *out);
    hs__mg_id(out->id, doc, "_id");
    hs__mg_id(out->user_id, doc, "user_id");
    out->user_agent = hs__mg_str(a, doc, "user_agent");
    out->ip = hs__mg_str(a, doc, "ip");
    out->created_at = hs__mg_i64(doc, "created_at");
    out->last_used_at = hs__mg_i64(doc, "last_used_at");
    out->expires_at = hs__mg_i64(doc, "expires_at");
    out->revoked_at = hs__mg_i64(doc, "revoked_at"); /* read from a revocation */
}

/* Order: the refresh token, then the session. A token whose session was
 * never written (a crash between the two) is refused by refresh_rotate as
 * unknown and is seen nowhere else; a session is never listed without its
 * token. */
int hs__mg_session_create(hs_store_t *st, const hs_session_t *s, const char *refresh_hash,
                          int64_t refresh_expires, hs_err_t *err)
{
    bson_t *tok =
        BCON_NEW("_id", BCON_UTF8(refresh_hash), "session_id", BCON_UTF8(s->id), "expires_at",
                 BCON_INT64(refresh_expires), "created_at", BCON_INT64(s->created_at));
    bson_t *doc =
        BCON_NEW("_id", BCON_UTF8(s->id), "user_id", BCON_UTF8(s->user_id), "user_agent",
                 BCON_UTF8(s->user_agent ? s->user_agent : ""), "ip", BCON_UTF8(s->ip ? s->ip : ""),
                 "created_at", BCON_INT64(s->created_at), "last_used_at", BCON_INT64(s->created_at),
                 "expires_at", BCON_INT64(s->expires_at));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_insert(&op, HS__MG_REFRESH, tok, NULL, err);
    if (!rc && (rc = hs__mg_insert(&op, HS__MG_SESSIONS, doc, NULL, err))) {
        bson_t *f = BCON_NEW("_id", BCON_UTF8(refresh_hash));
        hs__mg_delete(&op, HS__MG_REFRESH, 0, f, NULL, NULL); /* best effort: see above */
        bson_destroy(f);
    }
    hs__mg_end(&op);
    bson_destroy(tok);
    bson_destroy(doc);
    return rc;
}

/* The revocation time of session id, 0 while it is active. */
static int revoked_at(hs__mg_op_t *op, const char *id, int64_t *at, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    bson_t doc;
    int found = 0;
    int rc = hs__mg_find_one(op, HS__MG_REVOCATIONS, f, NULL, &doc, &found, err);
    bson_destroy(f);
    *at = 0;
    if (found) {
        *at = hs__mg_i64(&doc, "revoked_at");
        bson_destroy(&doc);
    }
    return rc;
}

/* Reads session id (with its revocation) into out; *found says whether it
 * exists. */
static int load_session(hs__mg_op_t *op, const char *id, hs_arena_t *a, hs_session_t *out,
                        int *found, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    bson_t doc;
    int rc = hs__mg_find_one(op, HS__MG_SESSIONS, f, NULL, &doc, found, err);
    bson_destroy(f);
    if (rc || !*found)
        return rc;
    read_session(a, &doc, out);
    bson_destroy(&doc);
    return revoked_at(op, id, &out->revoked_at, err);
}

int hs__mg_session_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_session_t *out,
                       hs_err_t *err)
{
    hs__mg_op_t op;
    hs_session_t s;
    int found = 0;
    hs__mg_begin(st, &op);
    int rc = load_session(&op, id, a, &s, &found, err);
    hs__mg_end(&op);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "session_not_found", "No such session");
    *out = s;
    return 0;
}

/* Three indexed point reads (the session, its revocation, the user's
 * disabled flag): no join is portable (FerretDB has no $lookup). Apps in
 * front of this remote store check Redis's revocation cache first. */
int hs__mg_session_active(hs_store_t *st, const char *id, const char *user_id, hs_err_t *err)
{
    hs__mg_op_t op;
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id), "user_id", BCON_UTF8(user_id));
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t *fu = BCON_NEW("_id", BCON_UTF8(user_id), "disabled", BCON_INT32(0));
    bson_t doc;
    int found = 0, revoked = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_SESSIONS, f, o, &doc, &found, err);
    if (found)
        bson_destroy(&doc);
    if (!rc && found)
        rc = hs__mg_exists(&op, HS__MG_REVOCATIONS, id, &revoked, err);
    if (!rc && found && !revoked) {
        rc = hs__mg_find_one(&op, HS__MG_USERS, fu, o, &doc, &found, err);
        if (found)
            bson_destroy(&doc);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    bson_destroy(fu);
    if (rc)
        return rc;
    if (!found || revoked)
        return hs_err_set(err, HS_ENOTFOUND, "session_not_found", "No such active session");
    return 0;
}

/* Splits a cursor "<last_used_at>.<id>" into its time and id; -1 when it is
 * not one. */
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

typedef struct {
    hs_arena_t *a;
    hs_session_t *items;
    size_t n, cap;
} session_list_t;

static void collect_session(const bson_t *doc, void *arg)
{
    session_list_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    read_session(l->a, doc, &l->items[l->n++]);
}

/* Drops from l->items[from..) the sessions that have a revocation. */
static int drop_revoked(hs__mg_op_t *op, session_list_t *l, size_t from, hs_err_t *err)
{
    if (l->n == from)
        return 0;
    bson_t *f = bson_new(), in, ids;
    BSON_APPEND_DOCUMENT_BEGIN(f, "_id", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
    for (size_t i = from; i < l->n; i++) {
        char k[16];
        const char *key;
        bson_uint32_to_string((uint32_t)(i - from), &key, k, sizeof k);
        bson_append_utf8(&ids, key, -1, l->items[i].id, -1);
    }
    bson_append_array_end(&in, &ids);
    bson_append_document_end(f, &in);
    session_list_t gone = {.a = l->a};
    int rc = hs__mg_find_each(op, HS__MG_REVOCATIONS, f, NULL, collect_session, &gone, err);
    bson_destroy(f);
    if (rc)
        return rc;
    size_t w = from;
    for (size_t i = from; i < l->n; i++) {
        int revoked = 0;
        for (size_t j = 0; j < gone.n && !revoked; j++)
            revoked = strcmp(gone.items[j].id, l->items[i].id) == 0;
        if (!revoked)
            l->items[w++] = l->items[i];
    }
    l->n = w;
    return 0;
}

/* Most recently used first; the cursor is "<last_used_at>.<id>" of the last
 * session of the page, the next page starts strictly after it. Revoked
 * sessions are filtered out batch by batch until the page is full. */
int hs__mg_session_list(hs_store_t *st, const char *user_id, const char *cursor, int limit,
                        hs_arena_t *a, hs_session_page_t *out, hs_err_t *err)
{
    int64_t ts = 0;
    char after[HS_ID_LEN + 1] = "";
    memset(out, 0, sizeof *out);
    if (cursor && parse_cursor(cursor, &ts, after))
        return hs_err_set(err, HS_EINVAL, "invalid_cursor", "This cursor is not valid");
    int have_cursor = cursor != NULL, rc = 0;
    int64_t batch = (int64_t)limit + 1, now = hs_now_ms();
    session_list_t l = {.a = a};
    bson_t *opts = BCON_NEW("sort", "{", "last_used_at", BCON_INT32(-1), "_id", BCON_INT32(-1), "}",
                            "limit", BCON_INT64(batch));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    while (!rc && l.n < (size_t)batch) {
        bson_t *f =
            BCON_NEW("user_id", BCON_UTF8(user_id), "expires_at", "{", "$gt", BCON_INT64(now), "}");
        if (have_cursor) {
            bson_t or, a1, a2, lt;
            BSON_APPEND_ARRAY_BEGIN(f, "$or", & or);
            BSON_APPEND_DOCUMENT_BEGIN(& or, "0", &a1);
            BSON_APPEND_DOCUMENT_BEGIN(&a1, "last_used_at", &lt);
            BSON_APPEND_INT64(&lt, "$lt", ts);
            bson_append_document_end(&a1, &lt);
            bson_append_document_end(& or, &a1);
            BSON_APPEND_DOCUMENT_BEGIN(& or, "1", &a2);
            BSON_APPEND_INT64(&a2, "last_used_at", ts);
            BSON_APPEND_DOCUMENT_BEGIN(&a2, "_id", &lt);
            BSON_APPEND_UTF8(&lt, "$lt", after);
            bson_append_document_end(&a2, &lt);
            bson_append_document_end(& or, &a2);
            bson_append_array_end(f, & or);
        }
        size_t from = l.n;
        rc = hs__mg_find_each(&op, HS__MG_SESSIONS, f, opts, collect_session, &l, err);
        bson_destroy(f);
        if (rc)
            break;
        size_t got = l.n - from;
        if (got == 0)
            break;
        /* the next batch starts after the last session read, revoked or not */
        ts = l.items[l.n - 1].last_used_at;
        memcpy(after, l.items[l.n - 1].id, sizeof after);
        have_cursor = 1;
        rc = drop_revoked(&op, &l, from, err);
        if ((int64_t)got < batch)
            break;
    }
    hs__mg_end(&op);
    bson_destroy(opts);
    if (rc)
        return rc;
    if (l.n > (size_t)limit) {
        l.n = (size_t)limit;
        const hs_session_t *last = &l.items[limit - 1];
        out->next_cursor = hs_arena_printf(a, "%lld.%s", (long long)last->last_used_at, last->id);
    }
    out->items = l.items;
    out->n = l.n;
    return 0;
}

/* The revocations at or after since, then their sessions. */
int hs__mg_session_revoked_since(hs_store_t *st, int64_t since, hs_arena_t *a, hs_session_t **out,
                                 size_t *n, hs_err_t *err)
{
    bson_t *f = BCON_NEW("revoked_at", "{", "$gte", BCON_INT64(since), "}");
    session_list_t gone = {.a = a}, ses = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    /* a revocation reads as a session with only _id, user_id, revoked_at */
    int rc = hs__mg_find_each(&op, HS__MG_REVOCATIONS, f, NULL, collect_session, &gone, err);
    bson_destroy(f);
    if (!rc && gone.n) {
        bson_t *fin = bson_new(), in, ids;
        BSON_APPEND_DOCUMENT_BEGIN(fin, "_id", &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
        for (size_t i = 0; i < gone.n; i++) {
            char k[16];
            const char *key;
            bson_uint32_to_string((uint32_t)i, &key, k, sizeof k);
            bson_append_utf8(&ids, key, -1, gone.items[i].id, -1);
        }
        bson_append_array_end(&in, &ids);
        bson_append_document_end(fin, &in);
        rc = hs__mg_find_each(&op, HS__MG_SESSIONS, fin, NULL, collect_session, &ses, err);
        bson_destroy(fin);
    }
    hs__mg_end(&op);
    if (rc)
        return rc;
    for (size_t i = 0; i < ses.n; i++)
        for (size_t j = 0; j < gone.n; j++)
            if (strcmp(ses.items[i].id, gone.items[j].id) == 0)
                ses.items[i].revoked_at = gone.items[j].revoked_at;
    *out = ses.items;
    *n = ses.n;
    return 0;
}

/* Revokes session sid of user_id: one insert, the first revocation wins.
 * *done = 0 when it was revoked already. */
static int revoke_one(hs__mg_op_t *op, const char *sid, const char *user_id, int64_t now, int *done,
                      hs_err_t *err)
{
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(sid), "user_id", BCON_UTF8(user_id), "revoked_at",
                           BCON_INT64(now));
    int rc = hs__mg_insert(op, HS__MG_REVOCATIONS, doc, done, err);
    bson_destroy(doc);
    return rc;
}

int hs__mg_session_revoke(hs_store_t *st, const char *id, const char *user_id, int64_t now,
                          hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id), "user_id", BCON_UTF8(user_id));
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t doc;
    int found = 0, done = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_SESSIONS, f, o, &doc, &found, err);
    if (found) {
        bson_destroy(&doc);
        if (!rc)
            rc = revoke_one(&op, id, user_id, now, &done, err);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    if (!done)
        return hs_err_set(err, HS_ENOTFOUND, "session_not_found", "No such session");
    return 0;
}

/* The user's sessions but keep_id, each revoked by its own insert: *ids
 * are exactly those this call revoked, whatever runs beside it. */
int hs__mg_session_revoke_others(hs_store_t *st, const char *user_id, const char *keep_id,
                                 int64_t now, hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err)
{
    bson_t *f = BCON_NEW("user_id", BCON_UTF8(user_id), "_id", "{", "$ne",
                         BCON_UTF8(keep_id ? keep_id : ""), "}");
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "user_id", BCON_INT32(1), "}");
    session_list_t all = {.a = a};
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_SESSIONS, f, o, collect_session, &all, err);
    for (size_t i = 0; !rc && i < all.n; i++) {
        int done = 0;
        rc = revoke_one(&op, all.items[i].id, user_id, now, &done, err);
        if (!rc && done) {
            *ids = hs_arena_grow(a, *ids, *n, &cap, sizeof **ids);
            (*ids)[(*n)++] = hs_arena_strdup(a, all.items[i].id);
        }
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    return rc;
}

static int reused(hs__mg_op_t *op, const hs_session_t *s, int64_t now, hs_err_t *err)
{
    int done;
    int rc = revoke_one(op, s->id, s->user_id, now, &done, err);
    if (rc)
        return rc;
    return hs_err_set(err, HS_EAUTH, "refresh_token_reused",
                      "This refresh token was already used; the session has been revoked");
}

/* Order: read the token, its claim and its session; insert the next token
 * (unknown to anyone until returned); claim the old one (the unique insert
 * that decides a race: the loser deletes its new token and, as a reuse,
 * revokes the session); then rewrite the session's use. A crash after the
 * claim loses the new token like a lost response would; a retry is then a
 * reuse, as with SQLite. */
int hs__mg_refresh_rotate(hs_store_t *st, const char *old_hash, const char *new_hash,
                          int64_t new_expires, int64_t now, const char *user_agent, const char *ip,
                          hs_arena_t *a, hs_session_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    hs__mg_op_t op;
    bson_t tok;
    int found = 0, used = 0, claimed = 0;
    hs_session_t s;
    hs__mg_begin(st, &op);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(old_hash));
    int rc = hs__mg_find_one(&op, HS__MG_REFRESH, f, NULL, &tok, &found, err);
    bson_destroy(f);
    if (rc || !found) {
        hs__mg_end(&op);
        return rc ? rc
                  : hs_err_set(err, HS_EAUTH, "invalid_refresh_token",
                               "This refresh token is not valid");
    }
    char sid[HS_ID_LEN + 1];
    hs__mg_id(sid, &tok, "session_id");
    int64_t expires = hs__mg_i64(&tok, "expires_at");
    bson_destroy(&tok);
    memcpy(out->id, sid, sizeof sid);

    if ((rc = load_session(&op, sid, a, &s, &found, err)))
        goto done;
    if (!found) {
        rc = hs_err_set(err, HS_EAUTH, "invalid_refresh_token", "This refresh token is not valid");
        goto done;
    }
    if ((rc = hs__mg_exists(&op, HS__MG_CLAIMS, old_hash, &used, err)))
        goto done;
    if (used) {
        rc = reused(&op, &s, now, err);
        goto done;
    }
    if (s.revoked_at) {
        rc = hs_err_set(err, HS_EAUTH, "session_revoked", "This session has been revoked");
        goto done;
    }
    if (expires <= now) {
        rc = hs_err_set(err, HS_EAUTH, "refresh_token_expired", "This refresh token has expired");
        goto done;
    }

    bson_t *next = BCON_NEW("_id", BCON_UTF8(new_hash), "session_id", BCON_UTF8(sid), "expires_at",
                            BCON_INT64(new_expires), "created_at", BCON_INT64(now));
    rc = hs__mg_insert(&op, HS__MG_REFRESH, next, NULL, err);
    bson_destroy(next);
    if (rc)
        goto done;
    bson_t *claim = BCON_NEW("_id", BCON_UTF8(old_hash), "session_id", BCON_UTF8(sid), "used_at",
                             BCON_INT64(now));
    rc = hs__mg_insert(&op, HS__MG_CLAIMS, claim, &claimed, err);
    bson_destroy(claim);
    if (!rc && !claimed) {
        /* another request used the token first: ours is the reuse */
        f = BCON_NEW("_id", BCON_UTF8(new_hash));
        rc = hs__mg_delete(&op, HS__MG_REFRESH, 0, f, NULL, err);
        bson_destroy(f);
        if (!rc)
            rc = reused(&op, &s, now, err);
        goto done;
    }
    if (rc)
        goto done;
    f = BCON_NEW("_id", BCON_UTF8(sid));
    bson_t *u = BCON_NEW(
        "$set", "{", "last_used_at", BCON_INT64(now), "expires_at", BCON_INT64(new_expires),
        "user_agent", BCON_UTF8(user_agent ? user_agent : ""), "ip", BCON_UTF8(ip ? ip : ""), "}");
    rc = hs__mg_update(&op, HS__MG_SESSIONS, 0, f, u, NULL, err);
    bson_destroy(f);
    bson_destroy(u);
    /* A revocation that landed since the session was read is not undone
     * (it is its own document) and kills the new token: as if the rotation
     * came first, the order SQLite would have serialized them in. */
    if (!rc)
        rc = load_session(&op, sid, a, out, &found, err);
done:
    hs__mg_end(&op);
    return rc;
}
