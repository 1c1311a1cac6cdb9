#include "hs/tus.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "hs/blob.h"

/* Decodes standard base64 (with padding) into the arena; -1 on bad input. */
static long b64_decode(hs_arena_t *a, const char *in, size_t n, char **out)
{
    unsigned char *buf = hs_arena_alloc(a, HS_B64_DECODED(n));
    *out = (char *)buf;
    return hs_b64_decode(in, n, buf);
}

int hs_tus_metadata(hs_arena_t *a, const char *header, const char *key, const char **out,
                    hs_err_t *err)
{
    *out = NULL;
    size_t klen = strlen(key);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t pair = strcspn(p, ",");
        size_t name = strcspn(p, " ,");
        if (name == klen && strncmp(p, key, klen) == 0) {
            const char *v = p + name;
            while (v < p + pair && *v == ' ')
                v++;
            char *dec;
            long n = b64_decode(a, v, (size_t)(p + pair - v), &dec);
            if (n < 0 || (long)strlen(dec) != n)
                return hs_err_set(err, HS_EINVAL, "invalid_metadata",
                                  "Upload-Metadata value of '%s' is not valid base64 text", key);
            *out = dec;
            return 0;
        }
        p += pair;
    }
    return 0;
}

int hs_tus_final_parts(hs_arena_t *a, const char *header, char ***ids, size_t *n, hs_err_t *err)
{
    *n = 0;
    if (strncmp(header, "final;", 6) != 0)
        return hs_err_set(err, HS_EINVAL, "invalid_concat",
                          "Upload-Concat must be partial or final;...");
    size_t cap = 1;
    for (const char *p = header; *p; p++)
        cap += *p == ' ';
    *ids = hs_arena_alloc(a, cap * sizeof **ids);
    for (const char *p = header + 6; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        const char *slash = p + len;
        while (slash > p && slash[-1] != '/')
            slash--;
        char *id = hs_arena_strndup(a, slash, (size_t)(p + len - slash));
        if (!hs_id_valid(id) || *n == cap)
            return hs_err_set(err, HS_EINVAL, "invalid_concat",
                              "Upload-Concat names an invalid upload");
        if (*n == HS_TUS_MAX_PARTS)
            return hs_err_set(err, HS_EINVAL, "too_many_parts",
                              "A final upload joins at most %d partial uploads", HS_TUS_MAX_PARTS);
        /* Each part is copied once: naming one twice would let a small
         * upload make the server write and hash many times its size. */
        for (size_t i = 0; i < *n; i++)
            if (strcmp((*ids)[i], id) == 0)
                return hs_err_set(err, HS_EINVAL, "duplicate_part",
                                  "Upload-Concat names upload %s more than once", id);
        (*ids)[(*n)++] = id;
        p += len;
    }
    if (*n == 0)
        return hs_err_set(err, HS_EINVAL, "invalid_concat", "Upload-Concat final names no uploads");
    return 0;
}

/* Assembles a final upload from its partial uploads, in the kernel. */
static int create_final(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *concat,
                        hs_upload_req_t *r, hs_upload_t *out, hs_file_t *file, int *finished,
                        hs_err_t *err)
{
    char **ids;
    size_t n;
    int rc = hs_tus_final_parts(a, concat, &ids, &n, err);
    if (rc)
        return rc;
    hs_upload_t *parts = hs_arena_alloc(a, n * sizeof *parts);
    r->size = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = hs_file_upload_get(ctx, a, owner, ids[i], &parts[i], err)))
            return rc;
        if (strcmp(parts[i].concat, "partial") != 0 || !parts[i].completed_at)
            return hs_err_set(err, HS_EINVAL, "invalid_concat",
                              "Upload %s is not a finished partial upload", ids[i]);
        r->size += parts[i].size;
    }
    r->concat = "final";
    /* Sizes, type and quota are checked here, before any byte is copied;
     * the parts' space is counted until they are removed below. */
    if ((rc = hs_file_init(ctx, owner, r, out, err)))
        return rc;
    int64_t offset = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = hs_blob_copy(&ctx->cfg, out->id, offset, parts[i].id, parts[i].size, err);
        offset += parts[i].size;
    }
    int copied = !rc;
    if (!rc)
        rc = hs_store_upload_advance(ctx->store, out->id, 0, out->size, hs_now_ms(), err);
    if (!rc)
        rc = hs_file_finish(ctx, a, out, file, err);
    if (rc) {
        hs_store_upload_delete(ctx->store, out->id, NULL);
        hs_blob_remove(&ctx->cfg, out->id);
    } else {
        out->offset = out->size;
        *finished = 1;
    }
    /* The parts are used up once their bytes were joined, whether the
     * result was kept or refused for its bytes (sha256, type): a refused
     * final upload can only be tried again by uploading the parts again,
     * so its cost stays in proportion to the bytes the client sent. */
    if (!rc || (copied && (rc == HS_EMEDIA || rc == HS_ECONFLICT)))
        for (size_t i = 0; i < n; i++)
            hs_file_abort(ctx, a, owner, parts[i].id, NULL);
    return rc;
}

int hs_tus_create(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, int64_t length,
                  const char *metadata, const char *concat, hs_upload_t *out, hs_file_t *file,
                  int *finished, hs_err_t *err)
{
    const char *name, *type, *sha, *chat;
    *finished = 0;
    int rc;
    if ((rc = hs_tus_metadata(a, metadata, "filename", &name, err)) ||
        (!name && (rc = hs_tus_metadata(a, metadata, "name", &name, err))) ||
        (rc = hs_tus_metadata(a, metadata, "filetype", &type, err)) ||
        (!type && (rc = hs_tus_metadata(a, metadata, "type", &type, err))) ||
        (rc = hs_tus_metadata(a, metadata, "sha256", &sha, err)) ||
        (rc = hs_tus_metadata(a, metadata, "chat_id", &chat, err)))
        return rc;
    hs_upload_req_t r = {0};
    if ((rc = hs_file_clean_name(a, name ? name : "upload", &r.filename, err)))
        return rc;
    if (chat && !hs_id_valid(chat))
        return hs_err_set(err, HS_EINVAL, "invalid_metadata", "chat_id must be a chat id");
    if ((rc = hs_file_content_type(a, type, &r.content_type, err)))
        return rc;
    r.sha256 = sha;
    r.chat_id = chat;
    r.protocol = "tus";
    r.metadata = metadata;
    r.size = length;
    if (concat && strcmp(concat, "partial") == 0)
        r.concat = "partial";
    else if (concat)
        return create_final(ctx, a, owner, concat, &r, out, file, finished, err);
    return hs_file_init(ctx, owner, &r, out, err);
}

/* Parses "<algo> <base64 digest>" of a supported algorithm. */
static int parse_checksum(hs_arena_t *a, const char *h, int *sha256, char **digest, long *len,
                          hs_err_t *err)
{
    size_t algo = strcspn(h, " ");
    if (algo == 4 && strncasecmp(h, "sha1", 4) == 0)
        *sha256 = 0;
    else if (algo == 6 && strncasecmp(h, "sha256", 6) == 0)
        *sha256 = 1;
    else
        return hs_err_set(err, HS_EINVAL, "unsupported_checksum",
                          "Upload-Checksum algorithm must be sha1 or sha256");
    const char *v = h + algo;
    while (*v == ' ')
        v++;
    *len = b64_decode(a, v, strlen(v), digest);
    if (*len != (*sha256 ? 32 : 20))
        return hs_err_set(err, HS_EINVAL, "invalid_checksum", "Upload-Checksum is malformed");
    return 0;
}

/* The checks and the write of hs_tus_patch, with the upload locked and its
 * row read under that lock. */
static int patch_locked(hs_ctx_t *ctx, hs_arena_t *a, hs_blob_lock_t *lk, hs_upload_t *up,
                        int64_t offset, int64_t len, const char *checksum, hs_read_fn read,
                        void *src, int64_t *new_offset, hs_err_t *err)
{
    *new_offset = up->offset;
    if (strcmp(up->protocol, "tus") != 0)
        return hs_err_set(err, HS_EINVAL, "wrong_protocol", "This upload uses the chunk API");
    if (strcmp(up->concat, "final") == 0)
        return hs_err_set(err, HS_EFORBIDDEN, "final_upload", "A final upload cannot be patched");
    if (offset != up->offset)
        return hs_err_set(err, HS_ECONFLICT, "offset_mismatch", "The upload is at offset %lld",
                          (long long)up->offset);
    if (len < 0 || offset + len > up->size)
        return hs_err_set(err, HS_EINVAL, "exceeds_length",
                          "The body goes past Upload-Length (%lld bytes)", (long long)up->size);
    int sha256 = 0, rc;
    char *want = NULL;
    long want_len = 0;
    if (checksum && (rc = parse_checksum(a, checksum, &sha256, &want, &want_len, err)))
        return rc;
    hs_blob_digest_t d = {.want = want ? (sha256 ? HS_DIGEST_SHA256 : HS_DIGEST_SHA1) : 0};
    int64_t got;
    if ((rc = hs_blob_receive(lk, offset, len, HS_BLOB_WRITE, read, src, &d, &got, err)))
        return rc;
    if (want && (got != len || memcmp(want, sha256 ? d.sha256 : d.sha1, (size_t)want_len) != 0))
        return hs_err_set(err, HS_ECHECKSUM, "checksum_mismatch",
                          "The body does not match Upload-Checksum");
    if (got > 0 &&
        (rc = hs_store_upload_advance(ctx->store, up->id, offset, offset + got, hs_now_ms(), err)))
        return rc;
    *new_offset = up->offset = offset + got;
    return 0;
}

int hs_tus_patch(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, int64_t offset,
                 int64_t len, const char *checksum, hs_read_fn read, void *src, int64_t *new_offset,
                 hs_file_t *file, int *finished, hs_err_t *err)
{
    hs_upload_t up;
    hs_blob_lock_t lk;
    *finished = 0;
    *new_offset = 0;
    int rc = hs_file_upload_get(ctx, a, owner, id, &up, err);
    /* The whole upload is locked (tus PATCHes are sequential anyway) and the
     * row read again under the lock: the offset checked is the offset the
     * bytes go to, and it moves before anyone else may write. */
    if (rc || (rc = hs_blob_lock(&ctx->cfg, id, 0, 0, &lk, err)))
        return rc;
    if (!(rc = hs_file_upload_get(ctx, a, owner, id, &up, err)))
        rc = patch_locked(ctx, a, &lk, &up, offset, len, checksum, read, src, new_offset, err);
    hs_blob_unlock(&lk);
    if (rc || up.offset != up.size || strcmp(up.concat, "partial") == 0)
        return rc;
    if ((rc = hs_file_finish(ctx, a, &up, file, err))) {
        /* Refused at the end (type, sha256): a tus client cannot re-send
         * earlier bytes, so the upload is of no more use; free its space. */
        if (rc == HS_EMEDIA || rc == HS_ECONFLICT)
            hs_file_abort(ctx, a, owner, id, NULL);
        return rc;
    }
    *finished = 1;
    return 0;
}
