#include "hs/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hs/util.h"

#define IO_BUF (256 * 1024)

void hs_blob_path(const hs_config_t *cfg, const char *id, char *out, size_t n)
{
    size_t len = strlen(id);
    /* The last digits of an ObjectId vary fastest: they spread blobs evenly. */
    snprintf(out, n, "%s/files/%s/%s", cfg->data_dir, len >= 2 ? id + len - 2 : "00", id);
}

static int io_fail(hs_err_t *err, const char *what, const char *path)
{
    if (errno == ENOSPC || errno == EDQUOT)
        return hs_err_set(err, HS_ENOSPACE, "insufficient_storage",
                          "The server has no space left for this file");
    return hs_err_set(err, HS_EINTERNAL, "storage_error", "%s %s: %s", what, path, strerror(errno));
}

int hs_blob_create(const hs_config_t *cfg, const char *id, int64_t size, hs_err_t *err)
{
    char path[1024], dir[1024];
    hs_blob_path(cfg, id, path, sizeof path);
    snprintf(dir, sizeof dir, "%s/files", cfg->data_dir);
    mkdir(cfg->data_dir, 0750);
    mkdir(dir, 0750);
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
    if (mkdir(dir, 0750) && errno != EEXIST)
        return io_fail(err, "mkdir", dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) == 0 && (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize < size)
        return hs_err_set(err, HS_ENOSPACE, "insufficient_storage",
                          "The server has not enough free space for %lld bytes", (long long)size);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return io_fail(err, "create", path);
    int rc = ftruncate(fd, size);
    close(fd);
    if (rc) {
        unlink(path);
        return io_fail(err, "size", path);
    }
    return 0;
}

void hs_blob_remove(const hs_config_t *cfg, const char *id)
{
    char path[1024];
    hs_blob_path(cfg, id, path, sizeof path);
    unlink(path);
}

int hs_blob_lock(const hs_config_t *cfg, const char *id, int64_t offset, int64_t len,
                 hs_blob_lock_t *lk, hs_err_t *err)
{
    char path[1024];
    hs_blob_path(cfg, id, path, sizeof path);
    lk->fd = open(path, O_RDWR | O_CLOEXEC);
    if (lk->fd < 0)
        return io_fail(err, "open", path);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = offset, .l_len = len};
    if (fcntl(lk->fd, F_OFD_SETLK, &fl) != 0) {
        hs_blob_unlock(lk);
        return hs_err_set(err, HS_ECONFLICT, "range_busy",
                          "Another request is writing this part of the upload right now");
    }
    return 0;
}

void hs_blob_unlock(hs_blob_lock_t *lk)
{
    if (lk->fd >= 0)
        close(lk->fd); /* closing the last descriptor releases the OFD lock */
    lk->fd = -1;
}

int hs_blob_receive(hs_blob_lock_t *lk, int64_t offset, int64_t len, int write, hs_read_fn read,
                    void *src, hs_blob_digest_t *d, int64_t *got, hs_err_t *err)
{
    *got = 0;
    EVP_MD_CTX *h256 = NULL, *h1 = NULL;
    if (d->want & HS_DIGEST_SHA256) {
        h256 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(h256, EVP_sha256(), NULL);
    }
    if (d->want & HS_DIGEST_SHA1) {
        h1 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(h1, EVP_sha1(), NULL);
    }
    char buf[IO_BUF];
    int rc = 0;
    while (*got < len) {
        size_t want = (size_t)(len - *got < IO_BUF ? len - *got : IO_BUF);
        size_t n = read(src, buf, want);
        if (n == 0)
            break;
        if (h256)
            EVP_DigestUpdate(h256, buf, n);
        if (h1)
            EVP_DigestUpdate(h1, buf, n);
        for (size_t done = 0; write && done < n;) {
            ssize_t w = pwrite(lk->fd, buf + done, n - done, offset + *got + (int64_t)done);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                rc = io_fail(err, "write", "blob");
                break;
            }
            done += (size_t)w;
        }
        if (rc)
            break;
        *got += (int64_t)n;
    }
    if (h256)
        EVP_DigestFinal_ex(h256, d->sha256, NULL);
    if (h1)
        EVP_DigestFinal_ex(h1, d->sha1, NULL);
    EVP_MD_CTX_free(h256);
    EVP_MD_CTX_free(h1);
    return rc;
}

int hs_blob_sha256(const hs_config_t *cfg, const char *id, char out[65], hs_err_t *err)
{
    char path[1024];
    hs_blob_path(cfg, id, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail(err, "open", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    char buf[IO_BUF];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(h, buf, (size_t)n);
    unsigned char md[32];
    EVP_DigestFinal_ex(h, md, NULL);
    EVP_MD_CTX_free(h);
    close(fd);
    if (n < 0)
        return io_fail(err, "read", path);
    hs_hex(md, sizeof md, out);
    return 0;
}

int hs_blob_copy(const hs_config_t *cfg, const char *dst, int64_t offset, const char *src,
                 int64_t len, hs_err_t *err)
{
    char dpath[1024], spath[1024];
    hs_blob_path(cfg, dst, dpath, sizeof dpath);
    hs_blob_path(cfg, src, spath, sizeof spath);
    int in = open(spath, O_RDONLY | O_CLOEXEC), out = open(dpath, O_WRONLY | O_CLOEXEC);
    int rc = 0;
    if (in < 0 || out < 0)
        rc = io_fail(err, "open", in < 0 ? spath : dpath);
    loff_t ioff = 0, ooff = offset;
    while (!rc && ioff < len) {
        ssize_t n = copy_file_range(in, &ioff, out, &ooff, (size_t)(len - ioff), 0);
        if (n <= 0)
            rc = n == 0 ? hs_err_set(err, HS_EINTERNAL, "storage_error", "short copy of %s", spath)
                        : io_fail(err, "copy", spath);
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

const char *hs_blob_sniff(hs_ctx_t *ctx, const char *id, hs_arena_t *a)
{
    const char *fallback = "application/octet-stream";
    if (!ctx->magic) {
        magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
        if (!m || magic_load(m, NULL) != 0) {
            if (m)
                magic_close(m);
            return fallback;
        }
        ctx->magic = m;
    }
    char path[1024], buf[65536];
    hs_blob_path(&ctx->cfg, id, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fallback;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    const char *t = n > 0 ? magic_buffer(ctx->magic, buf, (size_t)n) : NULL;
    return hs_arena_strdup(a, t ? t : fallback);
}
