/* MongoDB event streams (events = store): one counter of ids <ms>-<seq>
 * over all keys, ids that follow commit order, reads after a cursor.
 *
 * `events` is a chain: each event names the event it was appended after
 * (prev) under a unique index, and its id is derived from that one (ms =
 * max(now, its ms), seq 0 on a new ms, else its seq + 1). Two appends after
 * the same event collide and the loser appends again after the winner; an
 * event is only written once its predecessor was visible, so ids follow
 * commit order and a reader polling "after X" misses nothing (the design
 * message order will use, docs/mongo-status.md). _id is the id as text,
 * zero-padded, so that text order is id order. Trimming keeps the newest
 * event, marked trimmed, as the chain's anchor: ids never go back. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mongo.h"

#define APPEND_TRIES 256

static void event_id(char out[40], int64_t ms, int64_t seq)
{
    snprintf(out, 40, "%015" PRId64 "-%010" PRId64, ms, seq);
}

/* The newest event (trimmed or not): its id, ms and seq; "" and 0-0 before
 * the first. */
static int newest(hs__mg_op_t *op, char id[40], int64_t *ms, int64_t *seq, hs_err_t *err)
{
    bson_t *f = bson_new();
    bson_t *o = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "projection", "{", "ms",
                         BCON_INT32(1), "seq", BCON_INT32(1), "}");
    bson_t doc;
    int found = 0;
    int rc = hs__mg_find_one(op, HS__MG_EVENTS, f, o, &doc, &found, err);
    bson_destroy(f);
    bson_destroy(o);
    id[0] = '\0';
    *ms = *seq = 0;
    if (found) {
        *ms = hs__mg_i64(&doc, "ms");
        *seq = hs__mg_i64(&doc, "seq");
        event_id(id, *ms, *seq);
        bson_destroy(&doc);
    }
    return rc;
}

/* Deletes the events whose ms is before `before`, but the newest (the
 * anchor), which is marked trimmed instead. */
static int trim(hs__mg_op_t *op, int64_t before, hs_err_t *err)
{
    char last[40];
    int64_t ms, seq;
    int rc = newest(op, last, &ms, &seq, err);
    if (rc || !last[0])
        return rc;
    bson_t *f = BCON_NEW("ms", "{", "$lt", BCON_INT64(before), "}", "_id", "{", "$lt",
                         BCON_UTF8(last), "}");
    rc = hs__mg_delete(op, HS__MG_EVENTS, 1, f, NULL, err);
    bson_destroy(f);
    if (!rc && ms < before) {
        f = BCON_NEW("_id", BCON_UTF8(last), "trimmed", BCON_INT32(0));
        bson_t *u = BCON_NEW("$set", "{", "trimmed", BCON_INT32(1), "}");
        rc = hs__mg_update(op, HS__MG_EVENTS, 0, f, u, NULL, err);
        bson_destroy(f);
        bson_destroy(u);
    }
    return rc;
}

int hs__mg_event_append(hs_store_t *st, const char *key, const char *type, const char *data,
                        int64_t now, int64_t retention_ms, int64_t *ms, int64_t *seq, hs_err_t *err)
{
    hs__mg_op_t op;
    int rc = 0, claimed = 0;
    int64_t m = 0, q = 0;
    hs__mg_begin(st, &op);
    for (int i = 0; i < APPEND_TRIES && !rc && !claimed; i++) {
        char prev[40], id[40];
        int64_t pm, pq;
        if ((rc = newest(&op, prev, &pm, &pq, err)))
            break;
        m = now > pm ? now : pm;
        q = now > pm ? 0 : pq + 1;
        event_id(id, m, q);
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "prev", BCON_UTF8(prev), "ms", BCON_INT64(m),
                               "seq", BCON_INT64(q), "key", BCON_UTF8(key), "type", BCON_UTF8(type),
                               "data", BCON_UTF8(data), "trimmed", BCON_INT32(0));
        rc = hs__mg_insert(&op, HS__MG_EVENTS, doc, &claimed, err);
        bson_destroy(doc);
    }
    if (!rc && !claimed)
        rc = hs_err_set(err, HS_EUNAVAIL, "store_busy", "too many events at once; try again");
    if (!rc)
        rc = trim(&op, now - retention_ms, err);
    hs__mg_end(&op);
    if (!rc) {
        *ms = m;
        *seq = q;
    }
    return rc;
}

int hs__mg_event_last(hs_store_t *st, int64_t *ms, int64_t *seq, hs_err_t *err)
{
    hs__mg_op_t op;
    char id[40];
    int64_t m, q;
    hs__mg_begin(st, &op);
    int rc = newest(&op, id, &m, &q, err);
    hs__mg_end(&op);
    if (!rc) {
        *ms = m;
        *seq = q;
    }
    return rc;
}

int hs__mg_event_trim(hs_store_t *st, int64_t before, hs_err_t *err)
{
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = trim(&op, before, err);
    hs__mg_end(&op);
    return rc;
}

typedef struct {
    hs_arena_t *a;
    hs_event_row_t *rows;
    size_t n, cap;
} event_list_t;

static void collect_event(const bson_t *doc, void *arg)
{
    event_list_t *l = arg;
    l->rows = hs_arena_grow(l->a, l->rows, l->n, &l->cap, sizeof *l->rows);
    hs_event_row_t *r = &l->rows[l->n++];
    r->ms = hs__mg_i64(doc, "ms");
    r->seq = hs__mg_i64(doc, "seq");
    r->key = hs__mg_str(l->a, doc, "key");
    r->type = hs__mg_str(l->a, doc, "type");
    r->data = hs__mg_str(l->a, doc, "data");
}

int hs__mg_event_read(hs_store_t *st, const char *const *keys, size_t n, int64_t after_ms,
                      int64_t after_seq, int limit, hs_arena_t *a, hs_event_row_t **out,
                      size_t *nout, hs_err_t *err)
{
    *out = NULL;
    *nout = 0;
    if (n == 0 || limit <= 0)
        return 0;
    char after[40];
    event_id(after, after_ms, after_seq);
    bson_t *f = bson_new(), in, list;
    BSON_APPEND_DOCUMENT_BEGIN(f, "key", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    for (size_t i = 0; i < n; i++) {
        char k[16];
        const char *idx;
        bson_uint32_to_string((uint32_t)i, &idx, k, sizeof k);
        bson_append_utf8(&list, idx, -1, keys[i], -1);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(f, &in);
    BSON_APPEND_DOCUMENT_BEGIN(f, "_id", &in);
    BSON_APPEND_UTF8(&in, "$gt", after);
    bson_append_document_end(f, &in);
    BSON_APPEND_INT32(f, "trimmed", 0);
    bson_t *o = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(limit));
    event_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_EVENTS, f, o, collect_event, &l, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (!rc) {
        *out = l.rows;
        *nout = l.n;
    }
    return rc;
}
