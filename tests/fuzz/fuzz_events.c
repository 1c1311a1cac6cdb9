/* The events/replay side (lib/domain/events.c): event ids as clients send them
 * (?since=, the bridge's since=) and the reading of replayed stream entries
 * from Redis replies. collect() is static, so lib/domain/events.c is compiled into
 * this harness. Input: an id string up to '\n', then a description of an
 * XRANGE-shaped reply (any shape the code must tolerate). Checks: an id
 * that parses formats back to its canonical text and parses again to the
 * same id; replayed items come out complete, sorted and no more than the
 * entries given; their client form is JSON with the same id and type. */
#include "../../lib/domain/events.c"

#include "fuzz.h"

static void check_id(const char *s, size_t len)
{
    hs_ev_id_t id;
    if (hs_event_id_parse(s, len, &id))
        return;
    /* digits '-' digits, 19 digits at most each */
    const char *dash = memchr(s, '-', len);
    FUZZ_CHECK(dash && dash > s && (size_t)(dash - s) <= 19 && len - (size_t)(dash - s) - 1 >= 1 &&
                   len - (size_t)(dash - s) - 1 <= 19,
               "accepted %.*s", (int)len, s);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(s + i == dash || (s[i] >= '0' && s[i] <= '9'), "accepted byte %zu", i);
    char buf[HS_EV_ID_MAX];
    int n = hs_event_id_format(id, buf);
    FUZZ_CHECK(n > 0 && n < HS_EV_ID_MAX, "formatted %d", n);
    hs_ev_id_t again;
    FUZZ_CHECK(hs_event_id_parse(buf, (size_t)n, &again) == 0 && hs_event_id_cmp(id, again) == 0,
               "round trip of %s", buf);
    hs_ev_id_t zero = {0, 0}, max = {UINT64_MAX, UINT64_MAX};
    FUZZ_CHECK(hs_event_id_cmp(zero, id) <= 0 && hs_event_id_cmp(id, max) <= 0, "order");
    FUZZ_CHECK(hs_event_id_cmp(id, zero) == -hs_event_id_cmp(zero, id), "antisymmetry");
    hs_ctx_t ctx = {0};
    ctx.cfg.events_retention = 86400;
    hs_event_resumable(&ctx, id, max, INT64_MAX / 2);
}

static redisReply *node(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = type;
    return r;
}

static redisReply *str_node(fuzz_in_t *in)
{
    redisReply *r = node(REDIS_REPLY_STRING);
    size_t len;
    r->str = fuzz_str(in, '\n', 0, &len);
    r->len = len;
    return r;
}

static void add(redisReply *parent, redisReply *child)
{
    parent->element = realloc(parent->element, (parent->elements + 1) * sizeof *parent->element);
    parent->element[parent->elements++] = child;
}

static void free_node(redisReply *r)
{
    for (size_t i = 0; i < r->elements; i++)
        free_node(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* [[entry, ...] or nil, ...] where an entry is [id, [field, value, ...]]
 * or a malformed variation; returns the number of entries made. */
static redisReply *build(fuzz_in_t *in, size_t *entries)
{
    redisReply *streams = node(REDIS_REPLY_ARRAY);
    int ns = fuzz_byte(in) % 4;
    for (int i = 0; i < ns; i++) {
        uint8_t b = fuzz_byte(in);
        if (b & 0x80) {
            add(streams, node(REDIS_REPLY_NIL));
            continue;
        }
        redisReply *list = node(REDIS_REPLY_ARRAY);
        for (int j = 0; j < b % 8; j++) {
            uint8_t shape = fuzz_byte(in);
            redisReply *e = node(shape & 1 ? REDIS_REPLY_ARRAY : REDIS_REPLY_INTEGER);
            if (e->type == REDIS_REPLY_ARRAY) {
                add(e, str_node(in));
                if (!(shape & 2)) {
                    redisReply *f = node(shape & 4 ? REDIS_REPLY_ARRAY : REDIS_REPLY_STRING);
                    if (f->type == REDIS_REPLY_ARRAY)
                        for (int k = 0; k < (shape >> 3) % 6; k++)
                            add(f, str_node(in));
                    add(e, f);
                }
            }
            add(list, e);
            (*entries)++;
        }
        add(streams, list);
    }
    return streams;
}

static void check_replay(fuzz_in_t *in)
{
    size_t entries = 0;
    redisReply *r = build(in, &entries);
    hs_ev_list_t l = {0};
    hs_err_t err;
    FUZZ_CHECK(collect(&l, r, &err) == 0, "collect failed");
    FUZZ_CHECK(l.n <= entries, "%zu items of %zu entries", l.n, entries);
    if (l.n) /* items is NULL when no stream had entries */
        qsort(l.items, l.n, sizeof *l.items, by_id);
    for (size_t i = 0; i < l.n; i++) {
        const hs_ev_item_t *it = &l.items[i];
        FUZZ_CHECK(it->type && it->data, "item %zu incomplete", i);
        if (i)
            FUZZ_CHECK(hs_event_id_cmp(l.items[i - 1].id, it->id) <= 0, "unsorted at %zu", i);
        char id[HS_EV_ID_MAX];
        hs_event_id_format(it->id, id);
        size_t len;
        char *json = hs_event_json(id, it->type, it->type_len, it->data, it->data_len, &len);
        FUZZ_CHECK(json && len == strlen(json), "event json of %zu bytes", len);
        /* Types are ours ([a-z0-9._]) and data is JSON we wrote: then the
         * client form must be JSON carrying them. */
        int plain = it->type_len == strlen(it->type) &&
                    strspn(it->type, "abcdefghijklmnopqrstuvwxyz0123456789._") == it->type_len;
        cJSON *data = cJSON_ParseWithOpts(it->data, NULL, 1); /* all of it */
        if (plain && data && it->data_len == strlen(it->data)) {
            cJSON *o = cJSON_Parse(json);
            FUZZ_CHECK(o, "client form is not JSON: %s", json);
            const cJSON *oid = cJSON_GetObjectItemCaseSensitive(o, "id");
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
            FUZZ_CHECK(cJSON_IsString(oid) && strcmp(oid->valuestring, id) == 0, "id");
            FUZZ_CHECK(cJSON_IsString(type) && strcmp(type->valuestring, it->type) == 0, "type");
            cJSON_Delete(o);
        }
        cJSON_Delete(data);
        free(json);
    }
    free(l.items);
    free_node(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    size_t len;
    char *id = fuzz_str(&in, '\n', 0, &len);
    check_id(id, len);
    check_replay(&in);
    free(id);
    return 0;
}
