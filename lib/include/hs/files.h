/* Files: uploads (chunked and tus share one model), completion, access,
 * downloads and expiry. Serving the bytes over HTTP is hs/files_send.h. */
#ifndef HS_FILES_H
#define HS_FILES_H

#include <cjson/cJSON.h>

#include "hs/ctx.h"
#include "hs/multipart.h"
#include "hs/store.h"

/* Where the bytes of a chunk come from: read() pieces of it, then finish()
 * (may be NULL) confirms the body ended properly (e.g. the multipart closing
 * delimiter arrived) before the chunk counts. */
typedef struct hs_body {
    hs_read_fn read;
    void *src;
    int (*finish)(void *src, hs_err_t *err);
} hs_body_t;

/* What a client asks for when it starts an upload. */
typedef struct hs_upload_req {
    const char *filename;
    const char *content_type; /* NULL: application/octet-stream */
    const char *sha256;       /* expected whole-file hash, or NULL */
    const char *chat_id;      /* or NULL */
    const char *protocol;     /* "chunks" or "tus" */
    const char *concat;       /* tus: NULL, "partial" or "final" */
    const char *metadata;     /* tus: Upload-Metadata as sent */
    int64_t size;
    int64_t expires_in; /* seconds until the finished file expires; 0: never */
} hs_upload_req_t;

/* Checks a display filename (1..255 characters, no NUL, no bidi controls
 * or C1 controls: 400 invalid_filename) and returns a copy in the arena
 * with C0 control characters replaced by '_'. */
int hs_file_clean_name(hs_arena_t *a, const char *name, const char **out, hs_err_t *err);

/* The normal form of a declared content type (hs_content_type_normalize)
 * in the arena; NULL for NULL or "". 400 invalid_content_type when in is not a
 * media type (CR, LF, NUL, non-ASCII, bad tokens, over 255 bytes). */
int hs_file_content_type(hs_arena_t *a, const char *in, const char **out, hs_err_t *err);

/* The Content-Type a file is served with: its declared type when that is
 * well-formed and not active (HTML, SVG, XML, script...), else
 * application/octet-stream. */
const char *hs_file_served_type(const char *declared);

/* Validates r (type in normal form else 400 invalid_content_type, size limit 413, type deny-list
 * 415, quota and free space 507), picks the chunk size, creates the blob and records the upload. */
int hs_file_init(hs_ctx_t *ctx, const char *owner, const hs_upload_req_t *r, hs_upload_t *out,
                 hs_err_t *err);

/* Loads an upload of owner; 404 for anyone else's, 410 once it expired. */
int hs_file_upload_get(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id,
                       hs_upload_t *out, hs_err_t *err);

/* Receives chunk n of a chunked upload from body. declared is the body
 * length when known in advance (-1 otherwise); sha256 an optional expected
 * hex digest. A chunk already received is only compared: the same bytes
 * give *duplicate = 1, different ones 409 chunk_conflict. */
int hs_file_put_chunk(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, int64_t n,
                      int64_t declared, const char *sha256, const hs_body_t *body, int *duplicate,
                      hs_err_t *err);

/* Completes a chunked upload: 409 missing_chunks when some are missing. */
int hs_file_complete(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id,
                     hs_file_t *out, hs_err_t *err);

/* Turns a fully received upload into a file: sniffs its type, verifies the
 * expected sha256, records the file and publishes file.ready. */
int hs_file_finish(hs_ctx_t *ctx, hs_arena_t *a, const hs_upload_t *up, hs_file_t *out,
                   hs_err_t *err);

/* Aborts an upload of owner and frees its space. */
int hs_file_abort(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, hs_err_t *err);

/* Loads a file viewer may download: theirs, or one attached in a chat they
 * belong to. Anyone else gets 404 file_not_found. */
int hs_file_visible(hs_ctx_t *ctx, hs_arena_t *a, const char *viewer, const char *id,
                    hs_file_t *out, hs_err_t *err);

/* Like hs_file_visible, then 403 not_your_file unless owner owns it. */
int hs_file_owned(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, hs_file_t *out,
                  hs_err_t *err);

/* A page of owner's files (unexpired, relay copies hidden), after cursor. */
int hs_file_list(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *cursor, int limit,
                 hs_file_page_t *out, hs_err_t *err);

/* An upload of owner (hs_file_upload_get) and the chunk numbers received
 * so far (*have, allocated in a). */
int hs_file_upload_status(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id,
                          hs_upload_t *out, int64_t **have, size_t *n, hs_err_t *err);

/* Deletes a file of owner with its blob. */
int hs_file_delete(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, hs_err_t *err);

/* Removes expired uploads and files with their bytes; counts what it did. */
int hs_file_cleanup(hs_ctx_t *ctx, int64_t now, size_t *uploads, size_t *files, hs_err_t *err);

/* JSON views; the caller owns the result. */
cJSON *hs_file_json(const hs_file_t *f);
cJSON *hs_upload_json(const hs_upload_t *u, const int64_t *received, size_t n);

/* The Content-Disposition value for filename (RFC 6266 with an RFC 5987
 * UTF-8 filename* and an ASCII fallback), in the arena. */
const char *hs_file_disposition(hs_arena_t *a, const char *filename);

#endif
