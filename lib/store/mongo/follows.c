/* MongoDB operations on the follow graph: `follows` holds one document per
 * pair {_id: its own id, follower_id, followee_id, created_at}, unique on
 * the pair like the SQLite table; ids grow with time, so _id orders pages. */
#include <string.h>

#include "mongo.h"

int hs__mg_follow_set(hs_store_t *st, const char *follower, const char *followee, int on,
                      int64_t now, hs_err_t *err)
{
    hs__mg_op_t op;
    int rc;
    hs__mg_begin(st, &op);
    if (on) {
        /* the unique pair makes a second follow a no-op: claimed or not */
        char id[HS_ID_LEN + 1];
        int claimed;
        hs_id_new(id);
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "follower_id", BCON_UTF8(follower),
                               "followee_id", BCON_UTF8(followee), "created_at", BCON_INT64(now));
        rc = hs__mg_insert(&op, HS__MG_FOLLOWS, doc, &claimed, err);
        bson_destroy(doc);
    } else {
        bson_t *f =
            BCON_NEW("follower_id", BCON_UTF8(follower), "followee_id", BCON_UTF8(followee));
        rc = hs__mg_delete(&op, HS__MG_FOLLOWS, 0, f, NULL, err);
        bson_destroy(f);
    }
    hs__mg_end(&op);
    return rc;
}

int hs__mg_follow_state(hs_store_t *st, const char *follower, const char *followee, int *on,
                        hs_err_t *err)
{
    bson_t *f = BCON_NEW("follower_id", BCON_UTF8(follower), "followee_id", BCON_UTF8(followee));
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t doc;
    int found = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_FOLLOWS, f, o, &doc, &found, err);
    hs__mg_end(&op);
    if (found)
        bson_destroy(&doc);
    bson_destroy(f);
    bson_destroy(o);
    if (!rc)
        *on = found;
    return rc;
}

/* Two counts on the follows indexes. */
static int counts(hs__mg_op_t *op, const char *id, long *followers, long *following, hs_err_t *err)
{
    bson_t *f1 = BCON_NEW("followee_id", BCON_UTF8(id));
    bson_t *f2 = BCON_NEW("follower_id", BCON_UTF8(id));
    int rc = hs__mg_count(op, HS__MG_FOLLOWS, f1, followers, err);
    if (!rc)
        rc = hs__mg_count(op, HS__MG_FOLLOWS, f2, following, err);
    bson_destroy(f1);
    bson_destroy(f2);
    return rc;
}

int hs__mg_follow_counts(hs_store_t *st, const char *id, long *followers, long *following,
                         hs_err_t *err)
{
    hs__mg_op_t op;
    long a = 0, b = 0;
    hs__mg_begin(st, &op);
    int rc = counts(&op, id, &a, &b, err);
    hs__mg_end(&op);
    if (!rc) {
        *followers = a;
        *following = b;
    }
    return rc;
}

/* Three reads (the user, two counts): no portable join. */
int hs__mg_user_with_counts(hs_store_t *st, const char *id, hs_arena_t *a, hs_user_t *out,
                            long *followers, long *following, hs_err_t *err)
{
    int rc = hs__mg_user_get(st, id, a, out, err);
    if (rc)
        return rc;
    return hs__mg_follow_counts(st, id, followers, following, err);
}

typedef struct {
    hs_arena_t *a;
    const char *other; /* the field naming the user to show */
    char (*ids)[HS_ID_LEN + 1];
    char (*users)[HS_ID_LEN + 1];
    size_t n, cap, ucap;
} follow_list_t;

static void collect_follow(const bson_t *doc, void *arg)
{
    follow_list_t *l = arg;
    size_t ucap = l->ucap;
    l->ids = hs_arena_grow(l->a, l->ids, l->n, &l->cap, sizeof *l->ids);
    l->users = hs_arena_grow(l->a, l->users, l->n, &ucap, sizeof *l->users);
    l->ucap = ucap;
    hs__mg_id(l->ids[l->n], doc, "_id");
    hs__mg_id(l->users[l->n], doc, l->other);
    l->n++;
}

typedef struct {
    hs_arena_t *a;
    hs_user_t *items;
    size_t n, cap;
} user_set_t;

static void collect_user(const bson_t *doc, void *arg)
{
    user_set_t *l = arg;
    l->items = hs_arena_grow(l->a, l->items, l->n, &l->cap, sizeof *l->items);
    hs__mg_read_user(l->a, doc, &l->items[l->n++]);
}

/* Newest follow first: a page of follows by _id below the cursor, then their
 * users in one $in read, put back in the follows' order. */
int hs__mg_follow_page(hs_store_t *st, const char *id, int followers, const char *before, int limit,
                       hs_arena_t *a, hs_user_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    /* "g" sorts after every hex id: no cursor means "from the newest" */
    bson_t *f = BCON_NEW(followers ? "followee_id" : "follower_id", BCON_UTF8(id), "_id", "{",
                         "$lt", BCON_UTF8(before ? before : "g"), "}");
    bson_t *o =
        BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit", BCON_INT64((int64_t)limit + 1));
    follow_list_t fl = {.a = a, .other = followers ? "follower_id" : "followee_id"};
    user_set_t us = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_FOLLOWS, f, o, collect_follow, &fl, err);
    if (!rc && fl.n) {
        bson_t *fu = bson_new(), in, ids;
        BSON_APPEND_DOCUMENT_BEGIN(fu, "_id", &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
        for (size_t i = 0; i < fl.n; i++) {
            char k[16];
            const char *key;
            bson_uint32_to_string((uint32_t)i, &key, k, sizeof k);
            bson_append_utf8(&ids, key, -1, fl.users[i], -1);
        }
        bson_append_array_end(&in, &ids);
        bson_append_document_end(fu, &in);
        rc = hs__mg_find_each(&op, HS__MG_USERS, fu, NULL, collect_user, &us, err);
        bson_destroy(fu);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    size_t take = fl.n > (size_t)limit ? (size_t)limit : fl.n;
    out->items = hs_arena_alloc(a, sizeof *out->items * (take ? take : 1));
    for (size_t i = 0; i < take; i++)
        for (size_t j = 0; j < us.n; j++)
            if (strcmp(us.items[j].id, fl.users[i]) == 0) {
                out->items[out->n++] = us.items[j];
                break;
            }
    if (fl.n > (size_t)limit && limit > 0)
        out->next_cursor = hs_arena_strdup(a, fl.ids[limit - 1]);
    return 0;
}
