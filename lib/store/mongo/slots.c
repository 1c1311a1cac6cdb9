/* MongoDB slots (events = store: waiting long-polls per user): at most max
 * holders of a key at once. Slot i of key is the document "<key>:<i>",
 * i < max, so the unique _id caps the holders exactly however many hosts
 * take at once; a unique (key, holder) gives each holder one slot. */
#include <stdio.h>
#include <string.h>

#include "mongo.h"

/* Extends holder's slot of key to until; *had = whether it holds one. */
static int extend(hs__mg_op_t *op, const char *key, const char *holder, int64_t until, int *had,
                  hs_err_t *err)
{
    bson_t *f = BCON_NEW("key", BCON_UTF8(key), "holder", BCON_UTF8(holder));
    bson_t *u = BCON_NEW("$set", "{", "until", BCON_INT64(until), "}");
    long matched = 0;
    int rc = hs__mg_update(op, HS__MG_SLOTS, 0, f, u, &matched, err);
    bson_destroy(f);
    bson_destroy(u);
    *had = matched > 0;
    return rc;
}

/* Order: drop the ended slots of key (a delete: exact), count what is held
 * (full: refused, as SQLite counts), extend the holder's own slot, else
 * insert into the first free slot number below max. */
int hs__mg_slot_take(hs_store_t *st, const char *key, const char *holder, int64_t max,
                     int64_t until, int64_t now, int *taken, hs_err_t *err)
{
    hs__mg_op_t op;
    long held = 0;
    int had = 0, got = 0;
    bson_t *f = BCON_NEW("key", BCON_UTF8(key), "until", "{", "$lt", BCON_INT64(now), "}");
    bson_t *fk = BCON_NEW("key", BCON_UTF8(key));
    hs__mg_begin(st, &op);
    int rc = hs__mg_delete(&op, HS__MG_SLOTS, 1, f, NULL, err);
    if (!rc)
        rc = hs__mg_count(&op, HS__MG_SLOTS, fk, &held, err);
    if (!rc && held < max)
        rc = extend(&op, key, holder, until, &had, err);
    got = had;
    for (int64_t i = 0; !rc && !got && held < max && i < max; i++) {
        char id[512];
        snprintf(id, sizeof id, "%s:%lld", key, (long long)i);
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "key", BCON_UTF8(key), "holder",
                               BCON_UTF8(holder), "until", BCON_INT64(until));
        rc = hs__mg_insert(&op, HS__MG_SLOTS, doc, &got, err);
        bson_destroy(doc);
        if (!rc && !got) /* slot i is someone's, or the holder took one meanwhile */
            rc = extend(&op, key, holder, until, &got, err);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(fk);
    if (!rc)
        *taken = got;
    return rc;
}

int hs__mg_slot_drop(hs_store_t *st, const char *key, const char *holder, hs_err_t *err)
{
    bson_t *f = BCON_NEW("key", BCON_UTF8(key), "holder", BCON_UTF8(holder));
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_delete(&op, HS__MG_SLOTS, 0, f, NULL, err);
    hs__mg_end(&op);
    bson_destroy(f);
    return rc;
}
