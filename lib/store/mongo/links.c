/* MongoDB operations on share links.
 *
 *   share_links  {_id, token_hash (unique), file_id, password_hash,
 *                created_at, expires_at, max_downloads, downloads}
 *   link_claims  "r:<link>" when the link is revoked (the first revocation
 *                wins), "d:<link>:<n>" for the n-th download of a link with a
 *                limit: n <= max_downloads and the unique _id make the limit
 *                exact however many hosts download at once
 *
 * The downloads field is a plain $inc for display (exact on MongoDB; on
 * FerretDB racing takes may lose an increment); a limited link's count is
 * the highest n of its claims. */
#include <stdio.h>
#include <string.h>

#include "mongo.h"

static void read_link(hs_arena_t *a, const bson_t *doc, hs_link_t *l)
{
    memset(l, 0, sizeof *l);
    hs__mg_id(l->id, doc, "_id");
    hs__mg_id(l->file_id, doc, "file_id");
    l->password_hash = hs__mg_str(a, doc, "password_hash");
    l->created_at = hs__mg_i64(doc, "created_at");
    l->expires_at = hs__mg_i64(doc, "expires_at");
    l->max_downloads = hs__mg_i64(doc, "max_downloads");
    l->downloads = hs__mg_i64(doc, "downloads");
}

int hs__mg_link_create(hs_store_t *st, const hs_link_t *l, const char *token_hash, hs_err_t *err)
{
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(l->id), "token_hash", BCON_UTF8(token_hash), "file_id",
                           BCON_UTF8(l->file_id), "created_at", BCON_INT64(l->created_at),
                           "expires_at", BCON_INT64(l->expires_at), "max_downloads",
                           BCON_INT64(l->max_downloads), "downloads", BCON_INT64(0));
    hs__mg_put_str(doc, "password_hash", l->password_hash);
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_insert(&op, HS__MG_LINKS, doc, NULL, err);
    hs__mg_end(&op);
    bson_destroy(doc);
    return rc;
}

/* The revocation time of link id (0: live) and its highest download claim. */
static int link_state(hs__mg_op_t *op, const char *id, int64_t *revoked, int64_t *taken,
                      hs_err_t *err)
{
    char key[64];
    bson_t doc;
    int found = 0;
    snprintf(key, sizeof key, "r:%s", id);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(key));
    int rc = hs__mg_find_one(op, HS__MG_LINK_CLAIMS, f, NULL, &doc, &found, err);
    bson_destroy(f);
    *revoked = 0;
    if (found) {
        *revoked = hs__mg_i64(&doc, "revoked_at");
        if (!*revoked)
            *revoked = 1;
        bson_destroy(&doc);
    }
    *taken = 0;
    if (rc)
        return rc;
    f = BCON_NEW("link_id", BCON_UTF8(id), "n", "{", "$gt", BCON_INT64(0), "}");
    bson_t *o = BCON_NEW("sort", "{", "n", BCON_INT32(-1), "}");
    rc = hs__mg_find_one(op, HS__MG_LINK_CLAIMS, f, o, &doc, &found, err);
    bson_destroy(f);
    bson_destroy(o);
    if (found) {
        *taken = hs__mg_i64(&doc, "n");
        bson_destroy(&doc);
    }
    return rc;
}

int hs__mg_link_get(hs_store_t *st, const char *token_hash, hs_arena_t *a, hs_link_t *out,
                    hs_err_t *err)
{
    bson_t *f = BCON_NEW("token_hash", BCON_UTF8(token_hash));
    bson_t doc;
    int found = 0;
    int64_t revoked = 0, taken = 0;
    hs_link_t l;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_LINKS, f, NULL, &doc, &found, err);
    if (!rc && found) {
        read_link(a, &doc, &l);
        bson_destroy(&doc);
        rc = link_state(&op, l.id, &revoked, &taken, err);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    l.revoked_at = revoked;
    if (taken > l.downloads)
        l.downloads = taken;
    *out = l;
    return 0;
}

/* Order: read the link and its state (revoked: not found; expired), then
 * for a limited link claim the next download number (the unique _id decides
 * racing takes; past max_downloads: exhausted), then count it for display. */
int hs__mg_link_take(hs_store_t *st, const char *id, int64_t now, hs_err_t *err)
{
    hs_arena_t tmp = {0};
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    bson_t doc;
    int found = 0, claimed = 0;
    int64_t revoked = 0, taken = 0;
    hs_link_t l;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_LINKS, f, NULL, &doc, &found, err);
    if (!rc && found) {
        read_link(&tmp, &doc, &l);
        bson_destroy(&doc);
        rc = link_state(&op, id, &revoked, &taken, err);
    }
    if (!rc && (!found || revoked))
        rc = hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    else if (!rc && l.expires_at <= now)
        rc = hs_err_set(err, HS_EGONE, "link_expired", "This link has expired");
    for (int64_t n = taken + 1; !rc && l.max_downloads > 0 && !claimed; n++) {
        if (n > l.max_downloads) {
            rc = hs_err_set(err, HS_EGONE, "link_exhausted", "This link has no downloads left");
            break;
        }
        char key[80];
        snprintf(key, sizeof key, "d:%s:%lld", id, (long long)n);
        bson_t *c = BCON_NEW("_id", BCON_UTF8(key), "link_id", BCON_UTF8(id), "n", BCON_INT64(n),
                             "at", BCON_INT64(now));
        rc = hs__mg_insert(&op, HS__MG_LINK_CLAIMS, c, &claimed, err);
        bson_destroy(c);
    }
    if (!rc) {
        bson_t *u = BCON_NEW("$inc", "{", "downloads", BCON_INT64(1), "}");
        rc = hs__mg_update(&op, HS__MG_LINKS, 0, f, u, NULL, err);
        bson_destroy(u);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    hs_arena_free(&tmp);
    return rc;
}

typedef struct {
    hs_arena_t *a;
    hs_link_t *items;
    size_t n, cap;
} link_list_t;

static void collect_link(const bson_t *doc, void *arg)
{
    link_list_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    read_link(l->a, doc, &l->items[l->n++]);
}

static void collect_revoked(const bson_t *doc, void *arg)
{
    link_list_t *l = arg;
    const char *key = hs__mg_str(l->a, doc, "link_id");
    for (size_t i = 0; key && i < l->n; i++)
        if (strcmp(l->items[i].id, key) == 0)
            l->items[i].revoked_at = 1;
}

/* The file's links by id, then one read of their revocations to drop them. */
int hs__mg_link_list(hs_store_t *st, const char *file_id, hs_arena_t *a, hs_link_t **out, size_t *n,
                     hs_err_t *err)
{
    bson_t *f = BCON_NEW("file_id", BCON_UTF8(file_id));
    bson_t *o = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(1000));
    link_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_LINKS, f, o, collect_link, &l, err);
    if (!rc && l.n) {
        bson_t *fr = bson_new(), in, ids;
        BSON_APPEND_DOCUMENT_BEGIN(fr, "_id", &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
        for (size_t i = 0; i < l.n; i++) {
            char k[16], key[64];
            const char *idx;
            bson_uint32_to_string((uint32_t)i, &idx, k, sizeof k);
            snprintf(key, sizeof key, "r:%s", l.items[i].id);
            bson_append_utf8(&ids, idx, -1, key, -1);
        }
        bson_append_array_end(&in, &ids);
        bson_append_document_end(fr, &in);
        rc = hs__mg_find_each(&op, HS__MG_LINK_CLAIMS, fr, NULL, collect_revoked, &l, err);
        bson_destroy(fr);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    size_t w = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!l.items[i].revoked_at)
            l.items[w++] = l.items[i];
    *out = l.items;
    *n = w;
    return 0;
}

/* Order: check the link is the file's, then insert its revocation (the
 * first wins; a second is link_not_found, like revoking a revoked link). */
int hs__mg_link_revoke(hs_store_t *st, const char *id, const char *file_id, int64_t now,
                       hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id), "file_id", BCON_UTF8(file_id));
    long n = 0;
    int claimed = 0;
    char key[64];
    snprintf(key, sizeof key, "r:%s", id);
    bson_t *c =
        BCON_NEW("_id", BCON_UTF8(key), "link_id", BCON_UTF8(id), "revoked_at", BCON_INT64(now));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_count(&op, HS__MG_LINKS, f, &n, err);
    if (!rc && n)
        rc = hs__mg_insert(&op, HS__MG_LINK_CLAIMS, c, &claimed, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(c);
    if (!rc && !claimed)
        rc = hs_err_set(err, HS_ENOTFOUND, "link_not_found", "No such link");
    return rc;
}
