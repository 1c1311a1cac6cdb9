#include "hs/events.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hs/events_lua.h"
#include "hs/log.h"
#include "hs/redis.h"
#include "hs/store.h"

/* XADD then PUBLISH in one script, so a subscriber never sees a live event
 * that the stream (and so a replay) lacks.
 *
 * Ids are global, not per stream: "<ms>-<seq>" from one counter
 * (the last-id key) made the way Redis makes stream ids (never going back with
 * the clock). Events of all streams are then totally ordered in the order
 * Redis ran the scripts, which is also the order subscribers receive them,
 * so a client's single "last id seen" resumes every chat at once. Streams
 * are trimmed by age (MINID), never by count, so everything younger than
 * the retention window can be replayed. */
static const char script[] = HS_EVENT_PUBLISH_LUA;

/* The names of the keys: hs:ev:user:<id>, hs:ev:chat:<id> (stream and
 * channel alike) and hs:ev:last, the newest id given out. Spelled here
 * only: everything else asks hs_event_key(). */
#define PREFIX   "hs:ev:"
#define LAST_KEY PREFIX "last"

static const char *const scope_names[] = {[HS_EV_USER] = "user", [HS_EV_CHAT] = "chat"};

int hs_event_key(char buf[HS_EV_KEY_MAX], hs_ev_scope_t scope, const char *id)
{
    return snprintf(buf, HS_EV_KEY_MAX, PREFIX "%s:%.*s", scope_names[scope], HS_ID_LEN, id);
}

const char *hs_event_key_id(const char *key, hs_ev_scope_t *scope)
{
    if (strncmp(key, PREFIX, sizeof PREFIX - 1) != 0)
        return NULL;
    key += sizeof PREFIX - 1;
    for (int s = HS_EV_USER; s <= HS_EV_CHAT; s++) {
        size_t n = strlen(scope_names[s]);
        if (strncmp(key, scope_names[s], n) == 0 && key[n] == ':') {
            if (scope)
                *scope = (hs_ev_scope_t)s;
            return key + n + 1;
        }
    }
    return NULL;
}

int hs_event_type_is(const char *type, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len == n && memcmp(type, name, n) == 0;
}

int hs_event_publish(hs_ctx_t *ctx, hs_ev_scope_t scope, const char *id, const char *type,
                     cJSON *data, hs_err_t *err)
{
    char key[HS_EV_KEY_MAX], retention[24];
    hs_event_key(key, scope, id);
    snprintf(retention, sizeof retention, "%ld", ctx->cfg.events_retention);
    char *json = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!json)
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    if (hs_config_events_store(&ctx->cfg)) {
        int64_t ms, seq;
        int rc = hs_store_event_append(ctx->store, key, type, json, hs_now_ms(),
                                       ctx->cfg.events_retention * 1000, &ms, &seq, err);
        free(json);
        if (rc)
            hs_log_error(ctx, "event %s for %s not stored", type, key);
        return rc;
    }
    const char *argv[] = {"EVAL", script, "2", key, LAST_KEY, type, json, retention};
    struct redisReply *reply = hs_redis_argv(ctx->redis, 8, argv, err);
    free(json);
    if (!reply) {
        hs_log_error(ctx, "event %s for %s not published: Redis unavailable", type, key);
        return HS_EUNAVAIL;
    }
    hs_redis_reply_free(reply);
    return 0;
}

int hs_event_id_parse(const char *s, size_t len, hs_ev_id_t *out)
{
    uint64_t part[2] = {0, 0};
    int which = 0, digits = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '-' && which == 0 && digits) {
            which = 1;
            digits = 0;
        } else if (c >= '0' && c <= '9' && digits < 19) {
            part[which] = part[which] * 10 + (uint64_t)(c - '0');
            digits++;
        } else {
            return -1;
        }
    }
    if (which != 1 || !digits)
        return -1;
    out->ms = part[0];
    out->seq = part[1];
    return 0;
}

int hs_event_id_cmp(hs_ev_id_t a, hs_ev_id_t b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

int hs_event_id_format(hs_ev_id_t id, char buf[HS_EV_ID_MAX])
{
    return snprintf(buf, HS_EV_ID_MAX, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

int hs_event_last(hs_ctx_t *ctx, hs_ev_id_t *out, hs_err_t *err)
{
    if (hs_config_events_store(&ctx->cfg)) {
        int64_t ms, seq;
        int rc = hs_store_event_last(ctx->store, &ms, &seq, err);
        if (!rc) {
            out->ms = (uint64_t)ms;
            out->seq = (uint64_t)seq;
        }
        return rc;
    }
    const char *argv[] = {"GET", LAST_KEY};
    redisReply *r = hs_redis_argv(ctx->redis, 2, argv, err);
    if (!r)
        return HS_EUNAVAIL;
    out->ms = out->seq = 0;
    if (r->type == REDIS_REPLY_STRING)
        hs_event_id_parse(r->str, r->len, out);
    hs_redis_reply_free(r);
    return 0;
}

int hs_event_resumable(const hs_ctx_t *ctx, hs_ev_id_t since, hs_ev_id_t last, int64_t now_ms)
{
    if (hs_event_id_cmp(since, last) > 0)
        return 0;
    return (int64_t)since.ms >= now_ms - ctx->cfg.events_retention * 1000;
}

/* Every stream's entries after ARGV[1], in one round trip. */
static const char read_script[] =
    "local r = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  r[i] = redis.call('XRANGE', k, '(' .. ARGV[1], '+', 'COUNT', ARGV[2])\n"
    "end\n"
    "return r\n";

/* Appends the entries of streams (an array of entry arrays) to l. */
static int collect(hs_ev_list_t *l, const redisReply *streams, hs_err_t *err)
{
    for (size_t i = 0; i < streams->elements; i++) {
        const redisReply *entries = streams->element[i];
        if (entries->type != REDIS_REPLY_ARRAY)
            continue;
        if (hs_vec_reserve(l, l->n + entries->elements))
            return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
        for (size_t j = 0; j < entries->elements; j++) {
            const redisReply *e = entries->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            hs_ev_item_t it = {0};
            if (hs_event_id_parse(e->element[0]->str, e->element[0]->len, &it.id))
                continue;
            const redisReply *f = e->element[1];
            for (size_t k = 0; k + 1 < f->elements; k += 2) {
                const char *name = f->element[k]->str;
                if (strcmp(name, "type") == 0) {
                    it.type = f->element[k + 1]->str;
                    it.type_len = f->element[k + 1]->len;
                } else if (strcmp(name, "data") == 0) {
                    it.data = f->element[k + 1]->str;
                    it.data_len = f->element[k + 1]->len;
                }
            }
            if (it.type && it.data)
                l->items[l->n++] = it;
        }
    }
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return hs_event_id_cmp(((const hs_ev_item_t *)a)->id, ((const hs_ev_item_t *)b)->id);
}

static int keep_reply(hs_ev_list_t *l, redisReply *r, hs_err_t *err)
{
    if (hs_vec_push(&l->replies_, r)) {
        hs_redis_reply_free(r);
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    }
    return 0;
}

/* 0 after ms, -1 when a signal (SIGTERM: the app is stopping) woke it. */
static int sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    return nanosleep(&ts, NULL);
}

/* hs_event_read with events = store: the same ids and order, read from the
 * store, and a wait made of reads HS_EV_POLL_MS apart. */
static int read_store(hs_ctx_t *ctx, const char *const *keys, size_t n, hs_ev_id_t since,
                      size_t limit, int block_ms, hs_ev_list_t *out, hs_err_t *err)
{
    int64_t until = hs_now_ms() + (block_ms > 0 ? block_ms : 0);
    for (;;) {
        hs_event_row_t *rows;
        size_t got;
        int rc = hs_store_event_read(ctx->store, keys, n, (int64_t)since.ms, (int64_t)since.seq,
                                     (int)limit + 1, &out->arena_, &rows, &got, err);
        if (rc)
            return rc;
        if (got) {
            if (hs_vec_reserve(out, got))
                return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
            for (size_t i = 0; i < got; i++)
                out->items[out->n++] = (hs_ev_item_t){
                    .id = {(uint64_t)rows[i].ms, (uint64_t)rows[i].seq},
                    .type = rows[i].type,
                    .data = rows[i].data,
                    .type_len = strlen(rows[i].type),
                    .data_len = strlen(rows[i].data),
                };
            if (out->n > limit) {
                out->n = limit;
                out->more = 1;
            }
            return 0;
        }
        int64_t left = until - hs_now_ms();
        if (left <= 0)
            return 0;
        /* a signal ends the wait as Redis's would: an empty answer now */
        if (sleep_ms(left < HS_EV_POLL_MS ? left : HS_EV_POLL_MS))
            return 0;
    }
}

int hs_event_read(hs_ctx_t *ctx, const char *const *keys, size_t n, hs_ev_id_t since, size_t limit,
                  int block_ms, hs_ev_list_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || limit == 0)
        return 0;
    if (hs_config_events_store(&ctx->cfg))
        return read_store(ctx, keys, n, since, limit, block_ms, out, err);
    char sid[HS_EV_ID_MAX], count[24], nkeys[24];
    hs_event_id_format(since, sid);
    snprintf(count, sizeof count, "%zu", limit + 1);
    snprintf(nkeys, sizeof nkeys, "%zu", n);
    /* EVAL script n k1..kn since count; XREAD BLOCK ms COUNT c STREAMS k1..kn id..id */
    const char **argv = malloc((2 * n + 8) * sizeof *argv);
    if (!argv)
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = read_script;
    argv[argc++] = nkeys;
    for (size_t i = 0; i < n; i++)
        argv[argc++] = keys[i];
    argv[argc++] = sid;
    argv[argc++] = count;
    redisReply *r = hs_redis_argv(ctx->redis, argc, argv, err);
    int rc = HS_EUNAVAIL;
    if (!r)
        goto done;
    if ((rc = keep_reply(out, r, err)))
        goto done;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = hs_err_set(err, HS_EUNAVAIL, "redis_error", "Redis answered unexpectedly");
        goto done;
    }
    if ((rc = collect(out, r, err)))
        goto done;
    if (out->n == 0 && block_ms > 0) {
        char ms[24];
        snprintf(ms, sizeof ms, "%d", block_ms);
        argc = 0;
        argv[argc++] = "XREAD";
        argv[argc++] = "COUNT";
        argv[argc++] = count;
        argv[argc++] = "BLOCK";
        argv[argc++] = ms;
        argv[argc++] = "STREAMS";
        for (size_t i = 0; i < n; i++)
            argv[argc++] = keys[i];
        for (size_t i = 0; i < n; i++)
            argv[argc++] = sid;
        r = hs_redis_argv_wait(ctx->redis, argc, argv, block_ms, err);
        if (!r) {
            rc = HS_EUNAVAIL;
            goto done;
        }
        if ((rc = keep_reply(out, r, err)))
            goto done;
        /* XREAD answers [[key, entries], ...], or nil on timeout */
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            const redisReply *kv = r->element[i];
            if (kv->type != REDIS_REPLY_ARRAY || kv->elements != 2)
                continue;
            redisReply wrap = {.type = REDIS_REPLY_ARRAY,
                               .elements = 1,
                               .element = (redisReply **)&kv->element[1]};
            if ((rc = collect(out, &wrap, err)))
                goto done;
        }
    }
    if (out->n) /* items is NULL while empty, and qsort wants a pointer */
        qsort(out->items, out->n, sizeof *out->items, by_id);
    if (out->n > limit) {
        out->n = limit;
        out->more = 1;
    }
    rc = 0;
done:
    free(argv);
    return rc;
}

void hs_event_list_free(hs_ev_list_t *l)
{
    for (size_t i = 0; i < l->replies_.n; i++)
        hs_redis_reply_free(l->replies_.items[i]);
    hs_vec_free(&l->replies_);
    hs_arena_free(&l->arena_);
    hs_vec_free(l);
    memset(l, 0, sizeof *l);
}

size_t hs_event_json_max(size_t id_len, size_t type_len, size_t data_len)
{
    return id_len + type_len + data_len + 40;
}

size_t hs_event_json_into(char *buf, const char *id, size_t id_len, const char *type,
                          size_t type_len, const char *data, size_t data_len)
{
    /* Types are [a-z0-9._] and data is already JSON: no escaping needed. */
    size_t cap = hs_event_json_max(id_len, type_len, data_len);
    int n;
    if (id_len)
        n = snprintf(buf, cap, "{\"id\":\"%.*s\",\"type\":\"%.*s\",\"data\":%.*s}", (int)id_len, id,
                     (int)type_len, type, (int)data_len, data);
    else
        n = snprintf(buf, cap, "{\"type\":\"%.*s\",\"data\":%.*s}", (int)type_len, type,
                     (int)data_len, data);
    return (size_t)n;
}

char *hs_event_json(const char *id, const char *type, size_t type_len, const char *data,
                    size_t data_len, size_t *len)
{
    size_t idl = id ? strlen(id) : 0;
    char *buf = malloc(hs_event_json_max(idl, type_len, data_len));
    if (!buf)
        return NULL;
    *len = hs_event_json_into(buf, id, idl, type, type_len, data, data_len);
    return buf;
}

int hs_event_pub_parse(const char *p, size_t n, hs_ev_pub_t *out)
{
    memset(out, 0, sizeof *out);
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1)
        return -1;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', n - (size_t)(t - p));
    if (!sp2)
        return -1;
    size_t idl = (size_t)(sp1 - p);
    out->type = t;
    out->type_len = (size_t)(sp2 - t);
    out->data = sp2 + 1;
    out->data_len = n - (size_t)(out->data - p);
    if (p[0] == '-') {
        if (idl != HS_ID_LEN + 1)
            return -1;
        memcpy(out->origin, p + 1, HS_ID_LEN);
        out->origin[HS_ID_LEN] = 0;
        return 0;
    }
    if (hs_event_id_parse(p, idl, &out->id))
        return -1;
    out->stored = 1;
    out->id_text = p;
    out->id_len = idl;
    return 0;
}

char *hs_event_pub_ephemeral(const char *origin, const char *type, const char *data)
{
    size_t cap = strlen(origin) + strlen(type) + strlen(data) + 4;
    char *p = malloc(cap);
    if (p)
        snprintf(p, cap, "-%s %s %s", origin, type, data);
    return p;
}
