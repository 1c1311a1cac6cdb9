#include "hs/files.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hs/blob.h"
#include "hs/events.h"
#include "hs/json_util.h"
#include "hs/log.h"
#include "hs/util.h"

#define MIB (1024 * 1024)

int hs_file_clean_name(hs_arena_t *a, const char *name, const char **out, hs_err_t *err)
{
    long chars = name ? hs_utf8_len(name) : -1;
    if (chars < 1 || chars > 255) {
        hs_err_set(err, HS_EINVAL, "invalid_filename",
                   "The filename must be valid UTF-8 of 1 to 255 characters");
        return HS_EINVAL;
    }
    /* Bidi overrides make "invoice\u202egpj.exe" show as "invoiceexe.jpg":
     * refused rather than stripped, so the name shown is the name sent. C1
     * controls are refused too; C0 ones keep their old treatment below.
     * (hs_utf8_len has checked the UTF-8.) */
    for (const char *p = name; *p;) {
        long cp = hs_utf8_next(&p);
        if (hs_text_bidi_control(cp) || (cp >= 0x80 && cp <= 0x9F)) {
            hs_err_set(err, HS_EINVAL, "invalid_filename",
                       "The filename must not hold bidi controls (U+202A-202E, U+2066-2069) or "
                       "C1 control characters");
            return HS_EINVAL;
        }
    }
    char *c = hs_arena_strdup(a, name);
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '_';
    *out = c;
    return 0;
}

int hs_file_content_type(hs_arena_t *a, const char *in, const char **out, hs_err_t *err)
{
    char norm[HS_CONTENT_TYPE_BUF];
    *out = NULL;
    if (!in || !*in)
        return 0; /* tus clients send an empty filetype for unknown files */
    if (hs_content_type_normalize(in, norm, sizeof norm)) {
        hs_err_set(err, HS_EINVAL, "invalid_content_type",
                   "content_type must be a media type such as text/plain; charset=utf-8");
        hs_err_hint(err,
                    "type/subtype with optional ;name=value parameters, ASCII, at most %d "
                    "bytes",
                    HS_CONTENT_TYPE_MAX);
        return HS_EINVAL;
    }
    *out = hs_arena_strdup(a, norm);
    return 0;
}

/* 1 when type (case-insensitive, parameters ignored) is on the deny-list. */
static int denied(const hs_config_t *cfg, const char *type)
{
    size_t tlen = strcspn(type, ";");
    while (tlen && type[tlen - 1] == ' ')
        tlen--;
    for (const char *p = cfg->denied_types; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if (m && m == tlen && strncasecmp(p, type, m) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static int refuse_type(hs_err_t *err, const char *type)
{
    return hs_err_set(err, HS_EMEDIA, "type_denied", "Files of type %.100s are not accepted here",
                      type);
}

/* The chunk size for a file: the configured size, doubled until the count
 * stays within max_chunks, so a 40 GiB file never needs more than a few
 * thousand requests. */
static int64_t chunk_size_for(const hs_config_t *cfg, int64_t size)
{
    int64_t cs = cfg->chunk_size;
    while ((size + cs - 1) / cs > cfg->max_chunks)
        cs *= 2;
    return cs;
}

int hs_file_init(hs_ctx_t *ctx, const char *owner, const hs_upload_req_t *r, hs_upload_t *out,
                 hs_err_t *err)
{
    const hs_config_t *cfg = &ctx->cfg;
    int rc;
    memset(out, 0, sizeof *out);
    if (r->size < 0 || (r->size == 0 && strcmp(r->protocol, "chunks") == 0))
        return hs_err_set(err, HS_EINVAL, "invalid_value", "file_size must be a positive integer");
    if (r->size > cfg->max_file_size) {
        hs_err_set(err, HS_ETOOBIG, "file_too_large",
                   "The file is larger than the limit of %ld bytes", cfg->max_file_size);
        return HS_ETOOBIG;
    }
    const char *type =
        r->content_type && *r->content_type ? r->content_type : "application/octet-stream";
    /* Every entry (chunk API, tus, relay copies) comes through here: only a
     * type already in normal form (hs_file_content_type) is stored. */
    char norm[HS_CONTENT_TYPE_BUF];
    if (hs_content_type_normalize(type, norm, sizeof norm) || strcmp(norm, type) != 0)
        return hs_err_set(err, HS_EINVAL, "invalid_content_type",
                          "content_type must be a media type such as text/plain");
    if (denied(cfg, type))
        return refuse_type(err, type);
    if (r->sha256 && !hs_hex_valid(r->sha256, 64))
        return hs_err_set(err, HS_EINVAL, "invalid_value",
                          "sha256 must be 64 lowercase hex digits");
    int64_t now = hs_now_ms();
    hs_id_new(out->id);
    memcpy(out->owner_id, owner, sizeof out->owner_id);
    out->protocol = r->protocol;
    out->filename = r->filename;
    out->content_type = type;
    out->sha256 = r->sha256;
    out->chat_id = r->chat_id;
    out->concat = r->concat ? r->concat : "";
    out->metadata = r->metadata ? r->metadata : "";
    out->size = r->size;
    out->chunk_size = chunk_size_for(cfg, r->size > 0 ? r->size : 1);
    out->chunk_count = (r->size + out->chunk_size - 1) / out->chunk_size;
    out->created_at = now;
    out->expires_at = now + cfg->upload_ttl * 1000;
    out->file_ttl = r->expires_in > 0 ? r->expires_in * 1000 : 0;
    if ((rc = hs_blob_create(cfg, out->id, r->size, err)))
        return rc;
    if ((rc = hs_store_upload_create(ctx->store, out, cfg->user_quota, err)))
        hs_blob_remove(cfg, out->id);
    return rc;
}

int hs_file_upload_get(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id,
                       hs_upload_t *out, hs_err_t *err)
{
    int rc = hs_id_valid(id) ? hs_store_upload_get(ctx->store, id, a, out, err) : HS_ENOTFOUND;
    if (rc == HS_ENOTFOUND || (!rc && strcmp(out->owner_id, owner) != 0))
        return hs_err_set(err, HS_ENOTFOUND, "upload_not_found", "No such upload");
    if (!rc && out->expires_at <= hs_now_ms())
        return hs_err_set(err, HS_EGONE, "upload_expired", "This upload has expired");
    return rc;
}

int hs_file_upload_status(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id,
                          hs_upload_t *out, int64_t **have, size_t *n, hs_err_t *err)
{
    int rc = hs_file_upload_get(ctx, a, owner, id, out, err);
    if (rc)
        return rc;
    return hs_store_chunk_list(ctx->store, id, a, have, n, err);
}

static int wrong_size(hs_err_t *err, int64_t n, int64_t expect)
{
    hs_err_set(err, HS_EINVAL, "wrong_chunk_size", "Chunk %lld must be exactly %lld bytes",
               (long long)n, (long long)expect);
    return HS_EINVAL;
}

/* hs_file_put_chunk under the chunk's range lock. */
static int receive_chunk(hs_ctx_t *ctx, const char *id, int64_t n, int64_t offset, int64_t expect,
                         const char *sha256, const hs_body_t *body, hs_blob_lock_t *lk,
                         int *duplicate, hs_err_t *err)
{
    char stored[65], hex[65] = "", extra;
    int found, rc;
    /* Hashing costs more CPU than the rest of a chunk's path: only when the
     * client sent a sha256 to check. */
    hs_blob_digest_t d = {.want = sha256 ? HS_DIGEST_SHA256 : 0};
    int64_t got;
    /* "Missing" comes with "the upload is still open" in one read: a PUT
     * that passed hs_file_upload_get just before a completion must not
     * write into the file that completion published. */
    if ((rc = hs_store_chunk_get(ctx->store, id, n, stored, &found, err)))
        return rc;
    /* A chunk received before is compared with the bytes on disk, never
     * rewritten: they stay whatever the first complete send put there. */
    if ((rc = hs_blob_receive(lk, offset, expect, found ? HS_BLOB_COMPARE : HS_BLOB_WRITE,
                              body->read, body->src, &d, &got, err)))
        return rc;
    if (got != expect || body->read(body->src, &extra, 1) != 0)
        return wrong_size(err, n, expect);
    if (body->finish && (rc = body->finish(body->src, err)))
        return rc;
    if (found) {
        if (d.differs)
            return hs_err_set(err, HS_ECONFLICT, "chunk_conflict",
                              "Chunk %lld was already received with different bytes", (long long)n);
        *duplicate = 1;
        return 0;
    }
    if (sha256) {
        hs_hex(d.sha256, sizeof d.sha256, hex);
        if (strcasecmp(sha256, hex) != 0)
            return hs_err_set(err, HS_EINVAL, "checksum_mismatch",
                              "The chunk's sha256 is %s, not the one sent", hex);
    }
    return hs_store_chunk_add(ctx->store, id, n, got, hex, err);
}

int hs_file_put_chunk(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, int64_t n,
                      int64_t declared, const char *sha256, const hs_body_t *body, int *duplicate,
                      hs_err_t *err)
{
    hs_upload_t up;
    *duplicate = 0;
    int rc = hs_file_upload_get(ctx, a, owner, id, &up, err);
    if (rc)
        return rc;
    if (strcmp(up.protocol, "chunks") != 0)
        return hs_err_set(err, HS_EINVAL, "wrong_protocol", "This is a tus upload; use PATCH");
    if (n < 0 || n >= up.chunk_count) {
        hs_err_set(err, HS_EINVAL, "chunk_out_of_range", "chunk_number must be 0 to %lld",
                   (long long)up.chunk_count - 1);
        return HS_EINVAL;
    }
    int64_t offset = n * up.chunk_size;
    int64_t expect = n == up.chunk_count - 1 ? up.size - offset : up.chunk_size;
    if (declared >= 0 && declared != expect)
        return wrong_size(err, n, expect);
    /* Lock first, then look: whether the chunk counts is decided and
     * recorded while no other request can touch its bytes. */
    hs_blob_lock_t lk;
    if ((rc = hs_blob_lock(&ctx->cfg, id, offset, expect, &lk, err)))
        return rc;
    rc = receive_chunk(ctx, id, n, offset, expect, sha256, body, &lk, duplicate, err);
    hs_blob_unlock(&lk);
    return rc;
}

int hs_file_complete(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id,
                     hs_file_t *out, hs_err_t *err)
{
    hs_upload_t up;
    int64_t *have;
    size_t n;
    int rc = hs_file_upload_get(ctx, a, owner, id, &up, err);
    if (rc || (rc = hs_store_chunk_list(ctx->store, id, a, &have, &n, err)))
        return rc;
    if (strcmp(up.protocol, "chunks") != 0)
        return hs_err_set(err, HS_EINVAL, "wrong_protocol", "This is a tus upload");
    if ((int64_t)n != up.chunk_count) {
        hs_err_set(err, HS_ECONFLICT, "missing_chunks", "%lld of %lld chunks are missing",
                   (long long)(up.chunk_count - (int64_t)n), (long long)up.chunk_count);
        hs_err_hint(err, "GET /api/v1/files/upload/%s lists them", id);
        return HS_ECONFLICT;
    }
    return hs_file_finish(ctx, a, &up, out, err);
}

int hs_file_finish(hs_ctx_t *ctx, hs_arena_t *a, const hs_upload_t *up, hs_file_t *out,
                   hs_err_t *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->sniffed_type = hs_blob_sniff(ctx, up->id, a);
    if (denied(&ctx->cfg, out->sniffed_type))
        return refuse_type(err, out->sniffed_type);
    if (up->sha256) {
        char hex[65];
        if ((rc = hs_blob_sha256(&ctx->cfg, up->id, hex, err)))
            return rc;
        if (strcmp(hex, up->sha256) != 0) {
            hs_err_set(err, HS_ECONFLICT, "sha256_mismatch",
                       "The uploaded bytes hash to %s, not to the sha256 given at init", hex);
            hs_err_hint(err, "re-send the chunks that differ, or abort the upload");
            return HS_ECONFLICT;
        }
        out->sha256 = up->sha256;
    }
    memcpy(out->id, up->id, sizeof out->id);
    memcpy(out->owner_id, up->owner_id, sizeof out->owner_id);
    out->filename = up->filename;
    out->content_type = up->content_type;
    out->chat_id = up->chat_id;
    out->size = up->size;
    out->created_at = hs_now_ms();
    out->expires_at = up->file_ttl ? out->created_at + up->file_ttl : 0;
    if ((rc = hs_store_upload_finish(ctx->store, up->id, out, err)))
        return rc;
    hs_event_publish(ctx, HS_EV_USER, out->owner_id, "file.ready", hs_file_json(out), NULL);
    return 0;
}

int hs_file_abort(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, hs_err_t *err)
{
    hs_upload_t up;
    int rc = hs_file_upload_get(ctx, a, owner, id, &up, err);
    if (rc == HS_EGONE)
        rc = 0; /* aborting an expired upload is fine: it frees the space now */
    if (rc || (rc = hs_store_upload_delete(ctx->store, id, err)))
        return rc;
    hs_blob_remove(&ctx->cfg, id);
    return 0;
}

int hs_file_visible(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    hs_file_t *out, hs_err_t *err)
{
    int shared = 0;
    int rc = hs_id_valid(id) ? hs_store_file_get(ctx->store, id, a, out, err) : HS_ENOTFOUND;
    if (rc && rc != HS_ENOTFOUND)
        return rc;
    /* The owner, and members of a chat the file was attached in. */
    if (!rc && strcmp(out->owner_id, viewer) != 0 &&
        (rc = hs_store_file_shared_with(ctx->store, id, viewer, &shared, err)))
        return rc;
    if (rc || (strcmp(out->owner_id, viewer) != 0 && !shared) ||
        (out->expires_at && out->expires_at <= hs_now_ms()))
        return hs_err_set(err, HS_ENOTFOUND, "file_not_found", "No such file");
    return 0;
}

int hs_file_owned(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, hs_file_t *out,
                  hs_err_t *err)
{
    int rc = hs_file_visible(ctx, a, owner, id, out, err);
    if (!rc && strcmp(out->owner_id, owner) != 0)
        return hs_err_set(err, HS_EFORBIDDEN, "not_your_file", "Only the file's owner may do this");
    return rc;
}

int hs_file_delete(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, hs_err_t *err)
{
    hs_file_t f;
    int rc = hs_file_owned(ctx, a, owner, id, &f, err);
    if (rc || (rc = hs_store_file_delete(ctx->store, id, err)))
        return rc;
    hs_blob_remove(&ctx->cfg, id);
    return 0;
}

int hs_file_list(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *cursor, int limit,
                 hs_file_page_t *out, hs_err_t *err)
{
    return hs_store_file_page(ctx->store, owner, cursor, limit, hs_now_ms(), a, out, err);
}

int hs_file_cleanup(hs_ctx_t *ctx, int64_t now, size_t *uploads, size_t *files, hs_err_t *err)
{
    *uploads = *files = 0;
    hs_arena_t a = {0};
    char **ids;
    size_t n;
    int rc = 0;
    /* Batches keep each store transaction short while the apps serve. */
    while (!rc && !(rc = hs_store_upload_expired(ctx->store, now, 500, &a, &ids, &n, err)) && n) {
        for (size_t i = 0; i < n && !rc; i++) {
            rc = hs_store_upload_delete(ctx->store, ids[i], err);
            hs_blob_remove(&ctx->cfg, ids[i]);
            *uploads += !rc;
        }
        hs_arena_reset(&a);
    }
    while (!rc && !(rc = hs_store_file_expired(ctx->store, now, 500, &a, &ids, &n, err)) && n) {
        for (size_t i = 0; i < n && !rc; i++) {
            rc = hs_store_file_delete(ctx->store, ids[i], err);
            hs_blob_remove(&ctx->cfg, ids[i]);
            *files += !rc;
        }
        hs_arena_reset(&a);
    }
    hs_arena_free(&a);
    return rc;
}

cJSON *hs_file_json(const hs_file_t *f)
{
    char url[64];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", f->id);
    cJSON_AddStringToObject(o, "owner_id", f->owner_id);
    cJSON_AddStringToObject(o, "filename", f->filename);
    cJSON_AddStringToObject(o, "content_type", f->content_type);
    cJSON_AddStringToObject(o, "sniffed_type", f->sniffed_type ? f->sniffed_type : "");
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    hs_json_add_string_or_null(o, "sha256", f->sha256);
    hs_json_add_string_or_null(o, "chat_id", f->chat_id);
    hs_json_add_time(o, "created_at", f->created_at);
    hs_json_add_time(o, "expires_at", f->expires_at);
    snprintf(url, sizeof url, "/api/v1/files/%s", f->id);
    cJSON_AddStringToObject(o, "download_url", url);
    return o;
}

cJSON *hs_upload_json(const hs_upload_t *u, const int64_t *received, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "upload_id", u->id);
    cJSON_AddStringToObject(o, "protocol", u->protocol);
    cJSON_AddStringToObject(o, "filename", u->filename);
    cJSON_AddNumberToObject(o, "file_size", (double)u->size);
    cJSON_AddNumberToObject(o, "chunk_size", (double)u->chunk_size);
    cJSON_AddNumberToObject(o, "chunk_count", (double)u->chunk_count);
    hs_json_add_time(o, "expires_at", u->expires_at);
    if (strcmp(u->protocol, "tus") == 0) {
        cJSON_AddNumberToObject(o, "offset", (double)u->offset);
        return o;
    }
    cJSON *got = cJSON_AddArrayToObject(o, "received_chunks");
    cJSON *missing = cJSON_AddArrayToObject(o, "missing_chunks");
    size_t j = 0;
    for (int64_t i = 0; i < u->chunk_count; i++) {
        if (j < n && received[j] == i) {
            cJSON_AddItemToArray(got, cJSON_CreateNumber((double)i));
            j++;
        } else {
            cJSON_AddItemToArray(missing, cJSON_CreateNumber((double)i));
        }
    }
    cJSON_AddBoolToObject(o, "complete", (int64_t)n == u->chunk_count);
    return o;
}

const char *hs_file_disposition(hs_arena_t *a, const char *filename)
{
    size_t n = strlen(filename);
    /* ASCII fallback for old clients: anything outside printable ASCII, and
     * the quote and backslash, become '_'. */
    char *ascii = hs_arena_alloc(a, n + 1), *enc = hs_arena_alloc(a, 3 * n + 1);
    static const char hex[] = "0123456789ABCDEF";
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)filename[i];
        ascii[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : (char)c;
        /* RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~" */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("!#$&+-.^_`|~", c)) {
            enc[e++] = (char)c;
        } else {
            enc[e++] = '%';
            enc[e++] = hex[c >> 4];
            enc[e++] = hex[c & 15];
        }
    }
    return hs_arena_printf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

const char *hs_file_served_type(const char *declared)
{
    char norm[HS_CONTENT_TYPE_BUF];
    /* Stored before types were checked at entry, or active: plain bytes. */
    if (!declared || hs_content_type_normalize(declared, norm, sizeof norm) ||
        strcmp(norm, declared) != 0 || hs_content_type_active(declared))
        return "application/octet-stream";
    return declared;
}
