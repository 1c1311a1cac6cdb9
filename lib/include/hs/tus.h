/* tus 1.0.0 resumable uploads on the same upload model as the chunked API:
 * core, creation, creation-with-upload, termination, checksum (sha1,
 * sha256), expiration and concatenation. */
#ifndef HS_TUS_H
#define HS_TUS_H

#include "hs/files.h"

#define HS_TUS_VERSION "1.0.0"
#define HS_TUS_EXTENSIONS                                                                          \
    "creation,creation-with-upload,termination,checksum,expiration,concatenation"
#define HS_TUS_CHECKSUMS "sha1,sha256"
/* The most partial uploads one final upload may join (docs/files.md). */
#define HS_TUS_MAX_PARTS 100

/* The decoded value of key in an Upload-Metadata header ("k b64,k b64"),
 * in the arena; NULL when absent. HS_EINVAL on malformed base64 or NUL. */
int hs_tus_metadata(hs_arena_t *a, const char *header, const char *key, const char **out,
                    hs_err_t *err);

/* The upload ids named by "final;<url> <url> ..." (the last path segment of
 * each URL), in the arena: at most HS_TUS_MAX_PARTS, none twice (HS_EINVAL
 * with too_many_parts, duplicate_part). */
int hs_tus_final_parts(hs_arena_t *a, const char *header, char ***ids, size_t *n, hs_err_t *err);

/* Creates a tus upload of length bytes for owner. concat is the
 * Upload-Concat header or NULL; a final upload is assembled from its
 * partial uploads at once and finished into a file (*file set, *finished=1).
 * Once joined, the parts are removed, also when the file is refused. */
int hs_tus_create(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, int64_t length,
                  const char *metadata, const char *concat, hs_upload_t *out, hs_file_t *file,
                  int *finished, hs_err_t *err);

/* Appends len bytes from read(src) at offset (which must be the upload's
 * offset: HS_ECONFLICT otherwise). checksum is the Upload-Checksum header
 * or NULL; on mismatch (HS_ECHECKSUM) the offset does not move. Without a
 * checksum, a body cut short still counts the bytes that arrived. When the
 * last byte arrives the upload becomes a file (*finished=1, *file set). */
int hs_tus_patch(hs_ctx_t *ctx, hs_arena_t *a, const char *owner, const char *id, int64_t offset,
                 int64_t len, const char *checksum, hs_read_fn read, void *src, int64_t *new_offset,
                 hs_file_t *file, int *finished, hs_err_t *err);

#endif
