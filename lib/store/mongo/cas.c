/* Compare-and-set on a document, exact on MongoDB and on FerretDB alike.
 *
 * A conditional update cannot serve: FerretDB 1.24 reads the document, then
 * replaces it by _id without checking the filter again, so two racing
 * "if state is pending" updates can both win. Instead each change of a
 * versioned document (a field "v", 0 when created) is decided by a claim:
 * inserting {_id: "<collection>:<id>:<v+1>", set: <the new fields>} into
 * `cas_claims`. The unique _id lets one writer per version through; the
 * winner then writes the document (v+1 and its fields). A writer that
 * loses reads again and decides again. The document is the claims applied
 * in order: a reader that finds the claim of the next version already there
 * (its winner died, or has not written yet) applies it itself, so nobody
 * ever sees a state older than a change that was reported done. Claims are
 * small and kept while their document lives (deleting one would let a slow
 * writer of that version in again). */
#include <stdio.h>
#include <string.h>

#include "mongo.h"

/* How many times a writer decides again before giving up (503): each lost
 * round means another writer's change went through. */
#define CAS_TRIES 64

static void claim_key(char *out, size_t n, hs__mg_coll_t c, const char *id, int64_t v)
{
    snprintf(out, n, "%s:%s:%lld", hs__mg_coll_names[c], id, (long long)v);
}

/* {$set: {<set's fields>, v: v}} */
static bson_t *update_to(const bson_t *set, int64_t v)
{
    bson_t *u = bson_new(), inner;
    BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &inner);
    bson_concat(&inner, set);
    BSON_APPEND_INT64(&inner, "v", v);
    bson_append_document_end(u, &inner);
    return u;
}

/* Writes version v (its claim's fields) over version v - 1 of the document;
 * a no-op when another writer did it first. */
static int apply(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, const bson_t *set, int64_t v,
                 hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id), "v", BCON_INT64(v - 1));
    bson_t *u = update_to(set, v);
    int rc = hs__mg_update(op, c, 0, f, u, NULL, err);
    bson_destroy(f);
    bson_destroy(u);
    return rc;
}

int hs__mg_cas_read(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, bson_t *doc, int *found,
                    hs_err_t *err)
{
    for (int i = 0; i < CAS_TRIES; i++) {
        bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
        int rc = hs__mg_find_one(op, c, f, NULL, doc, found, err);
        bson_destroy(f);
        if (rc || !*found)
            return rc;
        int64_t v = hs__mg_i64(doc, "v");
        char key[128];
        claim_key(key, sizeof key, c, id, v + 1);
        bson_t claim, set;
        int pending = 0;
        f = BCON_NEW("_id", BCON_UTF8(key));
        rc = hs__mg_find_one(op, HS__MG_CLAIMS_CAS, f, NULL, &claim, &pending, err);
        bson_destroy(f);
        if (rc || !pending)
            return rc; /* the newest version */
        /* a change was decided and not written yet: write it, read again */
        bson_destroy(doc);
        *found = 0;
        bson_iter_t it;
        const uint8_t *data;
        uint32_t len;
        if (bson_iter_init_find(&it, &claim, "set") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&set, data, len))
                rc = apply(op, c, id, &set, v + 1, err);
        }
        bson_destroy(&claim);
        if (rc)
            return rc;
    }
    return hs_err_set(err, HS_EUNAVAIL, "store_busy", "the document %s changes too often", id);
}

int hs__mg_cas(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, hs__mg_cas_decide_fn decide,
               void *arg, int *moved, hs_err_t *err)
{
    *moved = 0;
    for (int i = 0; i < CAS_TRIES; i++) {
        bson_t doc, set = BSON_INITIALIZER;
        int found = 0, claimed = 0;
        int rc = hs__mg_cas_read(op, c, id, &doc, &found, err);
        if (rc || !found) {
            bson_destroy(&set);
            return rc;
        }
        int64_t v = hs__mg_i64(&doc, "v");
        int ok = decide(&doc, arg, &set);
        bson_destroy(&doc);
        if (!ok) {
            bson_destroy(&set);
            return 0;
        }
        char key[128];
        claim_key(key, sizeof key, c, id, v + 1);
        bson_t *claim = BCON_NEW("_id", BCON_UTF8(key), "set", BCON_DOCUMENT(&set));
        rc = hs__mg_insert(op, HS__MG_CLAIMS_CAS, claim, &claimed, err);
        bson_destroy(claim);
        if (!rc && claimed)
            rc = apply(op, c, id, &set, v + 1, err); /* if it fails: the next reader applies it */
        bson_destroy(&set);
        if (rc)
            return rc;
        if (!claimed)
            continue; /* another writer changed it first: decide again */
        *moved = 1;
        return 0;
    }
    return hs_err_set(err, HS_EUNAVAIL, "store_busy", "the document %s changes too often", id);
}
