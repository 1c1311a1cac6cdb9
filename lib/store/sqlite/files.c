/* SQLite queries for uploads, their chunks, and files. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

#define UPLOAD_COLS                                                                                \
    "id, owner_id, protocol, filename, content_type, sha256, chat_id, concat, metadata, size,"     \
    " chunk_size, chunk_count, upload_offset, created_at, expires_at, completed_at,"               \
    " file_ttl"
#define FILE_COLS                                                                                  \
    "id, owner_id, filename, content_type, sniffed_type, sha256, chat_id, size, created_at,"       \
    " expires_at"

static const char SQL_UP_INSERT[] =
    "INSERT INTO uploads (" UPLOAD_COLS ") VALUES (?1, ?2, ?3,"
    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, ?16)";

static int insert_upload(hs_store_t *st, const hs_upload_t *u, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_UP_INSERT, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, u->id);
    hs__sq_bind_text(s, 2, u->owner_id);
    hs__sq_bind_text(s, 3, u->protocol);
    hs__sq_bind_text(s, 4, u->filename);
    hs__sq_bind_text(s, 5, u->content_type);
    hs__sq_bind_text(s, 6, u->sha256);
    hs__sq_bind_text(s, 7, u->chat_id);
    hs__sq_bind_text(s, 8, u->concat ? u->concat : "");
    hs__sq_bind_text(s, 9, u->metadata ? u->metadata : "");
    sqlite3_bind_int64(s, 10, u->size);
    sqlite3_bind_int64(s, 11, u->chunk_size);
    sqlite3_bind_int64(s, 12, u->chunk_count);
    sqlite3_bind_int64(s, 13, u->offset);
    sqlite3_bind_int64(s, 14, u->created_at);
    sqlite3_bind_int64(s, 15, u->expires_at);
    sqlite3_bind_int64(s, 16, u->file_ttl);
    return hs__sq_step_done(st, s, err);
}

int hs__sq_upload_create(hs_store_t *st, const hs_upload_t *u, int64_t quota, hs_err_t *err)
{
    if (quota <= 0)
        return insert_upload(st, u, err);
    /* One IMMEDIATE transaction: parallel inits of one user serialize here,
     * so each sees the space the others took. */
    int64_t used;
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    if ((rc = hs__sq_storage_used(st, u->owner_id, &used, err)))
        goto done;
    if (used + u->size > quota) {
        rc = hs_err_set(err, HS_ENOSPACE, "quota_exceeded",
                        "This upload needs %lld bytes but only %lld of your quota are left",
                        (long long)u->size, (long long)(quota > used ? quota - used : 0));
        hs_err_hint(err, "delete files you no longer need");
        goto done;
    }
    if (!(rc = insert_upload(st, u, err)))
        rc = hs__sq_commit(st, err);
done:
    if (rc)
        hs__sq_rollback(st);
    return rc;
}

static const char SQL_UP_GET[] = "SELECT " UPLOAD_COLS " FROM uploads WHERE id = ?1";

static void read_upload(hs_arena_t *a, sqlite3_stmt *s, void *dst)
{
    hs_upload_t *out = dst;
    memset(out, 0, sizeof *out);
    hs__sq_id(out->id, s, 0);
    hs__sq_id(out->owner_id, s, 1);
    out->protocol = hs__sq_text(a, s, 2);
    out->filename = hs__sq_text(a, s, 3);
    out->content_type = hs__sq_text(a, s, 4);
    out->sha256 = hs__sq_text(a, s, 5);
    out->chat_id = hs__sq_text(a, s, 6);
    out->concat = hs__sq_text(a, s, 7);
    out->metadata = hs__sq_text(a, s, 8);
    out->size = sqlite3_column_int64(s, 9);
    out->chunk_size = sqlite3_column_int64(s, 10);
    out->chunk_count = sqlite3_column_int64(s, 11);
    out->offset = sqlite3_column_int64(s, 12);
    out->created_at = sqlite3_column_int64(s, 13);
    out->expires_at = sqlite3_column_int64(s, 14);
    out->completed_at = sqlite3_column_int64(s, 15);
    out->file_ttl = sqlite3_column_int64(s, 16);
}

int hs__sq_upload_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_upload_t *out,
                      hs_err_t *err)
{
    return hs__sq_get_one(st, SQL_UP_GET, id, read_upload, a, out, "upload_not_found", "upload",
                          err);
}

/* One statement, so "missing" and "the upload is still open" are one
 * snapshot: a completion deletes the upload (and its chunks) in one
 * transaction, and a chunk found missing in a deleted upload must not be
 * written into what is now a finished file. */
static const char SQL_CHUNK_GET[] =
    "SELECT c.sha256 FROM uploads u"
    " LEFT JOIN upload_chunks c ON c.upload_id = u.id AND c.n = ?2 WHERE u.id = ?1";

int hs__sq_chunk_get(hs_store_t *st, const char *upload_id, int64_t n, char sha256[65], int *found,
                     hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_CHUNK_GET, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, upload_id);
    sqlite3_bind_int64(s, 2, n);
    int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
    if (*found)
        snprintf(sha256, 65, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return hs_err_set(err, HS_ENOTFOUND, "upload_not_found",
                          "The upload was completed or aborted meanwhile");
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_CHUNK_ADD[] =
    "INSERT INTO upload_chunks (upload_id, n, size, sha256) VALUES (?1, ?2, ?3, ?4)";

int hs__sq_chunk_add(hs_store_t *st, const char *upload_id, int64_t n, int64_t size,
                     const char *sha256, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_CHUNK_ADD, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, upload_id);
    sqlite3_bind_int64(s, 2, n);
    sqlite3_bind_int64(s, 3, size);
    hs__sq_bind_text(s, 4, sha256);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT) {
        hs__sq_t *q = st->impl;
        if (sqlite3_extended_errcode(q->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            return hs_err_set(err, HS_ENOTFOUND, "upload_not_found", "The upload was aborted");
        return hs_err_set(err, HS_ECONFLICT, "chunk_exists", "This chunk was already received");
    }
    return hs__sq_fail(st, rc, err);
}

static const char SQL_CHUNK_LIST[] = "SELECT n FROM upload_chunks WHERE upload_id = ?1 ORDER BY n";

int hs__sq_chunk_list(hs_store_t *st, const char *upload_id, hs_arena_t *a, int64_t **ns,
                      size_t *count, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_CHUNK_LIST, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, upload_id);
    size_t cap = 0;
    *ns = NULL;
    *count = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *ns = hs_arena_grow(a, *ns, *count, &cap, sizeof **ns);
        (*ns)[(*count)++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : hs__sq_fail(st, rc, err);
}

static const char SQL_ADVANCE[] =
    "UPDATE uploads SET upload_offset = ?3,"
    " completed_at = CASE WHEN ?3 = size THEN ?4 ELSE completed_at END"
    " WHERE id = ?1 AND upload_offset = ?2";

int hs__sq_upload_advance(hs_store_t *st, const char *id, int64_t from, int64_t to, int64_t now,
                          hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_ADVANCE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    sqlite3_bind_int64(s, 4, now);
    int rc = hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "offset_mismatch", "", err);
    if (rc == HS_ENOTFOUND)
        return hs_err_set(err, HS_ECONFLICT, "offset_mismatch", "The upload is not at offset %lld",
                          (long long)from);
    return rc;
}

static const char SQL_FILE_INSERT[] = "INSERT INTO files (" FILE_COLS ")"
                                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_UP_DELETE[] = "DELETE FROM uploads WHERE id = ?1";

int hs__sq_upload_finish(hs_store_t *st, const char *upload_id, const hs_file_t *f, hs_err_t *err)
{
    int rc = hs__sq_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_UP_DELETE, err);
    if (!s)
        goto fail;
    hs__sq_bind_text(s, 1, upload_id);
    /* Deleting first makes a second, racing completion find nothing. */
    if ((rc = hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "upload_not_found",
                                "No such upload", err)))
        goto fail;
    if (!(s = hs__sq_prepare(st, SQL_FILE_INSERT, err)))
        goto fail;
    hs__sq_bind_text(s, 1, f->id);
    hs__sq_bind_text(s, 2, f->owner_id);
    hs__sq_bind_text(s, 3, f->filename);
    hs__sq_bind_text(s, 4, f->content_type);
    hs__sq_bind_text(s, 5, f->sniffed_type ? f->sniffed_type : "");
    hs__sq_bind_text(s, 6, f->sha256);
    hs__sq_bind_text(s, 7, f->chat_id);
    sqlite3_bind_int64(s, 8, f->size);
    sqlite3_bind_int64(s, 9, f->created_at);
    sqlite3_bind_int64(s, 10, f->expires_at);
    if ((rc = hs__sq_step_done(st, s, err)) || (rc = hs__sq_commit(st, err)))
        goto fail;
    return 0;
fail:
    hs__sq_rollback(st);
    return err && err->rc ? err->rc : HS_EINTERNAL;
}

int hs__sq_upload_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_UP_DELETE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "upload_not_found", "No such upload",
                             err);
}

static const char SQL_UP_EXPIRED[] =
    "SELECT id FROM uploads WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2";

int hs__sq_upload_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                          size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_UP_EXPIRED, err);
    if (!s)
        return HS_EINTERNAL;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit);
    return hs__sq_collect_ids(st, s, a, ids, n, err);
}

static const char SQL_USED[] =
    "SELECT (SELECT coalesce(sum(size), 0) FROM files WHERE owner_id = ?1)"
    " + (SELECT coalesce(sum(size), 0) FROM uploads WHERE owner_id = ?1)";

int hs__sq_storage_used(hs_store_t *st, const char *owner_id, int64_t *bytes, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_USED, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, owner_id);
    int rc = sqlite3_step(s);
    *bytes = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : hs__sq_fail(st, rc, err);
}

void hs__sq_read_file(hs_arena_t *a, sqlite3_stmt *s, void *out)
{
    hs_file_t *f = out;
    memset(f, 0, sizeof *f);
    hs__sq_id(f->id, s, 0);
    hs__sq_id(f->owner_id, s, 1);
    f->filename = hs__sq_text(a, s, 2);
    f->content_type = hs__sq_text(a, s, 3);
    f->sniffed_type = hs__sq_text(a, s, 4);
    f->sha256 = hs__sq_text(a, s, 5);
    f->chat_id = hs__sq_text(a, s, 6);
    f->size = sqlite3_column_int64(s, 7);
    f->created_at = sqlite3_column_int64(s, 8);
    f->expires_at = sqlite3_column_int64(s, 9);
}

static const char SQL_FILE_GET[] = "SELECT " FILE_COLS " FROM files WHERE id = ?1";

int hs__sq_file_get(hs_store_t *st, const char *id, hs_arena_t *a, hs_file_t *out, hs_err_t *err)
{
    return hs__sq_get_one(st, SQL_FILE_GET, id, hs__sq_read_file, a, out, "file_not_found", "file",
                          err);
}

static const char SQL_FILE_PAGE[] =
    "SELECT " FILE_COLS " FROM files WHERE owner_id = ?1 AND id < ?2"
    " AND (expires_at = 0 OR expires_at > ?4) AND transfer_id IS NULL"
    " ORDER BY id DESC LIMIT ?3";

int hs__sq_file_page(hs_store_t *st, const char *owner_id, const char *before, int limit,
                     int64_t now, hs_arena_t *a, hs_file_page_t *out, hs_err_t *err)
{
    /* "g" sorts after every hex id */
    sqlite3_stmt *s = hs__sq_page_query(st, SQL_FILE_PAGE, owner_id, before, "g", limit, err);
    if (!s)
        return HS_EINTERNAL;
    sqlite3_bind_int64(s, 4, now);
    return hs__sq_page(st, s, limit, sizeof *out->items, hs__sq_read_file, 0, a,
                       (void **)&out->items, &out->n, &out->next_cursor, NULL, err);
}

/* A P2P relay copy: the owner's file becomes the transfer's (hidden from
 * the owner's list, gone with the transfer). */
static const char SQL_FILE_BIND[] = "UPDATE files SET transfer_id = ?3"
                                    " WHERE id = ?1 AND owner_id = ?2 AND transfer_id IS NULL";

int hs__sq_file_bind_transfer(hs_store_t *st, const char *file_id, const char *owner_id,
                              const char *transfer_id, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_FILE_BIND, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, file_id);
    hs__sq_bind_text(s, 2, owner_id);
    hs__sq_bind_text(s, 3, transfer_id);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "file_not_found",
                             "No such file of yours (or it is bound to a transfer already)", err);
}

static const char SQL_FILE_DELETE[] = "DELETE FROM files WHERE id = ?1";

int hs__sq_file_delete(hs_store_t *st, const char *id, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_FILE_DELETE, err);
    if (!s)
        return HS_EINTERNAL;
    hs__sq_bind_text(s, 1, id);
    return hs__sq_changed_or(st, hs__sq_step_done(st, s, err), "file_not_found", "No such file",
                             err);
}

static const char SQL_FILE_EXPIRED[] = "SELECT id FROM files WHERE expires_at > 0"
                                       " AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2";

int hs__sq_file_expired(hs_store_t *st, int64_t now, int limit, hs_arena_t *a, char ***ids,
                        size_t *n, hs_err_t *err)
{
    sqlite3_stmt *s = hs__sq_prepare(st, SQL_FILE_EXPIRED, err);
    if (!s)
        return HS_EINTERNAL;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit);
    return hs__sq_collect_ids(st, s, a, ids, n, err);
}
