/* MongoDB operations on uploads, their chunks, files and the quota.
 *
 *   uploads        one document per open upload, versioned ("v"): the tus
 *                  offset moves by compare-and-set (cas.c)
 *   upload_chunks  {_id: "<upload>:<n>", upload_id, n, size, sha256}: the
 *                  unique _id makes a chunk received once
 *   files          one document per finished file (its id is the upload's)
 *   usage          {_id: owner, bytes, v}: the bytes of the owner's files and
 *                  open uploads, changed only by compare-and-set, so parallel
 *                  uploads of one owner on several hosts cannot pass the quota
 *
 * The usage counter is reserved before an upload is written and released
 * after one is deleted: a crash between the two leaves it high (never over
 * the quota); docs/mongo-status.md has the repair plan. */
#include <stdio.h>
#include <string.h>

#include "mongo.h"

/* ---- The usage counter. --------------------------------------------------- */

typedef struct {
    int64_t delta, quota; /* quota <= 0: no limit */
    int64_t used;         /* out: the bytes before the change */
} usage_change_t;

static int decide_usage(const bson_t *current, void *arg, bson_t *set)
{
    usage_change_t *c = arg;
    c->used = hs__mg_i64(current, "bytes");
    int64_t next = c->used + c->delta;
    if (c->delta > 0 && c->quota > 0 && next > c->quota)
        return 0;
    BSON_APPEND_INT64(set, "bytes", next < 0 ? 0 : next);
    return 1;
}

/* Adds delta bytes to owner's usage; with delta > 0 and quota > 0 refuses
 * (HS_ENOSPACE quota_exceeded) what would pass the quota. */
static int usage_add(hs__mg_op_t *op, const char *owner, int64_t delta, int64_t quota,
                     hs_err_t *err)
{
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(owner), "bytes", BCON_INT64(0), "v", BCON_INT64(0));
    int created, moved = 0;
    int rc = hs__mg_insert(op, HS__MG_USAGE, doc, &created, err); /* the first use makes it */
    bson_destroy(doc);
    usage_change_t c = {delta, quota, 0};
    if (!rc)
        rc = hs__mg_cas(op, HS__MG_USAGE, owner, decide_usage, &c, &moved, err);
    if (!rc && !moved) {
        rc = hs_err_set(err, HS_ENOSPACE, "quota_exceeded",
                        "This upload needs %lld bytes but only %lld of your quota are left",
                        (long long)delta, (long long)(quota > c.used ? quota - c.used : 0));
        hs_err_hint(err, "delete files you no longer need");
    }
    return rc;
}

int hs__mg_storage_used(hs_store_t *st, const char *owner_id, int64_t *bytes, hs_err_t *err)
{
    hs__mg_op_t op;
    bson_t doc;
    int found = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas_read(&op, HS__MG_USAGE, owner_id, &doc, &found, err);
    hs__mg_end(&op);
    if (rc)
        return rc;
    *bytes = found ? hs__mg_i64(&doc, "bytes") : 0;
    if (found)
        bson_destroy(&doc);
    return 0;
}

/* ---- Uploads and chunks. ---------------------------------------------------- */

static void read_upload(hs_arena_t *a, const bson_t *doc, hs_upload_t *u)
{
    memset(u, 0, sizeof *u);
    hs__mg_id(u->id, doc, "_id");
    hs__mg_id(u->owner_id, doc, "owner_id");
    u->protocol = hs__mg_str(a, doc, "protocol");
    u->filename = hs__mg_str(a, doc, "filename");
    u->content_type = hs__mg_str(a, doc, "content_type");
    u->sha256 = hs__mg_str(a, doc, "sha256");
    u->chat_id = hs__mg_str(a, doc, "chat_id");
    u->concat = hs__mg_str(a, doc, "concat");
    u->metadata = hs__mg_str(a, doc, "metadata");
    u->size = hs__mg_i64(doc, "size");
    u->chunk_size = hs__mg_i64(doc, "chunk_size");
    u->chunk_count = hs__mg_i64(doc, "chunk_count");
    u->offset = hs__mg_i64(doc, "offset");
    u->created_at = hs__mg_i64(doc, "created_at");
    u->expires_at = hs__mg_i64(doc, "expires_at");
    u->completed_at = hs__mg_i64(doc, "completed_at");
    u->file_ttl = hs__mg_i64(doc, "file_ttl");
}

/* Order: reserve the bytes (the quota is decided there), then write the
 * upload; if that fails the bytes are released. */
int hs__mg_upload_create(hs_store_t *st, const hs_upload_t *u, int64_t quota, hs_err_t *err)
{
    bson_t *doc =
        BCON_NEW("_id", BCON_UTF8(u->id), "owner_id", BCON_UTF8(u->owner_id), "protocol",
                 BCON_UTF8(u->protocol), "filename", BCON_UTF8(u->filename), "content_type",
                 BCON_UTF8(u->content_type), "concat", BCON_UTF8(u->concat ? u->concat : ""),
                 "metadata", BCON_UTF8(u->metadata ? u->metadata : ""), "size", BCON_INT64(u->size),
                 "chunk_size", BCON_INT64(u->chunk_size), "chunk_count", BCON_INT64(u->chunk_count),
                 "offset", BCON_INT64(u->offset), "created_at", BCON_INT64(u->created_at),
                 "expires_at", BCON_INT64(u->expires_at), "completed_at", BCON_INT64(0), "file_ttl",
                 BCON_INT64(u->file_ttl), "v", BCON_INT64(0));
    hs__mg_put_str(doc, "sha256", u->sha256);
    hs__mg_put_str(doc, "chat_id", u->chat_id);
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = usage_add(&op, u->owner_id, u->size, quota, err);
    if (!rc && (rc = hs__mg_insert(&op, HS__MG_UPLOADS, doc, NULL, err)))
        usage_add(&op, u->owner_id, -u->size, 0, NULL);
    hs__mg_end(&op);
    bson_destroy(doc);
    return rc;
}

/* The newest version of upload id, or upload_not_found. */
static int load_upload(hs__mg_op_t *op, const char *id, hs_arena_t *a, hs_upload_t *out,
                       hs_err_t *err)
{
    bson_t doc;
    int found = 0;
    int rc = hs__mg_cas_read(op, HS__MG_UPLOADS, id, &doc, &found, err);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "upload_not_found", "No such upload");
    read_upload(a, &doc, out);
    bson_destroy(&doc);
    return 0;
}

int hs__mg_upload_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_upload_t *out,
                      hs_err_t *err)
{
    hs__mg_op_t op;
    hs_upload_t u;
    hs__mg_begin(st, &op);
    int rc = load_upload(&op, id, a, &u, err);
    hs__mg_end(&op);
    if (!rc)
        *out = u;
    return rc;
}

static void chunk_id(char *out, size_t n, const char *upload_id, int64_t i)
{
    snprintf(out, n, "%s:%lld", upload_id, (long long)i);
}

/* Two reads where SQLite has one snapshot: the upload, then the chunk. A
 * completion between them is not seen here (docs/mongo-status.md). */
int hs__mg_chunk_get(hs_store_t *st, const char *upload_id, int64_t n, char sha256[65], int *found,
                     hs_err_t *err)
{
    hs__mg_op_t op;
    hs_arena_t tmp = {0};
    hs_upload_t u;
    char id[64];
    bson_t doc;
    int have = 0;
    chunk_id(id, sizeof id, upload_id, n);
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    /* The chunk first, then the upload: a completion deletes the upload
     * before its chunks (remove_upload), so an upload still there after
     * the chunk was read missing means the chunk was truly missing then,
     * and no completion (which needs every chunk) can have happened. Read
     * the other way round, a completion between the two reads would let a
     * PUT write into the file it published. */
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_CHUNKS, f, NULL, &doc, &have, err);
    if (!rc) {
        rc = load_upload(&op, upload_id, &tmp, &u, err);
        if (rc == HS_ENOTFOUND)
            hs_err_set(err, HS_ENOTFOUND, "upload_not_found",
                       "The upload was completed or aborted meanwhile");
        if (rc && have)
            bson_destroy(&doc);
    }
    hs__mg_end(&op);
    bson_destroy(f);
    if (!rc) {
        *found = have;
        if (have) {
            const char *s = hs__mg_str(&tmp, &doc, "sha256");
            snprintf(sha256, 65, "%s", s ? s : "");
            bson_destroy(&doc);
        }
    }
    hs_arena_free(&tmp);
    return rc;
}

int hs__mg_chunk_add(hs_store_t *st, const char *upload_id, int64_t n, int64_t size,
                     const char *sha256, hs_err_t *err)
{
    hs__mg_op_t op;
    hs_arena_t tmp = {0};
    hs_upload_t u;
    char id[64];
    int claimed = 0;
    chunk_id(id, sizeof id, upload_id, n);
    bson_t *doc =
        BCON_NEW("_id", BCON_UTF8(id), "upload_id", BCON_UTF8(upload_id), "n", BCON_INT64(n),
                 "size", BCON_INT64(size), "sha256", BCON_UTF8(sha256 ? sha256 : ""));
    hs__mg_begin(st, &op);
    int rc = load_upload(&op, upload_id, &tmp, &u, err);
    if (!rc)
        rc = hs__mg_insert(&op, HS__MG_CHUNKS, doc, &claimed, err);
    hs__mg_end(&op);
    bson_destroy(doc);
    hs_arena_free(&tmp);
    if (!rc && !claimed)
        rc = hs_err_set(err, HS_ECONFLICT, "chunk_exists", "Chunk %lld was already received",
                        (long long)n);
    return rc;
}

typedef struct {
    hs_arena_t *a;
    int64_t *ns;
    size_t n, cap;
} n_list_t;

static void collect_n(const bson_t *doc, void *arg)
{
    n_list_t *l = arg;
    l->ns = hs_arena_grow(l->a, l->ns, l->n, &l->cap, sizeof *l->ns);
    l->ns[l->n++] = hs__mg_i64(doc, "n");
}

int hs__mg_chunk_list(hs_store_t *st, const char *upload_id, hs_arena_t *a, int64_t **ns,
                      size_t *count, hs_err_t *err)
{
    bson_t *f = BCON_NEW("upload_id", BCON_UTF8(upload_id));
    bson_t *o =
        BCON_NEW("sort", "{", "n", BCON_INT32(1), "}", "projection", "{", "n", BCON_INT32(1), "}");
    n_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, HS__MG_CHUNKS, f, o, collect_n, &l, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (!rc) {
        *ns = l.ns;
        *count = l.n;
    }
    return rc;
}

typedef struct {
    int64_t from, to, now;
} advance_t;

static int decide_advance(const bson_t *current, void *arg, bson_t *set)
{
    const advance_t *a = arg;
    if (hs__mg_i64(current, "offset") != a->from)
        return 0;
    BSON_APPEND_INT64(set, "offset", a->to);
    if (a->to == hs__mg_i64(current, "size"))
        BSON_APPEND_INT64(set, "completed_at", a->now);
    return 1;
}

int hs__mg_upload_advance(hs_store_t *st, const char *id, int64_t from, int64_t to, int64_t now,
                          hs_err_t *err)
{
    advance_t adv = {from, to, now};
    hs__mg_op_t op;
    int moved = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_cas(&op, HS__MG_UPLOADS, id, decide_advance, &adv, &moved, err);
    hs__mg_end(&op);
    if (!rc && !moved)
        rc = hs_err_set(err, HS_ECONFLICT, "offset_mismatch", "The upload is not at offset %lld",
                        (long long)from);
    return rc;
}

/* Deletes upload id (its chunks after it); *gone = 1 when this call removed
 * it (exact: a racing completion or abort gets 0), with its owner and size. */
static int remove_upload(hs__mg_op_t *op, const char *id, hs_upload_t *u, hs_arena_t *a, int *gone,
                         hs_err_t *err)
{
    *gone = 0;
    int rc = load_upload(op, id, a, u, err);
    if (rc)
        return rc;
    long deleted = 0;
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *fc = BCON_NEW("upload_id", BCON_UTF8(id));
    rc = hs__mg_delete(op, HS__MG_UPLOADS, 0, f, &deleted, err);
    if (!rc && deleted)
        rc = hs__mg_delete(op, HS__MG_CHUNKS, 1, fc, NULL, err);
    bson_destroy(f);
    bson_destroy(fc);
    *gone = deleted > 0;
    if (!rc && !deleted)
        rc = hs_err_set(err, HS_ENOTFOUND, "upload_not_found", "No such upload");
    return rc;
}

static bson_t *file_doc(const hs_file_t *f)
{
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(f->id), "owner_id", BCON_UTF8(f->owner_id), "filename",
                           BCON_UTF8(f->filename), "content_type", BCON_UTF8(f->content_type),
                           "sniffed_type", BCON_UTF8(f->sniffed_type ? f->sniffed_type : ""),
                           "size", BCON_INT64(f->size), "created_at", BCON_INT64(f->created_at),
                           "expires_at", BCON_INT64(f->expires_at), "transfer_id", BCON_NULL);
    hs__mg_put_str(doc, "sha256", f->sha256);
    hs__mg_put_str(doc, "chat_id", f->chat_id);
    return doc;
}

/* Order, like SQLite's: delete the upload first (the delete decides a race
 * of two completions), then write the file and move the usage from the
 * upload's size to the file's. A crash between leaves neither visible (the
 * blob is then an orphan for the sweeper), never both. */
int hs__mg_upload_finish(hs_store_t *st, const char *upload_id, const hs_file_t *f, hs_err_t *err)
{
    hs__mg_op_t op;
    hs_arena_t tmp = {0};
    hs_upload_t u;
    int gone = 0;
    bson_t *doc = file_doc(f);
    hs__mg_begin(st, &op);
    int rc = remove_upload(&op, upload_id, &u, &tmp, &gone, err);
    if (!rc)
        rc = hs__mg_insert(&op, HS__MG_FILES, doc, NULL, err);
    if (!rc && f->size != u.size)
        rc = usage_add(&op, u.owner_id, f->size - u.size, 0, err);
    hs__mg_end(&op);
    bson_destroy(doc);
    hs_arena_free(&tmp);
    return rc;
}

int hs__mg_upload_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    hs__mg_op_t op;
    hs_arena_t tmp = {0};
    hs_upload_t u;
    int gone = 0;
    hs__mg_begin(st, &op);
    int rc = remove_upload(&op, id, &u, &tmp, &gone, err);
    if (!rc && gone)
        rc = usage_add(&op, u.owner_id, -u.size, 0, err);
    hs__mg_end(&op);
    hs_arena_free(&tmp);
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

/* Ids of c matching f, by expires_at, at most limit. */
static int expired_ids(hs_store_t *st, hs__mg_coll_t c, bson_t *f, int limit, hs_arena_t *a,
                       char ***ids, size_t *n, hs_err_t *err)
{
    bson_t *o = BCON_NEW("sort", "{", "expires_at", BCON_INT32(1), "}", "projection", "{", "_id",
                         BCON_INT32(1), "}", "limit", BCON_INT64(limit));
    id_list_t l = {.a = a};
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_each(&op, c, f, o, collect_id, &l, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(o);
    if (!rc) {
        *ids = l.ids;
        *n = l.n;
    }
    return rc;
}

int hs__mg_upload_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err)
{
    return expired_ids(st, HS__MG_UPLOADS,
                       BCON_NEW("expires_at", "{", "$lte", BCON_INT64(now), "}"), limit, a, ids, n,
                       err);
}

/* ---- Files. ----------------------------------------------------------------- */

void hs__mg_read_file(hs_arena_t *a, const bson_t *doc, hs_file_t *f)
{
    memset(f, 0, sizeof *f);
    hs__mg_id(f->id, doc, "_id");
    hs__mg_id(f->owner_id, doc, "owner_id");
    f->filename = hs__mg_str(a, doc, "filename");
    f->content_type = hs__mg_str(a, doc, "content_type");
    f->sniffed_type = hs__mg_str(a, doc, "sniffed_type");
    f->sha256 = hs__mg_str(a, doc, "sha256");
    f->chat_id = hs__mg_str(a, doc, "chat_id");
    f->size = hs__mg_i64(doc, "size");
    f->created_at = hs__mg_i64(doc, "created_at");
    f->expires_at = hs__mg_i64(doc, "expires_at");
}

int hs__mg_file_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_file_t *out, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    bson_t doc;
    int found = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_find_one(&op, HS__MG_FILES, f, NULL, &doc, &found, err);
    hs__mg_end(&op);
    bson_destroy(f);
    if (rc)
        return rc;
    if (!found)
        return hs_err_set(err, HS_ENOTFOUND, "file_not_found", "No such file");
    hs__mg_read_file(a, &doc, out);
    bson_destroy(&doc);
    return 0;
}

static void read_file_item(hs_arena_t *a, const bson_t *doc, void *item)
{
    hs__mg_read_file(a, doc, item);
}

/* The owner's files, newest first, not expired, not a P2P relay copy. */
int hs__mg_file_page(hs_store_t *st, const char *owner_id, const char *before, int limit,
                     int64_t now, hs_arena_t *a, hs_file_page_t *out, hs_err_t *err)
{
    memset(out, 0, sizeof *out);
    bson_t *f = BCON_NEW("owner_id", BCON_UTF8(owner_id), "_id", "{", "$lt",
                         BCON_UTF8(before ? before : "g"), "}", "transfer_id", BCON_NULL, "$or",
                         "[", "{", "expires_at", BCON_INT64(0), "}", "{", "expires_at", "{", "$gt",
                         BCON_INT64(now), "}", "}", "]");
    hs__mg_op_t op;
    int more = 0;
    hs__mg_begin(st, &op);
    int rc = hs__mg_page(&op, HS__MG_FILES, f, limit, sizeof *out->items, read_file_item, a,
                         (void **)&out->items, &out->n, &more, err);
    hs__mg_end(&op);
    bson_destroy(f);
    if (!rc && more && out->n)
        out->next_cursor = hs_arena_strdup(a, out->items[out->n - 1].id);
    return rc;
}

/* Order: read the file (its owner and size), delete it (exact: of two racing
 * deletes one removes it), then release its bytes. */
int hs__mg_file_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    hs_arena_t tmp = {0};
    hs_file_t file;
    int rc = hs__mg_file_get(st, id, &tmp, &file, err);
    if (rc) {
        hs_arena_free(&tmp);
        return rc;
    }
    bson_t *f = BCON_NEW("_id", BCON_UTF8(id));
    long deleted = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    rc = hs__mg_delete(&op, HS__MG_FILES, 0, f, &deleted, err);
    if (!rc && deleted)
        rc = usage_add(&op, file.owner_id, -file.size, 0, err);
    hs__mg_end(&op);
    bson_destroy(f);
    hs_arena_free(&tmp);
    if (!rc && !deleted)
        rc = hs_err_set(err, HS_ENOTFOUND, "file_not_found", "No such file");
    return rc;
}

int hs__mg_file_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                        size_t *n, hs_err_t *err)
{
    return expired_ids(
        st, HS__MG_FILES,
        BCON_NEW("expires_at", "{", "$gt", BCON_INT64(0), "$lte", BCON_INT64(now), "}"), limit, a,
        ids, n, err);
}

/* Order: check the file is the owner's, claim the binding (one transfer per
 * file: the unique claim decides racing binds), then mark the file, which
 * hides it from file_page. Files are never updated otherwise, so this $set
 * cannot be lost to another write of the document. */
int hs__mg_file_bind_transfer(hs_store_t *st, const char *file_id, const char *owner_id,
                              const char *transfer_id, hs_err_t *err)
{
    bson_t *f = BCON_NEW("_id", BCON_UTF8(file_id), "owner_id", BCON_UTF8(owner_id));
    char key[64];
    snprintf(key, sizeof key, "%s:%s:bind", hs__mg_coll_names[HS__MG_FILES], file_id);
    bson_t *c = BCON_NEW("_id", BCON_UTF8(key), "transfer_id", BCON_UTF8(transfer_id));
    bson_t *u = BCON_NEW("$set", "{", "transfer_id", BCON_UTF8(transfer_id), "}");
    long n = 0;
    int claimed = 0;
    hs__mg_op_t op;
    hs__mg_begin(st, &op);
    int rc = hs__mg_count(&op, HS__MG_FILES, f, &n, err);
    if (!rc && n)
        rc = hs__mg_insert(&op, HS__MG_CLAIMS_CAS, c, &claimed, err);
    if (!rc && claimed)
        rc = hs__mg_update(&op, HS__MG_FILES, 0, f, u, NULL, err);
    hs__mg_end(&op);
    bson_destroy(f);
    bson_destroy(c);
    bson_destroy(u);
    if (!rc && !claimed)
        rc = hs_err_set(err, HS_ENOTFOUND, "file_not_found",
                        "No such file of yours, or it is bound");
    return rc;
}
