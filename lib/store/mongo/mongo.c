/* MongoDB backend: the client pool, indexes, error mapping and the helpers
 * the operations share (the vtable: ops.c). */
#include "mongo.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hs__mg_coll_names[HS__MG_NCOLL] = {
    [HS__MG_USERS] = "users",
    [HS__MG_FOLLOWS] = "follows",
    [HS__MG_SESSIONS] = "sessions",
    [HS__MG_REVOCATIONS] = "session_revocations",
    [HS__MG_REFRESH] = "refresh_tokens",
    [HS__MG_CLAIMS] = "refresh_claims",
    [HS__MG_TRANSFERS] = "p2p_transfers",
    [HS__MG_BLOCKS] = "p2p_blocks",
    [HS__MG_CLAIMS_CAS] = "cas_claims",
    [HS__MG_SLOTS] = "slots",
    [HS__MG_UPLOADS] = "uploads",
    [HS__MG_CHUNKS] = "upload_chunks",
    [HS__MG_FILES] = "files",
    [HS__MG_USAGE] = "usage",
    [HS__MG_LINKS] = "share_links",
    [HS__MG_LINK_CLAIMS] = "link_claims",
    [HS__MG_EVENTS] = "events",
    [HS__MG_CHATS] = "chats",
    [HS__MG_MEMBERS] = "chat_members",
    [HS__MG_MESSAGES] = "messages",
    [HS__MG_REACTIONS] = "reactions",
    [HS__MG_GRANTS] = "chat_files",
    [HS__MG_TOKENS] = "message_tokens",
    [HS__MG_LIMITS] = "limits",
    [HS__MG_META] = "meta",
};

/* The indexes, created at open with createIndexes: a no-op when they exist
 * with these options, an error (loud, at start-up) when one of the same name
 * differs. Unique exactly where the SQLite schema is (sqlite.c). */
static const struct {
    hs__mg_coll_t coll;
    const char *name;
    const char *keys; /* JSON: key order matters */
    int unique;
} indexes[] = {
    {HS__MG_USERS, "username", "{\"username\": 1}", 1},
    {HS__MG_USERS, "email", "{\"email\": 1}", 1},
    /* user_search: prefix ranges on the ASCII-lowercased display name */
    {HS__MG_USERS, "display_name_lc", "{\"display_name_lc\": 1}", 0},
    {HS__MG_FOLLOWS, "pair", "{\"follower_id\": 1, \"followee_id\": 1}", 1},
    {HS__MG_FOLLOWS, "followee", "{\"followee_id\": 1, \"_id\": 1}", 0},
    {HS__MG_FOLLOWS, "follower", "{\"follower_id\": 1, \"_id\": 1}", 0},
    /* session_list: newest use first, then id */
    {HS__MG_SESSIONS, "user", "{\"user_id\": 1, \"last_used_at\": -1, \"_id\": -1}", 0},
    {HS__MG_REVOCATIONS, "revoked_at", "{\"revoked_at\": 1}", 0},
    {HS__MG_REFRESH, "session", "{\"session_id\": 1}", 0},
    /* transfer_page (both roles, newest first), transfer_stale */
    {HS__MG_TRANSFERS, "sender", "{\"sender_id\": 1, \"_id\": -1}", 0},
    {HS__MG_TRANSFERS, "recipient", "{\"recipient_id\": 1, \"_id\": -1}", 0},
    {HS__MG_TRANSFERS, "state", "{\"state\": 1, \"expires_at\": 1}", 0},
    {HS__MG_BLOCKS, "pair", "{\"blocker_id\": 1, \"blocked_id\": 1}", 1},
    {HS__MG_UPLOADS, "expires_at", "{\"expires_at\": 1}", 0},
    {HS__MG_CHUNKS, "upload", "{\"upload_id\": 1, \"n\": 1}", 0},
    {HS__MG_FILES, "owner", "{\"owner_id\": 1, \"_id\": -1}", 0},
    {HS__MG_FILES, "expires_at", "{\"expires_at\": 1}", 0},
    {HS__MG_LINKS, "token_hash", "{\"token_hash\": 1}", 1},
    {HS__MG_LINKS, "file", "{\"file_id\": 1, \"_id\": 1}", 0},
    {HS__MG_LINK_CLAIMS, "downloads", "{\"link_id\": 1, \"n\": -1}", 0},
    /* the chain: one event after each event (events.c) */
    {HS__MG_EVENTS, "prev", "{\"prev\": 1}", 1},
    {HS__MG_EVENTS, "key", "{\"key\": 1, \"_id\": 1}", 0},
    {HS__MG_EVENTS, "ms", "{\"ms\": 1}", 0},
    {HS__MG_CHATS, "direct_key", "{\"direct_key\": 1}", 1},
    {HS__MG_MEMBERS, "chat", "{\"chat_id\": 1, \"user_id\": 1}", 0},
    {HS__MG_MEMBERS, "user", "{\"user_id\": 1, \"chat_id\": 1}", 0},
    {HS__MG_SLOTS, "holder", "{\"key\": 1, \"holder\": 1}", 1},
    {HS__MG_BLOCKS, "list", "{\"blocker_id\": 1, \"created_at\": -1}", 0},
    /* messages.c's indexes below this line, search.c's and limits.c's after them */
    /* the chain: one message after each message of a chat */
    {HS__MG_MESSAGES, "chain", "{\"chat_id\": 1, \"prev\": 1}", 1},
    /* a client id's send happens once (without one: the message's own id) */
    {HS__MG_MESSAGES, "client", "{\"sender_id\": 1, \"client_key\": 1}", 1},
    /* history pages, the newest message, unread counts */
    {HS__MG_MESSAGES, "chat", "{\"chat_id\": 1, \"_id\": 1}", 0},
    {HS__MG_REACTIONS, "message", "{\"message_id\": 1, \"created_at\": 1}", 0},
    {HS__MG_GRANTS, "file", "{\"file_id\": 1, \"chat_id\": 1}", 0},
    {HS__MG_GRANTS, "origin", "{\"origin\": 1}", 0},
    {HS__MG_GRANTS, "chat", "{\"chat_id\": 1}", 0},
    /* search: a word's messages per chat, newest first (search.c) */
    {HS__MG_TOKENS, "word", "{\"t\": 1, \"c\": 1, \"m\": -1}", 0},
    {HS__MG_TOKENS, "message", "{\"m\": 1}", 0},
    /* limit_take: a key's newest version; the states long past */
    {HS__MG_LIMITS, "key", "{\"key\": 1, \"v\": -1}", 0},
    {HS__MG_LIMITS, "tat", "{\"tat\": 1}", 0},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The driver's own log: warnings and errors to stderr (the apps' error
 * log), its debug chatter (every failed heartbeat) dropped. */
static void driver_log(mongoc_log_level_t level, const char *domain, const char *message, void *arg)
{
    (void)arg;
    /* FerretDB has no endSessions, which the driver sends at every close */
    if (level == MONGOC_LOG_LEVEL_WARNING && strstr(message, "\"endSessions\""))
        return;
    if (level <= MONGOC_LOG_LEVEL_WARNING)
        fprintf(stderr, "hypersend: mongoc %s: %s: %s\n", mongoc_log_level_str(level), domain,
                message);
}

static void init_driver(void)
{
    mongoc_log_set_handler(driver_log, NULL);
    mongoc_init();
}

void hs__mg_begin(hs_store_t *st, hs__mg_op_t *op)
{
    hs__mg_t *m = st->impl;
    memset(op, 0, sizeof *op);
    op->st = st;
    op->client = mongoc_client_pool_pop(m->pool);
}

void hs__mg_end(hs__mg_op_t *op)
{
    hs__mg_t *m = op->st->impl;
    for (int i = 0; i < HS__MG_NCOLL; i++)
        if (op->coll[i])
            mongoc_collection_destroy(op->coll[i]);
    mongoc_client_pool_push(m->pool, op->client);
    op->client = NULL;
}

mongoc_collection_t *hs__mg_c(hs__mg_op_t *op, hs__mg_coll_t c)
{
    hs__mg_t *m = op->st->impl;
    if (!op->coll[c])
        op->coll[c] = mongoc_client_get_collection(op->client, m->db, hs__mg_coll_names[c]);
    return op->coll[c];
}

/* Server error codes that mean "no usable primary right now" (an election,
 * a shutdown, a network error seen by the server): worth a retry, so 503. */
static int unavailable_code(uint32_t code)
{
    static const uint32_t codes[] = {6,    7,     89,    91,    189,   262,
                                     9001, 10107, 11600, 11602, 13435, 13436};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

int hs__mg_fail(hs_store_t *st, const bson_error_t *e, hs_err_t *err)
{
    hs__mg_t *m = st->impl;
    if (e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM ||
        (e->domain == MONGOC_ERROR_SERVER && unavailable_code(e->code))) {
        hs_err_set(err, HS_EUNAVAIL, "store_unavailable",
                   "the MongoDB server (%s) cannot be reached: %.150s", m->hosts, e->message);
        if (err) {
            hs_err_hint(err, "check mongo_uri and that the server runs; try again");
            err->retry_after = 1;
        }
        return HS_EUNAVAIL;
    }
    return hs_err_set(err, HS_EINTERNAL, "store_error", "mongo: %.200s (domain %u, code %u)",
                      e->message, e->domain, e->code);
}

int hs__mg_is_dup(const bson_error_t *e)
{
    return e->code == MONGOC_ERROR_DUPLICATE_KEY;
}

int hs__mg_insert(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *doc, int *claimed, hs_err_t *err)
{
    bson_error_t e;
    if (claimed)
        *claimed = 0;
    if (mongoc_collection_insert_one(hs__mg_c(op, c), doc, NULL, NULL, &e)) {
        if (claimed)
            *claimed = 1;
        return 0;
    }
    if (hs__mg_is_dup(&e))
        return claimed ? 0 : hs_err_set(err, HS_ECONFLICT, "conflict", "mongo: %.200s", e.message);
    return hs__mg_fail(op->st, &e, err);
}

int hs__mg_delete(hs__mg_op_t *op, hs__mg_coll_t c, int many, const bson_t *filter, long *deleted,
                  hs_err_t *err)
{
    bson_t reply;
    bson_error_t e;
    mongoc_collection_t *coll = hs__mg_c(op, c);
    bool ok = many ? mongoc_collection_delete_many(coll, filter, NULL, &reply, &e)
                   : mongoc_collection_delete_one(coll, filter, NULL, &reply, &e);
    if (deleted)
        *deleted = ok ? (long)hs__mg_i64(&reply, "deletedCount") : 0;
    bson_destroy(&reply);
    return ok ? 0 : hs__mg_fail(op->st, &e, err);
}

int hs__mg_exists(hs__mg_op_t *op, hs__mg_coll_t c, const char *id, int *yes, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *o = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t doc;
    int rc = hs__mg_find_one(op, c, f, o, &doc, yes, err);
    if (*yes)
        bson_destroy(&doc);
    bson_destroy(f);
    bson_destroy(o);
    return rc;
}

int hs__mg_find_one(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, const bson_t *opts,
                    bson_t *doc, int *found, hs_err_t *err)
{
    bson_t o = BSON_INITIALIZER;
    if (opts)
        bson_concat(&o, opts);
    BSON_APPEND_INT64(&o, "limit", 1);
    BSON_APPEND_BOOL(&o, "singleBatch", true);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(hs__mg_c(op, c), filter, &o, NULL);
    bson_destroy(&o);
    const bson_t *d;
    bson_error_t e;
    *found = 0;
    if (mongoc_cursor_next(cur, &d)) {
        bson_copy_to(d, doc);
        *found = 1;
    }
    int rc = 0;
    if (mongoc_cursor_error(cur, &e)) {
        if (*found)
            bson_destroy(doc);
        *found = 0;
        rc = hs__mg_fail(op->st, &e, err);
    }
    mongoc_cursor_destroy(cur);
    return rc;
}

int hs__mg_find_each(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, const bson_t *opts,
                     hs__mg_each_fn each, void *arg, hs_err_t *err)
{
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(hs__mg_c(op, c), filter, opts, NULL);
    const bson_t *d;
    bson_error_t e;
    while (mongoc_cursor_next(cur, &d))
        each(d, arg);
    int rc = mongoc_cursor_error(cur, &e) ? hs__mg_fail(op->st, &e, err) : 0;
    mongoc_cursor_destroy(cur);
    return rc;
}

int hs__mg_update(hs__mg_op_t *op, hs__mg_coll_t c, int many, const bson_t *filter,
                  const bson_t *update, long *matched, hs_err_t *err)
{
    bson_t reply;
    bson_error_t e;
    mongoc_collection_t *coll = hs__mg_c(op, c);
    bool ok = many ? mongoc_collection_update_many(coll, filter, update, NULL, &reply, &e)
                   : mongoc_collection_update_one(coll, filter, update, NULL, &reply, &e);
    if (matched)
        *matched = ok ? (long)hs__mg_i64(&reply, "matchedCount") : 0;
    bson_destroy(&reply);
    return ok ? 0 : hs__mg_fail(op->st, &e, err);
}

int hs__mg_count(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, long *n, hs_err_t *err)
{
    bson_error_t e;
    int64_t v = mongoc_collection_count_documents(hs__mg_c(op, c), filter, NULL, NULL, NULL, &e);
    if (v < 0)
        return hs__mg_fail(op->st, &e, err);
    *n = (long)v;
    return 0;
}

const char *hs__mg_str(hs_arena_t *a, const bson_t *doc, const char *key)
{
    bson_iter_t it;
    uint32_t len;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    const char *v = bson_iter_utf8(&it, &len);
    return hs_arena_strndup(a, v, len);
}

void hs__mg_id(char dst[HS_ID_LEN + 1], const bson_t *doc, const char *key)
{
    bson_iter_t it;
    uint32_t len = 0;
    const char *v = "";
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        v = bson_iter_utf8(&it, &len);
    snprintf(dst, HS_ID_LEN + 1, "%.*s", (int)(len > HS_ID_LEN ? HS_ID_LEN : len), v);
}

int64_t hs__mg_i64(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key))
        return 0;
    switch (bson_iter_type(&it)) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_BOOL:
        return bson_iter_as_int64(&it);
    default:
        return 0;
    }
}

void hs__mg_put_str(bson_t *doc, const char *key, const char *v)
{
    if (v)
        BSON_APPEND_UTF8(doc, key, v);
    else
        BSON_APPEND_NULL(doc, key);
}

char *hs__mg_ascii_lower(hs_arena_t *a, const char *s)
{
    char *out = hs_arena_strdup(a, s ? s : "");
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

int hs__mg_ping(hs_store_t *st, hs_err_t *err)
{
    hs__mg_op_t op;
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t e;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    hs__mg_begin(st, &op);
    bool ok = mongoc_client_command_simple(op.client, "admin", &cmd, NULL, NULL, &e);
    hs__mg_end(&op);
    bson_destroy(&cmd);
    return ok ? 0 : hs__mg_fail(st, &e, err);
}

/* A signature of indexes[]: a database whose meta document "indexes"
 * holds it has every index already. */
static void indexes_signature(char out[17])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        const char *parts[] = {hs__mg_coll_names[indexes[i].coll], indexes[i].name, indexes[i].keys,
                               indexes[i].unique ? "u" : "-"};
        for (size_t p = 0; p < 4; p++)
            for (const char *c = parts[p]; *c; c++)
                h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        h = (h ^ '|') * 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* One createIndexes command per index: FerretDB 1.24 drops the connection
 * (a panic in its handler) when one command names two or more indexes that
 * all exist already. Each open of every process would repeat them (40-odd
 * round trips, seconds on FerretDB while a stack starts): the meta
 * document "indexes" records the signature of the list created, and an
 * open that finds it skips the commands (two processes that both miss it
 * create the same indexes twice, which is harmless). */
static int create_indexes(hs_store_t *st, hs_err_t *err)
{
    hs__mg_t *m = st->impl;
    hs__mg_op_t op;
    char sig[17];
    indexes_signature(sig);
    bson_t *mark = BCON_NEW("_id", BCON_UTF8("indexes"), "sig", BCON_UTF8(sig));
    bson_t found;
    int have = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_META, mark, NULL, &found, &have, err);
    if (have)
        bson_destroy(&found);
    if (rc || have) {
        hs__mg_end(&op);
        bson_destroy(mark);
        return rc;
    }
    mongoc_database_t *db = mongoc_client_get_database(op.client, m->db);
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0] && !rc; i++) {
        bson_error_t e;
        bson_t *keys = bson_new_from_json((const uint8_t *)indexes[i].keys, -1, &e);
        if (!keys) {
            rc = hs_err_set(err, HS_EINTERNAL, "store_error", "mongo: index %s: %s",
                            indexes[i].name, e.message);
            break;
        }
        bson_t cmd = BSON_INITIALIZER, list, spec;
        BSON_APPEND_UTF8(&cmd, "createIndexes", hs__mg_coll_names[indexes[i].coll]);
        BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
        BSON_APPEND_DOCUMENT_BEGIN(&list, "0", &spec);
        BSON_APPEND_DOCUMENT(&spec, "key", keys);
        BSON_APPEND_UTF8(&spec, "name", indexes[i].name);
        if (indexes[i].unique)
            BSON_APPEND_BOOL(&spec, "unique", true);
        bson_append_document_end(&list, &spec);
        bson_append_array_end(&cmd, &list);
        if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, NULL, &e))
            rc = hs__mg_fail(st, &e, err);
        bson_destroy(&cmd);
        bson_destroy(keys);
    }
    mongoc_database_destroy(db);
    if (!rc) { /* the mark of this list replaces that of an older one */
        bson_t *id = BCON_NEW("_id", BCON_UTF8("indexes"));
        rc = hs__mg_delete(&op, HS__MG_META, 0, id, NULL, err);
        if (!rc)
            rc = hs__mg_insert(&op, HS__MG_META, mark, &have, err);
        bson_destroy(id);
    }
    hs__mg_end(&op);
    bson_destroy(mark);
    return rc;
}

void hs__mg_close(hs_store_t *st)
{
    hs__mg_t *m = st->impl;
    if (m) {
        if (m->pool)
            mongoc_client_pool_destroy(m->pool);
        mongoc_uri_destroy(m->uri);
        free(m->db);
        free(m);
    }
    free(st);
}

/* Timeouts the URI does not set: an unreachable server is a 503 within
 * about two seconds, never a request that hangs. */
static void default_timeouts(mongoc_uri_t *uri)
{
    static const struct {
        const char *opt;
        int32_t ms;
    } defs[] = {
        {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000},
        {MONGOC_URI_CONNECTTIMEOUTMS, 2000},
        {MONGOC_URI_SOCKETTIMEOUTMS, 10000},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (mongoc_uri_get_option_as_int32(uri, defs[i].opt, -1) < 0)
            mongoc_uri_set_option_as_int32(uri, defs[i].opt, defs[i].ms);
    if (!mongoc_uri_get_appname(uri))
        mongoc_uri_set_appname(uri, "hypersend");
}

static void describe_hosts(hs__mg_t *m)
{
    size_t w = 0;
    m->hosts[0] = '\0';
    for (const mongoc_host_list_t *h = mongoc_uri_get_hosts(m->uri); h && w < sizeof m->hosts;
         h = h->next) {
        int n = snprintf(m->hosts + w, sizeof m->hosts - w, "%s%s", w ? "," : "", h->host_and_port);
        if (n < 0)
            break;
        w += (size_t)n;
    }
    if (!m->hosts[0])
        snprintf(m->hosts, sizeof m->hosts, "%s", "?");
}

int hs__mongo_open(hs_store_t **out, const char *uri, hs_err_t *err)
{
    pthread_once(&init_once, init_driver);
    *out = NULL;
    bson_error_t e;
    hs_store_t *st = calloc(1, sizeof *st);
    hs__mg_t *m = calloc(1, sizeof *m);
    if (!st || !m) {
        free(st);
        free(m);
        return hs_err_set(err, HS_EINTERNAL, NULL, "out of memory");
    }
    st->ops = &hs__mg_ops;
    st->impl = m;
    if (!(m->uri = mongoc_uri_new_with_error(uri, &e))) {
        hs__mg_close(st);
        return hs_err_set(err, HS_EINVAL, "config_bad_value", "config key 'mongo_uri': %.200s",
                          e.message);
    }
    default_timeouts(m->uri);
    describe_hosts(m);
    const char *db = mongoc_uri_get_database(m->uri);
    m->db = strdup(db && *db ? db : "hypersend");
    m->pool = mongoc_client_pool_new(m->uri);
    if (!m->db || !m->pool) {
        hs__mg_close(st);
        return hs_err_set(err, HS_EINTERNAL, "store_error", "mongo: cannot create a client pool");
    }
    mongoc_client_pool_set_error_api(m->pool, MONGOC_ERROR_API_VERSION_2);
    int rc = create_indexes(st, err);
    if (rc) {
        hs__mg_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void hs__mg_put_in(bson_t *doc, const char *key, const char *const *ids, size_t n)
{
    bson_t in, list;
    BSON_APPEND_DOCUMENT_BEGIN(doc, key, &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    for (size_t i = 0; i < n; i++) {
        char k[16];
        const char *idx;
        bson_uint32_to_string((uint32_t)i, &idx, k, sizeof k);
        bson_append_utf8(&list, idx, -1, ids[i], -1);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(doc, &in);
}

int hs__mg_insert_many(hs__mg_op_t *op, hs__mg_coll_t c, bson_t *const *docs, size_t n, long *added,
                       hs_err_t *err)
{
    if (added)
        *added = 0;
    if (!n)
        return 0;
    bson_t *o = BCON_NEW("ordered", BCON_BOOL(false));
    mongoc_bulk_operation_t *b =
        mongoc_collection_create_bulk_operation_with_opts(hs__mg_c(op, c), o);
    bson_destroy(o);
    for (size_t i = 0; i < n; i++)
        mongoc_bulk_operation_insert(b, docs[i]);
    bson_t reply;
    bson_error_t e;
    int rc = 0;
    if (!mongoc_bulk_operation_execute(b, &reply, &e)) {
        /* fine when every error is a duplicate key */
        bson_iter_t it, arr;
        int other = !bson_iter_init_find(&it, &reply, "writeErrors") ||
                    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr);
        while (!other && bson_iter_next(&arr)) {
            bson_t we;
            const uint8_t *data;
            uint32_t len;
            bson_iter_document(&arr, &len, &data);
            other = !bson_init_static(&we, data, len) || hs__mg_i64(&we, "code") != 11000;
        }
        if (other || bson_has_field(&reply, "writeConcernErrors"))
            rc = hs__mg_fail(op->st, &e, err);
    }
    if (added)
        *added = (long)hs__mg_i64(&reply, "nInserted");
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(b);
    return rc;
}

typedef struct {
    hs_arena_t *a;
    hs__mg_reader_fn read;
    size_t size, n, cap;
    int limit, more;
    void *items;
} page_t;

static void page_each(const bson_t *doc, void *arg)
{
    page_t *p = arg;
    if ((int)p->n >= p->limit) {
        p->more = 1;
        return;
    }
    p->items = hs_arena_grow(p->a, p->items, p->n, &p->cap, p->size);
    p->read(p->a, doc, (char *)p->items + p->n++ * p->size);
}

int hs__mg_page(hs__mg_op_t *op, hs__mg_coll_t c, const bson_t *filter, int limit, size_t size,
                hs__mg_reader_fn read, hs_arena_t *a, void **items, size_t *n, int *more,
                hs_err_t *err)
{
    page_t p = {.a = a, .read = read, .size = size, .limit = limit};
    bson_t *o =
        BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit", BCON_INT64((int64_t)limit + 1));
    int rc = hs__mg_find_each(op, c, filter, o, page_each, &p, err);
    bson_destroy(o);
    *items = p.items;
    *n = p.n;
    *more = p.more;
    return rc;
}
