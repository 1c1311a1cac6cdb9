/* Blobs: the bytes of uploads and files, one preallocated (sparse) file per
 * upload under <data_dir>/files/<last two hex digits>/<id>. The upload id
 * becomes the file id, so completing an upload moves no bytes. */
#ifndef HS_BLOB_H
#define HS_BLOB_H

#include <stdint.h>

#include "hs/ctx.h"
#include "hs/arena.h"
#include "hs/err.h"
#include "hs/multipart.h"

/* Which digests hs_blob_receive computes (hashing costs CPU per byte). */
enum { HS_DIGEST_SHA256 = 1, HS_DIGEST_SHA1 = 2 };

typedef struct hs_blob_digest {
    int want; /* HS_DIGEST_* bits, set by the caller */
    unsigned char sha256[32];
    unsigned char sha1[20];
    int differs; /* HS_BLOB_COMPARE: the bytes read are not those stored */
} hs_blob_digest_t;

/* What hs_blob_receive does with the bytes it reads. */
typedef enum { HS_BLOB_WRITE, HS_BLOB_COMPARE } hs_blob_mode_t;

/* The path of blob id into out. */
void hs_blob_path(const hs_config_t *cfg, const char *id, char *out, size_t n);

/* Creates blob id with its final size (sparse). HS_ENOSPACE when the data
 * folder has less free space than size. */
int hs_blob_create(const hs_config_t *cfg, const char *id, int64_t size, hs_err_t *err);

/* Removes blob id; a missing blob is not an error. */
void hs_blob_remove(const hs_config_t *cfg, const char *id);

/* An open blob with a write lock on one byte range. */
typedef struct hs_blob_lock {
    int fd;
    int direct; /* write whole blocks with O_DIRECT (upload_direct_io) */
} hs_blob_lock_t;

/* Opens blob id and takes an OFD write lock on [offset, offset+len) (len 0:
 * to the end of the file). A range another request holds gives HS_ECONFLICT
 * (range_busy) at once. The kernel drops the lock if the process dies, so a
 * killed app never leaves a range locked. Release with hs_blob_unlock(). */
int hs_blob_lock(const hs_config_t *cfg, const char *id, int64_t offset, int64_t len,
                 hs_blob_lock_t *lk, hs_err_t *err);
void hs_blob_unlock(hs_blob_lock_t *lk);

/* Streams up to len bytes from read(src) into the locked blob at offset
 * (HS_BLOB_WRITE; aligned blocks bypass the page cache), or compares them
 * with the bytes stored there (HS_BLOB_COMPARE, sets d->differs), hashing
 * them with the digests named in d->want. *got is the number of bytes
 * consumed (less than len when the input ended early). */
int hs_blob_receive(hs_blob_lock_t *lk, int64_t offset, int64_t len, hs_blob_mode_t mode,
                    hs_read_fn read, void *src, hs_blob_digest_t *d, int64_t *got, hs_err_t *err);

/* sha256 of the whole blob as hex into out[65]. */
int hs_blob_sha256(const hs_config_t *cfg, const char *id, char out[65], hs_err_t *err);

/* Copies len bytes of blob src (from 0) into blob dst at offset, in the
 * kernel (copy_file_range). */
int hs_blob_copy(const hs_config_t *cfg, const char *dst, int64_t offset, const char *src,
                 int64_t len, hs_err_t *err);

/* The MIME type libmagic sees in the first bytes of blob id, into the arena
 * ("application/octet-stream" when unknown). */
const char *hs_blob_sniff(hs_ctx_t *ctx, const char *id, hs_arena_t *a);

#endif
