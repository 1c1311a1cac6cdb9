/* MongoDB rate limits (events = store): GCRA as the SQLite backend and
 * lib/core/ratelimit.c compute it, exact across processes and hosts.
 *
 * A conditional update cannot count takes on FerretDB (its update reads,
 * then replaces by _id: two racing takes would both pass), and a CAS per
 * take (cas.c) would leave a claim per request. So a key's state is a chain
 * of versions: the document "<key>:<v>" holds the theoretical arrival time
 * (tat) after take v, the newest version is the state, and a take inserts
 * version v + 1 computed from version v. Two takes after the same version
 * collide on the unique _id; the loser reads again and decides again, so
 * every take that passes was counted from the state before it.
 *
 * Growth: a take deletes its key's versions below the new one that were
 * written more than a minute ago (no operation lasts that long: the socket
 * timeout is 10 s, so no writer can still be deciding from them), and every
 * take deletes the states of keys whose tat is more than an hour past (they
 * say no more than a missing state; SQLite drops them once past). Known
 * limit of the latter: a take that read such a state just before it was
 * deleted and a take that found nothing both pass, counted once; only a
 * key idle for an hour, burst 1 (or cost over half the burst), in that
 * instant. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hs/util.h"
#include "mongo.h"

#define TAKE_TRIES 64
/* versions older than this (wall clock) can be pruned: longer than any
 * operation lasts */
#define KEEP_MS 60000
/* a state whose tat is this far past is dropped with its key */
#define IDLE_MS 3600000

/* The newest version of key: *v (-1 when none) and its tat (0). */
static int newest(hs__mg_op_t *op, const char *key, int64_t *v, int64_t *tat, hs_err_t *err)
{
    bson_t *f = BCON_NEW("key", BCON_UTF8(key));
    bson_t *o = BCON_NEW("sort", "{", "key", BCON_INT32(1), "v", BCON_INT32(-1), "}");
    bson_t doc;
    int found = 0;
    int rc = hs__mg_find_one(op, HS__MG_LIMITS, f, o, &doc, &found, err);
    bson_destroy(f);
    bson_destroy(o);
    *v = -1;
    *tat = 0;
    if (found) {
        *v = hs__mg_i64(&doc, "v");
        *tat = hs__mg_i64(&doc, "tat");
        bson_destroy(&doc);
    }
    return rc;
}

/* Deletes key's versions below v written before a minute ago, and every
 * state whose tat ended an hour before now. */
static int prune(hs__mg_op_t *op, const char *key, int64_t v, int64_t now, hs_err_t *err)
{
    bson_t *f = BCON_NEW("key", BCON_UTF8(key), "v", "{", "$lt", BCON_INT64(v), "}", "written", "{",
                         "$lt", BCON_INT64(hs_now_ms() - KEEP_MS), "}");
    int rc = hs__mg_delete(op, HS__MG_LIMITS, 1, f, NULL, err);
    bson_destroy(f);
    if (rc)
        return rc;
    f = BCON_NEW("tat", "{", "$lt", BCON_INT64(now - IDLE_MS), "}");
    rc = hs__mg_delete(op, HS__MG_LIMITS, 1, f, NULL, err);
    bson_destroy(f);
    return rc;
}

/* Order: read the newest version, decide; when the take passes (and cost
 * > 0), insert the next version (the race is decided here), then prune. */
int hs__mg_limit_take(hs_store_t *st, const char *key, int64_t burst, int64_t period_ms, int cost,
                      int64_t now, int64_t *wait_ms, hs_err_t *err)
{
    hs__mg_op_t op;
    int rc = 0, done = 0;
    int64_t wait = 0, v = -1;
    hs__mg_begin(st, &op);
    for (int i = 0; i < TAKE_TRIES && !rc && !done; i++) {
        int64_t tat;
        if ((rc = newest(&op, key, &v, &tat, err)))
            break;
        if (tat < now)
            tat = now;
        int64_t new_tat = tat + (cost > 0 ? cost : 1) * period_ms;
        int64_t allow_at = new_tat - burst * period_ms;
        wait = allow_at > now ? allow_at - now : 0;
        if (wait || cost <= 0) {
            done = 1;
            break;
        }
        char id[600];
        snprintf(id, sizeof id, "%s:%" PRId64, key, v + 1);
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "key", BCON_UTF8(key), "v", BCON_INT64(v + 1),
                               "tat", BCON_INT64(new_tat), "written", BCON_INT64(hs_now_ms()));
        rc = hs__mg_insert(&op, HS__MG_LIMITS, doc, &done, err);
        bson_destroy(doc);
        if (!rc && done)
            rc = prune(&op, key, v + 1, now, err);
    }
    if (!rc && !done)
        rc = hs_err_set(err, HS_EUNAVAIL, "store_busy", "the limit %s is taken too often", key);
    hs__mg_end(&op);
    if (!rc)
        *wait_ms = wait;
    return rc;
}
