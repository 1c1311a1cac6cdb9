/* MongoDB operations on P2P transfers and offer blocks.
 *
 *   p2p_transfers  one document per transfer, versioned ("v"): every state
 *                  change is a compare-and-set through cas.c
 *   p2p_blocks     {_id, blocker_id, blocked_id, created_at}, unique pair */
#include <string.h>

#include "mongo.h"

static void read_transfer(hs_arena_t *a, const bson_t *doc, hs_transfer_t *t)
{
    memset(t, 0, sizeof *t);
    hs__mg_id(t->id, doc, "_id");
    hs__mg_id(t->sender_id, doc, "sender_id");
    hs__mg_id(t->recipient_id, doc, "recipient_id");
    t->filename = hs__mg_str(a, doc, "filename");
    t->size = hs__mg_i64(doc, "size");
    t->sha256 = hs__mg_str(a, doc, "sha256");
    t->mode = hs__mg_str(a, doc, "mode");
    t->state = hs__mg_str(a, doc, "state");
    t->reason = hs__mg_str(a, doc, "reason");
    t->bytes = hs__mg_i64(doc, "bytes");
    t->relay_file_id = hs__mg_str(a, doc, "relay_file_id");
    t->received_sha256 = hs__mg_str(a, doc, "received_sha256");
    t->created_at = hs__mg_i64(doc, "created_at");
    t->updated_at = hs__mg_i64(doc, "updated_at");
    t->expires_at = hs__mg_i64(doc, "expires_at");
    t->progress_at = hs__mg_i64(doc, "progress_at");
}

/* The fields a state change writes (transfer_update's), into d. */
static void put_changes(bson_t *d, const hs_transfer_t *t)
{
    BSON_APPEND_UTF8(d, "state", t->state);
    hs__mg_put_str(d, "reason", t->reason);
    BSON_APPEND_INT64(d, "bytes", t->bytes);
    hs__mg_put_str(d, "relay_file_id", t->relay_file_id);
    hs__mg_put_str(d, "received_sha256", t->received_sha256);
    BSON_APPEND_INT64(d, "updated_at", t->updated_at);
    BSON_APPEND_INT64(d, "expires_at", t->expires_at);
    BSON_APPEND_INT64(d, "progress_at", t->progress_at);
}

int hs__mg_transfer_create(hs_store_t *st, const hs_transfer_t *t, hs_err_t *err)
{
    bson_t *doc = BCON_NEW(
        "_id", BCON_UTF8(t->id), "sender_id", BCON_UTF8(t->sender_id), "recipient_id",
        BCON_UTF8(t->recipient_id), "filename", BCON_UTF8(t->filename), "size", BCON_INT64(t->size),
        "mode", BCON_UTF8(t->mode), "created_at", BCON_INT64(t->created_at), "v", BCON_INT64(0));
    hs__mg_put_str(doc, "sha256", t->sha256);
    put_changes(doc, t);
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_insert(&op, HS__MG_TRANSFERS, doc, NULL, err);
    hs__mg_end(&op);
    bson_destroy(doc);
    return rc;
}

int hs__mg_transfer_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_transfer_t *out,
                        hs_err_t *err)
{
    hs__mg_op_t op;
    bson_t doc;
    int found = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas_read(&op, HS__MG_TRANSFERS, id, &doc, &found, err);
    hs__mg_end(&op);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "transfer_not_found", "No such transfer");
    read_transfer(a, &doc, out);
    bson_destroy(&doc);
    return 0;
}

typedef struct {
    const hs_transfer_t *t;
    const char *from; /* ",a,b," */
} transfer_move_t;

/* The change applies when the stored state is one of m->from. */
static int state_in(const bson_t *current, void *arg, bson_t *set)
{
    const transfer_move_t *m = arg;
    const char *from = m->from;
    bson_iter_t it;
    uint32_t len;
    if (!bson_iter_init_find(&it, current, "state") || !BSON_ITER_HOLDS_UTF8(&it))
        return 0;
    const char *state = bson_iter_utf8(&it, &len);
    for (const char *p = strstr(from, state); p; p = strstr(p + 1, state))
        if (p > from && p[-1] == ',' && p[len] == ',') {
            put_changes(set, m->t);
            return 1;
        }
    return 0;
}

int hs__mg_transfer_update(hs_store_t *st, const hs_transfer_t *t, const char *from_states,
                           int *moved, hs_err_t *err)
{
    transfer_move_t mv = {t, from_states};
    hs__mg_op_t op;
    int m = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas(&op, HS__MG_TRANSFERS, t->id, state_in, &mv, &m, err);
    hs__mg_end(&op);
    if (!rc)
        *moved = m;
    return rc;
}

static void read_transfer_item(hs_arena_t *a, const bson_t *doc, void *item)
{
    read_transfer(a, doc, item);
}

/* Both roles in one query, newest first by id. Lists read the documents as
 * written: a change whose writer died between its claim and its write
 * shows here once a get or a write of that transfer has applied it. */
int hs__mg_transfer_page(hs_store_t *st, const char *user_id, const char *state, const char *before,
                         int limit, hs_arena_t *a, hs_transfer_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    bson_t *f = BCON_NEW("$or", "[", "{", "sender_id", BCON_UTF8(user_id), "}", "{", "recipient_id",
                         BCON_UTF8(user_id), "}", "]", "_id", "{", "$lt",
                         BCON_UTF8(before ? before : "g"), "}");
    if (state)
        BSON_APPEND_UTF8(f, "state", state);
    hs__mg_op_t op;
    int more = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_page(&op, HS__MG_TRANSFERS, f, limit, sizeof *out->items, read_transfer_item, a,
                         (void **)&out->items, &out->n, &more, err);
    hs__mg_end(&op);
    bson_destroy(f);
    if (!rc && more && out->n)
        out->next_cursor = hs_arena_strdup(a, out->items[out->n - 1].id);
    return rc;
}

typedef struct {
    hs_arena_t *a;
    char **ids;
    size_t n, cap;
} id_list_t;

static void collect_id(const bson_t *doc, void *arg)
{
    id_list_t *l = arg;
    l->ids = hs_arena_grow(l->a, l->ids, l->n, &l->cap, sizeof *l->ids);
    l->ids[l->n++] = (char *)hs__mg_str(l->a, doc, "_id");
}

int hs__mg_transfer_stale(hs_store_t *st, int64_t pending_before, int64_t live_before, int limit,
                          hs_arena_t *a, char ***ids, size_t *n, hs_err_t *err)
{
    bson_t *f = BCON_NEW("$or", "[", "{", "state", BCON_UTF8("pending"), "expires_at", "{", "$lte",
                         BCON_INT64(pending_before), "}", "}", "{", "state", "{", "$in", "[",
                         BCON_UTF8("accepted"), BCON_UTF8("transferring"), "]", "}", "updated_at",
                         "{", "$lte", BCON_INT64(live_before), "}", "}", "]");
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(limit));
    id_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_TRANSFERS, f, o, collect_id, &l, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    *ids = l.ids;
    *n = l.n;
    return 0;
}

int hs__mg_p2p_block_set(hs_store_t *st, const char *blocker, const char *blocked, int on,
                         int64_t now, hs_err_t *err)
{
    hs__mg_op_t op;
    int rc;
    hs__mg_begin(st, &op);
    if (on) {
        char id[HS_ID_LEN + 1];
        int claimed;
        hs_id_new(id);
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "blocker_id", BCON_UTF8(blocker), "blocked_id",
                               BCON_UTF8(blocked), "created_at", BCON_INT64(now));
        rc = hs__mg_insert(&op, HS__MG_BLOCKS, doc, &claimed, err); /* idempotent */
        bson_destroy(doc);
    } else {
        bson_t *f = BCON_NEW("blocker_id", BCON_UTF8(blocker), "blocked_id", BCON_UTF8(blocked));
        rc = hs__mg_delete(&op, HS__MG_BLOCKS, 0, f, NULL, err);
        bson_destroy(f);
    }
    hs__mg_end(&op);
    return rc;
}

int hs__mg_p2p_blocked(hs_store_t *st, const char *blocker, const char *blocked, int *yes,
                       hs_err_t *err)
{
    bson_t *f = BCON_NEW("blocker_id", BCON_UTF8(blocker), "blocked_id", BCON_UTF8(blocked));
    long n = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_count(&op, HS__MG_BLOCKS, f, &n, err);
    hs__mg_end(&op);
    bson_destroy(f);
    if (!rc)
        *yes = n > 0;
    return rc;
}

static void collect_blocked(const bson_t *doc, void *arg)
{
    id_list_t *l = arg;
    l->ids = hs_arena_grow(l->a, l->ids, l->n, &l->cap, sizeof *l->ids);
    l->ids[l->n++] = (char *)hs__mg_str(l->a, doc, "blocked_id");
}

int hs__mg_p2p_block_list(hs_store_t *st, const char *blocker, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err)
{
    bson_t *f = BCON_NEW("blocker_id", BCON_UTF8(blocker));
    bson_t *o = BCON_NEW("sort", "{", "created_at", BCON_INT32(-1), "_id", BCON_INT32(-1), "}",
                         "limit", BCON_INT64(1000));
    id_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_BLOCKS, f, o, collect_blocked, &l, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (rc)
        return rc;
    *ids = l.ids;
    *n = l.n;
    return 0;
}
