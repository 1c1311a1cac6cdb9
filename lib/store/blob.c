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
    lk->direct = cfg->upload_direct_io != 0;
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

/* Direct I/O wants offsets, lengths and memory aligned to the device's
 * logical block; 4096 covers every common disk. */
#define DIRECT_ALIGN 4096
#define DIRECT_BUF   (2 * 1024 * 1024)

/* One receive buffer per process (the apps serve one request at a time):
 * aligned for O_DIRECT, and the comparison buffer beside it. */
static _Alignas(DIRECT_ALIGN) unsigned char recv_buf[DIRECT_BUF];
static unsigned char cmp_buf[DIRECT_BUF];

/* Turns O_DIRECT on or off for fd; -1 when the file system refuses it. */
static int set_direct(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    int want = on ? fl | O_DIRECT : fl & ~O_DIRECT;
    return want == fl ? 0 : fcntl(fd, F_SETFL, want);
}

static int write_at(int fd, const unsigned char *p, size_t n, int64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Stores n bytes at off: whole aligned blocks straight to the disk
 * (O_DIRECT: no copy into the page cache, which costs this VM more CPU than
 * the rest of an upload), an unaligned rest through the page cache. */
static int store_at(int fd, int *direct, const unsigned char *p, size_t n, int64_t off)
{
    size_t whole = n & ~(size_t)(DIRECT_ALIGN - 1);
    if (*direct && off % DIRECT_ALIGN == 0 && whole) {
        if (set_direct(fd, 1) == 0 && write_at(fd, p, whole, off) == 0) {
            p += whole;
            n -= whole;
            off += (int64_t)whole;
        } else if (errno == EINVAL) {
            *direct = 0; /* this file system takes no direct I/O: buffered from now on */
        } else {
            return -1;
        }
    }
    if (n == 0)
        return 0;
    if (set_direct(fd, 0) != 0)
        return -1;
    return write_at(fd, p, n, off);
}

/* 0 when the n bytes at off in fd equal p. */
static int same_at(int fd, const unsigned char *p, size_t n, int64_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = pread(fd, cmp_buf, n - done, off + (int64_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || memcmp(cmp_buf, p + done, (size_t)r) != 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

int hs_blob_receive(hs_blob_lock_t *lk, int64_t offset, int64_t len, hs_blob_mode_t mode,
                    hs_read_fn read, void *src, hs_blob_digest_t *d, int64_t *got, hs_err_t *err)
{
    *got = 0;
    d->differs = 0;
    EVP_MD_CTX *h256 = NULL, *h1 = NULL;
    if (d->want & HS_DIGEST_SHA256) {
        h256 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(h256, EVP_sha256(), NULL);
    }
    if (d->want & HS_DIGEST_SHA1) {
        h1 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(h1, EVP_sha1(), NULL);
    }
    int rc = 0, direct = lk->direct, ended = 0;
    while (!rc && !ended && *got < len) {
        /* Gather a block: a short one first when offset is not aligned, so
         * that every later block can go straight to the disk. */
        int64_t pos = offset + *got;
        size_t cap = DIRECT_BUF, fill = 0;
        if (pos % DIRECT_ALIGN)
            cap = (size_t)(DIRECT_ALIGN - pos % DIRECT_ALIGN);
        if ((int64_t)cap > len - *got)
            cap = (size_t)(len - *got);
        while (fill < cap) {
            size_t n = read(src, recv_buf + fill, cap - fill);
            if (n == 0) {
                ended = 1;
                break;
            }
            fill += n;
        }
        if (h256)
            EVP_DigestUpdate(h256, recv_buf, fill);
        if (h1)
            EVP_DigestUpdate(h1, recv_buf, fill);
        if (mode == HS_BLOB_COMPARE) {
            if (!d->differs && same_at(lk->fd, recv_buf, fill, pos) != 0)
                d->differs = 1;
        } else if (fill && store_at(lk->fd, &direct, recv_buf, fill, pos) != 0) {
            rc = io_fail(err, "write", "blob");
        }
        *got += (int64_t)fill;
    }
    if (mode == HS_BLOB_WRITE && direct)
        set_direct(lk->fd, 0);
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
